"""The availability checker counts outcomes per window and service, and enforces bounds."""
from chaos.checkers import availability
from tests.unit.histories import H


def history():
    h = H().fault(10, 20, target="cp->g2")
    for i in range(10):  # steady: all ok on both services
        h.write(1, f"s{i}", "x", i, i + 0.01).write(2, f"s{i}", "x", i, i + 0.05, service="ap")
    for i in range(10):  # during the fault: CP refuses, AP answers but one op times out
        h.write(1, f"f{i}", "x", 10.5 + i, 10.5 + i + 0.01, type="fail")
        h.write(2, f"f{i}", "x", 10.5 + i, 10.5 + i + 0.02, service="ap", type="info" if i == 0 else "ok")
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


def test_ops_in_flight_while_a_fault_lands_or_lifts_belong_to_the_transition():
    h = H().staged_fault(10, 10.2, 20, 20.5)
    h.write(1, "a", "x", 5, 5.1)                       # steady
    h.write(1, "b", "x", 9.9, 10.05, type="info")      # invoked in steady, answered while the fault landed
    h.write(2, "c", "x", 10.1, 10.15, type="fail")     # invoked and answered while it landed
    h.write(3, "d", "x", 9.95, 10.3, type="fail")      # invoked in steady, answered once the fault was in place
    h.write(1, "e", "x", 12, 12.1, type="fail")        # fault
    h.write(2, "f", "x", 19.9, 20.1, type="fail")      # invoked in the fault, answered while it lifted
    h.write(3, "g", "x", 20.6, 20.7)                   # after the heal
    h.write(1, "h", "x", 30, 31, type="info")          # after the heal, never answered in time
    v = availability.check(h.build(), min_availability={"cp": {"steady": 1.0, "after-heal": 0.5}},
                           max_availability={"cp": {"fault": 0.0}})
    kinds = [(r["kind"], r["edge"], r["ops"], r["ok"]) for r in v.figures["windows"]]
    assert kinds == [("steady", "", 1, 1), ("transition", "start", 3, 0), ("fault", "", 1, 0),
                     ("transition", "stop", 1, 0), ("after-heal", "", 2, 1)], kinds
    assert v.valid == "valid", v.summary
    assert "4 ops in flight while a fault landed or lifted" in v.summary
    starts = {r["kind"] + r["edge"]: (r["start"], r["end"]) for r in v.figures["windows"]}
    assert starts["transitionstart"] == (10, 10.2) and starts["fault"] == (10.2, 20)


def test_an_old_history_gets_zero_width_transitions():
    h = H().fault(10, 20)
    h.write(1, "a", "x", 9.5, 10.5, type="fail")  # in flight when the fault started: not steady
    h.write(1, "b", "x", 5, 5.1).write(1, "c", "x", 12, 12.1, type="fail")
    v = availability.check(h.build(), min_availability={"cp": {"steady": 1.0}})
    rows = [(r["kind"], r["start"], r["end"], r["ops"]) for r in v.figures["windows"]]
    assert rows == [("steady", None, 10, 1), ("transition", 10, 10, 1), ("fault", 10, 20, 1),
                    ("transition", 20, 20, 0), ("after-heal", 20, None, 0)]
    assert v.valid == "valid"


def test_a_start_never_confirmed_is_a_transition_to_the_end():
    h = H().staged_fault(10, None, None, None)
    h.write(1, "a", "x", 5, 5.1).write(1, "b", "x", 12, 12.1, type="fail")
    v = availability.check(h.build(), min_availability={"cp": {"steady": 1.0}, "ap": {}})
    assert [(r["kind"], r["ops"]) for r in v.figures["windows"]] == [("steady", 1), ("transition", 1)]
    assert availability.check(h.build(), max_availability={"cp": {"fault": 0.0}}).valid == "unknown"
