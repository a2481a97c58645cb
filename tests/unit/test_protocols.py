"""The runner drives workloads, nemeses and observers through protocols: the concrete ones fit, the parts
factory refuses what does not, and an abort from another thread is recorded once."""
from __future__ import annotations

from types import SimpleNamespace

from chaos import workloads
from chaos.experiment.files import ALERTS_DIR, load_experiment, parse_experiment
import threading

import pytest

from chaos.nemesis.scheduled import ScheduledFaults
from chaos.observers.alerting import AlertProbe
from chaos.observers.samplers import MetricsObserver, SnapshotObserver
from chaos.observers.guard import GuardObserver
from chaos.observers.live import LiveRun
from chaos.run.assembly import Parts, for_experiment
from chaos.run.context import RunAborted, RunContext
from chaos.run.protocols import Nemesis, Observer, Workload
from chaos.workloads.locust import LocustWorkload
from harness.history import NullRecorder

EXP = {"name": "demo", "hypothesis": "h", "services": ["cp"], "workload": {"clients": 1, "duration_s": 5},
       "schedule": [{"at": 1, "duration": 2, "fault": "cut_node", "params": {"node": "g2"}}],
       "checkers": {"linearizable": {}}}


def test_both_workloads_fit_the_protocol_and_the_factory_picks_by_engine(tmp_path):
    urls = {"cp": "http://127.0.0.1:9"}
    threads = workloads.for_experiment(parse_experiment(EXP), urls, "r", NullRecorder(), tmp_path, 1)
    locust = workloads.for_experiment(parse_experiment({**EXP, "workload": {"engine": "locust", "duration_s": 5}}),
                                      urls, "r", NullRecorder(), tmp_path, 1)
    assert isinstance(threads, Workload) and type(threads).__name__ == "ClientThreads"
    assert isinstance(locust, Workload) and isinstance(locust, LocustWorkload)
    assert threads.finish(tmp_path / "history.jsonl") == []
    locust.error = "exit 1"  # Locust never ran: nothing to merge, its failure becomes a note
    assert locust.finish(tmp_path / "history.jsonl") == ["Locust: exit 1"]


def test_the_observers_and_the_schedule_fit_and_a_plain_object_does_not():
    exp = parse_experiment(EXP)
    assert isinstance(MetricsObserver(), Observer) and isinstance(SnapshotObserver(exp.after_heal), Observer)
    assert isinstance(ScheduledFaults(exp.schedule), Nemesis)
    assert not isinstance(SimpleNamespace(start=lambda: None), Observer)
    assert not isinstance(SimpleNamespace(start=lambda: None), Workload)
    assert not isinstance(SimpleNamespace(start=lambda: None, step=lambda e: None), Nemesis)


def test_an_observer_overrides_only_what_it_needs():
    class Counter(Observer):
        def start(self, run):
            self.started = run

    c = Counter()
    c.prepare(None), c.faults_over(None), c.settle(None), c.stop(), c.close()
    c.start("run")
    assert c.started == "run" and c.verdicts([]) == [] and c.notes() == []


def _context(exp, tmp_path):
    return RunContext(exp, SimpleNamespace(), tmp_path, "r", {"cp": "http://127.0.0.1:9"}, {}, 1, rec=NullRecorder())


def test_the_experiment_factory_names_the_parts_and_parts_refuse_strangers(tmp_path):
    exp = parse_experiment(EXP)
    parts = for_experiment(_context(exp, tmp_path))
    assert isinstance(parts.nemesis, ScheduledFaults) and parts.nemesis.active == [] and not parts.nemesis.done
    assert [type(o) for o in parts.observers] == [MetricsObserver, SnapshotObserver, LiveRun]
    guarded = parse_experiment({**EXP, "guards": [{"service": "cp", "below": 0.5, "for_s": 1}]})
    assert type(for_experiment(_context(guarded, tmp_path)).observers[-1]) is GuardObserver
    with_alerts = load_experiment(ALERTS_DIR / "breaker-open.yaml")
    assert isinstance(for_experiment(_context(with_alerts, tmp_path)).observers[-1], AlertProbe)
    with pytest.raises(TypeError, match="not a Nemesis"):
        Parts(parts.workload, SimpleNamespace(start=lambda run: None))
    with pytest.raises(TypeError, match="not Observers: SimpleNamespace"):
        Parts(parts.workload, parts.nemesis, [SimpleNamespace()])


def test_abort_from_another_thread_counts_once_and_says_who(tmp_path):
    run = _context(parse_experiment(EXP), tmp_path)
    run.check_abort()  # nothing asked yet
    first = threading.Thread(target=lambda: run.abort("halt button", by="dashboard"))
    first.start()
    first.join(5)
    assert run.aborting and not run.abort("too late", by="guard")
    assert run.halted["by"] == "dashboard" and run.halted["reason"] == "halt button"
    assert run.halted["at"].endswith("+00:00") and run.halted["after_s"] >= 0
    with pytest.raises(RunAborted, match="aborted by dashboard: halt button"):
        run.check_abort()
