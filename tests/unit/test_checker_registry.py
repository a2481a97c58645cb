"""Verdicts compose to the worst, crashing checkers answer unknown, and run_all runs what is configured."""
import pytest

from chaos.checkers import CHECKERS, run_all
from harness.verdicts import MAX_EVIDENCE, Verdict, compose, run_checker
from tests.unit.histories import H


def test_compose_is_the_worst():
    v = lambda name, valid: Verdict(name, valid, "")
    assert compose([v("a", "valid"), v("b", "valid")]).valid == "valid"
    assert compose([v("a", "valid"), v("b", "unknown")]).valid == "unknown"
    assert compose([v("a", "invalid"), v("b", "unknown"), v("c", "valid")]).valid == "invalid"
    assert compose([]).valid == "unknown"


def test_verdict_rejects_bad_validity_and_caps_evidence():
    with pytest.raises(ValueError):
        Verdict("x", "ok", "")
    v = Verdict("x", "invalid", "", evidence=[{"i": i} for i in range(50)])
    assert len(v.evidence) == MAX_EVIDENCE + 1 and v.evidence[-1] == {"omitted": 30}


def test_crashing_checker_answers_unknown():
    def boom(history):
        raise RuntimeError("no disk")
    v = run_checker(boom, [], name="boom")
    assert v.valid == "unknown" and "no disk" in v.summary and "no disk" in v.evidence[0]["exception"]
    assert run_checker(lambda h: 42, []).valid == "unknown"


def test_run_all_runs_the_configured_checkers():
    h = H().write(1, "k", "a", 0, 1).read(2, "k", "b", 2, 3).build()
    out = run_all(h, {"linearizable": {}, "availability": {"min_availability": {"cp": {"steady": 1.0}}},
                      "breakers": {"bogus_threshold": 1}})
    assert [(v.checker, v.valid) for v in out] == [("linearizable", "invalid"), ("availability", "valid"),
                                                   ("breakers", "unknown")]
    assert set(CHECKERS) == {"linearizable", "convergence", "lost_writes", "staleness", "availability", "breakers",
                             "read_your_writes", "monotonic_reads", "instances"}
    with pytest.raises(ValueError, match="linearisable"):
        run_all(h, {"linearisable": {}})


def test_a_checker_listed_twice_carries_its_label_and_expect_states_the_hypothesis():
    h = H().write(1, "k", "a", 0, 1).read(2, "k", "b", 2, 3).build()  # a read of a value never written
    out = run_all(h, {"linearizable/cp": {"service": "cp"}, "linearizable/bad": {"expect": "invalid"},
                      "linearizable/none": {"service": "ap", "expect": "invalid"}})
    assert [(v.checker, v.valid) for v in out] == [("linearizable/cp", "invalid"), ("linearizable/bad", "valid"),
                                                   ("linearizable/none", "unknown")]  # nothing to judge stays unknown
    assert out[1].summary.startswith("violation found, as expected") and out[1].figures["expected"] == "invalid"
    fine = H().write(1, "k", "a", 0, 1).read(2, "k", "a", 2, 3).build()
    refuted = run_all(fine, {"linearizable": {"expect": "invalid"}})[0]
    assert refuted.valid == "invalid" and refuted.summary.startswith("expected a violation, found none")
    with pytest.raises(ValueError, match="expect must be one of"):
        run_all(fine, {"linearizable": {"expect": "maybe"}})
    with pytest.raises(ValueError, match="linearisable"):
        run_all(fine, {"linearisable/x": {}})
