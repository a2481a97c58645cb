"""Guards and the live-run observer on a real RunContext (no stack): when a guard trips and what it
records; the pointer a dashboard follows; a halt request aborting the run with who and when."""
from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest

from chaos.experiment.files import ExperimentError, parse_experiment
from chaos.observers.guard import AvailabilityWindow, GuardObserver
from chaos.observers.live import HALT, POINTER, LiveRun
from chaos.run.context import RunContext
from chaos.workloads.threads import Stats

EXP = {"name": "g", "hypothesis": "h", "services": ["cp", "ap"], "workload": {"duration_s": 20},
       "guards": [{"service": "ap", "below": 0.9, "for_s": 5}]}


def context(tmp_path, exp=None):
    exp = exp or parse_experiment(EXP)
    stack = SimpleNamespace(run_dir=tmp_path / "stack")
    stack.run_dir.mkdir(exist_ok=True)
    run = RunContext(exp, stack, tmp_path, "g-1", {}, {}, 1, say=lambda _m: None)
    run.workload = SimpleNamespace(stats=Stats())
    run.live.phase = "under-load"
    return run


def add(stats, service, ok=0, fail=0, info=0):
    for kind, n in (("ok", ok), ("fail", fail), ("info", info)):
        for _ in range(n):
            stats.add(service, kind)


def test_the_window_judges_only_a_full_span_with_enough_operations():
    w = AvailabilityWindow(for_s=5, min_ops=10)
    assert w.add(0, 0, 0) is None
    assert w.add(4.9, 2, 20) is None  # not yet 5 s of history
    assert w.add(5.0, 2, 20) == pytest.approx(0.1)
    # the span starts at the last sample at least for_s old: at 6 s, the one at 0 s
    assert w.add(6.0, 2, 25) == pytest.approx(2 / 25) and w.judged == 2
    w2 = AvailabilityWindow(for_s=1, min_ops=10)
    w2.add(0, 0, 0)
    assert w2.add(2, 5, 5) is None and w2.judged == 0  # 5 operations: too few to say


def test_a_guard_trips_once_availability_stays_low_and_aborts_with_its_reason(tmp_path):
    run = context(tmp_path)
    guard = GuardObserver(parse_experiment(EXP).guards)
    add(run.workload.stats, "ap", ok=100)
    assert not guard.check(run, 0.0)
    add(run.workload.stats, "ap", ok=50, fail=2)  # 96% over the span: holds
    assert not guard.check(run, 5.0) and not run.aborting
    add(run.workload.stats, "cp", fail=500)  # another service's failures are not the guard's business
    add(run.workload.stats, "ap", ok=5, info=45)
    assert guard.check(run, 10.0)
    assert run.aborting and run.halted["by"] == "guard" and "AP availability below 90% for 5 s" in run.halted["reason"]
    [verdict] = guard.verdicts([])
    assert verdict.valid == "invalid" and verdict.figures["value"] == pytest.approx(5 / 50)  # from the 5 s sample


def test_a_guard_that_never_tripped_is_valid_and_one_never_judged_is_unknown(tmp_path):
    run = context(tmp_path)
    guard = GuardObserver(parse_experiment(EXP).guards)
    assert guard.verdicts([])[0].valid == "unknown"
    add(run.workload.stats, "ap", ok=10)
    guard.check(run, 0.0)
    add(run.workload.stats, "ap", ok=40)
    assert not guard.check(run, 6.0)
    assert guard.verdicts([])[0].valid == "valid" and not run.aborting


def test_guard_fields_are_validated_with_a_fix_for_each_problem():
    with pytest.raises(ExperimentError) as err:
        parse_experiment({**EXP, "guards": [{"service": "db", "metric": "latency", "below": 90, "for_s": 60, "x": 1}]})
    text = str(err.value)
    for expected in ("guards[0].x: unknown field", "guards[0].service: 'db' is not one of",
                     "guards[0].metric: 'latency' is not one of ['availability']",
                     "guards[0].below: 90 is out of range; give a number between 0.01 and 1",
                     "guards[0].for_s: 60 s is longer than the workload (20 s)"):
        assert expected in text, text
    with pytest.raises(ExperimentError, match="guards: must be a list"):
        parse_experiment({**EXP, "guards": {"service": "ap"}})


def test_the_live_run_pointer_and_a_halt_request(tmp_path):
    run = context(tmp_path)
    live = LiveRun(poll_s=0.02)
    live.prepare(run)
    try:
        pointer = json.loads((run.stack.run_dir / POINTER).read_text())
        assert pointer["run_dir"] == str(tmp_path.resolve()) and pointer["experiment"] == "g"
        assert pointer["phase"] == "under-load"
        (tmp_path / HALT).write_text(json.dumps({"by": "a person", "via": "dashboard", "from": "127.0.0.1",
                                                 "at": "2026-12-01T18:00:00.000+00:00"}))
        deadline = time.monotonic() + 10
        while not run.aborting and time.monotonic() < deadline:
            time.sleep(0.02)
        assert run.halted["by"] == "a person"
        assert run.halted["reason"] == "halt requested at 2026-12-01T18:00:00.000+00:00 (via dashboard, from 127.0.0.1)"
        assert run.halted["at"]  # when the run was aborted, stamped by the runner's context
    finally:
        live.close()
    assert json.loads((run.stack.run_dir / POINTER).read_text())["phase"] == "judging"
    assert "halt button pressed" in live.notes()[0]


def test_a_halt_request_after_the_faults_are_undone_changes_nothing(tmp_path):
    run = context(tmp_path)
    run.live.phase = "healing"
    live = LiveRun(poll_s=0.02)
    live.prepare(run)
    try:
        (tmp_path / HALT).write_text(json.dumps({"by": "a person"}))
        deadline = time.monotonic() + 10
        while live.halt_request is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        live.close()
    assert not run.aborting and run.halted is None
    assert live.halt_request["ignored"] == "the run was healing already"
