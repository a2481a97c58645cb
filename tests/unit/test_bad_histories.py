"""Checkers cannot pass on nothing, and a history that cannot have happened is an invalid history.

Every registered checker answers unknown on an empty history and on one it cannot use; a
completion without an invoke, stamped before its invoke, for another operation, or an invoke while
one is open gives an `invalid history` verdict naming the file line, never a crash.
"""
import pytest

from chaos.checkers import CHECKERS, run_all
from chaos.checkers import breakers, convergence, staleness
from chaos.experiment.model import MetricExpectation
from chaos.observers.samplers import check_metrics
from alerts.watch import check as check_alerts
from harness.history import HistoryError, Op, read_history
from harness.pairs import pair_ops
from tests.unit.histories import H, through_file, wall

# What each checker needs to judge anything at all, so an empty history cannot pass it.
CONFIG = {"linearizable": {}, "convergence": {}, "lost_writes": {}, "staleness": {"max_staleness_ms": 100},
          "availability": {"min_availability": {"cp": {"steady": 0.9}}},
          "breakers": {"expect_open": ["cp:g2"]}, "read_your_writes": {"service": "cp"},
          "monotonic_reads": {"service": "cp"}, "instances": {"max_fail": {"cp": 0}}}


def test_the_config_covers_every_registered_checker():
    assert set(CONFIG) == set(CHECKERS)


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_every_checker_is_unknown_on_an_empty_history(name):
    [v] = run_all([], {name: CONFIG[name]})
    assert v.valid == "unknown", v


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_every_checker_is_unknown_when_every_operation_was_refused(name):
    h = H().fault(1, 2)
    for i in range(5):
        h.write(1, f"k{i}", "x", 3 + i, 3.5 + i, type="fail").read(2, f"k{i}", None, 3 + i, 3.5 + i, type="fail")
    h.snapshot(10, "g1", {}).snapshot(10.1, "g2", {})
    [v] = run_all(h.build(), {name: CONFIG[name]})
    assert v.valid == "unknown", v


def test_breakers_expecting_nothing_is_unknown():
    h = H().fault(1, 5).breaker(0, "g2", "closed").breaker(2, "g2", "open").breaker(6, "g2", "closed")
    assert breakers.check(h.build()).valid == "unknown"
    assert breakers.check(h.build(), expect_open=["cp:g2"]).valid == "valid"


def test_convergence_of_one_node_or_of_no_record_is_unknown():
    one = H().snapshot(10, "g1", {"k": ("a", "1.0.1")}).build()
    assert convergence.check(one).valid == "unknown"
    empty = H().snapshot(10, "g1", {}).snapshot(10.1, "g2", {}).build()
    assert convergence.check(empty).valid == "unknown"
    both = H().snapshot(10, "g1", {"k": ("a", "1.0.1")}).snapshot(10.1, "g2", {"k": ("a", "1.0.1")}).build()
    assert convergence.check(both).valid == "valid"


def test_staleness_without_reads_or_without_what_the_bound_needs_is_unknown():
    writes = H("ap").write(1, "k", "a", 0, 1, version="1000.0.1").build()
    assert "no ok ap read" in staleness.check(writes).summary
    unreported = H("ap").write(1, "k", "a", 0, 1, version="1000.0.1").read(2, "k", "a", 2, 3, version="1000.0.1")
    v = staleness.check(unreported.build(), max_staleness_ms=100)
    assert v.valid == "unknown" and "not tested" in v.summary
    no_prior_write = H("ap").read(2, "k", None, 0, 1, staleness_ms=0, stale=False).build()
    assert staleness.check(no_prior_write, require_honest_staleness=True).valid == "unknown"
    assert staleness.check(no_prior_write).valid == "valid"


def test_metrics_and_alerts_expecting_nothing_are_unknown():
    assert check_metrics([], []).valid == "unknown"
    h = H().fault(1, 5).build()
    assert check_alerts(h).valid == "unknown"
    m = MetricExpectation(service="ap", metric="data_staleness_ms", node="g2", window="fault", at_least=1)
    assert check_metrics(h, [m]).valid == "unknown"  # no samples


# -- histories that cannot have happened ----------------------------------------------------------

def _op(type_, p, f, key, t, service="cp", value=None):
    return {"type": type_, "process": p, "f": f, "key": key, "value": value, "service": service,
            "time": t, "wall_ms": wall(t)}


GOOD = H().write(1, "k", "a", 0, 1).read(2, "k", "a", 2, 3)
BAD = {
    "a completion without an invoke": ([_op("ok", 9, "read", "k", 4.0, value="a")], 5,
                                       "completed a read (ok) at t=4 without an invoke"),
    "a completion stamped before its invoke": ([_op("invoke", 9, "read", "k", 4.0), _op("ok", 9, "read", "k", 3.5)],
                                               6, "before its invoke on line 5"),
    "an invoke while one is open": ([_op("invoke", 9, "read", "k", 4.0), _op("invoke", 9, "write", "k", 4.2, value="b")],
                                    6, "still open"),
    "a completion of another operation": ([_op("invoke", 9, "read", "k", 4.0), _op("ok", 9, "write", "j", 4.5)],
                                          6, "is a read of 'k'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_history_that_cannot_have_happened_is_invalid_naming_the_line(tmp_path, case):
    raw, line, words = BAD[case]
    history = through_file(GOOD.build(), tmp_path / "history.jsonl", raw)
    with pytest.raises(HistoryError) as err:
        pair_ops(history)
    assert err.value.line == line and words in str(err.value) and f"history.jsonl:{line}:" in str(err.value)
    for v in run_all(history, {"linearizable": {}, "availability": CONFIG["availability"],
                               "staleness": {"service": "cp"}, "lost_writes": {}}):
        if v.checker == "lost_writes":
            assert v.valid == "unknown"  # no snapshot: it returns before reading the operations
            continue
        assert v.valid == "invalid" and v.summary.startswith("invalid history: ") and f":{line}: " in v.summary, v
        assert v.figures["invalid_history"]["line"] == line


def test_an_ap_record_that_cannot_have_happened_never_breaks_the_cp_checker(tmp_path):
    raw = [_op("ok", 9, "write", "k", 4.0, service="ap", value="z")]
    history = through_file(GOOD.build(), tmp_path / "history.jsonl", raw)
    [lin, avail] = run_all(history, {"linearizable": {}, "availability": CONFIG["availability"]})
    assert lin.valid == "valid"
    assert avail.valid == "invalid" and ":5: " in avail.summary  # it judges every service


def test_unreadable_lines_name_the_line(tmp_path):
    path = tmp_path / "history.jsonl"
    path.write_text('{"type":"invoke","process":1,"f":"read","key":"k","value":null,"service":"cp","time":0,'
                    '"wall_ms":0}\n[1, 2]\n{"type":"ok"}\n')
    with pytest.raises(HistoryError, match=r"history.jsonl:2: expected a JSON object"):
        read_history(path)
    path.write_text('{"type":"invoke","process":1,"f":"read","key":"k","value":null,"service":"cp",'
                    '"time":"soon","wall_ms":0}\n')
    with pytest.raises(HistoryError, match=r":1: Op.time must be a finite number"):
        read_history(path)


def test_a_history_built_in_memory_still_names_the_event():
    events = [Op("ok", 3, "read", "k", "a", "cp", 1.5, wall(1.5))]
    with pytest.raises(HistoryError, match=r"^process 3 of cp completed a read \(ok\) at t=1.5 without an invoke"):
        pair_ops(events)
