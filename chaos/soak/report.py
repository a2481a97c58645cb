"""The soak's figures and report: growth after warm-up, with plots of every series over the run.

The time after the warm-up is cut in thirds. Growth compares the first third with the last: the
medians for memory (so one sample taken mid-fault cannot decide it), and the peaks for file
descriptors, whose count goes up and down with the connections open at the moment (a fault drops
them, the pools open them again). A leak raises the last third's peak above the first's; the
least-squares slope per hour is given too. History growth is the slope of its size after the
warm-up. The plots follow chaos.report.plots: Agg canvas, fault windows shaded grey, seconds since the
start on the x axis.
"""
from __future__ import annotations

import io
import json
import statistics
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from chaos.checkers.common import fault_windows
from harness.history import FaultEvent, MetricSample, iter_history

from .resources import SOAK

MIN_SPAN_S = 10.0  # a third of the time after warm-up shorter than this compares nothing
RSS_TARGET = 0.10  # RSS growth after warm-up must stay under 10%
PLOTS = (("rss_bytes", "process", "resident memory (MB)", 1 / 2**20),
         ("open_fds", "process", "open file descriptors", 1),
         ("redis_used_memory_bytes", "node", "Redis used_memory (MB)", 1 / 2**20),
         ("history_bytes", None, "history on disk (MB)", 1 / 2**20),
         ("checker_seconds", None, "checker time on the history so far (s)", 1),
         ("checker_peak_rss_bytes", None, "checker peak memory (MB)", 1 / 2**20))


def load_samples(events_path) -> tuple[dict, list]:
    """{(name, label): [(t, value)]} of the soak samples, and the fault windows, streaming the file."""
    series: dict = {}
    faults = []
    for e in iter_history(events_path):
        if isinstance(e, MetricSample) and e.service == SOAK:
            label = next(iter(e.labels.values()), "")
            series.setdefault((e.name, label), []).append((e.time, e.value))
        elif isinstance(e, FaultEvent):
            faults.append(e)
    return series, fault_windows(faults)


def _between(points, lo: float, hi: float) -> list:
    return [v for t, v in points if lo <= t <= hi]


def growth(points, warmup_s: float) -> dict | None:
    """The first and the last third after warm-up: medians, peaks, troughs, change, slope per hour."""
    if not points or (points[-1][0] - warmup_s) / 3 < MIN_SPAN_S:
        return None  # too short a run after the warm-up to compare two spans
    end_t = points[-1][0]
    span = (end_t - warmup_s) / 3
    first, last = _between(points, warmup_s, warmup_s + span), _between(points, end_t - span, end_t)
    if not first or not last:
        return None
    a, b = statistics.median(first), statistics.median(last)
    slope = slope_per_minute(points, warmup_s)
    return {"after_warmup": a, "end": b, "change": b - a, "ratio": round((b - a) / a, 4) if a else None,
            "peak_after_warmup": max(first), "peak_end": max(last), "low_after_warmup": min(first),
            "low_end": min(last), "span_s": round(span), "slope_per_hour": round(slope * 60, 3) if slope else 0.0}


def slope_per_minute(points, after_s: float) -> float | None:
    """Least-squares slope of value over time (per minute), after `after_s`."""
    pts = [(t, v) for t, v in points if t >= after_s]
    if len(pts) < 2:
        return None
    mt = sum(t for t, _ in pts) / len(pts)
    mv = sum(v for _, v in pts) / len(pts)
    den = sum((t - mt) ** 2 for t, _ in pts)
    return 60 * sum((t - mt) * (v - mv) for t, v in pts) / den if den else None


def figures(series: dict, warmup_s: float) -> dict:
    """Every figure the soak states: RSS and descriptor growth per process, Redis, history rate."""
    out = {"warmup_s": warmup_s, "rss": {}, "fds": {}, "redis_used_memory": {}}
    for (name, label), pts in sorted(series.items()):
        key = {"rss_bytes": "rss", "open_fds": "fds", "redis_used_memory_bytes": "redis_used_memory"}.get(name)
        if key:
            out[key][label] = growth(pts, warmup_s)
    rate = slope_per_minute(series.get(("history_bytes", ""), []), warmup_s)
    out["history_mb_per_min"] = round(rate / 2**20, 3) if rate is not None else None
    hist = series.get(("history_bytes", ""), [])
    out["history_mb_at_end"] = round(hist[-1][1] / 2**20, 2) if hist else None
    gunicorn = {k: g for k, g in out["rss"].items() if k.startswith(("cp-", "ap-")) and g}
    worst = max((g["ratio"] for g in gunicorn.values() if g["ratio"] is not None), default=None)
    fd_growth = max((g["peak_end"] - g["peak_after_warmup"] for g in out["fds"].values() if g), default=None)
    out["verdict"] = {
        "rss_growth_max": worst, "rss_ok": worst is not None and worst < RSS_TARGET,
        "fd_growth_max": fd_growth, "fds_ok": fd_growth is not None and fd_growth <= 0}
    return out


def _plot(series: dict, name: str, by: str | None, ylabel: str, scale: float, faults, t_end: float) -> bytes:
    fig = Figure(figsize=(10, 3.0), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for w in faults:
        ax.axvspan(w.start, min(w.end, t_end), color="#888888", alpha=0.18, lw=0)
    for (n, label), pts in sorted(series.items()):
        if n == name and pts:
            ax.plot([t for t, _ in pts], [v * scale for _, v in pts], lw=1.3, label=label or name,
                    marker="o" if len(pts) < 30 else None, ms=4)
    ax.set_xlim(0, max(t_end, 1))
    ax.set_title(ylabel, fontsize=10)
    ax.set_xlabel("seconds since the soak started (faults shaded)", fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    if by:
        ax.legend(fontsize=7, loc="upper left", framealpha=0.8, ncol=4)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.88, bottom=0.17)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def _pct(g) -> str:
    return "-" if not g or g["ratio"] is None else f"{g['ratio']:+.1%}"


def markdown(figs: dict, checks: list, opts, plots: list) -> str:
    mb = 1 / 2**20
    lines = [f"# Soak: {opts.duration_s / 60:g} min, {opts.users} Locust users, a fault every "
             f"{opts.fault_every_s:g} s", "",
             f"Warm-up: the first {figs['warmup_s']:g} s. Memory: medians of the first and the last third "
             f"of the time after it; descriptors: the lowest and highest count in each third.", "",
             "| process | RSS after warm-up (MB) | RSS at end (MB) | growth | fds after warm-up | fds at end |",
             "|---|---|---|---|---|---|"]
    for proc, g in figs["rss"].items():
        f = figs["fds"].get(proc)
        lines.append(f"| {proc} | {g['after_warmup'] * mb:.1f} | {g['end'] * mb:.1f} | {_pct(g)} | "
                     f"{f['low_after_warmup']:.0f}-{f['peak_after_warmup']:.0f} | {f['low_end']:.0f}-{f['peak_end']:.0f} |"
                     if g and f else f"| {proc} | - | - | - | - | - |")
    for node, g in figs["redis_used_memory"].items():
        if g:
            lines.append(f"| redis {node} used_memory | {g['after_warmup'] * mb:.1f} | {g['end'] * mb:.1f} | "
                         f"{_pct(g)} | | |")
    v = figs["verdict"]
    lines += ["", f"- gunicorn RSS growth after warm-up, worst process: {_pct({'ratio': v['rss_growth_max']})} "
              f"(target < 10%): {'met' if v['rss_ok'] else 'NOT met'}",
              f"- descriptor growth (last third's peak minus the first's), worst process: "
              f"{'-' if v['fd_growth_max'] is None else format(v['fd_growth_max'], '+.0f')} "
              f"(target: none): "
              f"{'met' if v['fds_ok'] else 'NOT met'}",
              f"- history: {figs['history_mb_per_min']} MB per minute, {figs['history_mb_at_end']} MB at the end",
              "", "| checker run | history (MB) | seconds | peak RSS (MB) | verdicts |", "|---|---|---|---|---|"]
    for i, c in enumerate(checks, 1):
        verdicts = ", ".join(f"{v['checker']} {v['valid']}" for v in c.get("verdicts", [])) or c.get("error", "")
        peak = f"{c['peak_rss_bytes'] * mb:.0f}" if c.get("peak_rss_bytes") else "-"
        lines.append(f"| {i} | {c['history_bytes'] * mb:.1f} | {c.get('check_seconds', c.get('seconds'))} | "
                     f"{peak} | {verdicts} |")
    lines += [""] + [f"![{name}]({name}.png)" for name in plots]
    return "\n".join(lines) + "\n"


def write_report(run_dir, opts, checks: list, errors: list) -> dict:
    """Write results.json, the plots and soak.md into the run folder; return the figures."""
    run_dir = Path(run_dir)
    series, faults = load_samples(run_dir / "events.jsonl")
    t_end = max((pts[-1][0] for (name, _), pts in series.items() if pts and name == "rss_bytes"), default=0.0)
    figs = figures(series, opts.warmup)
    plots = []
    for name, by, ylabel, scale in PLOTS:
        (run_dir / f"{name}.png").write_bytes(_plot(series, name, by, ylabel, scale, faults, t_end))
        plots.append(name)
    (run_dir / "results.json").write_text(json.dumps(
        {"figures": figs, "checkers": checks, "sampler_errors": errors,
         "faults": [{"name": w.name, "start": w.start, "end": w.end} for w in faults]}, indent=2, default=str))
    (run_dir / "soak.md").write_text(markdown(figs, checks, opts, plots))
    return figs


def checks_from_samples(series: dict) -> list[dict]:
    """Checker timings read back from the events file (for a run without checks.jsonl): no verdicts."""
    secs, peaks, sizes = (series.get((n, ""), []) for n in ("checker_seconds", "checker_peak_rss_bytes",
                                                              "checker_history_bytes"))
    return [{"at_s": t, "check_seconds": s_, "peak_rss_bytes": p_, "history_bytes": h_, "verdicts": []}
            for (t, s_), (_, p_), (_, h_) in zip(secs, peaks, sizes)]


def rebuild(run_dir, checks: list, opts) -> dict:
    """Write the report of a finished run again from its files; `checks` from checks.jsonl if any."""
    if not checks:
        checks = checks_from_samples(load_samples(Path(run_dir) / "events.jsonl")[0])
    return write_report(run_dir, opts, checks, [])
