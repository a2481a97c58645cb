"""The alerts drill (`make alerts-drill`): one experiment per alert, in the fast alert profile.

Each experiment of chaos/experiment/catalogue/alerts/ injects the fault its alert exists for and expects that
alert to fire, then to resolve after the heal. The drill runs them one after another on one stack of
its own (test profile, Prometheus and Alertmanager, see stack.target.stack_config), prints a table
(alert, fault, fired, time to detect, time to resolve, notifications) and writes it to
runs/alerts-drill/<timestamp>/summary.md and summary.html, with each run's alert timeline.
"""
from __future__ import annotations

import base64
import json
import time
from pathlib import Path

from alerts.watch import parse_selector
from chaos.experiment.files import ALERTS_DIR, AlertExpectation, catalogue, find_experiment, load_experiment
from chaos.report.plots import Column, plot_grid
from chaos.report.render import summary
from harness.history import read_history
from harness.runs import new_run_dir

EXIT_NOT_ALL_FIRED = 1


def run_alerts_drill(args, say=print) -> int:
    """Run the drill's experiments (all, or --only); return 0 when every alert fired and resolved."""
    from chaos.run.runner import run_experiment
    from stack.target import ensure_settings, ensure_up, stack_config
    from alerts.monitoring import init_stack
    from stack import Stack

    paths = catalogue(ALERTS_DIR)
    if args.only:
        paths = [find_experiment(n.strip(), ALERTS_DIR) for n in args.only.split(",") if n.strip()]
    experiments = [load_experiment(p) for p in paths]
    # Those that restart the services with other settings go last: one restart for the whole drill.
    experiments.sort(key=lambda e: (bool(e.service_settings), e.name))
    out = new_run_dir(args.runs_dir, "alerts-drill")
    stack = init_stack(Stack(stack_config(2, "test", args.stack_run_dir, args.port_offset, alerts=True,
                                          alert_profile="fast")))
    rows, t0, started = [], time.monotonic(), False
    try:
        started = ensure_up(stack, say)
        for exp in experiments:
            say(f"\n=== {exp.name} ===")
            stack = ensure_settings(stack, exp.service_settings, say)
            outcome = run_experiment(exp, stack, out, say=say)
            rows.append(summarise(exp, outcome.run_dir))
    finally:
        if started:
            say(f"stopping the drill's stack in {stack.run_dir}")
            stack.down(progress=lambda _m: None)
        elif experiments:
            ensure_settings(stack, {}, say)  # leave a stack we found as we found it
    total = time.monotonic() - t0
    md = write_summary(rows, total, out)
    (out / "summary.json").write_text(json.dumps({"total_s": round(total, 1), "rows": rows}, indent=2, default=str))
    say("\n" + md)
    say(f"summary: {out / 'summary.md'} and {out / 'summary.html'}")
    return 0 if rows and all(r["ok"] for r in rows) else EXIT_NOT_ALL_FIRED


def summarise(exp, run_dir: Path) -> dict:
    """One row of the table from a run folder's results.json."""
    results = json.loads((run_dir / "results.json").read_text())
    verdict = next((v for v in results["verdicts"] if v["checker"] == "alerts"), None)
    figures = (verdict or {}).get("figures", {})
    timing = (figures.get("alerts") or [{}])[0]
    notes = (figures.get("notifications") or [{}])[0]
    spec = exp.schedule[0]
    params = ", ".join(f"{k}={'+'.join(v) if isinstance(v, list) else v}" for k, v in spec.params.items()
                       if v is not None and k not in ("mode", "stream", "toxicity", "jitter_ms"))
    fired = timing.get("time_to_detect_s") is not None
    resolved = timing.get("time_to_resolve_s") is not None
    return {"experiment": exp.name, "alert": exp.alerts.expect_firing[0].selector,
            "fault": f"{spec.fault} ({params}) for {spec.duration:g} s"
                     + (f"; {exp.service_settings}" if exp.service_settings else ""),
            "expected": "fires, then resolves", "fired": fired, "resolved": resolved,
            "time_to_detect_s": timing.get("time_to_detect_s"), "time_to_resolve_s": timing.get("time_to_resolve_s"),
            "pending_after_s": timing.get("pending_after_s"),
            "notified_firing_s": notes.get("firing_after_s"), "notified_resolved_s": notes.get("resolved_after_s"),
            "alerts_verdict": (verdict or {}).get("valid", "unknown"),
            "alerts_summary": (verdict or {}).get("summary", results.get("aborted") or "no alerts verdict"),
            "overall": results["overall"], "undeclared": [_short(a) for a in figures.get("undeclared_firing", [])],
            "ok": fired and resolved and (verdict or {}).get("valid") == "valid",
            "run_dir": str(run_dir), "run_rel": f"{run_dir.parent.name}/{run_dir.name}", "duration_s": results.get("duration_s")}


def _short(selector: str) -> str:
    """Drop the labels every alert carries (job, mode, severity) from a selector."""
    name, labels = parse_selector(selector)
    return AlertExpectation(name, {k: v for k, v in labels.items() if k not in ("job", "mode", "severity")}).selector


def _s(v) -> str:
    return "—" if v is None else f"{v:.1f} s"


COLUMNS = ("alert", "fault", "expected", "fired", "time to detect", "time to resolve", "notified (firing / resolved)",
           "alerts verdict", "run")


def _cells(r: dict) -> list[str]:
    notified = "—" if r["notified_firing_s"] is None and r["notified_resolved_s"] is None else \
        f"+{_s(r['notified_firing_s'])} / +{_s(r['notified_resolved_s'])}"
    return [r["alert"], r["fault"], r["expected"], "yes" if r["fired"] else "**NO**",
            _s(r["time_to_detect_s"]), _s(r["time_to_resolve_s"]) if r["fired"] else "—", notified,
            r["alerts_verdict"], r["overall"]]


INTRO = ("One experiment per alert, fast alert profile (scrape and evaluation every 1 s, 5 s rate window, "
         "for: 2-4 s). Time to detect: fault start -> firing. Time to resolve: heal -> resolved. "
         "Notified: Alertmanager's webhook, after fault start / heal.")


def write_summary(rows: list[dict], total_s: float, out: Path) -> str:
    """summary.md and summary.html (the report's templates, with each run's alert timeline); return the Markdown."""
    bullets = []
    for r in rows:
        if not r["ok"]:
            bullets.append(f"**{r['experiment']}**: {r['alerts_summary']}")
        if r["undeclared"]:
            bullets.append(f"{r['experiment']}: also fired (not declared): {', '.join(r['undeclared'])}")
    links = [{"label": r["experiment"], "md": f"{r['run_rel']}/report.html", "html": f"{r['run_rel']}/report.html"}
             for r in rows]
    figures = []
    for r in rows:
        png = timeline_png(Path(r["run_dir"]))
        figures.append({"title": f"{r['experiment']}: {r['alert']}", "caption": r["alerts_summary"],
                        "link": f"{r['run_rel']}/report.html", "alt": f"alert timeline of {r['experiment']}",
                        "uri": f"data:image/png;base64,{base64.b64encode(png).decode()}" if png else None,
                        "missing": "No alert event recorded."})
    done = f"{sum(r['ok'] for r in rows)} of {len(rows)} alerts fired and resolved; total {total_s:.0f} s."
    return summary(out, "Alerts drill", COLUMNS, [_cells(r) for r in rows], links, intro=[INTRO],
                   after=[done, "In the timelines of summary.html: amber, pending; red, firing; grey, the fault."],
                   bullets=bullets, figures=figures)


def timeline_png(run_dir: Path) -> bytes | None:
    """The alert row of a run's plots (every service in one plot), or None without alert events."""
    from chaos.checkers.common import fault_windows
    events = read_history(run_dir / "history.jsonl")
    t_end = max((e.time for e in events), default=1.0)
    col = Column("all services", "all", None, events, fault_windows(events))
    rows = [r for r in plot_grid([col], t_end) if r.kind == "alerts"]
    return rows[0].cells[0].png if rows and rows[0].cells else None
