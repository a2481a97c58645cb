"""Histories round-trip through JSON lines, completions classify as the contract says, runs get fresh folders."""
import json
import threading
from datetime import datetime

import pytest

from harness.history import (MetricSample, BreakerSample, FaultEvent, HistoryWriter, NodeSnapshot, NullRecorder, Op,
                             read_history)
from harness.outcomes import classify
from harness.pairs import pair_ops
from harness.runs import latest_run, new_run_dir

EVENTS = [
    Op("invoke", 1, "write", "k", "v1", "cp", 0.5, 1000),
    Op("ok", 1, "write", "k", "v1", "cp", 0.75, 1250, version="1250.0.3", node="g1,g2", status=200,
       latency_ms=250.0),
    Op("info", 2, "read", "k", None, "ap", 1.0, 1500, status=None, error="timeout", latency_ms=300.0),
    Op("ok", 3, "read", "k", "v1", "ap", 1.1, 1600, version="1250.0.3", node="g2", staleness_ms=40, stale=False),
    FaultEvent("start", "partition", "cp->g2", 2.0, 2000, {"toxic": "timeout", "ms": 0}),
    BreakerSample("cp", "g2", "half-open", 2.5, 2500),
    NodeSnapshot("g1", 3.0, 3000, {"k": {"value": "v1", "version": "1250.0.3"}}, "after-heal"),
    MetricSample("ap", "data_staleness_ms", {"node": "g2"}, 1231.0, 3.5, 3500),
]


def test_events_round_trip_through_a_file(tmp_path):
    path = tmp_path / "run" / "history.jsonl"
    with HistoryWriter(path) as w:
        for e in EVENTS:
            w.write(e)
    assert read_history(path) == EVENTS
    first = json.loads(path.read_text().splitlines()[4])
    assert first["type"] == "fault" and first["params"] == {"toxic": "timeout", "ms": 0}


def test_writer_keeps_lines_whole_across_threads(tmp_path):
    path = tmp_path / "h.jsonl"
    with HistoryWriter(path) as w:
        def work(p):
            for i in range(200):
                w.write(Op("invoke", p, "write", "k", "x" * 500 + str(i), "ap", 0.0, 0))
        threads = [threading.Thread(target=work, args=(p,)) for p in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(read_history(path)) == 1600


def test_reader_skips_a_torn_last_line_but_not_a_torn_middle_line(tmp_path):
    path = tmp_path / "h.jsonl"
    with HistoryWriter(path) as w:
        w.write(EVENTS[0])
    with open(path, "a") as f:
        f.write('{"type": "ok", "proc')
    assert read_history(path) == [EVENTS[0]]
    with open(path, "a") as f:
        f.write("\n" + json.dumps({"type": "fault"}) + "\n")
    with pytest.raises(ValueError, match=":2:"):
        read_history(path)


def test_reader_rejects_unknown_types_and_fields(tmp_path):
    path = tmp_path / "h.jsonl"
    path.write_text(json.dumps({"type": "bogus"}) + "\n")
    with pytest.raises(ValueError, match="unknown event type"):
        read_history(path)
    path.write_text(json.dumps({"type": "breaker", "service": "cp", "node": "g1", "state": "open",
                                "time": 1, "wall_ms": 1, "colour": "red"}) + "\n")
    with pytest.raises(ValueError, match="colour"):
        read_history(path)


def test_op_rejects_a_bad_type():
    with pytest.raises(ValueError):
        Op("done", 1, "read", "k", None, "cp", 0.0, 0)


def test_null_recorder_drops_everything():
    with NullRecorder() as r:
        r.write(EVENTS[0])
        t, wall = r.now()
    assert t >= 0 and wall > 1_600_000_000_000


@pytest.mark.parametrize("status, body, exc, expected", [
    (200, {"version": "1.0.1"}, None, "ok"),
    (503, {"outcome": "not_applied"}, None, "fail"),
    (503, {"outcome": "unknown"}, None, "info"),
    (503, None, None, "info"),
    (500, None, None, "info"),
    (400, {"error": "bad key"}, None, "fail"),
    (429, None, None, "fail"),
    (404, {"value": None, "error": {"code": "not_found"}}, None, "ok"),  # absent key: a read of nothing
    (404, {"error": {"code": "not_found"}}, None, "fail"),  # no such route
    (None, None, TimeoutError("read timed out"), "info"),
    (None, None, ConnectionResetError("reset"), "info"),
])
def test_classify(status, body, exc, expected):
    assert classify(status, body, exc) == expected


def test_pair_ops_pairs_per_process_and_leaves_unfinished_ops_unknown():
    events = [
        Op("invoke", 1, "write", "k", "a", "cp", 0.0, 0),
        Op("invoke", 1, "read", "k", None, "ap", 0.1, 0),  # same id, other service: another client
        Op("ok", 1, "read", "k", "a", "ap", 0.2, 0),
        Op("ok", 1, "write", "k", "a", "cp", 0.3, 0),
        Op("invoke", 2, "write", "k", "b", "cp", 0.4, 0),
    ]
    pairs = pair_ops(events)
    assert [(c.f, c.type, c.value) for c in pairs] == [("write", "ok", "a"), ("read", "ok", "a"),
                                                        ("write", "info", "b")]
    assert pairs[2].end == float("inf") and pairs[0].end == 0.3
    assert [c.service for c in pair_ops(events, service="ap")] == ["ap"]
    with pytest.raises(ValueError, match="without an invoke"):
        pair_ops([Op("ok", 1, "read", "k", None, "cp", 0.0, 0)])
    with pytest.raises(ValueError, match="still open"):
        pair_ops(events[:1] + events[:1])


def test_run_dirs_are_unique_within_a_second_and_the_latest_is_found(tmp_path):
    now = datetime(2024, 5, 1, 12, 30, 0)
    assert latest_run(tmp_path, "partition") is None
    made = [new_run_dir(tmp_path, "partition", now) for _ in range(12)]
    assert len(set(made)) == 12 and all(p.is_dir() for p in made)
    assert made[0] == tmp_path / "partition" / "20240501T123000"
    assert latest_run(tmp_path, "partition") == made[-1]  # -11 sorts after -2 by number, not text
    later = new_run_dir(tmp_path, "partition", datetime(2024, 5, 1, 12, 30, 1))
    assert latest_run(tmp_path, "partition") == later
    with pytest.raises(ValueError):
        new_run_dir(tmp_path, "../escape", now)
