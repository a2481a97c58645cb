"""The instance checker times HAProxy's reaction to an instance fault and counts what it cost."""
from chaos.checkers import instances
from harness.history import MetricSample
from tests.unit.histories import H, wall


def state(h, t, server, status, up):
    h.events.append(MetricSample("ap", "haproxy_server_up", {"server": server, "status": status},
                                 1.0 if up else 0.0, t, wall(t)))
    return h


def crash():
    h = H("ap").staged_fault(10, 10.05, 20, 22, name="crash", target="ap3")
    state(h, 0, "ap3", "UP", True)
    state(h, 10.5, "ap3", "DOWN", False)
    state(h, 22.4, "ap3", "UP", True)
    h.write(1, "k", "a", 9, 9.1, version="1.0.1").write(1, "k", "b", 10.01, 10.2, type="info")
    h.write(2, "k", "c", 11, 11.1, version="2.0.1").read(3, "k", None, 12, 12.1, type="fail")
    return h


def test_detection_and_return_are_timed_and_the_cost_counted():
    v = instances.check(crash().build(), detect_within_s=1, back_within_s=1, max_info={"ap": 1})
    assert v.valid == "valid", v
    [f] = v.figures["faults"]
    assert f["detected_after_s"] == 0.5 and f["back_after_s"] == 0.4
    assert f["failed"] == {"ap": {"fail": 1, "info": 1}}


def test_slow_detection_or_too_many_failures_are_invalid():
    assert instances.check(crash().build(), detect_within_s=0.2).valid == "invalid"
    assert instances.check(crash().build(), max_fail={"ap": 0}).valid == "invalid"
    h = H("ap").staged_fault(10, 10.05, 20, 22, name="crash", target="ap3").write(1, "k", "a", 11, 11.1)
    state(h, 0, "ap3", "UP", True)  # never seen down
    assert "never" in instances.check(h.build(), detect_within_s=5).summary


def test_nothing_to_judge_is_unknown():
    assert instances.check([]).valid == "unknown"
    no_samples = H("ap").staged_fault(10, 10.05, 20, 22, target="ap3").write(1, "k", "a", 11, 11.1)
    assert instances.check(no_samples.build(), detect_within_s=1).valid == "unknown"
