"""The DR drills' and the alerts drill's summaries: one renderer on the report's templates, the same
table in summary.md and summary.html, links to each run's report."""
from __future__ import annotations

from types import SimpleNamespace

from chaos.drills import alerts, summary
from chaos.drills.disasters import CATALOGUE
from chaos.drills.recovery import DrillOptions


def _drill_row(name, run_dir, drill="pass"):
    results = {"drill": drill, "duration_s": 30.0, "verdicts": [
        {"checker": "rto", "valid": "valid", "figures": {"detect_s": 0.2, "restore_s": 1.5, "serve_s": 2.0,
                                                         "rto_s": 3.7, "target_s": 900.0}},
        {"checker": "rpo", "valid": "invalid" if drill == "pass" and name == "total-loss-no-backup" else "valid",
         "figures": {"lost": 0, "acknowledged": 120, "loss_window_s": 0.0, "target_s": 300.0}}]}
    return summary.summary_row(CATALOGUE[name], results, run_dir)


def test_the_drill_summary_has_one_row_per_drill_and_links_in_both_formats(tmp_path):
    runs = [tmp_path / "runs" / n / "t1" for n in ("node-wiped", "total-loss-no-backup")]
    outcomes = [SimpleNamespace(passed=True, row=_drill_row(r.parent.name, r)) for r in runs]
    out = tmp_path / "runs" / "drill" / "t2"
    out.mkdir(parents=True)
    md = summary.write_summary(outcomes, out, DrillOptions(), 61.0)
    assert md.startswith("# DR drills: 2 of 2 behaved as declared\n") and "Total time 61 s." in md
    lines = [line for line in md.splitlines() if line.startswith("| ")]
    assert lines[0] == "| " + " | ".join(summary.COLUMNS) + " |" and len(lines) == 3
    assert "| node-wiped | 0.2 | 1.5 | 2.0 | 3.7 |" in md
    assert "FAIL (as expected) (< 300.0)" in lines[2]  # total loss: the RPO failure it declares
    assert "[node-wiped](../../node-wiped/t1/report.md)" in md
    html = (out / "summary.html").read_text()
    assert html.count("<tr>") == 3 and 'href="../../node-wiped/t1/report.html"' in html and "v-valid" in html


def test_the_alerts_summary_names_what_did_not_fire_and_escapes_cells(tmp_path):
    run = tmp_path / "breaker-open" / "t1"
    run.mkdir(parents=True)
    (run / "history.jsonl").write_text("")
    row = {"experiment": "breaker-open", "alert": 'CaplabBreakerOpen{node="g2"}', "fault": "cut_node (a|b) for 12 s",
           "expected": "fires, then resolves", "fired": False, "resolved": False, "time_to_detect_s": None,
           "time_to_resolve_s": None, "notified_firing_s": None, "notified_resolved_s": None,
           "alerts_verdict": "invalid", "alerts_summary": "never fired", "overall": "invalid", "undeclared": ["X"],
           "ok": False, "run_dir": str(run), "run_rel": "breaker-open/t1"}
    md = alerts.write_summary([row], 25.0, tmp_path)
    assert "| **NO** |" in md and "cut_node (a\\|b) for 12 s" in md
    assert "0 of 1 alerts fired and resolved; total 25 s." in md
    assert "- **breaker-open**: never fired" in md and "also fired (not declared): X" in md
    html = (tmp_path / "summary.html").read_text()
    assert "<td>NO</td>" in html and "No alert event recorded." in html and "&#34;g2&#34;" in html
