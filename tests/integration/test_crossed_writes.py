"""Crossed CP writes on 3 nodes: one store is not enough, and acknowledging it anyway is caught.

A write Y completed on g2 and g3 (a quorum) before W began, with a version above W's: another
coordinator's clock is ahead. g1 missed Y. W is then stored on g1 alone and rejected by g2 and g3.
With 3 nodes one store does not meet every quorum, so W must answer 503 unknown
(docs/semantics.md, "Crossed writes"). A store that acknowledges every crossing
(CAPLAB_TEST_UNSAFE_CP_CROSSED_ACK=1, test only) answers 200, and the linearizability checker must
call that history invalid: a read after W returns Y, though Y came before W.
"""
from __future__ import annotations

import time

import pytest
import requests

from chaos.checkers import linearizable
from harness.outcomes import classify
from stack import Stack
from stack.config import test_config
from tests.integration.live import restart_service, wait_breakers_closed
from tests.unit.histories import H

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def three_nodes(tmp_path_factory):
    with Stack(test_config(tmp_path_factory.mktemp("crossed"), offset=500, nodes=("g1", "g2", "g3"))).running() as stack:
        yield stack


def cross(stack, key: str):
    """Run the scenario above on `key`; return W's answer and the recorded history."""
    url = stack.config.service_url("cp")
    future = int(time.time() * 1000) + 600_000
    t0 = time.monotonic()
    for node in ("g2", "g3"):  # Y, written on a quorum by a coordinator whose clock is ahead
        with stack.nodes[node].client() as c:
            c.hset(f"caplab:r:{key}", mapping={"v": "Y", "ms": future, "c": 0, "w": 1, "at": future, "wn": "other"})
    t1 = time.monotonic()
    w = requests.post(f"{url}/write/{key}/W", timeout=5)
    t2 = time.monotonic()
    r = requests.get(f"{url}/read/{key}", timeout=5)
    t3 = time.monotonic()
    assert r.status_code == 200 and r.json()["value"] == "Y"
    wtype = classify(w.status_code, w.json())
    history = (H().write(9, key, "Y", t0, t1 - 1e-6)
               .write(1, key, "W", t1, t2, type=wtype, version=w.json().get("version"))
               .read(2, key, "Y", t2 + 1e-6, t3).build())
    return w, history


def test_one_store_of_three_answers_unknown(three_nodes):
    wait_breakers_closed(three_nodes)
    w, history = cross(three_nodes, "cross-safe")
    assert w.status_code == 503 and w.json()["outcome"] == "unknown", w.text
    with three_nodes.nodes["g1"].client() as g1:
        assert g1.hget("caplab:r:cross-safe", "v") in (b"W", b"Y")  # stored, then maybe written back
    verdict = linearizable.check(history)
    assert verdict.valid == "valid", verdict.summary


def test_acknowledging_it_anyway_is_caught(three_nodes):
    restart_service(three_nodes, "cp", CAPLAB_TEST_UNSAFE_CP_CROSSED_ACK="1")
    try:
        wait_breakers_closed(three_nodes)
        w, history = cross(three_nodes, "cross-unsafe")
    finally:
        restart_service(three_nodes, "cp", CAPLAB_TEST_UNSAFE_CP_CROSSED_ACK="0")
    assert w.status_code == 200 and w.json()["superseded"] is True, w.text
    verdict = linearizable.check(history)
    assert verdict.valid == "invalid", verdict.summary
    assert "cannot be linearized" in verdict.summary
