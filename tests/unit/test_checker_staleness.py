"""The staleness checker summarizes reported staleness and proves stale reads from the history."""
from chaos.checkers import staleness
from tests.unit.histories import H


def reads(h, ages, start=10, stale=None):
    for i, ms in enumerate(ages):
        t = start + i
        flag = stale if stale is not None else ms > 100
        h.read(1, "k", "x", t, t + 0.1, version="1000.0.1", staleness_ms=ms, stale=flag)
    return h


def test_distribution_and_share_above():
    h = reads(H("ap").write(9, "k", "x", 0, 1, version="1000.0.1"), [0] * 90 + [50] * 5 + [500] * 5)
    v = staleness.check(h.build(), max_staleness_ms=100)
    assert v.valid == "valid"
    assert v.figures["staleness_ms"] == {"p50": 0, "p95": 50, "p99": 500, "max": 500}
    assert v.figures["share_above"] == 0.05 and v.figures["flagged_stale"] == 5
    assert staleness.check(h.build(), max_staleness_ms=100, max_share_above=0.01).valid == "invalid"
    assert staleness.check(h.build(), max_staleness_ms=100, max_share_above=0.05).valid == "valid"


def test_stale_false_with_staleness_above_the_bound_is_invalid():
    h = reads(H("ap").write(9, "k", "x", 0, 1, version="1000.0.1"), [0, 500], stale=False)
    v = staleness.check(h.build(), max_staleness_ms=100)
    assert v.valid == "invalid" and v.evidence[0]["staleness_ms"] == 500


def test_other_services_are_ignored():
    h = reads(H("cp"), [500], stale=False)
    assert staleness.check(h.build(), max_staleness_ms=100).figures["reads"] == 0


def observed():
    # Write v2 is acknowledged at t=2; a read invoked at t=3.5 still returns v1 and reports 0 ms.
    return (H("ap").write(1, "k", "v1", 0, 1, version="1000.0.1").write(1, "k", "v2", 1.5, 2, version="2000.0.1")
            .read(2, "k", "v1", 3.5, 3.6, version="1000.0.1", staleness_ms=0, stale=False)
            .read(2, "k", "v2", 4, 4.1, version="2000.0.1", staleness_ms=0, stale=False)
            .read(3, "k", "v1", 1.8, 2.5, version="1000.0.1", staleness_ms=0, stale=False))


def test_reads_missing_an_acknowledged_write_are_proven_stale():
    v = staleness.check(observed().build(), max_staleness_ms=100)
    assert v.valid == "valid"  # under-reporting is a figure unless honesty is required
    assert v.figures["observed_stale"] == 1 and v.figures["max_observed_lag_ms"] == 1500
    assert v.figures["under_reported"] == 1


def test_require_honest_staleness_makes_under_reporting_invalid():
    v = staleness.check(observed().build(), max_staleness_ms=100, require_honest_staleness=True)
    assert v.valid == "invalid" and v.evidence[0]["missed"] == "2000.0.1"


def test_absent_read_after_an_acknowledged_write_is_stale():
    h = (H("ap").write(1, "k", "v1", 0, 1, version="1000.0.1")
         .read(2, "k", None, 2, 2.1, staleness_ms=0, stale=False))
    assert staleness.check(h.build(), require_honest_staleness=True).valid == "invalid"


def test_reads_concurrent_with_the_write_are_not_stale():
    h = (H("ap").write(1, "k", "v1", 0, 1, version="1000.0.1")
         .read(2, "k", None, 0.5, 2, staleness_ms=0, stale=False))
    assert staleness.check(h.build(), require_honest_staleness=True).figures["observed_stale"] == 0
