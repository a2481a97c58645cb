"""A deliberately broken CP store fails the linearizability checker; the real one passes the same run.

CAPLAB_TEST_UNSAFE_CP_READ=1 makes CP read only the last reachable node, with no quorum and no
write-back. Scenario, on 3 nodes: cut CP off from g3 while writes keep succeeding on g1 and g2 (a
quorum of 2 of 3), heal, and keep reading: g3, the last node, now serves values older than writes
already acknowledged. Exactly that run must be invalid, and valid without the flag.
"""
from __future__ import annotations

import json

import pytest

from chaos.experiment.files import parse_experiment
from chaos.run.runner import run_experiment
from stack import Stack
from stack.config import test_config
from tests.integration.live import restart_service

pytestmark = pytest.mark.integration

SCENARIO = {
    "name": "stale-last-node", "profile": "test", "services": ["cp"], "nodes": 3,
    "hypothesis": "CP reads stay linearizable when a node that missed writes comes back",
    "workload": {"clients": 3, "duration_s": 9, "read_ratio": 0.8, "keys": 24, "think_ms": 5},
    "schedule": [{"name": "cut-cp-g3", "at": 1.5, "duration": 4, "fault": "cut_service",
                  "params": {"service": "cp", "node": "g3"}}],
    "checkers": {"linearizable": {}, "availability": {"min_availability": {"cp": {"fault": 0.5}}}},
}


@pytest.fixture(scope="module")
def three_nodes(tmp_path_factory):
    with Stack(test_config(tmp_path_factory.mktemp("three"), offset=300, nodes=("g1", "g2", "g3"))).running() as stack:
        yield stack


def run(stack, tmp_path):
    outcome = run_experiment(parse_experiment(SCENARIO, "scenario"), stack, tmp_path / "runs",
                             say=lambda *_a, **_k: None)
    results = json.loads((outcome.run_dir / "results.json").read_text())
    return outcome, {v["checker"]: v for v in results["verdicts"]}


def restart_cp(stack, unsafe: bool):
    restart_service(stack, "cp", CAPLAB_TEST_UNSAFE_CP_READ="1" if unsafe else "0")


def test_quorum_reads_stay_linearizable(three_nodes, tmp_path):
    outcome, verdicts = run(three_nodes, tmp_path)
    assert verdicts["availability"]["valid"] == "valid"  # CP kept its quorum while g3 was cut off
    assert verdicts["linearizable"]["valid"] == "valid", verdicts["linearizable"]["summary"]
    assert outcome.exit_code == 0


def test_single_node_reads_are_caught(three_nodes, tmp_path):
    restart_cp(three_nodes, unsafe=True)
    try:
        outcome, verdicts = run(three_nodes, tmp_path)
    finally:
        restart_cp(three_nodes, unsafe=False)
    lin = verdicts["linearizable"]
    assert lin["valid"] == "invalid", lin["summary"]
    assert lin["figures"]["invalid_keys"] and "cannot be linearized" in lin["summary"]
    assert outcome.exit_code == 1
