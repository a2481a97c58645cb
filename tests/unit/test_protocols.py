"""The runner drives workloads and observers through protocols: both workloads and the sampler fit."""
from __future__ import annotations

from types import SimpleNamespace

from chaos import workloads
from chaos.experiment.files import parse_experiment
from chaos.observers.samplers import Sampler
from chaos.run.protocols import Observer, Workload
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
    assert isinstance(threads, Workload) and type(threads).__name__ == "Workload"
    assert isinstance(locust, Workload) and isinstance(locust, LocustWorkload)
    assert threads.finish(tmp_path / "history.jsonl") == []
    locust.error = "exit 1"  # Locust never ran: nothing to merge, its failure becomes a note
    assert locust.finish(tmp_path / "history.jsonl") == ["Locust: exit 1"]


def test_the_sampler_is_an_observer_and_a_plain_object_is_not():
    assert isinstance(Sampler({"cp": "http://127.0.0.1:9"}, NullRecorder()), Observer)
    assert not isinstance(SimpleNamespace(start=lambda: None), Observer)
    assert not isinstance(SimpleNamespace(start=lambda: None), Workload)
