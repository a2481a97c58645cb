"""Pieces several checkers share: percentiles, fault and transition windows, and rounds of node snapshots."""
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
    """A span of the run: steady, a transition, one fault, between faults, or after-heal.

    A fault window runs from the completion of the fault's start (confirmed in place) to the
    invoke of its stop (the undo begins); the transitions on either side, from invoke to
    completion, are windows of their own (``edge`` "start" or "stop"). ``span_start`` and
    ``span_end`` give a fault window's whole span, from its start's invoke to its stop's completion.
    """

    kind: str  # steady | transition | fault | between | after-heal
    start: float
    end: float
    name: str = ""  # the fault's name, for fault and transition windows
    target: str = ""
    edge: str = ""  # transition windows: "start" (the fault landing) or "stop" (the fault lifting)
    span_start: float | None = None
    span_end: float | None = None

    @property
    def label(self) -> str:
        if self.kind == "fault":
            return f"fault:{self.name}:{self.target}@{self.start:g}"
        if self.kind == "transition":
            return f"transition:{self.edge}:{self.name}:{self.target}@{self.start:g}"
        return self.kind

    @property
    def began(self) -> float:
        """When the fault began to be injected (its start's invoke)."""
        return self.start if self.span_start is None else self.span_start

    @property
    def healed(self) -> float:
        """When the fault's removal was confirmed (its stop's completion); +inf if never."""
        return self.end if self.span_end is None else self.span_end


def _changes(history) -> list[dict]:
    """Follow each fault through its four stamps: start invoke/completion, stop invoke/completion.

    An event without a stage (an older history) is both the invoke and the completion of its
    change. A stamp that never came is +inf: the change was still under way when the run ended.
    """
    open_: dict[tuple, list[dict]] = {}
    done = []
    for ev in sorted((e for e in history if isinstance(e, FaultEvent)), key=lambda e: e.time):
        mine = open_.setdefault((ev.name, ev.target), [])
        if ev.phase == "start" and ev.begins:
            mine.append({"name": ev.name, "target": ev.target, "si": ev.time, "sc": None, "ti": None, "tc": None})
        if ev.phase == "start" and ev.confirms:
            c = next((c for c in mine if c["sc"] is None), None)
            if c is not None:
                c["sc"] = ev.time
        if ev.phase == "stop" and ev.begins:
            c = next((c for c in mine if c["ti"] is None), None)
            if c is not None:
                c["ti"] = ev.time
                c["sc"] = ev.time if c["sc"] is None else c["sc"]
        if ev.phase == "stop" and ev.confirms:
            c = next((c for c in mine if c["ti"] is not None and c["tc"] is None), None)
            if c is not None:
                c["tc"] = ev.time
                mine.remove(c)
                done.append(c)
    done += [c for cs in open_.values() for c in cs]
    for c in done:
        for k in ("sc", "ti", "tc"):
            c[k] = math.inf if c[k] is None else c[k]
    return sorted(done, key=lambda c: c["si"])


def fault_windows(history) -> list[Window]:
    """Return each fault's window, from its start confirmed to its stop begun; unstopped faults last forever.

    A fault whose start was never confirmed has no fault window, only a transition to the end.
    """
    return sorted((Window("fault", c["sc"], c["ti"], c["name"], c["target"], span_start=c["si"], span_end=c["tc"])
                   for c in _changes(history) if c["sc"] < math.inf), key=lambda w: w.start)


def transition_windows(history) -> list[Window]:
    """Return the windows in which a fault was landing or lifting: from each change's invoke to its completion."""
    out = []
    for c in _changes(history):
        out.append(Window("transition", c["si"], c["sc"], c["name"], c["target"], edge="start"))
        if c["ti"] < math.inf:
            out.append(Window("transition", c["ti"], c["tc"], c["name"], c["target"], edge="stop"))
    return sorted(out, key=lambda w: w.start)


def all_windows(history) -> list[Window]:
    """Return steady-before, each transition and fault window, the gaps between faults, and after-heal."""
    faults, transitions = fault_windows(history), transition_windows(history)
    if not transitions:
        return [Window("steady", -math.inf, math.inf)]
    first = transitions[0].start
    out = [Window("steady", -math.inf, first)]
    reach = first
    # At equal starts a transition comes first: a fault is in place only once its start completed.
    for w in sorted(faults + transitions, key=lambda w: (w.start, w.kind != "transition")):
        if w.start > reach:
            out.append(Window("between", reach, w.start))
        out.append(w)
        reach = max(reach, w.end)
    if reach < math.inf:
        out.append(Window("after-heal", reach, math.inf))
    return out


def ops_by_window(windows: list[Window], ops) -> list[list]:
    """Return, for each window, the paired operations that belong to it.

    An operation in flight while the system changed state (its invoke-to-answer interval touches
    a transition) belongs to the first such transition: it met neither the steady system nor the
    faulty one. Every other operation belongs to each window it was invoked in.
    """
    transitions = [i for i, w in enumerate(windows) if w.kind == "transition"]
    out: list[list] = [[] for _ in windows]
    for c in ops:
        hit = next((i for i in transitions if c.start <= windows[i].end and c.returned >= windows[i].start), None)
        if hit is not None:
            out[hit].append(c)
            continue
        for i, w in enumerate(windows):
            if w.kind != "transition" and w.start <= c.start < w.end:
                out[i].append(c)
    return out


def last_fault_stop(history) -> float | None:
    """Return when the last fault's removal began (its stop's invoke), or None when no fault stopped."""
    stops = [e.time for e in history if isinstance(e, FaultEvent) and e.phase == "stop" and e.begins]
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
