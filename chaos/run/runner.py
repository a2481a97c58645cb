"""Run one experiment: steady state, workload under the fault schedule, heal, steady state, verdicts.

1. Check the steady state; if it fails, stop before injecting anything (exit 3).
2. Start the clients and the metric sampler; the main thread applies the schedule inside a
   FaultScope (so Ctrl-C and SIGTERM undo every fault) and draws the progress line.
3. Once the last fault stops, the snapshotted services' clients only read, and the nodes are
   snapshotted until they agree.
4. Heal everything, restart killed nodes, wait for the breakers to close, check the steady state.
5. Run the checkers on history.jsonl and write results.json, then the report if available.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from chaos.experiment.files import Experiment
from chaos.faults import FaultScope, Topology, heal
from chaos.observers.samplers import Sampler, Snapshotter, check_metrics, wait_breakers_closed
from chaos.observers.progress import Progress
from chaos.report.build import build_report
from chaos.nemesis.schedule import FaultContext, build_fault
from chaos.run.steady import SteadyContext, run_steady_state
from chaos import workloads
from chaos.run.protocols import Observer, Workload
from harness.history import FaultEvent, HistoryError, HistoryWriter, MetricSample, read_history
from harness.record import RunRecord
from harness.runs import new_run_dir
from harness.verdicts import Verdict, compose, invalid_history
from stack.config import SERVICES
from stack.target import RunnerError, exclusive, number, service_settings, state_dir

EXIT = {"valid": 0, "invalid": 1, "unknown": 4}
# A fault's on_event phase -> the (phase, stage) it is recorded as.
FAULT_STAGES = {"starting": ("start", "invoke"), "start": ("start", "complete"),
                "stopping": ("stop", "invoke"), "stop": ("stop", "complete")}
EXIT_ABORTED = 3


@dataclass
class RunOutcome:
    run_dir: Path
    overall: str
    verdicts: list = field(default_factory=list)
    exit_code: int = 0
    aborted: str | None = None


def run_experiment(exp: Experiment, stack, runs_dir="runs", say=print, stream=None, seed: int | None = None) -> RunOutcome:
    """Run `exp` against a running `stack`; write everything under runs_dir/<name>/<timestamp>/."""
    return Run(exp, stack, runs_dir, say, stream, seed).execute()


class Run:
    def __init__(self, exp: Experiment, stack, runs_dir, say, stream, seed):
        self.exp, self.stack, self.say, self.stream = exp, stack, say, stream
        self.seed = seed if seed is not None else int(time.time())
        self.run_dir = new_run_dir(runs_dir, exp.name)
        self.run_id = f"{exp.name}-{self.run_dir.name}"
        self.settings = service_settings(stack)
        self.reset_s = number(self.settings, "BREAKER_RESET_TIMEOUT_SEC", 5.0)
        self.urls = {s: stack.config.service_url(s) for s in exp.services}
        self.tp = stack.client()
        proxies = [stack.config.proxy_name(s, n) for s in SERVICES for n in stack.config.nodes]
        self.steady = SteadyContext(self.urls, self.tp, proxies, self.run_id)
        self.started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.t0 = time.monotonic()
        self.notes: list[str] = []
        self.heal_report = None
        self.checkers_used: dict = {}
        self.workload: Workload | None = None
        self.sampler: Observer | None = None
        self.snapshotter = None
        self.alerting = None
        if exp.alerts:
            from chaos.observers.alerting import AlertProbe
            self.alerting = AlertProbe(exp, stack, self.run_dir, say)

    def execute(self) -> RunOutcome:
        exp = self.exp
        (self.run_dir / "experiment.json").write_text(json.dumps(exp.to_dict(), indent=2, default=list))
        self.say(f"{exp.name}: {exp.title}\n  hypothesis: {exp.hypothesis}\n  run folder: {self.run_dir}")
        verdicts: list[Verdict] = []
        with exclusive(self.stack), HistoryWriter(self.run_dir / "history.jsonl") as rec:
            self.rec = rec
            try:
                if self.alerting:
                    self.alerting.prepare({"MAX_STALENESS_MS": number(self.settings, "MAX_STALENESS_MS", 0)})
                before = run_steady_state(self.steady, exp.steady_before, "before", 3.0)
                verdicts.append(before)
                if before.valid == "invalid":  # unknown (no check configured) runs on, and stays unknown
                    self.say(f"steady state before failed, nothing injected: {before.summary}")
                    return self.finish(verdicts, aborted=f"steady state before failed: {before.summary}")
                interrupted = None
                try:
                    if self.alerting:
                        self.alerting.start(rec)
                    self.inject()
                except (KeyboardInterrupt, SystemExit) as err:
                    interrupted = err
                    self.notes.append(f"interrupted by {type(err).__name__}; faults undone, healed")
                    # A run cut short tested only part of its hypothesis: it can never be valid.
                    verdicts.append(Verdict("interrupted", "unknown", f"{type(err).__name__} after "
                                            f"{time.monotonic() - self.t0:.1f} s: the schedule did not finish"))
                except Exception as err:  # a fault that could not be injected: the run proves nothing
                    verdicts.append(Verdict("schedule", "unknown", f"{type(err).__name__}: {err}"))
                finally:
                    verdicts += self.recover()
            except RunnerError as err:  # Prometheus not there, or not scraping: nothing was injected
                self.say(f"not run: {err}")
                return self.finish(verdicts, aborted=str(err))
            finally:
                if self.alerting:
                    self.alerting.stop()
        outcome = self.finish(verdicts + self.judge())
        if interrupted is not None:
            outcome.exit_code = 130 if isinstance(interrupted, KeyboardInterrupt) else 143
        return outcome

    # -- 2. workload under the schedule ----------------------------------------------------------
    def inject(self) -> None:
        exp, cfg = self.exp, self.stack.config
        ctx = FaultContext(self.tp, Topology(services=list(SERVICES), nodes=list(cfg.nodes)), list(exp.services),
                           nodes=self.stack.nodes, state_dir=state_dir(self.stack),
                           native=self.stack.native if getattr(cfg, "native", False) else None)
        self.sampler = Sampler(self.urls, self.rec)
        self.workload = workloads.for_experiment(self.exp, self.urls, self.run_id, self.rec, self.run_dir, self.seed)
        progress = Progress(exp.workload.duration_s, self.stream)
        pending = sorted(exp.schedule, key=lambda s: s.at)
        active: dict = {}
        self.sampler.start()
        time.sleep(0.3)  # a first breaker sample before the first operation
        start = time.monotonic()
        self.workload.start()
        try:
            with FaultScope() as scope:
                while (elapsed := time.monotonic() - start) < exp.workload.duration_s and self.workload.alive:
                    while pending and pending[0].at <= elapsed:
                        spec = pending.pop(0)
                        fault, target = build_fault(ctx, spec.fault, spec.params)
                        fault.on_event = self._on_event(spec, target)
                        if hasattr(fault, "on_flap"):
                            fault.on_flap = self._on_flap(spec)
                        active[spec.name] = (spec, scope.start(fault))
                    for name, (spec, fault) in list(active.items()):
                        if elapsed >= spec.end:
                            scope.stop(fault)
                            del active[name]
                    if exp.schedule and not pending and not active and self.snapshotter is None:
                        self.start_snapshots()
                    progress.update(elapsed, list(active), self.workload.stats, self.sampler.breakers)
                    time.sleep(0.1)
        finally:
            progress.done()
            self.workload.stop()

    def _on_event(self, spec, target):
        def record(fault, phase):
            # Each change is stamped twice, Jepsen style: as it begins and once it is confirmed.
            if phase in FAULT_STAGES:
                edge, stage = FAULT_STAGES[phase]
                t, wall = self.rec.now()
                params = {"fault": spec.fault, **spec.params, "applied": fault.describe()}
                self.rec.write(FaultEvent(edge, spec.name, target, t, wall, params=params, stage=stage))
        return record

    def _on_flap(self, spec):
        def record(phase, detail):
            t, wall = self.rec.now()
            self.rec.write(MetricSample("chaos", "link_cut", {"fault": spec.name}, float(phase == "cut"), t, wall))
        return record

    def start_snapshots(self) -> None:
        services = self.exp.after_heal.services
        if not services or self.snapshotter is not None:
            return
        self.workload.stop_writes(services)
        prefixes = [f"{self.run_id}:{s}:" for s in services]
        nodes = {n: self.stack.nodes[n] for n in self.stack.config.nodes}
        self.snapshotter = Snapshotter(nodes, prefixes, self.rec, self.exp.after_heal.snapshot_every_s,
                                       self.exp.after_heal.within_s)
        self.snapshotter.start()

    # -- 4. heal and steady state after ----------------------------------------------------------
    def recover(self) -> list[Verdict]:
        """Heal everything, restart killed nodes, wait for snapshots and breakers, check steady state."""
        verdicts = []
        report = heal(self.tp, state_dir(self.stack), raise_on_error=False)
        for name in report.nodes_to_restart:
            try:
                self.stack.nodes[name].start()
                report.notes.append(f"restarted node {name}")
            except Exception as err:
                report.errors.append(f"could not restart node {name}: {err}")
        self.heal_report = report.to_dict()
        verdicts.append(Verdict("heal", "valid" if report.ok else "invalid",
                                "every fault removed" if report.ok else "; ".join(report.errors),
                                figures=self.heal_report))
        if self.workload is not None:
            self.start_snapshots()
            self.workload.stop()
        if self.snapshotter is not None:
            self.snapshotter.join(self.exp.after_heal.within_s + 10)
            self.snapshotter.halt.set()
        closed, waited, states = wait_breakers_closed(self.urls, self.reset_s + 10)
        self.notes.append(f"breakers {'closed' if closed else 'NOT closed'} {waited:.1f} s after the heal: {states}")
        time.sleep(0.5)  # a last round of samples with the breakers closed
        if self.sampler is not None:
            self.sampler.stop()
        verdicts.append(run_steady_state(self.steady, self.exp.steady_after, "after", self.reset_s + 5))
        if self.alerting:
            self.alerting.wait_resolved()
            self.notes += self.alerting.notes
        return verdicts

    # -- 5. verdicts -------------------------------------------------------------------------------
    def judge(self) -> list[Verdict]:
        from chaos.checkers import run_all
        self.rec.close()
        if self.workload is not None:
            self.notes += self.workload.finish(self.run_dir / "history.jsonl")
        try:
            history = read_history(self.run_dir / "history.jsonl")
        except HistoryError as err:  # a line no checker can read: say which, instead of crashing the run
            return [invalid_history("history", err)]
        verdicts = run_all(history, self.checker_config())
        if self.exp.expect_metrics:
            verdicts.append(check_metrics(history, self.exp.expect_metrics))
        if self.alerting:
            verdicts.append(self.alerting.verdict(history))
        return verdicts

    def checker_config(self) -> dict:
        """The experiment's thresholds, with those that depend on the stack filled from its settings."""
        config = {name: dict(t) for name, t in self.exp.checkers.items()}
        if "breakers" in config:
            config["breakers"].setdefault("close_within_s", self.reset_s + 3)
        if "staleness" in config:
            ap = self.settings.get("ap", {})
            if ap.get("MAX_STALENESS_MS") is not None:
                config["staleness"].setdefault("max_staleness_ms", int(float(ap["MAX_STALENESS_MS"])))
        if "convergence" in config:
            config["convergence"].setdefault("within_s", self.exp.after_heal.within_s)
        self.checkers_used = config
        return config

    def finish(self, verdicts: list[Verdict], aborted: str | None = None) -> RunOutcome:
        overall = compose(verdicts).valid if not aborted else "unknown"
        stats = self.workload.stats if self.workload is not None else None
        record = RunRecord(
            experiment=self.exp.name, title=self.exp.title, hypothesis=self.exp.hypothesis,
            overall=overall, aborted=aborted, verdicts=verdicts,
            started_at=self.started_at, duration_s=round(time.monotonic() - self.t0, 2),
            run_id=self.run_id, seed=self.seed,
            ops={f"{s}:{k}": n for (s, k), n in sorted(stats.counts.items())} if stats else {},
            checkers=self.checkers_used, heal=self.heal_report, notes=self.notes,
            stack={"run_dir": str(self.stack.run_dir), "nodes": list(self.stack.config.nodes),
                   "profile": self.stack.config.profile, "services": self.urls,
                   **{k: number(self.settings, k, None) for k in
                      ("NETWORK_TIMEOUT_SEC", "BREAKER_RESET_TIMEOUT_SEC", "BREAKER_FAIL_MAX", "MAX_STALENESS_MS")},
                   "per_service": self.settings})
        record.write(self.run_dir)
        code = EXIT_ABORTED if aborted else EXIT[overall]
        for v in verdicts:
            self.say(f"  {v.valid.upper():8} {v.checker}: {v.summary}")
        self.say(f"overall: {overall.upper()}  ({record.duration_s} s)  -> {self.run_dir}")
        if not aborted:
            self.report()
        return RunOutcome(self.run_dir, overall, verdicts, code, aborted)

    def report(self) -> None:
        """Build report.md and report.html."""
        try:
            md, html = build_report(self.run_dir)
            for name, text in (("report.md", md), ("report.html", html)):
                if isinstance(text, str):
                    (self.run_dir / name).write_text(text)
            self.say(f"  report: {self.run_dir / 'report.html'}")
        except Exception as err:  # the verdicts stand without the report
            self.say(f"  report failed: {type(err).__name__}: {err}")
