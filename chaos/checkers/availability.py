"""Measure availability and latency per service in each window: steady, each transition and fault, after the heal."""
from __future__ import annotations

from harness.pairs import pair_ops
from harness.verdicts import Verdict

from .common import all_windows, distribution, ops_by_window

NAME = "availability"


def check(history, min_availability: dict | None = None, max_availability: dict | None = None) -> Verdict:
    """Count ok/fail/info per service and window; compare with bounds such as {"ap": {"fault": 0.99}}.

    Transition windows are counted and shown, but no bound applies to them.
    """
    pairs = pair_ops(history)
    return judge(window_rows(history, pairs), min_availability, max_availability, any_ops=bool(pairs))


def judge(table: list[dict], min_availability: dict | None = None, max_availability: dict | None = None,
          any_ops: bool = True) -> Verdict:
    """Compare the rows of window_rows (or rows summed over parts of a history) with the bounds."""
    problems, evidence, empty = [], [], []
    for bounds, broken, word in ((min_availability, lambda a, b: a < b, "below"),
                                 (max_availability, lambda a, b: a > b, "above")):
        for svc, per_kind in (bounds or {}).items():
            for kind, bound in per_kind.items():
                rows = [r for r in table if r["service"] == svc and _matches(r, kind)]
                for r in rows:
                    if r["availability"] is None:
                        empty.append(f"{svc} {r['window']}")
                    elif broken(r["availability"], bound):
                        problems.append(f"{svc} {r['window']}: {r['availability']:.2%} {word} {bound:.2%}")
                        evidence.append(dict(r, bound=bound))
                if not rows:
                    empty.append(f"{svc} {kind}")
    figures = {"windows": table}
    if problems:
        return Verdict(NAME, "invalid", "; ".join(problems[:3]) + (" ..." if len(problems) > 3 else ""),
                       evidence=evidence, figures=figures)
    if empty:
        # A bound on a window with no operations was not tested, so it cannot pass.
        return Verdict(NAME, "unknown", f"no operations to test the bounds in: {', '.join(empty[:5])}",
                       figures=figures)
    if not any_ops:
        return Verdict(NAME, "unknown", "no operations in the history", figures=figures)
    if not (min_availability or max_availability):
        return Verdict(NAME, "unknown", "no bounds set: availability was measured, not judged; add "
                       "min_availability or max_availability", figures=figures)
    parts = [f"{r['service']} {r['window']} {r['availability']:.2%}" for r in table
             if r["availability"] is not None and r["kind"] != "transition"]
    moving = sum(r["ops"] for r in table if r["kind"] == "transition")
    if moving:
        parts.append(f"{moving} ops in flight while a fault landed or lifted (not judged)")
    return Verdict(NAME, "valid", "; ".join(parts[:6] + parts[-1:] if moving and len(parts) > 7 else parts[:7]),
                   figures=figures)


def window_rows(history, pairs=None) -> list[dict]:
    """Return one row per window and service: counts, availability and ok latencies."""
    windows = all_windows(history)
    pairs = pair_ops(history) if pairs is None else pairs
    services = sorted({c.service for c in pairs})
    table = []
    # An op belongs to the window it was invoked in (the state the client met), unless it was in
    # flight while a fault landed or lifted: then it belongs to that transition, which no bound judges.
    for w, ops in zip(windows, ops_by_window(windows, pairs)):
        for svc in services:
            table.append(_row(w, svc, [c for c in ops if c.service == svc]))
    return table


def _row(w, svc: str, ops) -> dict:
    """Return the counts, availability and ok latencies of one service in one window."""
    n = {t: sum(c.type == t for c in ops) for t in ("ok", "fail", "info")}
    total = sum(n.values())
    lat = [c.completion.latency_ms if c.completion.latency_ms is not None else (c.end - c.start) * 1000
           for c in ops if c.type == "ok"]
    return {"window": w.label, "kind": w.kind, "name": w.name, "edge": w.edge, "service": svc,
            "start": _finite(w.start), "end": _finite(w.end), "ops": total, **n,
            "availability": round(n["ok"] / total, 4) if total else None,
            "latency_ms": distribution(lat)}


def _matches(row: dict, kind: str) -> bool:
    """Say whether a bound's window kind ("fault", "fault:partition", "steady"...) covers a row."""
    if kind.startswith("fault:"):
        return row["kind"] == "fault" and row["name"] == kind.split(":", 1)[1]
    return row["kind"] == kind


def _finite(t: float):
    """Return t, or None for an open end, since JSON has no infinity."""
    return t if abs(t) != float("inf") else None
