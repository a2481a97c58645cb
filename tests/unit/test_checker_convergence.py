"""The convergence checker times convergence after the heal and catches nodes that never converge."""
from chaos.checkers import convergence
from tests.unit.histories import H

SAME = {"a": ("1", "100.0.1"), "b": ("2", "200.0.1")}
BEHIND = {"a": ("1", "100.0.1")}


def test_converged_after_heal_is_timed():
    h = (H("ap").fault(1, 5).snapshot(6, "g1", SAME).snapshot(6.1, "g2", BEHIND)
         .snapshot(7, "g1", SAME).snapshot(7.2, "g2", SAME))
    v = convergence.check(h.build(), within_s=5)
    assert v.valid == "valid"
    assert v.figures["converged_after_s"] == 2.2 and v.figures["rounds"] == 2


def test_slow_convergence_breaks_the_bound():
    h = (H("ap").fault(1, 5).snapshot(6, "g1", SAME).snapshot(6.1, "g2", BEHIND)
         .snapshot(9, "g1", SAME).snapshot(9.5, "g2", SAME))
    v = convergence.check(h.build(), within_s=2)
    assert v.valid == "invalid" and v.figures["converged_after_s"] == 4.5


def test_never_healed_divergence_is_invalid_with_differing_keys():
    h = H("ap").fault(1, 5).snapshot(6, "g1", SAME).snapshot(6.1, "g2", BEHIND)
    v = convergence.check(h.build(), within_s=10)
    assert v.valid == "invalid"
    assert v.evidence == [{"key": "b", "versions": {"g1": "200.0.1", "g2": None},
                           "values": {"g1": "2", "g2": None}}]


def test_same_version_different_value_is_divergence():
    h = H("ap").snapshot(6, "g1", {"a": ("x", "1.0.1")}).snapshot(6.1, "g2", {"a": ("y", "1.0.1")})
    assert convergence.check(h.build()).valid == "invalid"


def test_a_round_missing_a_node_is_not_convergence():
    h = H("ap").fault(1, 5).snapshot(6, "g1", SAME).snapshot(6.1, "g2", SAME).snapshot(7, "g1", SAME)
    v = convergence.check(h.build())
    assert v.valid == "invalid" and "g2" in v.summary


def test_identical_then_diverged_then_identical_times_the_final_streak():
    h = (H("ap").fault(1, 5).snapshot(6, "g1", SAME).snapshot(6, "g2", SAME)
         .snapshot(7, "g1", SAME).snapshot(7, "g2", BEHIND).snapshot(8, "g1", SAME).snapshot(8, "g2", SAME))
    assert convergence.check(h.build()).figures["converged_after_s"] == 3


def test_no_snapshots_is_unknown():
    assert convergence.check(H("ap").fault(1, 5).build()).valid == "unknown"


def test_other_phases_are_ignored():
    h = H("ap").snapshot(1, "g1", SAME, phase="before").snapshot(1, "g2", BEHIND, phase="before")
    h.snapshot(6, "g1", SAME).snapshot(6, "g2", SAME)
    assert convergence.check(h.build()).valid == "valid"
