"""Decide whether breakers opened during faults and closed again after them, in time."""
from __future__ import annotations

import math

from harness.history import BreakerSample
from harness.verdicts import Verdict

from .common import fault_windows

NAME = "breakers"


def _pairs(expect_open) -> list[tuple[str, str]]:
    """Accept ("cp", "g2") pairs or "cp:g2" / "cp->g2" strings."""
    out = []
    for e in expect_open or ():
        if isinstance(e, str):
            svc, _, node = e.replace("->", ":").partition(":")
            if not node:
                raise ValueError(f"expected 'service:node', got {e!r}")
            out.append((svc, node))
        else:
            out.append(tuple(e))
    return out


def check(history, expect_open=(), open_within_s: float | None = None,
          close_within_s: float | None = None, fault: str | None = None) -> Verdict:
    """Time each expected breaker from fault start to open, and from fault stop to closed again.

    Both timings run from the invoke of the change (the earliest moment it could act), so they
    bound the true delay from above; an opening seen while the fault was still landing counts.
    """
    expected = _pairs(expect_open)
    samples: dict[tuple, list[BreakerSample]] = {}
    for ev in sorted((e for e in history if isinstance(e, BreakerSample)), key=lambda e: e.time):
        samples.setdefault((ev.service, ev.node), []).append(ev)
    windows = [w for w in fault_windows(history) if fault is None or w.name == fault]
    timings, problems, evidence, unknown = [], [], [], []
    for w in windows:
        for svc, node in expected:
            seq = samples.get((svc, node), [])
            if not seq:
                unknown.append(f"no samples of {svc}:{node}")
                continue
            opened = next((s.time for s in seq if s.state == "open" and w.began <= s.time <= w.end), None)
            closed = None
            if opened is not None and w.end < math.inf:
                closed = next((s.time for s in seq if s.state == "closed" and s.time >= max(w.end, opened)), None)
            row = {"fault": w.label, "service": svc, "node": node,
                   "opened_after_s": None if opened is None else round(opened - w.began, 3),
                   "closed_after_s": None if closed is None else round(closed - w.end, 3)}
            timings.append(row)
            why = _late(row, open_within_s, close_within_s, w.end < math.inf)
            if why:
                problems.append(f"{svc}:{node} {why}")
                evidence.append(row)
    figures = {"timings": timings, "unexpected_opens": _unexpected(samples, windows, expected),
               "open_within_s": open_within_s, "close_within_s": close_within_s}
    if problems:
        return Verdict(NAME, "invalid", "; ".join(problems[:3]), evidence=evidence, figures=figures)
    if not expected:
        return Verdict(NAME, "unknown", "no breaker is expected to open (expect_open is empty): nothing to time",
                       figures=figures)
    if not windows:
        return Verdict(NAME, "unknown", "breakers were expected to open, but no fault ran", figures=figures)
    if unknown:
        return Verdict(NAME, "unknown", "; ".join(sorted(set(unknown))), figures=figures)
    return Verdict(NAME, "valid", f"{len(timings)} expected breaker openings and closings in time",
                   figures=figures)


def _late(row: dict, open_within_s, close_within_s, stopped: bool) -> str | None:
    """Say what is wrong with one breaker's timing, or None when nothing is."""
    if row["opened_after_s"] is None:
        return "never opened during the fault"
    if open_within_s is not None and row["opened_after_s"] > open_within_s:
        return f"opened {row['opened_after_s']} s after the fault start, more than {open_within_s} s"
    if not stopped:
        return None  # the fault never stopped, so there is no closing to time
    if row["closed_after_s"] is None:
        return "never closed after the fault stopped"
    if close_within_s is not None and row["closed_after_s"] > close_within_s:
        return f"closed {row['closed_after_s']} s after the fault stop, more than {close_within_s} s"
    return None


def _unexpected(samples: dict, windows, expected) -> list[dict]:
    """List breakers that turned open where no fault was expected to open them."""
    out = []
    for (svc, node), seq in samples.items():
        prev = None
        for s in seq:
            if s.state == "open" and prev != "open":
                during = any(w.began <= s.time <= w.healed for w in windows)
                if not (during and (svc, node) in expected):
                    out.append({"service": svc, "node": node, "time": s.time, "during_fault": during})
            prev = s.state
    return out[:20]
