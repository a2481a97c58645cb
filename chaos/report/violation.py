"""The linearizability violation as a timeline: why no order of the offending key's ops fits.

As Knossos and Porcupine draw it: one lane per process, each op a bar from its invoke to its
completion (an ``info`` op is open-ended: it may take effect at any later time), labelled with
the value written or read. The op the checker could not place is outlined in red, and a red line
marks its return: the point where no order fits, with the values the register could hold then.
Everything is rebuilt from results.json (the linearizable verdict's evidence) and the history.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from harness.pairs import Completed, pair_ops

MAX_OPS = 40  # the ops nearest the blocked one; more would not fit on a page
COLORS = {"write": "#1f77b4", "read": "#2ca02c"}
LABEL_CHARS = 24


@dataclass
class Violation:
    """The offending key's ops around the point where no order fits."""

    key: str
    explanation: str
    could_hold: list
    blocked: Completed
    ops: list  # Completed, in invoke order
    t0: float
    t1: float
    hidden: int  # ops of the key in the window left out to keep the drawing readable

    @property
    def point(self) -> float:
        """When no order fits: the blocked op's return (its invoke too, for a never-completed op)."""
        return self.blocked.end if math.isfinite(self.blocked.end) else self.blocked.start

    @property
    def processes(self) -> list[int]:
        return sorted({c.process for c in self.ops})


def find_violation(results: dict, events) -> Violation | None:
    """Return the linearizable verdict's violation, or None when there is none to draw."""
    verdict = next((v for v in results.get("verdicts") or [] if isinstance(v, dict)
                    and v.get("checker") == "linearizable" and v.get("valid") == "invalid"), None)
    rows = [e for e in (verdict or {}).get("evidence") or [] if isinstance(e, dict)]
    head = next((e for e in rows if "explanation" in e), None)
    blocked = next((e for e in rows if e.get("role") == "blocked"), None)
    if head is None or blocked is None:
        return None
    key, service = head.get("key"), blocked.get("service") or "cp"
    try:
        ops = [c for c in pair_ops(events, service=service) if c.key == key]
    except ValueError:  # a history the pairing refuses: the verdict says why, there is nothing to draw
        return None
    match = [c for c in ops if c.process == blocked.get("process") and _same(c.start, blocked.get("start"))]
    if not match:
        return None
    b = match[0]
    starts = [r["start"] for r in rows if isinstance(r.get("start"), (int, float))]
    if b.f == "read":  # where the value read came from, if anyone wrote it
        starts += [max((c.start for c in ops if c.f == "write" and c.value == b.value and c.start <= b.start),
                       default=b.start)]
    t0, t1 = min(starts + [b.start]), max(b.end if math.isfinite(b.end) else b.start, b.start)
    pad = max((t1 - t0) * 0.15, 0.02)
    t0, t1 = t0 - pad, t1 + pad
    near = [c for c in ops if c.start <= t1 and c.end >= t0]
    near.sort(key=lambda c: (c is not b, abs(c.start - b.start)))
    shown = sorted(near[:MAX_OPS], key=lambda c: c.start)
    return Violation(key, head.get("explanation") or "", list(head.get("could_hold") or []), b, shown,
                     t0, t1, len(near) - len(shown))


def label(c: Completed) -> str:
    """Return the short text drawn on an op's bar: W 'x', R 'x', R absent, with fail/info marked."""
    v = "absent" if c.value is None else repr(c.value)
    if len(v) > LABEL_CHARS:
        v = v[:LABEL_CHARS - 1] + "…"
    text = f"{'W' if c.f == 'write' else 'R'} {v}" if c.f == "write" or c.type == "ok" else "R ?"
    return text + ("" if c.type == "ok" else f" ({c.type})")


def draw_violation(v: Violation, width_in: float = 12.0) -> bytes:
    """Draw the timeline as PNG bytes."""
    lanes = {p: i for i, p in enumerate(v.processes)}
    fig = Figure(figsize=(width_in, 1.6 + 0.55 * len(lanes)), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for c in v.ops:
        y, end = lanes[c.process], min(c.end, v.t1)
        blocked = c is v.blocked
        ax.barh(y, max(end - c.start, (v.t1 - v.t0) * 0.004), left=c.start, height=0.6,
                color=COLORS[c.f], alpha=0.25 if c.type == "fail" else 0.75,
                hatch="//" if c.type == "info" else None,
                edgecolor="#d62728" if blocked else "#333333", linewidth=2.5 if blocked else 0.6)
        if c.type == "info":  # open-ended: it may take effect at any later time
            ax.annotate("", xy=(v.t1, y), xytext=(max(c.start, v.t0), y),
                        arrowprops={"arrowstyle": "->", "color": "#555555", "lw": 0.8})
        ax.text(max(c.start, v.t0), y - 0.36, label(c), fontsize=7, va="bottom", ha="left",
                color="#d62728" if blocked else "#111111", fontweight="bold" if blocked else "normal",
                clip_on=True)
    ax.axvspan(v.t0, v.point, color="#2ca02c", alpha=0.05, lw=0)  # every op that returned here fits an order
    ax.axvline(v.point, color="#d62728", ls="--", lw=1.5)
    held = ", ".join("absent" if x is None else repr(x) for x in v.could_hold) or "?"
    ax.text(v.point, 1.0, f" no order fits here: the register could hold only {held}", color="#d62728",
            fontsize=8, va="bottom", ha="right" if v.point > (v.t0 + v.t1) / 2 else "left",
            transform=ax.get_xaxis_transform(), clip_on=False)
    ax.set_yticks(list(lanes.values()), [f"process {p}" for p in lanes], fontsize=8)
    ax.set_ylim(len(lanes) - 0.4, -0.6)  # first process on top
    ax.set_xlim(v.t0, v.t1)
    ax.set_xlabel("seconds since run start", fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"Key {v.key!r}: the ops around the violation", fontsize=10, pad=16)
    fig.subplots_adjust(left=1.0 / width_in, right=1 - 0.2 / width_in, top=1 - 0.55 / fig.get_figheight(),
                        bottom=0.5 / fig.get_figheight())
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def describe_violation(v: Violation) -> list[dict]:
    """Return the timeline as rows for a text table: one op per row, in invoke order."""
    rows = []
    for c in v.ops:
        end = "never (info)" if not math.isfinite(c.end) else f"{c.end:.3f}"
        rows.append({"process": c.process, "op": label(c), "invoke": f"{c.start:.3f}", "complete": end,
                     "mark": "← cannot be placed" if c is v.blocked else ""})
    return rows


def _same(a: float, b) -> bool:
    return isinstance(b, (int, float)) and abs(a - b) < 1e-9
