"""SIGTERM in the middle of a run: the faults are undone, and the run is never called valid."""
from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
import yaml

from stack import ROOT
from tests.integration.live import wait_for

pytestmark = pytest.mark.integration


def test_sigterm_mid_run_heals_and_is_not_valid(live, toxiproxy, tmp_path):
    offset = live.config.toxiproxy_port - 8474  # the test stack is the default one, shifted
    exp = tmp_path / "cut-short.yaml"
    exp.write_text(yaml.safe_dump({
        "name": "cut-short", "hypothesis": "CP refuses while g2 is cut off", "services": ["cp", "ap"],
        "profile": "test", "workload": {"clients": 1, "duration_s": 60, "think_ms": 20},
        "schedule": [{"name": "cut", "at": 0.5, "duration": 50, "fault": "cut_node", "params": {"node": "g2"}}],
        "checkers": {"availability": {}}}))
    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "chaos", "run", str(exp), "--runs-dir", str(runs),
                             "--stack-run-dir", str(live.run_dir), "--port-offset", str(offset)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def started():
            histories = list(runs.glob("cut-short/*/history.jsonl"))
            return histories and '"phase":"start"' in histories[0].read_text()
        wait_for(started, 30, "the cut started")
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 128 + signal.SIGTERM, out
    assert "overall: VALID" not in out and "overall: UNKNOWN" in out, out
    results = json.loads(next(runs.glob("cut-short/*/results.json")).read_text())
    assert results["overall"] == "unknown"
    interrupted = next(v for v in results["verdicts"] if v["checker"] == "interrupted")
    assert interrupted["valid"] == "unknown" and "did not finish" in interrupted["summary"]
    assert next(v for v in results["verdicts"] if v["checker"] == "heal")["valid"] == "valid"
    assert all(p.enabled and not p.toxics for p in toxiproxy.proxies().values())
