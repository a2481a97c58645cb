"""The live dashboard in headless Chromium against the real test stack: the page loads with no console
error and draws every chart; it follows a run, draws its fault band where the history puts it, and
its halt button heals the stack and records who halted the run."""
from __future__ import annotations

import json

import pytest

from tests.integration.live import wait_for
from tests.integration.dashboard_fixtures import Page, browser, dashboard, needs_chromium  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.integration, needs_chromium]


def test_the_page_loads_with_no_console_error_and_draws_every_chart(live, dashboard, browser):
    page = Page(browser, dashboard.url)
    try:
        page.wait("document.body.dataset.chartsExpected > 0 && "
                  "+document.body.dataset.chartsDrawn === +document.body.dataset.chartsExpected", 20,
                  "every chart drew at least one point")
        page.wait("document.querySelectorAll('button.start').length >= 9", 10, "the catalogue is listed")
        assert page.js("document.body.dataset.chartsExpected") == "8"  # 3 per service, AP's staleness and hints
        health = page.js("document.getElementById('health-items').textContent")
        assert "node g1: up" in health and "node g2: up" in health and "CP: ready" in health
        assert page.js("document.getElementById('run-phase').textContent") in ("idle", "finished", "ended")
        first = int(page.js("document.body.dataset.frames"))
        page.wait(f"+document.body.dataset.frames >= {first + 4}", 10, "frames keep coming, several a second")
        question = page.js("document.querySelector('.experiment p').textContent")
        assert question.startswith("Question.") and len(question) > 20
        assert page.errors == []
    finally:
        page.close()


def _faults_in(history_path):
    from harness.history import FaultEvent, read_history
    return [e for e in read_history(history_path) if isinstance(e, FaultEvent)]


def _completions(history_path) -> dict:
    from harness.history import Op, read_history
    counts: dict = {}
    for e in read_history(history_path):
        if isinstance(e, Op) and e.type != "invoke":
            counts.setdefault(e.service, {"ok": 0, "fail": 0, "info": 0})[e.type] += 1
    return counts


def _stopped_nodes(stack) -> list[str]:
    import psutil
    out = []
    for name, node in stack.nodes.items():
        try:
            if node.pid and psutil.Process(node.pid).status() == psutil.STATUS_STOPPED:
                out.append(name)
        except psutil.NoSuchProcess:
            pass
    return out


def test_started_from_the_page_the_run_is_tracked_and_the_halt_button_heals(live, toxiproxy, dashboard, browser):
    """paused-node from the catalogue: g2 SIGSTOPped 6 s in. The page draws the band where the history
    puts it and sees g2 paused; Halt resumes g2, and the record says a person halted the run."""
    page = Page(browser, dashboard.url)
    try:
        page.wait("document.querySelector('button.start[data-name=\"paused-node\"]') && "
                  "!document.querySelector('button.start[data-name=\"paused-node\"]').disabled", 20, "Start is offered")
        page.page.click('button.start[data-name="paused-node"]')
        page.wait("window.dashboard.run.phase === 'running' && window.dashboard.run.experiment === 'paused-node'",
                  60, "the page follows the run it started")
        page.wait("window.dashboard.faults.some(f => f.name === 'freeze-g2')", 60, "the fault band is drawn")
        run_dir = dashboard.hub.tail.run_dir
        band = page.js("window.dashboard.faults.find(f => f.name === 'freeze-g2')")
        seen = page.js("Object.values(window.dashboard.bandsSeen).find(b => b.name === 'freeze-g2').seen")
        start = next(e for e in _faults_in(run_dir / "history.jsonl") if e.phase == "start" and e.begins)
        assert band["start"] == start.wall_ms / 1000 and band["target"] == start.target  # the history's own stamp
        print(f"fault band on the page {seen - band['start']:.2f} s after the fault began")
        page.wait("document.getElementById('health-items').textContent.includes('node g2: paused')", 20,
                  "the stack strip shows g2 paused")
        page.wait("+document.querySelector('#counts tr[data-service=\"cp\"] td:nth-child(3)').textContent > 0", 20,
                  "CP's failures are counted while g2 is frozen")
        page.page.screenshot(path=str(run_dir / "dashboard-during-fault.png"), full_page=True)
        page.page.click("#halt")
        page.wait("window.dashboard.run.phase === 'finished'", 90, "the halted run finishes with its verdicts")
        page.wait("document.querySelectorAll('#verdicts tbody tr').length > 0 && "
                  "!document.getElementById('report').hidden", 20, "the verdict table and the report link")
        page.page.screenshot(path=str(run_dir / "dashboard-after-halt.png"), full_page=True)
        assert dashboard.launcher.proc.wait(60) == 4  # an interrupted run is never valid: unknown
        record = json.loads((run_dir / "results.json").read_text())
        assert record["halted"]["by"] == "a person" and "via dashboard" in record["halted"]["reason"]
        assert record["halted"]["at"] and record["overall"] == "unknown"
        assert next(v for v in record["verdicts"] if v["checker"] == "heal")["valid"] == "valid"
        assert all(p.enabled and not p.toxics for p in toxiproxy.proxies().values())
        assert _stopped_nodes(live) == [], "a node is still SIGSTOPped after the halt"
        shown = page.js("Object.fromEntries([...document.querySelectorAll('#counts tbody tr')].map(tr => "
                        "[tr.dataset.service, [...tr.children].slice(1, 4).map(td => +td.textContent)]))")
        history = _completions(run_dir / "history.jsonl")
        assert shown == {s: [history.get(s, {}).get(k, 0) for k in ("ok", "fail", "info")] for s in ("cp", "ap")}
        for shot in ("dashboard-during-fault.png", "dashboard-after-halt.png"):
            assert (run_dir / shot).stat().st_size > 50_000, shot
        assert page.errors == []
    finally:
        page.close()


def test_a_guard_halts_a_run_started_elsewhere_and_heals(live, toxiproxy, dashboard, tmp_path):
    """AP cut off from both nodes (g2 by a black hole, a toxic): the guard trips, the run heals."""
    import subprocess
    import sys

    import yaml

    from stack import ROOT
    exp = tmp_path / "guarded.yaml"
    exp.write_text(yaml.safe_dump({
        "name": "guarded", "hypothesis": "AP stays available", "services": ["ap"], "profile": "test",
        "workload": {"clients": 2, "duration_s": 40, "think_ms": 10},
        "schedule": [{"name": "cut-g1", "at": 2, "duration": 30, "fault": "cut_node", "params": {"node": "g1"}},
                     {"name": "hole-g2", "at": 2, "duration": 30, "fault": "cut_node",
                      "params": {"node": "g2", "mode": "blackhole"}}],
        "guards": [{"service": "ap", "metric": "availability", "below": 0.9, "for_s": 2}],
        "after_heal": {"services": []},  # no snapshots to wait for: this test is about the guard
        "checkers": {"availability": {}}}))
    proc = subprocess.run([sys.executable, "-m", "chaos", "run", str(exp), "--runs-dir", str(dashboard.runs_dir),
                           "--stack-run-dir", str(live.run_dir), "--port-offset", str(dashboard.offset)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    run_dir = next(dashboard.runs_dir.glob("guarded/*/results.json")).parent
    record = json.loads((run_dir / "results.json").read_text())
    assert record["halted"]["by"] == "guard", proc.stdout[-2000:]
    assert "AP availability below 90% for 2 s" in record["halted"]["reason"]
    guard = next(v for v in record["verdicts"] if v["checker"] == "guard")
    assert guard["valid"] == "invalid" and record["overall"] == "invalid"
    assert record["duration_s"] < 40, "the run went on to the end of its schedule"
    assert next(v for v in record["verdicts"] if v["checker"] == "heal")["valid"] == "valid"
    assert all(p.enabled and not p.toxics for p in toxiproxy.proxies().values())
    wait_for(lambda: dashboard.hub.tail.run_dir == run_dir and dashboard.hub.tail.status().get("overall") == "invalid",
             10, "the dashboard followed the run started from a terminal")
