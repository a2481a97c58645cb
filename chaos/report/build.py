"""Reports: turn a run folder (history.jsonl, experiment.json, results.json) into report.md and report.html.

A report is rebuilt from the files alone. The HTML page is self-contained (inline CSS, plots as
base64 data URIs), so it can be mailed or archived; the Markdown page links the same plots, saved
under plots/. A run with both services shows them side by side; ``build_comparison`` does the
same for separate runs, such as the CP run and the AP run of an experiment pair.
"""
from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from chaos.checkers.common import fault_windows
from chaos.report.window_table import fault_label, ms, shaded_windows, window_table
from chaos.report import cluster_events, side_by_side
from chaos.report.plots import Column, plot_grid
from chaos.report.render import render as _render
from chaos.report.violation import describe_violation, draw_violation, find_violation
from harness.history import Op, read_history
from harness.record import RecordError, read_record

SERVICE_ORDER = ("cp", "ap", "native")
MAX_CELL = 120


class ReportError(Exception):
    """A run folder cannot be turned into a report; the message names the file and what to do."""


@dataclass
class RunFolder:
    """Everything a report needs from one run folder."""

    path: Path
    experiment: dict
    results: dict
    events: list
    notes: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.experiment.get("name") or self.results.get("experiment") or self.path.parent.name

    @property
    def services(self) -> list[str]:
        """The services the experiment drove, then any other the history shows, CP first."""
        listed = self.experiment.get("services") or []
        seen = [listed] if isinstance(listed, str) else list(listed)
        seen += sorted({e.service for e in self.events if isinstance(e, Op)} - set(seen))
        return sorted(seen, key=lambda s: (SERVICE_ORDER.index(s) if s in SERVICE_ORDER else 9, s))

    @property
    def t_end(self) -> float:
        """The end of the shared time axis: the last event, or the end of the schedule if later."""
        last = max((e.time for e in self.events), default=0.0)
        planned = max((_num(s.get("at")) + _num(s.get("duration"))
                       for s in self.experiment.get("schedule") or [] if isinstance(s, dict)), default=0.0)
        return max(last, planned, 1.0)


def load_run(run_dir) -> RunFolder:
    """Read a run folder; raise ReportError for a missing folder or a corrupt file, note missing parts."""
    path = Path(run_dir)
    if not path.is_dir():
        raise ReportError(f"{path}: no such run folder; pass runs/<experiment>/<timestamp>/")
    files = [path / n for n in ("history.jsonl", "experiment.json", "results.json")]
    if not any(f.exists() for f in files):
        raise ReportError(f"{path}: not a run folder (no history.jsonl, experiment.json or results.json)")
    run = RunFolder(path, _read_json(files[1]), _read_results(path) if files[2].exists() else {}, [])
    if not files[1].exists():
        run.notes.append("experiment.json is missing: no hypothesis or planned schedule to show.")
    if not files[2].exists():
        run.notes.append("results.json is missing: the checkers have not run, so the verdict is unknown.")
    if files[0].exists():
        try:
            run.events = sorted(read_history(files[0]), key=lambda e: e.time)
        except ValueError as e:  # read_history names the line: "<path>:<line>: why"
            raise ReportError(f"corrupt history {e}; fix or remove that line, then rebuild the report") from None
        if not run.events:
            run.notes.append("history.jsonl is empty: nothing to plot.")
    else:
        run.notes.append("history.jsonl is missing: nothing to plot.")
    return run


def build_report(run_dir) -> tuple[Path, Path]:
    """Write report.md (plots under plots/) and a self-contained report.html into the run folder."""
    run = load_run(run_dir)
    columns = [Column(s, s, s, run.events, shaded_windows(run.events)) for s in run.services]
    rows = _save_plots(plot_grid(columns, run.t_end) if run.events else [], run.path / "plots")
    violation = _violation(run)
    ctx = dict(_run_context(run), rows=rows, columns=[c.label for c in columns], violation=violation,
               generated=_now(), plots_expected=_count(rows) + bool(violation))
    return _render("report", ctx, run.path)


def _violation(run: RunFolder) -> dict | None:
    """Draw the linearizability violation's timeline into plots/violation.png; None when there is none."""
    v = find_violation(run.results, run.events)
    if v is None:
        return None
    png = draw_violation(v)
    (run.path / "plots" / "violation.png").write_bytes(png)
    return {"key": v.key, "explanation": v.explanation, "rows": describe_violation(v), "hidden": v.hidden,
            "point": f"{v.point:.3f}", "name": "violation.png",
            "uri": "data:image/png;base64," + base64.b64encode(png).decode("ascii")}


def build_comparison(run_dirs, out_dir) -> tuple[Path, Path]:
    """Write comparison.md and comparison.html for several runs side by side, on one time axis."""
    runs = [load_run(d) for d in run_dirs]
    if len(runs) < 2:
        raise ReportError(f"a comparison needs at least two run folders, got {len(runs)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    labels = _run_labels(runs)
    columns = [Column(f"{label} · {s}", _slug(f"{label}-{s}"), s, run.events, shaded_windows(run.events))
               for label, run in zip(labels, runs) for s in run.services]
    t_end = max(r.t_end for r in runs)
    rows = _save_plots(plot_grid(columns, t_end) if any(r.events for r in runs) else [], out / "plots")
    ctxs = [dict(_run_context(r), label=label) for label, r in zip(labels, runs)]
    checkers = list(dict.fromkeys(v["checker"] for c in ctxs for v in c["verdicts"]))
    matrix = [{"checker": name, "cells": [next((v["valid"] for v in c["verdicts"] if v["checker"] == name), "—")
                                          for c in ctxs]} for name in checkers]
    schedules = {json.dumps(c["schedule"], sort_keys=True) for c in ctxs}
    ctx = dict(title="Comparison: " + " vs ".join(labels), runs=ctxs, matrix=matrix, rows=rows,
               columns=[c.label for c in columns], same_schedule=len(schedules) == 1,
               generated=_now(), plots_expected=_count(rows))
    return _render("comparison", ctx, out)


def _run_context(run: RunFolder) -> dict:
    """Return the template values of one run: title, verdicts, evidence, schedule, fault windows."""
    exp, res = run.experiment, run.results
    verdicts = [_verdict(v) for v in res.get("verdicts") or [] if isinstance(v, dict)]
    windows = fault_windows(run.events)
    ops = [e for e in run.events if isinstance(e, Op) and e.type != "invoke"]
    notes = list(run.notes) + ([f"Aborted: {res['aborted']}"] if res.get("aborted") else [])
    notes += [str(n) for n in res.get("notes") or []]
    return {
        "name": run.name, "title": exp.get("title") or res.get("title") or run.name, "path": str(run.path),
        "hypothesis": exp.get("hypothesis") or res.get("hypothesis") or "", "question": exp.get("question") or "",
        "overall": res.get("overall") or "unknown",
        "started_at": res.get("started_at") or "", "duration_s": res.get("duration_s"),
        "verdicts": verdicts, "notes": notes, "services": run.services,
        "evidence": [v for v in verdicts if v["valid"] == "invalid" and v["evidence"]],
        "schedule": [{"at": s.get("at"), "fault": _entry_name(s), "duration": s.get("duration"),
                      "params": _fmt(s.get("params") or {})} for s in exp.get("schedule") or [] if isinstance(s, dict)],
        "faults": [{"name": w.name, "target": w.target, "start": f"{w.start:.2f}",
                    "stop": "never" if math.isinf(w.end) else f"{w.end:.2f}", "label": fault_label(w),
                    "landing_ms": ms(w.start - w.began), "lifting_ms": ms(w.healed - w.end)}
                   for w in windows],
        "windows": window_table(run.events, run.services),
        "alerts": _alert_rows(res), "failover": cluster_events.milestones(run.events),
        "by_service": side_by_side.service_rows(res),
        "ops": [{"service": s, **{t: sum(o.service == s and o.type == t for o in ops) for t in ("ok", "fail", "info")}}
                for s in run.services],
    }


def _alert_rows(results: dict) -> list[dict]:
    """The alerts checker's timings, one row per expected alert, ready to print."""
    v = next((v for v in results.get("verdicts") or [] if isinstance(v, dict) and v.get("checker") == "alerts"), None)
    figures = (v or {}).get("figures") or {}
    notified = {n.get("alert"): n for n in figures.get("notifications") or [] if isinstance(n, dict)}
    sec = lambda x: "never" if x is None else f"{x:.1f} s"  # noqa: E731
    rows = []
    for t in figures.get("alerts") or []:
        n = notified.get(t.get("alert"))
        rows.append({"alert": str(t.get("alert")), "pending": sec(t.get("pending_after_s")),
                     "detect": sec(t.get("time_to_detect_s")), "resolve": sec(t.get("time_to_resolve_s")),
                     "notified": "—" if n is None else
                     f"+{sec(n.get('firing_after_s'))} / +{sec(n.get('resolved_after_s'))}"})
    return rows


def _entry_name(entry: dict) -> str:
    fault, name = entry.get("fault") or "?", entry.get("name")
    return f"{fault} ({name})" if name and name != fault else fault


def _verdict(v: dict) -> dict:
    """Return a verdict ready to print: flattened key figures and the evidence as a table."""
    evidence = [e if isinstance(e, dict) else {"evidence": e} for e in v.get("evidence") or []]
    evidence = [e for e in evidence if set(e) != {"omitted"}]
    omitted = sum(e.get("omitted", 0) for e in v.get("evidence") or [] if isinstance(e, dict) and set(e) == {"omitted"})
    keys = list(dict.fromkeys(k for e in evidence for k in e))
    return {"checker": v.get("checker", "?"), "valid": v.get("valid", "unknown"), "summary": v.get("summary", ""),
            "figures": _key_figures(v.get("figures") or {}), "evidence": evidence, "omitted": omitted,
            "evidence_keys": keys, "evidence_rows": [[_fmt(e.get(k)) for k in keys] for e in evidence]}


def _key_figures(figures: dict, limit: int = 8) -> str:
    """Flatten figures one level ("staleness_ms.p99=120"); lists count their items."""
    if not isinstance(figures, dict):
        return _fmt(figures)
    parts = []
    for k, v in figures.items():
        if isinstance(v, dict):
            parts += [f"{k}.{kk}={_fmt(vv)}" for kk, vv in v.items()
                      if vv is not None and not isinstance(vv, (dict, list))]
        elif isinstance(v, list):
            parts.append(f"{k}={_fmt(v)}" if len(v) <= 4 and not any(isinstance(x, (dict, list)) for x in v)
                         else f"{k}: {len(v)} items")
        elif v is not None:
            parts.append(f"{k}={_fmt(v)}")
    more = f" (+{len(parts) - limit} more)" if len(parts) > limit else ""
    return ", ".join(parts[:limit]) + more


def _fmt(v) -> str:
    """Return a short, stable text for a value in a table cell."""
    if v is None:
        return ""
    if isinstance(v, float):
        return "inf" if math.isinf(v) else f"{v:.3f}".rstrip("0").rstrip(".")
    if isinstance(v, (dict, list)):
        text = json.dumps(v, sort_keys=True, separators=(",", ":"), default=str)
    else:
        text = str(v)
    return text if len(text) <= MAX_CELL else text[:MAX_CELL - 1] + "…"


def _save_plots(rows, plots_dir: Path):
    """Write each plot PNG under plots/, drop PNGs of earlier builds, and attach data URIs."""
    plots_dir.mkdir(parents=True, exist_ok=True)
    written = set()
    for row in rows:
        for cell in row.cells:
            if cell.png is not None:
                (plots_dir / cell.name).write_bytes(cell.png)
                written.add(cell.name)
                cell.uri = "data:image/png;base64," + base64.b64encode(cell.png).decode("ascii")
    for old in plots_dir.glob("*.png"):
        if old.name not in written:
            old.unlink()
    return rows


def _run_labels(runs: list[RunFolder]) -> list[str]:
    """Name each run by its experiment; runs of the same experiment also get their folder name."""
    names = [r.name for r in runs]
    return [n if names.count(n) == 1 else f"{n} {r.path.name}" for n, r in zip(names, runs)]


def _num(v) -> float:
    try:
        return float(v or 0)
    except (TypeError, ValueError):
        return 0.0


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in text)


def _count(rows) -> int:
    return sum(c.png is not None for r in rows for c in r.cells)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _read_results(path: Path) -> dict:
    """The run record, read back as the runner or the drill wrote it."""
    try:
        return read_record(path).to_json()
    except RecordError as err:
        raise ReportError(str(err)) from None


def _read_json(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ReportError(f"{path}:{e.lineno}: not JSON ({e.msg}); rewrite it, or rerun the experiment") from None
    if not isinstance(data, dict):
        raise ReportError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data
