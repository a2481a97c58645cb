"""Load tests against the live stack: thresholds, outputs, histories, refusals, distributed mode.

Locust always runs in its own processes (python -m loadtests.run, or loadtests.workload), so its
gevent monkey-patching never reaches pytest. Every run is short and bounded in time.
"""
from __future__ import annotations

import collections
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chaos.checkers import run_all
from harness.history import FaultEvent, HistoryWriter, Op, read_history
from harness.pairs import pair_ops
from loadtests.history import merge_histories
from loadtests.shapes import make_schedule
from loadtests.thresholds import Limits, Tally, judge
from loadtests.workload import ROOT, start_locust
from tests.integration.live import wait_for

pytestmark = pytest.mark.integration


def load(stack, out: Path, *args, timeout=60) -> subprocess.CompletedProcess:
    """`python -m loadtests.run` against the test stack; subprocess.run kills it on timeout."""
    cfg = stack.config
    argv = [sys.executable, "-m", "loadtests.run", "--cp-url", cfg.service_url("cp"),
            "--ap-url", cfg.service_url("ap"), "--out", str(out), *args]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def ops(history_path) -> list:
    return [e for e in read_history(history_path) if isinstance(e, Op)]


def test_both_services_pass_thresholds_and_write_every_output(live, tmp_path):
    r = load(live, tmp_path, "--service", "both", "--users", "4", "--spawn-rate", "4", "--duration", "8s",
             "--history")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASSED" in r.stdout
    for name in ("locust_stats.csv", "locust_failures.csv", "report.html", "stats.json", "thresholds.json",
                 "history.jsonl"):
        assert (tmp_path / name).stat().st_size > 0, name
    verdict = json.loads((tmp_path / "thresholds.json").read_text())
    assert verdict["passed"] and {s["service"] for s in verdict["services"]} == {"cp", "ap"}
    assert all(s["requests"] > 0 and s["p95_ms"] < 500 for s in verdict["services"])
    names = {row["Name"] for row in csv.DictReader(open(tmp_path / "locust_stats.csv"))}
    assert {"cp POST /write/[key]/[value]", "ap PUT /kv/[key]", "cp GET /read/[key]", "ap GET /kv/[key]"} <= names

    # The listener's history reads back, and every invoke has its completion.
    events = ops(tmp_path / "history.jsonl")
    pairs = pair_ops(events)
    assert pairs and all(p.completion is not None for p in pairs)
    assert sum(e.type == "invoke" for e in events) == len(pairs)
    assert {p.service for p in pairs} == {"cp", "ap"} and {p.f for p in pairs} == {"read", "write"}
    writes = [p.value for p in pairs if p.f == "write"]
    assert len(writes) == len(set(writes)), "every write carries a value unique to the run"
    assert collections.Counter(p.type for p in pairs)["ok"] >= 0.95 * len(pairs)
    assert all(0 <= p.start <= 30 for p in pairs), "times count from the run's start"


def test_tiny_threshold_fails_the_run_and_names_it(live, tmp_path):
    r = load(live, tmp_path, "--service", "both", "--users", "2", "--spawn-rate", "2", "--duration", "6s",
             "--p95-ms", "0.001")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAILED: cp: p95" in r.stdout and "> 0.001 ms" in r.stdout
    assert "FAILED: ap: p95" in r.stdout
    verdict = json.loads((tmp_path / "thresholds.json").read_text())
    assert not verdict["passed"] and all("p95" in b for b in verdict["broken"])


def test_cp_partition_under_load_records_refusals_not_crashes(live, toxiproxy, tmp_path):
    """Locust as a chaos workload: its history plus the fault events get the checkers' verdicts."""
    cfg = live.config
    locust_history, faults = tmp_path / "locust-history.jsonl", tmp_path / "faults.jsonl"
    t0_wall_ms = time.time() * 1000  # the run's start, shared by both files

    def fault(phase):
        wall = time.time() * 1000
        with HistoryWriter(faults) as w:
            w.write(FaultEvent(phase, "partition", "cp->g2", (wall - t0_wall_ms) / 1000, int(wall)))

    run = start_locust(cfg, ["cp"], 3, 9, locust_history, t0_wall_ms, out_dir=tmp_path, run_id="partition")
    try:
        wait_for(lambda: locust_history.exists() and locust_history.stat().st_size > 0, 30,
                 "Locust's first operation")
        time.sleep(1.5)
        fault("start")
        toxiproxy.set_enabled("cp_g2", False)
        try:
            time.sleep(2.5)
        finally:
            toxiproxy.set_enabled("cp_g2", True)
            fault("stop")
        result = run.wait()
    finally:
        run.stop()

    merge_histories([locust_history, faults], tmp_path / "history.jsonl")  # what the runner would do
    history = read_history(tmp_path / "history.jsonl")
    pairs = pair_ops(history)
    assert all(p.completion is not None for p in pairs)
    by_outcome = collections.defaultdict(set)
    for p in pairs:
        if p.completion.status == 503:
            by_outcome[p.completion.outcome].add(p.type)
    assert by_outcome["not_applied"] == {"fail"}, by_outcome
    assert by_outcome.get("unknown", {"info"}) == {"info"}, by_outcome
    # Refusals are Locust failures with their outcome named, never exceptions of the locustfile.
    failures = list(csv.DictReader(open(tmp_path / "locust_failures.csv")))
    assert any("refused (outcome=not_applied)" in f["Error"] for f in failures)
    assert list(csv.DictReader(open(tmp_path / "locust_exceptions.csv"))) == []
    # By default a refusal in the steady state counts as an error, so the run fails on error rate.
    cp = next(s for s in result.verdict["services"] if s["service"] == "cp")
    assert cp["refusals"] > 0 and result.exit_code == 1
    assert any("error rate" in b and "refusals" in b for b in result.broken)

    # The checkers judge Locust's history as they judge the chaos workload's.
    lin, avail = run_all(history, {"linearizable": {}, "availability": {}})
    assert lin.valid == "valid", lin.summary
    rows = {r["kind"]: r for r in avail.figures["windows"] if r["service"] == "cp"}
    assert rows["fault"]["availability"] < 0.5 < rows["steady"]["availability"], avail.figures


def test_distributed_master_and_one_worker_judged_on_the_master(live, tmp_path):
    r = load(live, tmp_path, "--service", "both", "--users", "4", "--spawn-rate", "4", "--duration", "7s",
             "--workers", "1", "--history", "--p95-ms", "0.001", timeout=90)
    assert r.returncode == 1, r.stdout + r.stderr  # the master judged: broken
    assert "FAILED: cp: p95" in r.stdout
    assert "workers exited with [0]" in r.stdout  # the worker's own exit code decided nothing
    verdict = json.loads((tmp_path / "thresholds.json").read_text())
    assert all(s["requests"] > 0 for s in verdict["services"]), "the worker's tallies reached the master"
    pairs = pair_ops(read_history(tmp_path / "history.jsonl"))
    assert pairs and all(p.completion is not None for p in pairs)
    assert min(p.process for p in pairs) >= 100_000, "worker processes are numbered apart"
    assert not list(tmp_path.glob("history.worker*.jsonl")), "worker files are merged, then removed"


# Pure logic: no stack needed.

def test_steady_windows_skip_ramps_and_settle_time():
    assert make_schedule("steady", 10, 5, 30).steady_windows() == [(3.0, 30.0)]
    step = make_schedule("step", 8, 4, 40)
    assert [p.users for p in step.plateaus] == [2, 4, 6, 8]
    assert step.steady_windows()[1] == (10.0 + 0.5 + 1, 20.0)
    spike = make_schedule("spike", 9, 3, 50)
    assert [(p.users, p.seconds) for p in spike.plateaus] == [(3, 20), (9, 10), (3, 20)]
    assert spike.tick(25) == (9, 9.0) and spike.tick(50) is None
    with pytest.raises(ValueError, match="choose one of"):
        make_schedule("wave", 1, 1, 1)


def test_judge_counts_refusals_as_configured():
    tally = Tally()
    for s in range(100, 110):
        for i in range(99):
            tally.add("cp", s + 0.5, 20 + i, "ok")
        tally.add("cp", s + 0.5, 3, "refusal")
    strict = judge(tally.data, 100.0, [(0, 10)], Limits(500, 0.001, True))
    lenient = judge(tally.data, 100.0, [(0, 10)], Limits(500, 0.001, False))
    assert not strict.passed and "error rate 1.000%" in strict.broken[0]
    assert lenient.passed and lenient.services[0].refusals == 10
    ramp_only = judge(tally.data, 100.0, [(20, 30)], Limits())
    assert not ramp_only.passed and "no requests in the steady state" in ramp_only.broken[0]


def test_merge_histories_orders_by_time(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    line = '{{"type":"invoke","process":{p},"f":"read","key":"k","value":null,"service":"cp","time":{t},"wall_ms":0}}\n'
    a.write_text(line.format(p=1, t=0.1) + line.format(p=2, t=0.5))
    b.write_text(line.format(p=3, t=0.3) + '{"type":"inv')  # a torn last line is dropped
    assert merge_histories([a, b, tmp_path / "missing.jsonl"], tmp_path / "out.jsonl") == 3
    assert [e.process for e in read_history(tmp_path / "out.jsonl")] == [1, 3, 2]
