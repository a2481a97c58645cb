"""The alerts checker on hand-written histories: detection and resolution times, quiet alerts."""
from __future__ import annotations

from alerts.watch import AlertEvent, check, parse_selector
from harness.history import FaultEvent

CP_G2 = {"job": "caplab_cp", "node": "g2", "service": "cp", "severity": "warning"}


def ev(phase, t, alert="CaplabBreakerOpen", labels=CP_G2):
    return AlertEvent(phase, alert, dict(labels), t, int(t * 1000))


def history(*alert_events, start=10.0, stop=30.0):
    return [FaultEvent("start", "partition", "cp->g2", start, 0), *alert_events,
            FaultEvent("stop", "partition", "cp->g2", stop, 0)]


def test_times_detection_and_resolution():
    h = history(ev("pending", 11.0), ev("firing", 14.5), ev("resolved", 32.0))
    v = check(h, ['CaplabBreakerOpen{service="cp",node="g2"}'])
    assert v.valid == "valid"
    row = v.figures["alerts"][0]
    assert (row["pending_after_s"], row["time_to_detect_s"], row["time_to_resolve_s"]) == (1.0, 4.5, 2.0)


def test_never_fired_is_invalid_and_late_is_invalid():
    assert check(history(ev("pending", 11.0), ev("resolved", 31.0)), ["CaplabBreakerOpen"]).valid == "invalid"
    late = history(ev("firing", 40.0), stop=50.0)
    assert check(late, ["CaplabBreakerOpen"], detect_within_s=10).valid == "invalid"


def test_quiet_alert_that_fires_is_invalid_but_pending_only_is_fine():
    h = history(ev("firing", 12.0), ev("resolved", 31.0),
                ev("pending", 12.0, "CaplabNodeUnreachable", {"node": "g2"}))
    assert check(h, ["CaplabBreakerOpen"], ["CaplabNodeUnreachable"]).valid == "valid"
    h.append(ev("firing", 15.0, "CaplabNodeUnreachable", {"node": "g2"}))
    v = check(h, ["CaplabBreakerOpen"], ["CaplabNodeUnreachable"])
    assert v.valid == "invalid" and "expected quiet" in v.summary


def test_firing_in_steady_state_is_invalid_and_unresolved_is_unknown():
    assert check(history(ev("firing", 5.0), ev("firing", 12.0)), []).valid == "invalid"
    assert check(history(ev("firing", 12.0)), ["CaplabBreakerOpen"]).valid == "unknown"


def test_selectors():
    assert parse_selector('CaplabBreakerOpen{service="cp", node="g2"}') == (
        "CaplabBreakerOpen", {"service": "cp", "node": "g2"})
    assert parse_selector("CaplabHintBacklog") == ("CaplabHintBacklog", {})
