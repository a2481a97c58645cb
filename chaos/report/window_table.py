"""The windows of a run as a report shows them: what to shade, and the operations in each window.

A transition (a fault landing or lifting, from the invoke of the change to its completion) gets
its own row and its own hatching: the operations in flight then met neither the steady system nor
the faulty one, and no availability bound judges them.
"""
from __future__ import annotations

import math

from chaos.checkers.availability import window_rows
from chaos.checkers.common import Window, fault_windows, transition_windows
from harness.history import HistoryError


def shaded_windows(events) -> list:
    """Return the windows the plots shade: each fault, and the transitions where it landed and lifted."""
    return fault_windows(events) + transition_windows(events)


def window_table(events, services) -> dict:
    """Return one row per window with ok / fail / info per service, or a note saying why there is none."""
    try:
        rows = window_rows(events)
    except HistoryError as err:
        return {"rows": [], "note": f"No window table: the history is invalid ({err}).", "in_transition": 0}
    by_window: dict = {}
    for r in rows:
        cell = f"{r['ok']} / {r['fail']} / {r['info']}"
        if r["availability"] is not None:
            cell += f" ({r['availability']:.2%})"
        by_window.setdefault(r["window"], dict(r, cells={}))["cells"][r["service"]] = cell
    table = []
    for r in by_window.values():
        name = {"transition": f"{r['name']} {'landing' if r['edge'] == 'start' else 'lifting'}",
                "fault": f"fault {r['name']}"}.get(r["kind"], r["kind"])
        table.append({"window": name, "kind": r["kind"], "from": _time(r["start"], "start"),
                      "to": _time(r["end"], "end"), "cells": [r["cells"].get(s, "") for s in services]})
    moving = sum(r["ops"] for r in rows if r["kind"] == "transition")
    return {"rows": table, "note": None, "in_transition": moving}


def ms(seconds: float) -> str:
    """Return a duration in whole milliseconds, or 'never' for one that did not end."""
    return "never" if math.isinf(seconds) else f"{seconds * 1000:.0f}"


def _time(t, open_end: str) -> str:
    return open_end if t is None else f"{t:.3f}".rstrip("0").rstrip(".")


def fault_label(w: Window) -> str:
    """Return how a fault window is named under the plots: 'partition g2 5.0–13.0 s'."""
    end = "end of run" if math.isinf(w.end) else f"{w.end:.1f} s"
    return f"{w.name} {w.target} {w.start:.1f}–{end}".replace("  ", " ")
