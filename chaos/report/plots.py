"""Plots of what clients saw, one column per service (or per run and service), fault windows shaded.

Fault windows are shaded grey; the transitions around them (a fault landing or lifting, from the
invoke of the change to its completion) are hatched amber.

Every plot of a grid shares the time axis, and every row shares its y axis across columns, so the
CP column and the AP column can be compared by eye. Figures are drawn on matplotlib's Agg canvas
directly (no pyplot, no display, no global backend) and returned as PNG bytes.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from chaos.checkers.common import percentile
from chaos.report.alert_timeline import ALERT_COLORS, alert_spans
from chaos.report.cluster_events import draw_marks
from harness.history import BreakerSample, MetricSample, Op

SERVICE_COLORS = {"cp": "#1f77b4", "ap": "#ff7f0e", "native": "#2ca02c"}
NODE_COLORS = ["#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
BREAKER_LEVEL = {"closed": 0, "half-open": 1, "open": 2}
DPI = 100
HEIGHT_IN = 3.0


@dataclass(frozen=True)
class Column:
    """One column of plots: one service's events in one run, and that run's fault windows."""

    label: str  # "cp", or "<run> · cp" on a comparison page
    slug: str  # for file names: "cp", "run1-cp"
    service: str
    events: list
    faults: list  # chaos.checkers.common.Window: fault windows, and transition windows (drawn hatched)


@dataclass
class Cell:
    """One plot of one column, or a note saying why there is none."""

    column: str
    name: str  # file name under plots/
    png: bytes | None = None
    note: str | None = None
    uri: str | None = None  # the PNG as a data URI, for the self-contained HTML page


@dataclass
class Row:
    """One kind of plot across all columns; ``note`` replaces the row when no column has data."""

    kind: str
    title: str
    how_to_read: str
    cells: list = field(default_factory=list)
    note: str | None = None


@dataclass
class Series:
    """One line, step line or set of points on one plot."""

    label: str
    x: list
    y: list
    color: str
    style: str = "line"  # line | step | points | spans (x: (start, end, phase) triples on row y[0])
    dashed: bool = False


def _buckets(t_end: float) -> np.ndarray:
    """Return whole 1 s bucket edges; a partial last second would read as a false drop in rate."""
    return np.arange(0.0, math.floor(max(t_end, 1.0)) + 1.0)


def _completions(col: Column) -> list[Op]:
    return [e for e in col.events if isinstance(e, Op) and e.service == col.service and e.type != "invoke"]


def throughput(col: Column, edges) -> list[Series]:
    """Return ok completions per second."""
    ok = [op.time for op in _completions(col) if op.type == "ok"]
    counts, _ = np.histogram(ok, bins=edges)
    return [Series(f"{col.service} ok/s", list(edges[:-1] + 0.5), list(counts), _svc_color(col))] if ok else []


def latency(col: Column, edges) -> list[Series]:
    """Return p50 and p99 latency of every completion (ok, fail and info) per 1 s bucket."""
    done = [(op.time, op.latency_ms) for op in _completions(col) if op.latency_ms is not None]
    if not done:
        return []
    idx = np.digitize([t for t, _ in done], edges) - 1
    per = [[] for _ in edges[:-1]]
    for i, (_, ms) in zip(idx, done):
        if 0 <= i < len(per):
            per[i].append(ms)
    x = list(edges[:-1] + 0.5)
    p = {q: [percentile(b, q) if b else math.nan for b in per] for q in (50, 99)}
    return [Series("p50", x, p[50], _svc_color(col)), Series("p99", x, p[99], _svc_color(col), dashed=True)]


def errors(col: Column, edges) -> list[Series]:
    """Return fail and info completions per second."""
    out = []
    for kind, dashed, color in (("fail", False, "#d62728"), ("info", True, "#7f7f7f")):
        ts = [op.time for op in _completions(col) if op.type == kind]
        counts, _ = np.histogram(ts, bins=edges)
        out.append(Series(f"{kind}/s", list(edges[:-1] + 0.5), list(counts), color, dashed=dashed))
    return out if any(any(s.y) for s in out) or _completions(col) else []


def breakers(col: Column, edges) -> list[Series]:
    """Return each node's breaker state as a step line: 0 closed, 1 half-open, 2 open."""
    by_node: dict[str, list] = {}
    for e in col.events:
        if isinstance(e, BreakerSample) and e.service == col.service and e.state in BREAKER_LEVEL:
            by_node.setdefault(e.node, []).append((e.time, BREAKER_LEVEL[e.state]))
    out = []
    nodes = sorted(by_node)
    for i, node in enumerate(nodes):
        pts = sorted(by_node[node])
        offset = (i - (len(nodes) - 1) / 2) * 0.06  # keep overlapping lines apart
        out.append(Series(node, [t for t, _ in pts], [v + offset for _, v in pts], _node_color(node), "step"))
    return out


def staleness(col: Column, edges) -> list[Series]:
    """Return data_staleness_ms per node (lines) and the staleness_ms of each read (points)."""
    out = _metric_lines(col, "data_staleness_ms", "lag")
    reads: dict[str, list] = {}
    for op in _completions(col):
        if op.f == "read" and op.type == "ok" and op.staleness_ms is not None:
            reads.setdefault(op.node or "", []).append((op.time, op.staleness_ms))
    for node in sorted(reads):
        pts = reads[node]
        out.append(Series(f"read from {node}" if node else "read (node not reported)", [t for t, _ in pts], [v for _, v in pts],
                          _node_color(node), "points"))
    return out


def hints(col: Column, edges) -> list[Series]:
    """Return caplab_hints_pending per node."""
    return _metric_lines(col, "caplab_hints_pending", "pending")


def _metric_lines(col: Column, name: str, word: str) -> list[Series]:
    by_node: dict[str, list] = {}
    for e in col.events:
        if isinstance(e, MetricSample) and e.service == col.service and e.name == name:
            by_node.setdefault(str(e.labels.get("node", "all")), []).append((e.time, e.value))
    return [Series(f"{node} {word}", [t for t, _ in sorted(v)], [y for _, y in sorted(v)],
                   _node_color(node), "step")
            for node, v in sorted(by_node.items())]


def alerts(col: Column, edges) -> list[Series]:
    """Return the alerts that concern this column's service: pending (amber) and firing (red) spans."""
    rows = alert_spans(col.events, col.service, float(edges[-1]))
    return [Series(label, spans, [i], ALERT_COLORS["firing"], "spans") for i, (label, spans) in enumerate(rows)]


# kind, title, y label, series function, what an empty column means, how to read it
ROWS = [
    ("throughput", "Throughput", "ok ops/s", throughput, "no ok operations",
     "Successful operations per second (by completion time). CP drops towards zero while it "
     "refuses; AP should stay flat through the fault."),
    ("latency", "Latency", "ms", latency, "no completed operations",
     "p50 (solid) and p99 (dashed) of every answer per 1 s bucket, refusals included. A fast "
     "CP refusal shows as low latency with zero throughput; timeouts show as spikes."),
    ("errors", "Errors", "ops/s", errors, "no completed operations",
     "fail (certainly not applied, e.g. 503 not_applied) and info (unknown outcome: timeout, "
     "503 unknown) per second. CP errors belong inside the shaded window."),
    ("breakers", "Circuit breakers", "", breakers, "no breaker samples",
     "Each node's breaker: 0 closed, 1 half-open, 2 open. It should open soon after a fault "
     "starts and close after the heal."),
    ("staleness", "Staleness", "ms", staleness, "no staleness reported",
     "Lines: data_staleness_ms per node (age of the oldest pending hint). Points: the "
     "staleness_ms each AP read reported, colored by the node that served it."),
    ("hints", "Hints pending", "hints", hints, "no hint metrics",
     "Hinted writes waiting for a node; they should drain soon after the heal."),
    ("alerts", "Alerts", "", alerts, "no alert for this service",
     "Prometheus alerts as the run's watcher saw them: amber while pending (the condition holds, "
     "its for: has not elapsed), red while firing. Time to detect runs from the fault's start to "
     "red; time to resolve from the heal to the end of red."),
]


def plot_grid(columns: list[Column], t_end: float) -> list[Row]:
    """Draw every row for every column; a row with no data in any column becomes a note."""
    edges = _buckets(t_end)
    width = 10.0 if len(columns) == 1 else (7.0 if len(columns) == 2 else 5.5)
    rows = []
    for kind, title, ylabel, fn, empty, how in ROWS:
        data = [fn(col, edges) for col in columns]
        row = Row(kind, title, how)
        if not any(data):
            if kind not in ("hints", "alerts"):  # optional extras; say nothing when absent
                row.note = f"No plot: {empty} in this run."
                rows.append(row)
            continue
        ylim = _ylim(kind, [s for series in data for s in series])
        for col, series in zip(columns, data):
            cell = Cell(col.label, f"{kind}-{col.slug}.png")
            if series:
                cell.png = _draw(series, col, title, ylabel, ylim, t_end, width, kind)
            else:
                cell.note = f"{col.label}: {empty}."
            row.cells.append(cell)
        rows.append(row)
    return rows


def _ylim(kind: str, series: list[Series]) -> tuple[float, float, bool]:
    """Return (low, high, log) shared by a row, so columns compare at a glance."""
    if kind == "breakers":
        return -0.3, 2.3, False
    if kind == "alerts":
        return -0.5, max((s.y[0] for s in series), default=0) + 0.95, False
    ys = [y for s in series for y in s.y if y is not None and not math.isnan(y)]
    hi = max(ys, default=1.0)
    if kind == "latency":
        pos = [y for y in ys if y > 0]
        if pos and max(pos) / min(pos) > 100:
            return min(pos) / 1.5, max(pos) * 1.5, True
    return 0.0, max(hi * 1.1, 1.0), False


def _draw(series, col: Column, title, ylabel, ylim, t_end, width, kind) -> bytes:
    fig = Figure(figsize=(width, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for w in col.faults:
        if w.kind == "transition":  # a fault landing or lifting: neither steady nor fault
            end = max(min(w.end, t_end), w.start + t_end / 400)  # visible even when it took no time
            ax.axvspan(w.start, end, facecolor="#f5c26b", edgecolor="#b07a12", hatch="////", alpha=0.45, lw=0)
            continue
        ax.axvspan(w.start, min(w.end, t_end), color="#888888", alpha=0.18, lw=0)
        ax.text(w.start, 0.98, f" {w.name} {w.target}".rstrip(), transform=ax.get_xaxis_transform(),
                va="top", ha="left", fontsize=8, color="#444444", clip_on=True)
    if col.service == "native":
        draw_marks(ax, col.events)  # the Sentinels' failover, as they announced it
    for s in series:
        ls = "--" if s.dashed else "-"
        if s.style == "spans":
            for x0, x1, phase in s.x:
                ax.broken_barh([(x0, max(x1 - x0, 0.05))], (s.y[0] - 0.35, 0.7), facecolors=ALERT_COLORS[phase])
        elif s.style == "points":
            ax.scatter(s.x, s.y, s=14, color=s.color, alpha=0.7, label=s.label, zorder=3,
                       edgecolors="black", linewidths=0.3)
        elif s.style == "step":
            ax.step(s.x, s.y, where="post", color=s.color, ls=ls, lw=1.5, label=s.label)
        else:
            ax.plot(s.x, s.y, color=s.color, ls=ls, lw=1.5, label=s.label)
    low, high, log = ylim
    if log:
        ax.set_yscale("log")
    ax.set_ylim(low, high)
    ax.set_xlim(0, t_end)
    if kind == "breakers":
        ax.set_yticks([0, 1, 2], ["closed", "half-open", "open"])
    if kind == "alerts":
        ax.set_yticks([])  # names inside the plot: the margin is too narrow for them
        for s in series:
            ax.text(0.005, s.y[0] + 0.42, s.label, transform=ax.get_yaxis_transform(), va="bottom", ha="left",
                    fontsize=7, color="#222222")
        from matplotlib.patches import Patch
        ax.legend(handles=[Patch(color=c, label=p) for p, c in ALERT_COLORS.items()], fontsize=7,
                  loc="upper right", framealpha=0.8)
    ax.set_title(f"{title} — {col.label}", fontsize=10)
    ax.set_xlabel("seconds since run start", fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    if kind != "alerts":
        ax.legend(fontsize=7, loc="upper right", framealpha=0.8)
    # Fixed margins in inches, rather than tight_layout: every plot's time axis then spans the same
    # pixels, so the rows of a report line up, whatever the width of their tick labels.
    fig.subplots_adjust(left=0.85 / width, right=1 - 0.15 / width, top=1 - 0.3 / HEIGHT_IN,
                        bottom=0.45 / HEIGHT_IN)
    buf = io.BytesIO()
    # No Software/date metadata: the same run always gives the same bytes.
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _svc_color(col: Column) -> str:
    return SERVICE_COLORS.get(col.service, "#333333")


def _node_color(node: str) -> str:
    digits = "".join(ch for ch in node if ch.isdigit())
    i = int(digits) - 1 if digits else sum(map(ord, node))
    return NODE_COLORS[i % len(NODE_COLORS)]
