"""The experiment runner end to end on the test stack: CP vs AP under a cut, an aborted run, heal."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import yaml

from chaos.experiment.files import EXPERIMENTS_DIR, parse_experiment
from chaos.run.protocols import Observer
from chaos.run.runner import run_experiment
from harness.history import BreakerSample, FaultEvent, MetricSample, Op, read_history
from stack import ROOT

from tests.integration.live import wait_for

pytestmark = pytest.mark.integration


def quiet(*_args, **_kw):
    pass


def catalogue_experiment(name: str, **changes) -> dict:
    data = yaml.safe_load((EXPERIMENTS_DIR / f"{name}.yaml").read_text())
    data.update(changes)
    return data


def verdict(results: dict, name: str) -> dict:
    return next(v for v in results["verdicts"] if v["checker"] == name)


def test_cp_vs_ap_partition_end_to_end(live, tmp_path):
    """The catalogue's CP-vs-AP experiment, shortened: CP refuses and stays linearizable, AP serves."""
    data = catalogue_experiment("partition-g2-cp-vs-ap", profile="test")
    data["workload"].update(duration_s=12, clients=3)
    data["schedule"][0].update(at=3, duration=5)
    data["expect_metrics"][0]["at_least"] = 500
    outcome = run_experiment(parse_experiment(data, "test"), live, tmp_path / "runs", say=quiet)
    results = json.loads((outcome.run_dir / "results.json").read_text())
    problems = [f"{v['checker']}: {v['summary']}" for v in results["verdicts"] if v["valid"] != "valid"]
    assert outcome.overall == "valid" and outcome.exit_code == 0, problems
    assert {p.name for p in outcome.run_dir.iterdir()} >= {"experiment.json", "history.jsonl", "results.json"}
    assert results["stack"]["BREAKER_RESET_TIMEOUT_SEC"] == 1.0 and results["stack"]["MAX_STALENESS_MS"] == 500

    history = read_history(outcome.run_dir / "history.jsonl")
    ops = [e for e in history if isinstance(e, Op)]
    invokes = sum(o.type == "invoke" for o in ops)
    assert invokes > 100 and invokes == sum(o.type != "invoke" for o in ops)
    assert {(o.service, o.type) for o in ops} >= {("cp", "ok"), ("cp", "fail"), ("ap", "ok")}
    faults = [e for e in history if isinstance(e, FaultEvent)]
    assert [(f.phase, f.stage, f.name, f.target) for f in faults] == [
        ("start", "invoke", "cut-g2", "cp,ap->g2"), ("start", "complete", "cut-g2", "cp,ap->g2"),
        ("stop", "invoke", "cut-g2", "cp,ap->g2"), ("stop", "complete", "cut-g2", "cp,ap->g2")]
    assert faults[0].time <= faults[1].time <= faults[2].time <= faults[3].time
    assert {(b.service, b.node, b.state) for b in history if isinstance(b, BreakerSample)} >= \
        {("cp", "g2", "open"), ("cp", "g2", "closed"), ("ap", "g2", "open")}
    assert any(isinstance(m, MetricSample) and m.name == "data_staleness_ms" and m.value > 0 for m in history)

    assert verdict(results, "linearizable")["valid"] == "valid"
    rows = {(r["service"], r["kind"]): r for r in verdict(results, "availability")["figures"]["windows"]}
    assert rows[("cp", "fault")]["availability"] == 0.0 and rows[("cp", "fault")]["ops"] > 10
    assert rows[("ap", "fault")]["availability"] == 1.0
    peaks = {m["node"]: m["peak"] for m in verdict(results, "metrics")["figures"]["metrics"]}
    assert peaks["g2"] >= 500 and peaks["g1"] == 0
    conv = verdict(results, "convergence")
    assert conv["valid"] == "valid" and conv["figures"]["converged_after_s"] is not None


class HaltButton(Observer):
    """Presses the run's abort from another thread once the fault is in effect, as a dashboard would."""

    pressed = False

    def start(self, run):
        def press():
            wait_for(lambda: run.live.active, timeout=20, what="the fault in effect")
            self.pressed = run.abort("halt button", by="dashboard")
        threading.Thread(target=press, daemon=True).start()


def test_an_abort_from_another_thread_heals_like_ctrl_c_and_says_who(live, toxiproxy, tmp_path):
    data = catalogue_experiment("partition-g2-cp-vs-ap", profile="test")
    data["workload"].update(duration_s=60, clients=2)
    data["schedule"][0].update(at=0.5, duration=50)
    button = HaltButton()
    outcome = run_experiment(parse_experiment(data, "test"), live, tmp_path / "runs", say=quiet, observers=[button])
    results = json.loads((outcome.run_dir / "results.json").read_text())
    assert button.pressed and results["halted"]["by"] == "dashboard" and results["halted"]["reason"] == "halt button"
    assert results["halted"]["at"] and results["halted"]["after_s"] > 0
    assert verdict(results, "interrupted")["valid"] == "unknown" and outcome.overall != "valid"
    assert "aborted by dashboard" in verdict(results, "interrupted")["summary"]
    assert verdict(results, "heal")["valid"] == "valid"
    assert verdict(results, "steady_state_after")["valid"] == "valid"
    assert any(n.startswith("aborted by dashboard") for n in results["notes"])
    faults = [(e.phase, e.stage) for e in read_history(outcome.run_dir / "history.jsonl") if isinstance(e, FaultEvent)]
    assert faults == [("start", "invoke"), ("start", "complete"), ("stop", "invoke"), ("stop", "complete")]
    for name in ("cp_g2", "ap_g2"):  # the cut was undone through the fault scope, as after Ctrl-C
        proxy = toxiproxy.get_proxy(name)
        assert proxy.enabled and not proxy.toxics


def test_failed_steady_state_aborts_before_injecting(live, toxiproxy, tmp_path):
    data = catalogue_experiment("partition-g2-cp-vs-ap", profile="test")
    toxiproxy.set_enabled("cp_g2", False)  # a fault left behind by someone else
    outcome = run_experiment(parse_experiment(data, "test"), live, tmp_path / "runs", say=quiet)
    assert outcome.exit_code == 3 and outcome.aborted
    results = json.loads((outcome.run_dir / "results.json").read_text())
    assert results["aborted"].startswith("steady state before failed")
    assert "cp_g2 disabled" in verdict(results, "steady_state_before")["summary"]
    history = read_history(outcome.run_dir / "history.jsonl")
    assert not [e for e in history if isinstance(e, (FaultEvent, Op))]
    assert toxiproxy.get_proxy("cp_g2").enabled is False  # the runner touched nothing


def test_heal_removes_what_a_killed_run_left(live, toxiproxy, tmp_path):
    """SIGKILL a CLI run in the middle of its faults, then `python -m chaos heal` cleans up."""
    offset = live.config.toxiproxy_port - 8474  # the test stack is the default one, shifted
    exp = tmp_path / "left-behind.yaml"
    exp.write_text(yaml.safe_dump({
        "name": "left-behind", "hypothesis": "heal undoes it all", "services": ["cp", "ap"], "profile": "test",
        "workload": {"clients": 1, "duration_s": 60, "think_ms": 50},
        "schedule": [
            {"name": "slow", "at": 0.2, "duration": 50, "fault": "latency", "params": {"node": "g1", "ms": 100}},
            {"name": "cut", "at": 0.2, "duration": 50, "fault": "cut_node", "params": {"node": "g2", "services": ["ap"]}},
            {"name": "hole", "at": 0.2, "duration": 50, "fault": "one_way",
             "params": {"node": "g2", "services": ["cp"], "direction": "upstream"}},
            {"name": "freeze", "at": 0.5, "duration": 50, "fault": "pause_node", "params": {"node": "g1"}},
            {"name": "crash", "at": 0.5, "duration": 50, "fault": "kill_node", "params": {"node": "g2"}}],
        "checkers": {"linearizable": {}}}))
    runs = tmp_path / "runs"
    argv = ["--stack-run-dir", str(live.run_dir), "--port-offset", str(offset)]
    proc = subprocess.Popen([sys.executable, "-m", "chaos", "run", str(exp), "--runs-dir", str(runs), *argv],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def all_started():
            histories = list(runs.glob("left-behind/*/history.jsonl"))
            return histories and sum('"phase":"start"' in line and '"stage":"complete"' in line
                                     for line in histories[0].read_text().splitlines()) == 5
        wait_for(all_started, 30, "five faults started")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    proxies = toxiproxy.proxies()
    assert proxies["cp_g1"].toxics and proxies["ap_g1"].toxics and not proxies["ap_g2"].enabled
    assert live.nodes["g2"].pid is None
    assert open(f"/proc/{live.nodes['g1'].pid}/stat").read().rsplit(")", 1)[1].split()[0] == "T"

    healed = subprocess.run([sys.executable, "-m", "chaos", "heal", *argv], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert healed.returncode == 0, healed.stdout + healed.stderr
    assert "restarted node g2" in healed.stdout and "resumed: g1" in healed.stdout
    assert all(p.enabled and not p.toxics for p in toxiproxy.proxies().values())
    for name in ("g1", "g2"):
        with live.nodes[name].client() as c:
            assert c.ping()
    assert not list((live.run_dir / "chaos-state" / "active-faults").glob("*.json"))
    again = subprocess.run([sys.executable, "-m", "chaos", "heal", *argv], cwd=ROOT, capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 0  # healing twice is harmless
    time.sleep(0.2)


def test_partition_under_load_with_locust(live, tmp_path):
    """The catalogue's Locust experiment, shortened: verdicts come from Locust's own history."""
    data = catalogue_experiment("partition-under-load", profile="test")
    data["workload"].update(duration_s=14, users=6)
    data["schedule"][0].update(at=3, duration=6)
    outcome = run_experiment(parse_experiment(data, "test"), live, tmp_path / "runs", say=quiet)
    results = json.loads((outcome.run_dir / "results.json").read_text())
    problems = [f"{v['checker']}: {v['summary']}" for v in results["verdicts"] if v["valid"] != "valid"]
    assert outcome.overall == "valid", problems
    assert (outcome.run_dir / "locust" / "locust_stats.csv").exists()
    history = read_history(outcome.run_dir / "history.jsonl")
    ops = [e for e in history if isinstance(e, Op)]
    assert ops and min(o.process for o in ops) >= 1_000_000  # Locust's users, under their own ids
    assert [(e.phase, e.stage) for e in history if isinstance(e, FaultEvent)] == [
        ("start", "invoke"), ("start", "complete"), ("stop", "invoke"), ("stop", "complete")]
    assert results["ops"]["cp:ok"] > 20 and results["ops"]["ap:ok"] > 20
    assert verdict(results, "linearizable")["valid"] == "valid"
    rows = {(r["service"], r["kind"]): r for r in verdict(results, "availability")["figures"]["windows"]}
    assert rows[("cp", "fault")]["availability"] == 0.0 and rows[("cp", "fault")]["ops"] > 10
    assert rows[("ap", "fault")]["availability"] == 1.0 and rows[("ap", "fault")]["ops"] > 10


def _fake_run(folder, history_lines):
    folder.mkdir(parents=True)
    (folder / "history.jsonl").write_text("".join(line + "\n" for line in history_lines))
    (folder / "experiment.json").write_text(json.dumps({"name": folder.parent.name, "services": ["cp"],
                                                        "schedule": []}))
    (folder / "results.json").write_text(json.dumps({"overall": "valid", "verdicts": []}))
    return folder


OK_LINES = ['{"type":"invoke","process":0,"f":"write","key":"k","value":"1","service":"cp","time":0.1,"wall_ms":1}',
            '{"type":"ok","process":0,"f":"write","key":"k","value":"1","service":"cp","time":0.2,"wall_ms":2}']


def chaos_cli(*args):
    return subprocess.run([sys.executable, "-m", "chaos", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_cli_report_of_a_corrupt_history_is_one_line_and_exit_2(tmp_path):
    run = _fake_run(tmp_path / "x" / "1", [OK_LINES[0], "{not json", OK_LINES[1]])
    r = chaos_cli("report", run)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "history.jsonl:2" in r.stderr and "corrupt history" in r.stderr


def test_cli_compare_writes_a_comparison(tmp_path):
    a = _fake_run(tmp_path / "a" / "1", OK_LINES)
    b = _fake_run(tmp_path / "b" / "1", OK_LINES)
    r = chaos_cli("compare", a, b, "--out", tmp_path / "cmp")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "cmp" / "comparison.md").stat().st_size > 0
    assert "a · cp" in (tmp_path / "cmp" / "comparison.html").read_text()
    alone = chaos_cli("compare", a, "--out", tmp_path / "cmp2")
    assert alone.returncode == 2 and "at least two" in alone.stderr and "Traceback" not in alone.stderr


def test_a_settings_override_is_undone_for_the_next_run(live):
    """An experiment's service_settings (here AP_READ_NODE) must not leak into the next run."""
    from stack.target import ensure_settings, service_settings
    overridden = ensure_settings(live, {"AP_READ_NODE": "g2"}, say=quiet)
    try:
        assert service_settings(overridden)["ap"]["AP_READ_NODE"] == "g2"
    finally:
        restored = ensure_settings(overridden, {}, say=quiet)
    assert service_settings(restored)["ap"]["AP_READ_NODE"] is None
