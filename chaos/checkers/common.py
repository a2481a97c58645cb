"""Pieces several checkers share: percentiles, fault windows, and rounds of node snapshots."""
from __future__ import annotations

import math
from dataclasses import dataclass

from harness.history import FaultEvent, NodeSnapshot


def percentile(values, q: float):
    """Return the nearest-rank q-th percentile (0..100) of some numbers, or None when there are none."""
    xs = sorted(values)
    if not xs:
        return None
    rank = max(1, math.ceil(q / 100 * len(xs)))
    return xs[rank - 1]


def distribution(values) -> dict:
    """Return p50, p95, p99 and max of some numbers (None when there are none)."""
    xs = list(values)
    return {"p50": percentile(xs, 50), "p95": percentile(xs, 95), "p99": percentile(xs, 99),
            "max": max(xs) if xs else None}


@dataclass(frozen=True)
class Window:
    """A span of the run: steady, one fault, between faults, or after-heal."""

    kind: str  # steady | fault | between | after-heal
    start: float
    end: float
    name: str = ""  # the fault's name, for fault windows
    target: str = ""

    @property
    def label(self) -> str:
        return f"fault:{self.name}:{self.target}@{self.start:g}" if self.kind == "fault" else self.kind


def fault_windows(history) -> list[Window]:
    """Pair each fault start with the next stop of the same name and target; unstopped faults last forever."""
    open_: dict[tuple, list[FaultEvent]] = {}
    windows = []
    for ev in sorted((e for e in history if isinstance(e, FaultEvent)), key=lambda e: e.time):
        who = (ev.name, ev.target)
        if ev.phase == "start":
            open_.setdefault(who, []).append(ev)
        elif open_.get(who):
            s = open_[who].pop(0)
            windows.append(Window("fault", s.time, ev.time, ev.name, ev.target))
    windows += [Window("fault", s.time, math.inf, s.name, s.target) for ss in open_.values() for s in ss]
    return sorted(windows, key=lambda w: w.start)


def all_windows(history) -> list[Window]:
    """Return steady-before, each fault window, the gaps between faults, and after-heal."""
    faults = fault_windows(history)
    if not faults:
        return [Window("steady", -math.inf, math.inf)]
    out = [Window("steady", -math.inf, faults[0].start)]
    reach = faults[0].start
    for w in faults:
        if w.start > reach:
            out.append(Window("between", reach, w.start))
        out.append(w)
        reach = max(reach, w.end)
    if reach < math.inf:
        out.append(Window("after-heal", reach, math.inf))
    return out


def last_fault_stop(history) -> float | None:
    """Return when the last fault stopped, or None when no fault stopped."""
    stops = [e.time for e in history if isinstance(e, FaultEvent) and e.phase == "stop"]
    return max(stops) if stops else None


def snapshot_rounds(history, phase: str | None = "after-heal") -> list[dict]:
    """Group snapshots into rounds (node -> snapshot); a node seen again starts the next round."""
    rounds, cur = [], {}
    snaps = [e for e in history if isinstance(e, NodeSnapshot) and (phase is None or e.phase == phase)]
    for s in sorted(snaps, key=lambda e: e.time):
        if s.node in cur:
            rounds.append(cur)
            cur = {}
        cur[s.node] = s
    if cur:
        rounds.append(cur)
    return rounds
