"""Instances behind HAProxy: how fast a crashed one is taken out and put back, and what it cost.

For each fault on an instance (its target names an HAProxy server, e.g. ``ap3``), HAProxy's view
(``haproxy_server_up`` samples, chaos/observers/balancer.py) gives:
- ``detected_after_s``: from the fault's start invoke to the first sample of that server out of
  service (DOWN or MAINT);
- ``back_after_s``: from the fault's stop completion to the first sample of it serving again.
For every fault window (its whole span, start invoke to stop completion), the operations invoked in
it that failed (``fail``: refused, certainly not applied) and those whose outcome is unknown
(``info``) are counted per service: a crash costs the requests the instance held when it died; a
rolling restart with draining should cost none.
"""
from __future__ import annotations

import math

from harness.history import MetricSample
from harness.pairs import pair_ops
from harness.verdicts import Verdict

from .common import fault_windows

NAME = "instances"
SAMPLE = "haproxy_server_up"


def check(history, detect_within_s: float | None = None, back_within_s: float | None = None,
          max_fail: dict | None = None, max_info: dict | None = None) -> Verdict:
    """Time HAProxy's reaction to each instance fault and count the failed requests of each fault window."""
    samples = sorted((e for e in history if isinstance(e, MetricSample) and e.name == SAMPLE), key=lambda e: e.time)
    windows = fault_windows(history)
    ops = pair_ops(history)
    servers = {e.labels.get("server") for e in samples}
    faults, problems = [], []
    for w in windows:
        row = {"fault": w.name, "target": w.target, "began": round(w.began, 3)}
        span = [c for c in ops if w.began <= c.start <= w.healed]
        row["failed"] = {s: {k: sum(c.service == s and c.type == k for c in span) for k in ("fail", "info")}
                         for s in sorted({c.service for c in span})}
        if w.target in servers:
            row["detected_after_s"] = _first(samples, w.target, w.began, False)
            row["back_after_s"] = _first(samples, w.target, w.healed, True)
        faults.append(row)
        problems += _judge(row, detect_within_s, back_within_s, max_fail or {}, max_info or {})
    figures = {"faults": faults, "servers": sorted(s for s in servers if s)}
    if not windows:
        return Verdict(NAME, "unknown", "no fault ran: nothing to time or count", figures=figures)
    timed = [f for f in faults if "detected_after_s" in f]
    if (detect_within_s is not None or back_within_s is not None) and not timed:
        return Verdict(NAME, "unknown", "no fault on an instance HAProxy reported on: detection not timed",
                       figures=figures)
    if not any(f["failed"] for f in faults):
        return Verdict(NAME, "unknown", "no operation during any fault: nothing counted", figures=figures)
    if problems:
        return Verdict(NAME, "invalid", "; ".join(problems), evidence=[{"problem": p} for p in problems],
                       figures=figures)
    return Verdict(NAME, "valid", "; ".join(_line(f) for f in faults), figures=figures)


def _first(samples, server: str, after: float, up: bool) -> float | None:
    """Seconds from ``after`` to the first sample of ``server`` serving (``up``) or out of service."""
    if not math.isfinite(after):
        return None
    for e in samples:
        if e.time >= after and e.labels.get("server") == server and (e.value > 0) == up:
            return round(e.time - after, 3)
    return None


def _judge(row, detect_within_s, back_within_s, max_fail, max_info) -> list[str]:
    out = []
    name = f"{row['fault']} ({row['target']})"
    if "detected_after_s" in row:
        d, b = row["detected_after_s"], row["back_after_s"]
        if detect_within_s is not None and (d is None or d > detect_within_s):
            out.append(f"{name}: HAProxy took it out {'never' if d is None else f'after {d} s'}, "
                       f"bound {detect_within_s} s")
        if back_within_s is not None and (b is None or b > back_within_s):
            out.append(f"{name}: HAProxy put it back {'never' if b is None else f'after {b} s'}, "
                       f"bound {back_within_s} s")
    for kind, bounds in (("fail", max_fail), ("info", max_info)):
        for service, bound in bounds.items():
            n = row["failed"].get(service, {}).get(kind, 0)
            if n > bound:
                out.append(f"{name}: {n} {service} operations ended {kind}, at most {bound} allowed")
    return out


def _line(f: dict) -> str:
    cost = ", ".join(f"{s} {c['fail']} fail/{c['info']} info" for s, c in f["failed"].items())
    timing = (f" out after {f['detected_after_s']} s, back after {f['back_after_s']} s"
              if "detected_after_s" in f else "")
    return f"{f['fault']} ({f['target']}):{timing} {cost}".strip()
