"""The availability checker counts outcomes per window and service, and enforces bounds."""
from chaos.checkers import availability
from tests.unit.histories import H


def history():
    h = H().fault(10, 20, target="cp->g2")
    for i in range(10):  # steady: all ok on both services
        h.write(1, f"s{i}", "x", i, i + 0.01).write(2, f"s{i}", "x", i, i + 0.05, service="ap")
    for i in range(10):  # during the fault: CP refuses, AP answers but one op times out
        h.write(1, f"f{i}", "x", 10 + i, 10 + i + 0.01, type="fail")
        h.write(2, f"f{i}", "x", 10 + i, 10 + i + 0.02, service="ap", type="info" if i == 0 else "ok")
    for i in range(5):  # after the heal
        h.write(1, f"h{i}", "x", 21 + i, 21 + i + 0.01).write(2, f"h{i}", "x", 21 + i, 21 + i + 0.01, service="ap")
    return h.build()


def rows(v):
    return {(r["service"], r["kind"]): r for r in v.figures["windows"]}


def test_counts_and_latency_per_window():
    v = availability.check(history(), min_availability={"cp": {"steady": 1.0}})
    r = rows(v)
    assert v.valid == "valid"
    assert (r["cp", "steady"]["ok"], r["cp", "steady"]["availability"]) == (10, 1.0)
    assert (r["cp", "fault"]["fail"], r["cp", "fault"]["availability"]) == (10, 0.0)
    assert (r["ap", "fault"]["info"], r["ap", "fault"]["availability"]) == (1, 0.9)
    assert r["ap", "after-heal"]["ops"] == 5
    assert abs(r["ap", "steady"]["latency_ms"]["p99"] - 50) < 1e-6


def test_bounds_pass_and_break():
    good = availability.check(history(), min_availability={"ap": {"fault": 0.9}, "cp": {"steady": 0.99}},
                              max_availability={"cp": {"fault:partition": 0.0}})
    assert good.valid == "valid"
    bad = availability.check(history(), min_availability={"ap": {"fault": 0.99}})
    assert bad.valid == "invalid" and bad.evidence[0]["service"] == "ap"
    bad = availability.check(history(), max_availability={"ap": {"fault": 0.5}})
    assert bad.valid == "invalid"


def test_no_bounds_or_no_operations_is_unknown():
    v = availability.check(history())
    assert v.valid == "unknown" and "not judged" in v.summary and rows(v)["cp", "steady"]["ok"] == 10
    assert availability.check([], min_availability={"cp": {"steady": 0.9}}).valid == "unknown"
    assert availability.check(H().fault(1, 2).build()).valid == "unknown"


def test_a_bound_on_a_window_without_operations_is_unknown():
    assert availability.check(history(), min_availability={"cp": {"between": 0.9}}).valid == "unknown"
    assert availability.check(history(), min_availability={"cp": {"fault:crash": 0.9}}).valid == "unknown"
