"""RPO and RTO of a DR drill on hand-written histories, good and known-bad."""
from __future__ import annotations

import pytest

from chaos.checkers.objectives import check_rpo, check_rto, recovered_at, write_success

from .histories import H


def v(t: float, w: int = 1) -> str:
    """The version a write at time t gets (wall ms, counter 0, writer w)."""
    return f"{1_700_000_000_000 + int(t * 1000)}.0.{w}"


def drill(disaster_at=10.0) -> H:
    return H("ap").fault(disaster_at, 11.0, name="disaster:both-nodes-lost", target="g1,g2")


def load(h: H, service: str, start: float, end: float, type_="ok", step=0.01, first_pid=0) -> H:
    """Reads every `step` s from start to end, each completing 5 ms later with `type_`."""
    n, t = first_pid, start
    while t < end - 1e-9:
        h.read(n, f"{service}-probe", "x", t, t + 0.005, type=type_, service=service)
        n, t = n + 1, round(t + step, 6)
    return h


# -- RPO --------------------------------------------------------------------------------------------

def test_nothing_lost_is_rpo_zero_and_valid():
    h = drill().write(1, "k1", "a", 1.0, 1.1, version=v(1.1)).write(2, "k2", "b", 9.0, 9.1, version=v(9.1))
    h.snapshot(20, "g1", {"k1": ("a", v(1.1)), "k2": ("b", v(9.1))}, phase="after-recovery")
    r = check_rpo(h.build(), target_s=300, mechanism="the surviving replica")
    assert r.valid == "valid"
    assert r.figures["lost"] == 0 and r.figures["loss_window_s"] == 0
    assert "surviving replica" in r.summary


def test_a_superseded_write_is_not_lost():
    h = drill().write(1, "k1", "a", 1.0, 1.1, version=v(1.1)).write(2, "k1", "b", 2.0, 2.1, version=v(2.1))
    h.snapshot(20, "g2", {"k1": ("b", v(2.1))}, phase="after-recovery")
    r = check_rpo(h.build())
    assert r.valid == "valid" and r.figures["superseded"] == 1 and r.figures["present"] == 1


def test_writes_after_the_backup_are_lost_within_target():
    h = drill().write(1, "k1", "a", 1.0, 1.1, version=v(1.1))
    h.write(2, "k1", "b", 8.0, 8.0, version=v(8.0)).write(3, "k2", "c", 9.0, 9.5, version=v(9.5))
    h.snapshot(20, "g1", {"k1": ("a", v(1.1))}, phase="after-recovery")  # restored from a backup at t=5
    r = check_rpo(h.build(), target_s=300, backup_age_s=5.0)
    assert r.valid == "valid"
    assert r.figures["lost"] == 2 and r.figures["acknowledged"] == 3
    assert r.figures["loss_window_s"] == pytest.approx(2.0)  # disaster 10 - oldest lost ack 8
    assert r.figures["newest_lost_age_s"] == pytest.approx(0.5)
    assert r.figures["recovery_point_s"] == pytest.approx(8.0)
    assert {e["key"] for e in r.evidence} == {"k1", "k2"}


def test_lost_writes_beyond_the_target_fail():
    h = drill(400.0).write(1, "k1", "a", 1.0, 1.1, version=v(1.1)).write(2, "k1", "b", 8.0, 8.1, version=v(8.1))
    h.snapshot(420, "g1", {"k1": ("a", v(1.1))}, phase="after-recovery")
    r = check_rpo(h.build(), target_s=300)
    assert r.valid == "invalid"
    assert r.figures["loss_window_s"] == pytest.approx(391.9)
    assert "> target 300" in r.summary


def test_every_write_lost_has_no_recovery_point_and_fails_even_when_short():
    h = drill().write(1, "k1", "a", 1.0, 1.1, version=v(1.1)).write(2, "k2", "b", 9.0, 9.1, version=v(9.1))
    h.snapshot(20, "g1", {}, phase="after-recovery").snapshot(20, "g2", {}, phase="after-recovery")
    r = check_rpo(h.build(), target_s=300, mechanism="nothing")
    assert r.valid == "invalid"
    assert r.figures["lost"] == 2 and r.figures["bounded"] is False and r.figures["recovery_point_s"] is None
    assert "unbounded" in r.summary


def test_a_write_acknowledged_after_the_disaster_and_lost_fails():
    h = drill().write(1, "k1", "a", 1.0, 1.1, version=v(1.1)).write(2, "after-k1", "b", 15.0, 15.1, version=v(15.1))
    h.snapshot(20, "g1", {"k1": ("a", v(1.1))}, phase="after-recovery")
    r = check_rpo(h.build())
    assert r.valid == "invalid" and r.figures["lost_after_disaster"] == 1


def test_failed_and_unknown_writes_are_not_owed():
    h = drill().write(1, "k1", "a", 1.0, 1.1, type="fail").write(2, "k2", "b", 2.0, 2.1, type="info")
    h.write(3, "k3", "c", 3.0, 3.1, version=v(3.1))
    h.snapshot(20, "g1", {"k3": ("c", v(3.1))}, phase="after-recovery")
    r = check_rpo(h.build())
    assert r.valid == "valid" and r.figures["acknowledged"] == 1


def test_same_version_with_another_value_is_lost():
    h = drill().write(1, "k0", "z", 0.5, 0.6, version=v(0.6))
    h.write(2, "k1", "a", 1.0, 1.1, version=v(1.1))
    h.snapshot(20, "g1", {"k0": ("z", v(0.6)), "k1": ("other", v(1.1))}, phase="after-recovery")
    assert check_rpo(h.build()).figures["lost"] == 1


def test_rpo_and_rto_are_unknown_with_nothing_to_judge():
    h = drill().write(1, "k1", "a", 1.0, 1.1, type="fail").snapshot(20, "g1", {}, phase="after-recovery")
    r = check_rpo(h.build())
    assert r.valid == "unknown" and "nothing could be lost" in r.summary
    quiet = drill().fault(11.0, 12.0, name="restore:g1", target="g1")
    assert check_rto(quiet.build(), target_s=0.5).valid == "unknown"


def test_rpo_unknown_without_snapshot_or_disaster():
    h = drill().write(1, "k1", "a", 1.0, 1.1, version=v(1.1))
    assert check_rpo(h.build()).valid == "unknown"
    h2 = H("ap").write(1, "k1", "a", 1.0, 1.1, version=v(1.1)).snapshot(5, "g1", {}, phase="after-recovery")
    assert check_rpo(h2.build()).valid == "unknown"


# -- RTO --------------------------------------------------------------------------------------------

def outage(t_fail_from=10.0, t_fail_to=13.0, t_end=25.0, restore=(11.0, 12.5)) -> H:
    h = drill(10.0)
    h.fault(10.0, 10.2, name="detect", target="probes")
    h.fault(restore[0], restore[1], name="restore:g1", target="g1")
    load(h, "cp", 0.0, t_fail_from)
    load(h, "cp", t_fail_from, t_fail_to, type_="fail", first_pid=10_000)
    load(h, "cp", t_fail_to, t_end, first_pid=20_000)
    return h


def test_rto_measured_to_the_first_sustained_window_and_split():
    r = check_rto(outage().build(), target_s=900, window_s=5)
    assert r.valid == "valid"
    assert r.figures["rto_s"] == pytest.approx(3.005, abs=0.02)  # the first ok read after the outage
    assert r.figures["detect_s"] == pytest.approx(0.005, abs=0.01)  # the first failed read
    assert r.figures["restore_s"] == pytest.approx(1.5)
    assert r.figures["serve_s"] == pytest.approx(0.5, abs=0.02)  # 12.5 -> 13.0


def test_slow_recovery_fails_the_rto_target():
    r = check_rto(outage().build(), target_s=2, window_s=5)
    assert r.valid == "invalid" and "> target 2" in r.summary


def test_never_recovered_is_unknown_when_watched_less_than_the_target():
    r = check_rto(outage(t_fail_to=25.0).build(), target_s=900, window_s=5)
    assert r.valid == "unknown" and r.figures["rto_s"] is None and "never served" in r.summary


def test_never_recovered_fails_when_watched_longer_than_the_target():
    r = check_rto(outage(t_fail_to=25.0).build(), target_s=10, window_s=5)
    assert r.valid == "invalid"


def test_the_tail_of_an_outage_does_not_count_as_serving():
    # 20 ms of failures right after T would still leave the 5 s window at >= 99%; the first second must be clean too.
    ops = load(H("cp"), "cp", 0.0, 0.02, type_="fail").build() + load(H("cp"), "cp", 0.02, 10.0, first_pid=99).build()
    done = [o for o in ops if o.type != "invoke"]
    assert recovered_at(done, 0.0, 10.0, 5.0, 0.99, 10) == pytest.approx(0.025, abs=0.011)


def test_a_service_that_never_went_down_has_rto_zero():
    h = drill(10.0)
    load(h, "ap", 0.0, 25.0)
    r = check_rto(h.build(), window_s=5)
    assert r.valid == "valid" and r.figures["rto_s"] == 0 and r.figures["per_service"] == {"ap": 0}


def test_the_slowest_service_decides():
    h = outage()
    load(h, "ap", 0.0, 25.0, first_pid=50_000)
    r = check_rto(h.build(), window_s=5)
    assert r.figures["per_service"]["ap"] == 0 and r.figures["rto_s"] == r.figures["per_service"]["cp"] > 2.9


def test_write_success_before_outage_after():
    h = drill(10.0).write(1, "k", "a", 1.0, 1.1, version=v(1.1), service="cp")
    h.write(2, "k", "b", 10.5, 10.6, type="fail", service="cp").write(3, "k", "c", 20.0, 20.1, version=v(20.1), service="cp")
    assert write_success(h.build(), {"cp": 5.0}) == {"cp": {"before": 1.0, "outage": 0.0, "after": 1.0}}


# -- when a drill passes ------------------------------------------------------------------------------

def test_an_expected_rpo_failure_passes_the_drill_but_not_in_strict_mode():
    from chaos.drills.nemesis import drill_passed
    measured, expect = {"rpo": "fail", "rto": "pass"}, {"rpo": "fail", "rto": "pass"}
    assert drill_passed(measured, expect, steady_ok=True)
    assert not drill_passed(measured, expect, steady_ok=True, strict=True)
    assert not drill_passed({"rpo": "pass", "rto": "pass"}, expect, steady_ok=True)  # the loss went unseen
    assert not drill_passed({"rpo": "pass", "rto": "unknown"}, {}, steady_ok=True)
    assert not drill_passed({"rpo": "pass", "rto": "pass"}, {}, steady_ok=False)
    assert not drill_passed({}, {}, steady_ok=True)
