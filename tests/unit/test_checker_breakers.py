"""The breakers checker times opening during a fault and closing after it."""
from chaos.checkers import breakers
from tests.unit.histories import H


def history(open_at=11.0, closed_at=25.0):
    h = H().fault(10, 20, target="cp->g2").breaker(5, "g2", "closed").breaker(5, "g1", "closed")
    if open_at is not None:
        h.breaker(open_at, "g2", "open")
    h.breaker(21, "g2", "half-open" if open_at is not None else "closed")
    if closed_at is not None:
        h.breaker(closed_at, "g2", "closed")
    return h


def test_open_and_close_in_time():
    v = breakers.check(history().build(), expect_open=["cp:g2"], open_within_s=2, close_within_s=6)
    assert v.valid == "valid"
    t = v.figures["timings"][0]
    assert (t["service"], t["node"], t["opened_after_s"], t["closed_after_s"]) == ("cp", "g2", 1.0, 5.0)
    assert v.figures["unexpected_opens"] == []


def test_late_or_missing_open_is_invalid():
    assert breakers.check(history(open_at=15).build(), expect_open=[("cp", "g2")], open_within_s=2).valid == "invalid"
    v = breakers.check(history(open_at=None).build(), expect_open=["cp:g2"])
    assert v.valid == "invalid" and "never opened" in v.summary


def test_late_or_missing_close_is_invalid():
    assert breakers.check(history(closed_at=30).build(), expect_open=["cp:g2"], close_within_s=6).valid == "invalid"
    v = breakers.check(history(closed_at=None).build(), expect_open=["cp:g2"], close_within_s=6)
    assert v.valid == "invalid" and "never closed" in v.summary


def test_unexpected_open_is_reported():
    h = history().breaker(30, "g1", "open").breaker(31, "g1", "closed")
    v = breakers.check(h.build(), expect_open=["cp:g2"])
    assert v.valid == "valid"
    assert v.figures["unexpected_opens"] == [{"service": "cp", "node": "g1", "time": 30, "during_fault": False}]


def test_unsampled_breaker_or_no_fault_is_unknown():
    assert breakers.check(history().build(), expect_open=["ap:g2"]).valid == "unknown"
    h = H().breaker(1, "g2", "closed")
    assert breakers.check(h.build(), expect_open=["cp:g2"]).valid == "unknown"


def test_timings_run_from_the_invoke_of_each_change():
    h = (H().staged_fault(10, 10.5, 20, 20.8).breaker(5, "g2", "closed").breaker(10.2, "g2", "open")
         .breaker(24, "g2", "closed"))
    v = breakers.check(h.build(), expect_open=["cp:g2"], open_within_s=0.5, close_within_s=4)
    t = v.figures["timings"][0]
    # Opened while the fault was still landing: counted, and timed from the start's invoke.
    assert (t["opened_after_s"], t["closed_after_s"]) == (0.2, 4.0) and v.valid == "valid"
    assert t["fault"] == "fault:partition:cp->g2@10.5" and v.figures["unexpected_opens"] == []
