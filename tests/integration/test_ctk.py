"""The Chaos Toolkit extension through the real `chaos` CLI of the installed chaostoolkit, against
the session's test stack: the example experiment completes with the probes' values and caplab's
verdicts in its journal, a broken tolerance fails the run before anything is injected, a run
killed mid-fault leaves nothing behind once the heal experiment or `python -m chaos heal` ran,
and `chaos discover` lists every activity."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chaos.faults.ledger import process_state, read_entries
from chaos.nemesis.fault_types import FAULTS
from stack.config import StackConfig
from stack.target import stack_config, state_dir

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
CHAOS = Path(sys.executable).with_name("chaos")
EXAMPLES = ROOT / "ctk" / "examples"


def ctk_env(stack, tmp_path) -> dict:
    """The environment the examples read their configuration from: this test stack's folder and ports."""
    offset = stack.config.toxiproxy_port - StackConfig().toxiproxy_port
    named = stack_config(2, "local", stack.run_dir, offset)
    assert (named.toxiproxy_port, named.service_ports, named.redis_base_port) == (
        stack.config.toxiproxy_port, stack.config.service_ports, stack.config.redis_base_port)
    return {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'ctk'}", "CAPLAB_STACK_DIR": str(stack.run_dir),
            "CAPLAB_PORT_OFFSET": str(offset), "CAPLAB_RUNS_DIR": str(tmp_path / "runs")}


def chaos_run(experiment: Path, env: dict, tmp_path, timeout: float = 90) -> tuple[subprocess.CompletedProcess, dict]:
    journal = tmp_path / f"journal-{experiment.stem}.json"
    proc = subprocess.run([str(CHAOS), "--no-log-file", "run", "--journal-path", str(journal), str(experiment)],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=timeout)
    assert journal.exists(), proc.stdout + proc.stderr
    return proc, json.loads(journal.read_text())


def outputs(journal: dict, phase: str) -> dict:
    return {p["activity"]["name"]: p.get("output") for p in journal["steady_states"][phase]["probes"]}


def assert_nothing_injected(stack, toxiproxy) -> None:
    for name, proxy in toxiproxy.proxies().items():
        assert proxy.enabled and not proxy.toxics, f"{name} still faulty: {proxy}"
    assert not read_entries(state_dir(stack)), "the fault ledger still lists a fault"
    for node in stack.nodes.values():
        assert process_state(node.pid) not in ("T", "t", None, "Z"), f"{node.name} is not running"


def test_partition_example_completes_with_probe_values_and_verdicts(live, toxiproxy, tmp_path):
    proc, journal = chaos_run(EXAMPLES / "partition.json", ctk_env(live, tmp_path), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert journal["status"] == "completed" and journal["deviated"] is False
    before, after = outputs(journal, "before"), outputs(journal, "after")
    for phase in (before, after):
        assert phase["cp-write-ok"]["status"] == 200 and phase["cp-linearizable"]["valid"] == "valid"
        assert phase["nodes-agree"]["differing_keys"] == 0
    run = {r["activity"]["name"]: r for r in journal["run"]}
    assert all(r["status"] == "succeeded" for r in run.values()), run
    # With g2 cut off no quorum exists: CP refuses; AP answers from g1 and g2 falls behind.
    assert run["cp-write-during-cut"]["output"]["status"] == 503
    assert run["ap-read-during-cut"]["output"]["status"] == 200
    assert run["breakers-during-cut"]["output"]["cp:g2"] == "open"
    assert run["staleness-during-cut"]["output"]["g2"] > 0
    caplab = journal["caplab"]
    verdicts = {v["checker"]: v["valid"] for v in caplab["verdicts"]}
    assert set(verdicts) == {"linearizable", "lost_writes", "staleness", "convergence"}
    assert caplab["overall"] == "valid", caplab
    assert [m["name"] for m in caplab["marks"]] == ["start", "partition"]
    record = json.loads((Path(caplab["run_dir"]) / "results.json").read_text())
    assert record["overall"] == "valid" and record["stack"]["ctk_status"] == "completed"
    assert_nothing_injected(live, toxiproxy)
    # caplab's report reads the folder the control wrote, as it reads a `python -m chaos run` folder.
    from chaos.report.build import build_report
    md, _html = build_report(caplab["run_dir"])
    report = Path(md).read_text()
    assert "Overall: ✅ VALID" in report and "| fault cut_cp_g2-ap_g2_refuse |" in report


def test_blackhole_vs_refusal_example_completes(live, toxiproxy, tmp_path):
    proc, journal = chaos_run(EXAMPLES / "blackhole-vs-refusal.json", ctk_env(live, tmp_path), tmp_path)
    assert proc.returncode == 0 and journal["status"] == "completed", proc.stdout + proc.stderr
    run = {r["activity"]["name"]: r["output"] for r in journal["run"]}
    # Refused connections: after the 2 s pause under the clients' traffic g2's breaker is open (in
    # the worker that served them; the probe may meet another, whose first call to g1 then makes
    # the outcome unknown rather than not applied), and CP refuses.
    assert run["breakers-refused"]["cp:g2"] == "open"
    assert run["cp-write-refused"]["status"] == 503
    assert run["cp-write-refused"]["outcome"] in ("not_applied", "unknown")
    # A black hole: no quorum either way; until the breaker opens the write's fate is unknown.
    assert run["cp-write-blackholed"]["status"] == 503
    assert run["cp-write-blackholed"]["completion"] in ("info", "fail")
    assert run["cp-linearizable-through-blackhole"]["since"]["name"] == "blackhole"
    assert journal["caplab"]["overall"] == "valid", journal["caplab"]
    assert_nothing_injected(live, toxiproxy)


def test_a_broken_tolerance_fails_the_run_before_any_fault(live, toxiproxy, tmp_path):
    experiment = json.loads((EXAMPLES / "partition.json").read_text())
    probes = experiment["steady-state-hypothesis"]["probes"]
    next(p for p in probes if p["name"] == "cp-write-ok")["tolerance"] = 201  # a CP write never answers 201
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(experiment))
    proc, journal = chaos_run(broken, ctk_env(live, tmp_path), tmp_path)
    assert journal["status"] == "failed", journal["status"]
    assert proc.returncode != 0
    failed = [p for p in journal["steady_states"]["before"]["probes"] if not p["tolerance_met"]]
    assert [p["activity"]["name"] for p in failed] == ["cp-write-ok"]
    assert journal["run"] == []  # the method never ran: nothing was injected
    assert_nothing_injected(live, toxiproxy)


KILLED = {"version": "1.0.0", "title": "faults left behind by a killed run",
          "description": "inject, then hold one more fault long enough to be killed",
          "configuration": {"caplab_stack_dir": {"type": "env", "key": "CAPLAB_STACK_DIR"},
                            "caplab_port_offset": {"type": "env", "key": "CAPLAB_PORT_OFFSET", "env_var_type": "int"}},
          "method": [{"type": "action", "name": name, "provider": {
              "type": "python", "module": "chaostoolkit_caplab.actions", "func": func, "arguments": args}}
              for name, func, args in (("kill-g1", "kill_node", {"node": "g1"}),
                                       ("pause-g2", "pause_node", {"node": "g2"}),
                                       ("slow-g1", "latency", {"node": "g1", "ms": 50}),
                                       ("blackhole-cp-g2", "cut_node", {"node": "g2", "services": ["cp"],
                                                                        "mode": "blackhole"}),
                                       ("flap-ap-g1", "flapping", {"node": "g1", "services": ["ap"],
                                                                   "period_sec": 0.4}),
                                       ("hold-one-way-ap-g2", "one_way", {"node": "g2", "services": ["ap"],
                                                                          "direction": "upstream", "duration_s": 60}))],
          "rollbacks": [{"type": "action", "name": "heal", "provider": {
              "type": "python", "module": "chaostoolkit_caplab.actions", "func": "heal", "arguments": {}}}]}


@pytest.mark.parametrize("healer", ["chaos run heal.json", "python -m chaos heal", "SIGTERM: the caplab control"])
def test_a_killed_run_leaves_nothing_once_healed(live, toxiproxy, tmp_path, healer):
    env = ctk_env(live, tmp_path)
    experiment = dict(KILLED)
    if healer.startswith("SIGTERM"):  # interrupted: Chaos Toolkit skips the rollbacks, the control heals
        experiment["controls"] = [{"name": "caplab", "provider": {
            "type": "python", "module": "chaostoolkit_caplab.control", "arguments": {"clients": 1}}}]
    (tmp_path / "killed.json").write_text(json.dumps(experiment))
    proc = subprocess.Popen([str(CHAOS), "--no-log-file", "run", "--journal-path", str(tmp_path / "j.json"),
                             str(tmp_path / "killed.json")], env=env, cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        g2 = live.nodes["g2"].pid
        deadline = time.monotonic() + 45
        g1 = live.nodes["g1"].pid
        while not (process_state(g2) == "T" and process_state(g1) in (None, "Z") and toxiproxy.get_proxy("cp_g2").toxics
                   and toxiproxy.get_proxy("ap_g1").toxics and toxiproxy.get_proxy("ap_g2").toxics):
            assert proc.poll() is None and time.monotonic() < deadline, "the faults never all landed"
            time.sleep(0.1)
        if healer.startswith("SIGTERM"):
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # no rollback, no clean-up: what a crash leaves
        except ProcessLookupError:  # the SIGTERMed run already ended, and nothing of it is left
            pass
        proc.wait(10)
    if healer.startswith("SIGTERM"):
        journal = json.loads((tmp_path / "j.json").read_text())
        assert journal["status"] == "interrupted" and not journal["rollbacks"]
        assert any("healed faults still in place" in n for n in journal["caplab"]["notes"]), journal["caplab"]
        assert_nothing_injected(live, toxiproxy)
        return
    assert read_entries(state_dir(live)), "the paused node must be in the fault ledger"
    if healer == "python -m chaos heal":
        cmd = [sys.executable, "-m", "chaos", "heal", "--stack-run-dir", env["CAPLAB_STACK_DIR"],
               "--port-offset", env["CAPLAB_PORT_OFFSET"]]
        healed = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert healed.returncode == 0, healed.stdout + healed.stderr
        assert "restarted node g1" in healed.stdout
    else:
        healed, journal = chaos_run(EXAMPLES / "heal.json", env, tmp_path)
        assert journal["status"] == "completed", healed.stdout + healed.stderr
        report = journal["run"][0]["output"]
        assert report["resumed"] and "restarted node g1" in report["notes"], report
    assert_nothing_injected(live, toxiproxy)


def test_discover_lists_every_activity(tmp_path):
    out = tmp_path / "discovery.json"
    proc = subprocess.run([str(CHAOS), "--no-log-file", "discover", "chaostoolkit-caplab", "--no-install",
                           "--no-system-info", "--discovery-path", str(out)],
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert out.exists(), proc.stdout + proc.stderr
    found = {(a["type"], a["name"]): a for a in json.loads(out.read_text())["activities"]}
    actions = {n for t, n in found if t == "action"}
    assert actions == set(FAULTS) - {"none"} | {"heal", "mark"}
    assert {n for t, n in found if t == "probe"} >= {"breaker_states", "data_staleness_ms", "cp_write", "ap_read",
                                                     "nodes_converged", "check"}
    latency = [a["name"] for a in found[("action", "latency")]["arguments"]]
    assert latency[:2] == ["node", "ms"] and set(latency) == set(FAULTS["latency"].params) | {"duration_s"}
