"""The experiment's fault schedule as a nemesis (chaos/run/protocols.Nemesis).

Each entry starts at ``at`` seconds into the workload and stops ``duration`` seconds later. Its fault
is built from the table of chaos/nemesis/fault_types.py and started inside a ``FaultScope``, so Ctrl-C,
SIGTERM, an abort and an error all undo it. Each change is stamped twice in the history, Jepsen
style: as it begins (``invoke``) and once it is confirmed (``complete``); a flapping link also
writes each cut and restore as a ``chaos/link_cut`` sample. ``heal`` then removes every fault the
tool knows about (also a killed run's) and restarts killed nodes.
"""
from __future__ import annotations

from chaos.faults import FaultScope, Topology
from chaos.faults.heal import heal_stack
from chaos.nemesis.fault_types import FaultContext, build_fault
from harness.history import FaultEvent, MetricSample
from harness.verdicts import Verdict
from stack.config import SERVICES
from stack.target import state_dir

# A fault's on_event phase -> the (phase, stage) it is recorded as.
FAULT_STAGES = {"starting": ("start", "invoke"), "start": ("start", "complete"),
                "stopping": ("stop", "invoke"), "stop": ("stop", "complete")}


class ScheduledFaults:
    """Apply an experiment's schedule (a list of ScheduleEntry) in time, inside one FaultScope."""

    def __init__(self, schedule):
        self.schedule = sorted(schedule, key=lambda s: s.at)
        self.pending = list(self.schedule)
        self.running: dict = {}  # name -> (spec, fault)
        self.scope: FaultScope | None = None
        self.run = self.ctx = self.tp = None
        self.heal_report: dict | None = None

    @property
    def active(self) -> list[str]:
        return list(self.running)

    @property
    def done(self) -> bool:
        """Every entry applied and removed (an empty schedule is never done: the run lasts its duration)."""
        return bool(self.schedule) and not self.pending and not self.running

    def start(self, run) -> None:
        stack = run.stack
        self.run = run
        self.tp = stack.client()
        self.ctx = FaultContext(self.tp, Topology(services=list(SERVICES), nodes=list(stack.config.nodes)),
                                list(run.exp.services), nodes=stack.nodes, state_dir=state_dir(stack),
                                native=stack.native if getattr(stack.config, "native", False) else None,
                                stack=stack)
        self.scope = FaultScope()
        self.scope.__enter__()

    def step(self, elapsed: float) -> None:
        while self.pending and self.pending[0].at <= elapsed:
            spec = self.pending.pop(0)
            fault, target = build_fault(self.ctx, spec.fault, spec.params)
            fault.on_event = self._on_event(spec, target)
            fault.on_flap = self._on_flap(spec)  # only a flapping link ever calls it
            self.running[spec.name] = (spec, self.scope.start(fault))
        for name, (spec, fault) in list(self.running.items()):
            if elapsed >= spec.end:
                self.scope.stop(fault)
                del self.running[name]

    def stop(self) -> None:
        """Undo every fault still in effect and give back the signal handlers."""
        if self.scope is not None:
            scope, self.scope = self.scope, None
            self.running.clear()
            scope.__exit__(None, None, None)

    def heal(self, run) -> list[Verdict]:
        """Remove every fault the tool knows about and restart killed nodes."""
        report = heal_stack(run.stack, self.tp or run.stack.client())
        self.heal_report = report.to_dict()
        return [Verdict("heal", "valid" if report.ok else "invalid",
                        "every fault removed" if report.ok else "; ".join(report.errors), figures=self.heal_report)]

    def verdicts(self, history) -> list[Verdict]:
        return []

    def record(self, verdicts) -> dict:
        return {"heal": self.heal_report}

    def _on_event(self, spec, target):
        rec = self.run.rec

        def record(fault, phase):
            if phase in FAULT_STAGES:
                edge, stage = FAULT_STAGES[phase]
                t, wall = rec.now()
                params = {"fault": spec.fault, **spec.params, "applied": fault.describe()}
                rec.write(FaultEvent(edge, spec.name, target, t, wall, params=params, stage=stage))
        return record

    def _on_flap(self, spec):
        rec = self.run.rec

        def record(phase, detail):
            t, wall = rec.now()
            rec.write(MetricSample("chaos", "link_cut", {"fault": spec.name}, float(phase == "cut"), t, wall))
        return record
