"""Locust's history stamps operations on the monotonic clock, so a wall-clock step cannot reorder it."""
import time

from harness.history import HistoryWriter, Op
from harness.pairs import pair_ops
from loadtests.answers import Answer
from loadtests.history import LoadHistory


class Events:
    """A writer that keeps what it is given."""

    def __init__(self):
        self.events = []

    def write(self, event):
        self.events.append(event)

    def close(self):
        pass


def test_a_wall_clock_step_backwards_does_not_reorder_the_history(monkeypatch):
    real_ns = time.time_ns
    w = Events()
    h = LoadHistory(w, start_wall_ms=real_ns() / 1e6 - 5_000)  # the run started 5 s ago
    first = h.invoke(1, "cp", "write", "k", "v1")
    monkeypatch.setattr(time, "time_ns", lambda: real_ns() - 3_600 * 10**9)  # NTP steps back one hour
    h.complete(first, Answer(200, {"version": "1.0.1"}))
    second = h.invoke(1, "cp", "read", "k")
    h.complete(second, Answer(200, {"value": "v1", "version": "1.0.1"}))
    times = [e.time for e in w.events]
    assert times == sorted(times) and 4.9 < times[0] < 60, times
    [a, b] = pair_ops(w.events)
    assert a.end >= a.start and b.start >= a.end and a.completion.latency_ms >= 0
    assert w.events[1].wall_ms < w.events[0].wall_ms  # wall_ms still shows what the wall clock said


def test_a_given_monotonic_time_zero_is_the_runners_clock(tmp_path):
    with HistoryWriter(tmp_path / "runner.jsonl") as rec:
        h = LoadHistory(Events(), start_wall_ms=0, t0_monotonic=rec.t0)  # start_wall_ms is then unused
        t_runner, _ = rec.now()
        t_load, _ = h.now()
        t_after, _ = rec.now()
    assert t_runner <= t_load <= t_after


def test_operations_still_closed_at_stop_end_as_info():
    w = Events()
    h = LoadHistory(w, start_wall_ms=time.time() * 1000)
    h.invoke(7, "ap", "write", "k", "x")
    assert h.close_open() == 1
    assert [(e.type, e.process) for e in w.events if isinstance(e, Op)] == [("invoke", 7), ("info", 7)]
