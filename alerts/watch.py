"""Watch Prometheus's alerts during a run, record each change in the history, and check detection.

The watcher polls /api/v1/alerts and writes an AlertEvent whenever an alert (name plus labels)
becomes pending, starts firing, or disappears (resolved). The checker then reads the history:
for each alert an experiment expects, time-to-detect (fault start to firing) and time-to-resolve
(heal to resolved); for each alert it expects quiet, that it never fired.
"""
from __future__ import annotations

import re
import threading

import requests

from harness.history import AlertEvent, FaultEvent  # noqa: F401 (AlertEvent re-exported)
from harness.verdicts import Verdict

NAME = "alerts"


def _key(alert: dict) -> tuple:
    labels = {k: v for k, v in alert["labels"].items() if k != "alertname"}
    return alert["labels"]["alertname"], tuple(sorted(labels.items()))


class AlertWatcher:
    """Poll Prometheus every ``interval`` seconds in a thread; write AlertEvents to ``recorder``."""

    def __init__(self, prometheus_url: str, recorder, interval: float = 0.25):
        self.url, self.recorder, self.interval = prometheus_url, recorder, interval
        self.state: dict[tuple, str] = {}
        self.errors = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self):
        """One poll: write an event for each alert that changed since the last poll."""
        try:
            resp = requests.get(self.url + "/api/v1/alerts", timeout=2)
            alerts = resp.json()["data"]["alerts"]
        except (requests.RequestException, ValueError, KeyError) as exc:
            self.errors += 1
            t, wall = self.recorder.now()
            self.recorder.write(AlertEvent("poll-error", "", {}, t, wall, error=str(exc)[:200]))
            return
        t, wall = self.recorder.now()
        seen = {}
        for a in alerts:
            seen[_key(a)] = a
        for key, a in seen.items():
            if self.state.get(key) != a["state"]:
                self.state[key] = a["state"]
                self.recorder.write(AlertEvent(a["state"], key[0], dict(key[1]), t, wall,
                                               active_at=a.get("activeAt"), value=a.get("value")))
        for key in [k for k in self.state if k not in seen]:
            del self.state[key]
            self.recorder.write(AlertEvent("resolved", key[0], dict(key[1]), t, wall))

    def _run(self):
        while not self._stop.is_set():
            self.poll_once()
            self._stop.wait(self.interval)

    def start(self) -> "AlertWatcher":
        self._thread = threading.Thread(target=self._run, name="alert-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "AlertWatcher":
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def parse_selector(sel) -> tuple[str, dict]:
    """'CaplabBreakerOpen{service="cp",node="g2"}' -> ('CaplabBreakerOpen', {...}); dicts pass."""
    if isinstance(sel, (tuple, list)):
        return sel[0], dict(sel[1])
    m = re.fullmatch(r"\s*(\w+)\s*(?:\{(.*)\})?\s*", sel)
    if not m:
        raise ValueError(f"alert selector {sel!r}: expected Name or Name{{label=\"value\",...}}")
    labels = dict(re.findall(r'(\w+)\s*=\s*"?([^",}]*)"?', m.group(2) or ""))
    return m.group(1), labels


def _matches(ev: AlertEvent, name: str, labels: dict) -> bool:
    return ev.alert == name and all(ev.labels.get(k) == v for k, v in labels.items())


def _timing(sel, events, start, heal, end, detect_within_s, resolve_within_s, problems, unknown) -> dict:
    """One expected alert: pending, firing and resolved times; its problems and unknowns appended."""
    name, labels = parse_selector(sel)
    mine = [e for e in events if _matches(e, name, labels) and e.time >= start]
    pending = next((e.time for e in mine if e.phase == "pending"), None)
    firing = next((e.time for e in mine if e.phase == "firing"), None)
    resolved = next((e.time for e in mine if e.phase == "resolved" and heal is not None
                     and e.time >= heal), None)
    row = {"alert": sel if isinstance(sel, str) else name,
           "pending_after_s": _r(pending, start), "time_to_detect_s": _r(firing, start),
           "time_to_resolve_s": _r(resolved, heal)}
    if firing is None:
        problems.append({**row, "problem": "never fired"})
    elif detect_within_s is not None and firing - start > detect_within_s:
        problems.append({**row, "problem": f"fired later than {detect_within_s}s"})
    if heal is None or firing is None:
        return row
    if resolved is None:
        if resolve_within_s is not None and end - heal >= resolve_within_s:
            problems.append({**row, "problem": f"not resolved {resolve_within_s}s after heal"})
        else:
            unknown.append(f"{row['alert']} not resolved by the end of the history")
    elif resolve_within_s is not None and resolved - heal > resolve_within_s:
        problems.append({**row, "problem": f"resolved later than {resolve_within_s}s"})
    return row


def check(history, expect_firing=(), expect_quiet=(), detect_within_s: float | None = None,
          resolve_within_s: float | None = None) -> Verdict:
    """Time each expected alert from fault start to firing and from heal to resolved; check the
    quiet ones never fired, and that nothing fired before the first fault (steady state)."""
    events = sorted((e for e in history if getattr(e, "type", None) == "alert"), key=lambda e: e.time)
    faults = [e for e in history if isinstance(e, FaultEvent)]
    # From the invoke of each change: the earliest moment the fault (or the heal) could act.
    starts = [f.time for f in faults if f.phase == "start" and f.begins]
    stops = [f.time for f in faults if f.phase == "stop" and f.begins]
    end = max((getattr(e, "time", 0) for e in history), default=0)
    if not starts:
        return Verdict(NAME, "unknown", "no fault in the history: nothing to detect")
    start, heal = min(starts), (max(stops) if stops else None)
    problems, unknown, timings = [], [], []
    if any(e.phase == "poll-error" for e in events):
        unknown.append(f"{sum(e.phase == 'poll-error' for e in events)} polls of Prometheus failed")
    for e in events:
        if e.phase == "firing" and e.time < start:
            problems.append({"alert": e.alert, "labels": e.labels, "problem": "fired before the fault",
                             "at": round(e.time, 3)})
    for sel in expect_firing:
        timings.append(_timing(sel, events, start, heal, end, detect_within_s, resolve_within_s, problems, unknown))
    for sel in expect_quiet:
        name, labels = parse_selector(sel)
        fired = [e for e in events if _matches(e, name, labels) and e.phase == "firing"]
        if fired:
            problems.append({"alert": sel if isinstance(sel, str) else name, "labels": fired[0].labels,
                             "problem": "fired but was expected quiet", "at": round(fired[0].time, 3)})
    declared = [parse_selector(x) for x in (*expect_firing, *expect_quiet)]
    undeclared = sorted({e.alert + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(e.labels.items())) + "}"
                         for e in events if e.phase == "firing"
                         and not any(_matches(e, n, lab) for n, lab in declared)})
    figures = {"alerts": timings, "undeclared_firing": undeclared}
    if problems:
        return Verdict(NAME, "invalid", f"{len(problems)} alert expectation(s) failed: "
                       + "; ".join(f"{p['alert']} {p['problem']}" for p in problems[:3]),
                       evidence=problems, figures=figures)
    if unknown:
        return Verdict(NAME, "unknown", "; ".join(unknown), figures=figures)
    if not (expect_firing or expect_quiet):
        return Verdict(NAME, "unknown", "no alert expected to fire or to stay quiet: nothing to check",
                       figures=figures)
    summary = ", ".join(f"{t['alert']} detected in {t['time_to_detect_s']}s, resolved in "
                        f"{t['time_to_resolve_s']}s" for t in timings) or "the expected-quiet alerts stayed quiet"
    return Verdict(NAME, "valid", summary, figures=figures)


def _r(t, ref):
    return None if t is None or ref is None else round(t - ref, 3)
