"""The DR drill end to end on real processes: a wiped node loses nothing; a total loss is reported as one.

Short drill settings (5 s of load, backups every 2 s, a 3 s serving window) keep both under a minute.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chaos.drills.disasters import CATALOGUE
from chaos.drills.recovery import DrillOptions, run_drill
from stack import Stack
from stack.config import test_config

ROOT = Path(__file__).resolve().parents[2]
FAST = DrillOptions(warmup_s=5.0, backup_every_s=2.0, window_s=3.0, serve_timeout_s=20.0, clients=2)


@pytest.fixture(scope="module")
def drill_stack(tmp_path_factory):
    """A stack of its own (ports shifted by 400 from the session stack): the drill kills and wipes nodes."""
    with Stack(test_config(tmp_path_factory.mktemp("drill-stack"), offset=400)).running() as s:
        yield s


def test_node_wiped_loses_no_acknowledged_write(drill_stack, tmp_path):
    out = run_drill(CATALOGUE["node-wiped"], drill_stack, tmp_path, FAST, say=lambda _m: None)
    results = json.loads((out.run_dir / "results.json").read_text())
    v = {x["checker"]: x for x in results["verdicts"]}
    assert out.passed, results
    assert v["rpo"]["valid"] == "valid" and v["rpo"]["figures"]["lost"] == 0
    assert v["rpo"]["figures"]["acknowledged"] > 50
    assert v["rto"]["valid"] == "valid" and 0 <= v["rto"]["figures"]["rto_s"] < 15
    assert v["rto"]["figures"]["restore_s"] is not None
    lost = list((out.run_dir / "lost").glob("g2-*"))  # kept for forensics, with the drill's evidence
    assert lost and (lost[0] / "appendonlydir").is_dir()
    assert not list(drill_stack.nodes["g2"].data_dir.parent.glob("g2*lost*")), "nothing piles up beside live data"
    history = (out.run_dir / "history.jsonl").read_text()
    assert '"name":"disaster:node-wiped"' in history and '"name":"restore:repair"' in history
    assert (out.run_dir / "experiment.json").exists()
    assert all(n.running() for n in drill_stack.nodes.values())


def test_aof_tail_torn_loses_about_the_last_second_and_says_the_aof_bounded_it(drill_stack, tmp_path):
    out = run_drill(CATALOGUE["aof-tail-torn"], drill_stack, tmp_path, FAST, say=lambda _m: None)
    results = json.loads((out.run_dir / "results.json").read_text())
    v = {x["checker"]: x for x in results["verdicts"]}
    assert out.passed, results
    rpo = v["rpo"]["figures"]
    # the writes of the torn second are really gone, and only those: older ones all survived
    assert rpo["lost"] > 0 and rpo["bounded"] and rpo["lost"] < rpo["acknowledged"] / 2, rpo
    assert 0.5 <= rpo["loss_window_s"] <= 2.5, rpo
    assert "AOF fsync every second" in rpo["mechanism"]
    torn = results["facts"]["aof_torn"]
    assert set(torn) == {"g1", "g2"} and all(t["bytes_torn"] > 0 for t in torn.values()), torn
    assert all(n.running() for n in drill_stack.nodes.values())


def test_total_loss_without_backup_fails_its_rpo_honestly(tmp_path):
    offset = 19000 + int(os.environ.get("CAPLAB_TEST_PORT_OFFSET", "0"))  # stack_config ports + this
    argv = [sys.executable, "-m", "chaos.drills", "--only", "total-loss-no-backup", "--strict",
            "--warmup", "5", "--window", "3", "--runs-dir", str(tmp_path / "runs"),
            "--stack-run-dir", str(tmp_path / "stack"), "--port-offset", str(offset)]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL (as expected)" in proc.stdout
    [run] = (tmp_path / "runs" / "total-loss-no-backup").iterdir()
    results = json.loads((run / "results.json").read_text())
    v = {x["checker"]: x for x in results["verdicts"]}
    assert v["rpo"]["valid"] == "invalid" and v["rpo"]["figures"]["lost"] > 0
    assert v["rpo"]["figures"]["bounded"] is False
    assert v["expectation"]["valid"] == "valid"  # without --strict this drill passes: the loss was seen
    [summary] = (tmp_path / "runs" / "drill").iterdir()
    assert "total-loss-no-backup" in (summary / "summary.md").read_text()
    assert not list((tmp_path / "stack").glob("*.pid")), "the drill must stop the stack it started"
