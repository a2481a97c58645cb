"""The table that covers a set of drills: runs/drill/<timestamp>/summary.md and .html.

One row per drill: RTO (detect, restore, serve, total) against its target, RPO (lost acknowledged
writes, loss window) against its target, what bounded the loss, and whether the drill behaved as
its disaster declares (the total-loss drill is expected to FAIL its RPO).
"""
from __future__ import annotations

import os
from pathlib import Path

from chaos.report.render import summary

COLUMNS = ("drill", "detect s", "restore s", "serve s", "RTO s", "RTO vs target", "lost / acked", "loss window s",
           "RPO vs target", "bounded by", "drill")


def summary_row(disaster, results: dict, run_dir: Path) -> dict:
    """One row of the summary, from a drill's results."""
    v = {x["checker"]: x for x in results.get("verdicts", [])}
    rto, rpo = v.get("rto", {}).get("figures", {}), v.get("rpo", {}).get("figures", {})
    return {"name": disaster.name, "run_dir": str(run_dir), "drill": results.get("drill", "fail"),
            "detect_s": rto.get("detect_s"), "restore_s": rto.get("restore_s"), "serve_s": rto.get("serve_s"),
            "rto_s": rto.get("rto_s"), "rto_target_s": rto.get("target_s"), "rto": _outcome(v.get("rto"), disaster, "rto"),
            "lost": rpo.get("lost"), "acknowledged": rpo.get("acknowledged"), "loss_window_s": rpo.get("loss_window_s"),
            "bounded": rpo.get("bounded", True), "rpo_target_s": rpo.get("target_s"),
            "rpo": _outcome(v.get("rpo"), disaster, "rpo"), "mechanism": rpo.get("mechanism", disaster.mechanism),
            "backup_age_s": rpo.get("backup_age_s"), "duration_s": results.get("duration_s")}


def _outcome(verdict, disaster, key) -> str:
    if not verdict:
        return "not measured"
    got = {"valid": "PASS", "invalid": "FAIL"}.get(verdict["valid"], "UNKNOWN")
    want = disaster.expect.get(key, "pass").upper()
    return got + (" (as expected)" if got == want and want == "FAIL" else "" if got == want else f" (expected {want})")


def _cells(r: dict) -> list[str]:
    f = lambda x: "?" if x is None else f"{x:.1f}"  # noqa: E731
    window = f(r["loss_window_s"]) + ("" if r["bounded"] else "+ (unbounded)")
    return [r["name"], f(r["detect_s"]), f(r["restore_s"]), f(r["serve_s"]), f(r["rto_s"]),
            f"{r['rto']} (< {f(r['rto_target_s'])})", f"{r['lost']} / {r['acknowledged']}", window,
            f"{r['rpo']} (< {f(r['rpo_target_s'])})", r["mechanism"], r["drill"].upper()]


def write_summary(outcomes, out: Path, opts, seconds: float) -> str:
    """Write summary.md and summary.html into ``out`` (the report's templates); return the Markdown."""
    rows = [o.row for o in outcomes]
    title = f"DR drills: {sum(o.passed for o in outcomes)} of {len(outcomes)} behaved as declared"
    intro = (f"Targets: RTO < {opts.rto_target_s:g} s, RPO < {opts.rpo_target_s:g} s. RTO is measured to the first "
             f"{opts.window_s:g} s window with >= {opts.min_ok:.0%} successful operations, on both services; RPO is "
             f"the window of acknowledged writes lost. Backups every {opts.backup_every_s:g} s (drill-scaled). "
             f"Total time {seconds:.0f} s.")
    links = [{"label": r["name"], "md": os.path.relpath(Path(r["run_dir"]) / "report.md", out),
              "html": os.path.relpath(Path(r["run_dir"]) / "report.html", out)} for r in rows]
    return summary(out, title, COLUMNS, [_cells(r) for r in rows], links, intro=[intro], links_label="Reports")
