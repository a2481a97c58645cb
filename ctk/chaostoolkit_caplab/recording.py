"""A caplab history recorded during a Chaos Toolkit run: client threads, breaker and metric samples,
the extension's faults, and marks.

The caplab control (`chaostoolkit_caplab.control`) opens one recording per `chaos run`; the actions
record their faults into it and the probes judge it. A mark starts a new stretch of the history:
the client threads start over on a fresh key space, so the history since a mark holds only keys
first written after it, and a checker run on it judges a complete history (a read never meets a
value written before the mark).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

from chaos.experiment.model import WorkloadSpec
from chaos.nemesis.scheduled import FAULT_STAGES
from chaos.observers.samplers import Sampler, Snapshotter
from chaos.run.protocols import Workload as WorkloadProtocol
from chaos.workloads.threads import ClientThreads
from harness.history import FaultEvent, HistoryWriter, MetricSample, NodeSnapshot, Op, read_history
from harness.runs import new_run_dir



@dataclass(frozen=True)
class Mark:
    """A named point of the history: its time (s since the recording began) and its key space."""

    name: str
    time: float
    epoch: str  # the client threads' keys from this mark on start with "<epoch>:"

    def to_dict(self) -> dict:
        return {"name": self.name, "time": round(self.time, 3), "epoch": self.epoch}


class Recording:
    """One run folder's history.jsonl, written while the Chaos Toolkit experiment runs."""

    def __init__(self, target, runs_dir, name: str, workload: WorkloadSpec, services, seed: int):
        self.target, self.spec, self.seed = target, workload, seed
        self.services = list(services)
        self.run_dir = new_run_dir(runs_dir, name)
        self.run_id = f"{name}-{self.run_dir.name}"
        self.rec = HistoryWriter(self.run_dir / "history.jsonl")
        urls = target.urls
        self.urls = {s: urls[s] for s in self.services}
        self.sampler = Sampler(urls, self.rec)  # the thread MetricsObserver runs, without a run
        self.workload: WorkloadProtocol | None = None
        self.marks: list[Mark] = []
        self.counts: dict = {}  # (service, completion) -> n, over every stretch
        self.faults_undone = 0
        self.sampling = False
        self.started = time.monotonic()

    def start(self) -> None:
        self.sampler.start()
        self.sampling = True
        self.mark("start")

    def mark(self, name: str) -> Mark:
        """Start a new stretch: stop the client threads, then start them on a fresh key space."""
        if any(m.name == name for m in self.marks):
            raise ValueError(f"mark {name!r} already exists; give each mark its own name "
                             f"(marks so far: {[m.name for m in self.marks]})")
        self._stop_workload()
        mark = Mark(name, self.rec.now()[0], f"{self.run_id}.m{len(self.marks)}")
        self.marks.append(mark)
        if self.spec.clients and self.urls:
            self.workload = ClientThreads(self.spec, self.urls, mark.epoch, self.rec, seed=self.seed + len(self.marks))
            self.workload.start()
        return mark

    def find(self, name: str | None) -> Mark:
        """The mark of that name (the last one when None)."""
        if name is None:
            return self.marks[-1]
        for m in self.marks:
            if m.name == name:
                return m
        raise ValueError(f"no mark {name!r}; marks so far: {[m.name for m in self.marks]}")

    def history_since(self, name: str | None) -> list:
        """The events since a mark: its key spaces' operations, samples and snapshots after it, and
        every fault event (a fault started before the mark still shapes the windows after it)."""
        return since(read_history(self.rec.path), self.marks, self.find(name))

    def stop_writes(self, services) -> None:
        if self.workload is not None:
            self.workload.stop_writes(services)

    def snapshot(self, services, every_s: float, within_s: float) -> Snapshotter:
        """Stop the writes of `services`, then snapshot every node until two identical rounds."""
        self.stop_writes(services)
        # Every stretch's keys: those of earlier stretches are quiet, and lost_writes needs them all.
        prefixes = [f"{m.epoch}:{s}:" for m in self.marks for s in services]
        # Before any fault was undone the nodes agree in the steady state, not after a heal: the
        # convergence checker times its after-heal rounds from the heal.
        phase = "after-heal" if self.faults_undone else "steady"
        snap = Snapshotter(self.target.stack.nodes, prefixes, Phased(self.rec, phase), every_s, within_s)
        snap.run()  # in this thread: the probe answers once the nodes agree or time is up
        return snap

    def on_fault(self, fault_type: str, params: dict, target: str):
        """An on_event callback that stamps the fault's changes into the history, twice each."""
        def record(fault, phase):
            if phase in FAULT_STAGES:
                edge, stage = FAULT_STAGES[phase]
                t, wall = self.rec.now()
                detail = {"fault": fault_type, **params, "applied": fault.describe()}
                self.rec.write(FaultEvent(edge, fault.name, target, t, wall, params=detail, stage=stage))
                self.faults_undone += phase == "stop"
        return record

    def on_flap(self, fault_name: str):
        def record(phase, detail):
            t, wall = self.rec.now()
            self.rec.write(MetricSample("chaos", "link_cut", {"fault": fault_name}, float(phase == "cut"), t, wall))
        return record

    def ops(self) -> dict:
        """Operations per service and completion type, over every stretch so far."""
        counts = dict(self.counts)
        if self.workload is not None:
            for key, n in self.workload.stats.counts.items():
                counts[key] = counts.get(key, 0) + n
        return {f"{s}:{k}": n for (s, k), n in sorted(counts.items())}

    def _stop_workload(self) -> None:
        if self.workload is not None:
            self.workload.stop()
            self.workload.finish(self.rec.path)  # client threads write as they go: nothing to fold in
            for key, n in self.workload.stats.counts.items():
                self.counts[key] = self.counts.get(key, 0) + n
            self.workload = None

    def close(self) -> None:
        """Stop the clients and the sampler and close the history; safe to call twice."""
        self._stop_workload()
        if self.sampling:
            self.sampler.stop()
            self.sampling = False
        self.rec.close()


def since(events, marks: list[Mark], mark: Mark) -> list:
    """The events from `mark` on: the operations on its key space and later ones, the samples and
    snapshots taken after it, and every fault event (a fault started before the mark still shapes
    the windows after it)."""
    epochs = tuple(m.epoch + ":" for m in marks[marks.index(mark):])
    out = []
    for event in events:
        if isinstance(event, Op):
            if event.key.startswith(epochs):
                out.append(event)
        elif isinstance(event, FaultEvent) or event.time >= mark.time:
            out.append(event)
    return out


class Phased:
    """A recorder that stamps the node snapshots written through it with one phase."""

    def __init__(self, rec, phase: str):
        self.rec, self.phase = rec, phase

    def now(self) -> tuple[float, int]:
        return self.rec.now()

    def write(self, event) -> None:
        self.rec.write(replace(event, phase=self.phase) if isinstance(event, NodeSnapshot) else event)


_current: Recording | None = None


def current(required: bool = True) -> Recording | None:
    """The recording of this `chaos run`; ActivityFailed-worthy ValueError if there is none."""
    if _current is None and required:
        raise ValueError("no caplab recording in this run: add the caplab control "
                         "(provider module chaostoolkit_caplab.control) to the experiment's controls")
    return _current


def begin(recording: Recording) -> Recording:
    global _current
    if _current is not None:
        _current.close()
    _current = recording
    recording.start()
    return recording


def end() -> Recording | None:
    global _current
    rec, _current = _current, None
    if rec is not None:
        rec.close()
    return rec
