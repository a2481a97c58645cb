"""The native service against real redis-servers and Sentinels (`redis-server <conf> --sentinel`).

The native side is added to the session's stack (same run folder and Toxiproxy) for this module and
stopped after it. Failover tests wait on Sentinel's own events, bounded by the test profile's
timings (down-after-milliseconds 2000), never on sleeps.
"""
from __future__ import annotations

import json
import time

import pytest
import requests

from app import create_app
from chaos.checkers import lost_writes
from chaos.drills.recovery import DrillOptions, run_drill
from chaos.drills.region import REGION_FAILOVER
from chaos.faults.failover import IsolatePrimary, KillPrimary
from chaos.observers.failover import SentinelWatcher
from chaos.report.cluster_events import failovers
from chaos.observers.samplers import take_snapshot
from harness.history import ClusterEvent, HistoryWriter, NodeSnapshot, Op, read_history
from stack import Stack
from stack.process import wait_until

FAILOVER_WITHIN_S = 30  # down-after 2 s, then election and promotion; generous on a busy machine


@pytest.fixture(scope="module")
def native(stack):
    s = Stack(stack.config.with_(native=True))  # same run folder: CP/AP are found running
    try:
        s.up(progress=lambda _m: None)
        yield s
    finally:
        s.down_native(progress=lambda _m: None)


@pytest.fixture
def healed(native):
    with native.client() as tp:
        tp.reset()
    yield native
    with native.client() as tp:
        tp.reset()
    for node in native.native.nodes.values():  # undo what an in-process app configured
        try:
            with node.client() as c:
                c.config_set("min-replicas-to-write", 0)
        except Exception:
            pass


def settled(native):
    """Wait until one primary has both replicas in sync and every Sentinel agrees on it."""
    native.native.wait_ready(timeout=FAILOVER_WITHIN_S)
    return native.native.primary()


def in_process(native, **settings):
    """A native app in this process, on the stack's nodes and Sentinels, with ``settings`` on top."""
    env = native.config.service_env("native")
    env.update({k: str(v) for k, v in settings.items()})
    env.pop("PORT", None)
    return create_app("native", config=env, start_maintenance=False)


def test_write_and_read_through_the_primary_sentinel_names(healed):
    url = healed.config.service_url("native")
    primary = settled(healed)
    w = requests.post(f"{url}/write/nk1/v1", timeout=5)
    assert w.status_code == 200, w.text
    assert w.json()["mode"] == "native" and w.json()["primary"] == primary
    r = requests.get(f"{url}/read/nk1", timeout=5)
    assert r.json()["value"] == "v1" and r.json()["version"] == w.json()["version"]
    ready = requests.get(f"{url}/ready", timeout=5).json()
    assert ready["primary"] == primary and ready["replication"] == "async"


def test_status_shows_the_primary_the_offsets_and_each_sentinels_view(healed, capsys):
    from stack.__main__ import print_native
    primary = settled(healed)
    print_native(healed)
    out = capsys.readouterr().out
    assert f"primary (Sentinels' majority): {primary}" in out
    assert f"  {primary}: master  offset " in out and out.count(": slave   offset ") == 2
    assert out.count("2 replicas ok, 2 other Sentinels") == 3


def test_replica_reads_come_from_a_replica(healed):
    primary = settled(healed)
    url = healed.config.service_url("native")
    assert requests.post(f"{url}/write/nk-rr/v1", timeout=5).status_code == 200
    app = in_process(healed, NATIVE_READ_FROM="replica")
    try:
        client = app.test_client()
        # Asynchronous replication: the replica has it a moment later (bounded wait, not a sleep).
        r = wait_until(lambda: (x := client.get("/read/nk-rr")).status_code == 200 and x, FAILOVER_WITHIN_S,
                       "the write on a replica")
    finally:
        app.extensions["caplab"].close()
    body = r.get_json()
    assert body["value"] == "v1" and body["node"] != primary and body["staleness_ms"] >= 0


def test_wait_short_of_its_replicas_answers_unknown_and_keeps_the_write(healed):
    primary = settled(healed)
    app = in_process(healed, NATIVE_REPLICATION="wait", NATIVE_REPLICAS=3, NATIVE_WAIT_TIMEOUT_MS=50)
    try:
        r = app.test_client().post("/write/nk-wait/v1")
    finally:
        app.extensions["caplab"].close()
    body = r.get_json()
    assert r.status_code == 503 and body["outcome"] == "unknown", body  # 2 replicas can never make 3
    assert "WAIT reached 2 of 3" in body["error"]["message"]
    with healed.native.nodes[primary].client() as c:  # not rolled back: WAIT's shortfall is not a failure
        assert c.hget("caplab:r:nk-wait", "v") == b"v1"


def test_min_replicas_refusal_answers_not_applied(healed):
    primary = settled(healed)
    app = in_process(healed, NATIVE_REPLICATION="min-replicas", NATIVE_REPLICAS=3)
    try:
        r = app.test_client().post("/write/nk-min/v1")
    finally:
        app.extensions["caplab"].close()
    body = r.get_json()
    assert r.status_code == 503 and body["outcome"] == "not_applied", body
    assert "NOREPLICAS" in body["error"]["message"]
    with healed.native.nodes[primary].client() as c:
        assert c.exists("caplab:r:nk-min") == 0


def test_a_demoted_primary_answers_not_applied(healed):
    primary = settled(healed)
    replica = next(n for n in healed.native.nodes if n != primary)
    cfg = healed.config
    # Name a replica's address as the primary's: the service then writes to a read-only replica.
    peers = {n: cfg.native_port(n, "peer") for n in cfg.native_nodes}
    peers[primary], peers[replica] = peers[replica], peers[primary]
    app = in_process(healed, NATIVE_PEERS=",".join(f"{n}=127.0.0.1:{p}" for n, p in peers.items()))
    try:
        r = app.test_client().post("/write/nk-ro/v1")
    finally:
        app.extensions["caplab"].close()
    body = r.get_json()
    assert r.status_code == 503 and body["outcome"] == "not_applied", body
    assert "READONLY" in body["error"]["message"]


def test_isolated_primary_acknowledges_writes_that_the_failover_loses(healed, tmp_path):
    """Jepsen's Redis result: the minority primary acknowledges, Sentinel promotes, the heal erases."""
    native, url = healed.native, healed.config.service_url("native")
    old = settled(healed)
    path = tmp_path / "history.jsonl"
    with HistoryWriter(path) as rec, healed.client() as tp:
        watcher = SentinelWatcher(native.sentinels, rec)
        watcher.start()
        try:
            cut = IsolatePrimary(tp, native, mode="blackhole")
            with cut:
                assert cut.primary == old
                acked = [_write(rec, url, f"lost-{i}") for i in range(3)]
                wait_until(lambda: failovers(_events(path)), FAILOVER_WITHIN_S, "+switch-master")
            new = settled(healed)
            wait_until(lambda: _converted(path, old), FAILOVER_WITHIN_S, f"+convert-to-slave of {old}")
            wait_until(lambda: _in_sync(native), FAILOVER_WITHIN_S, "replicas in sync after the heal")
            prefixes = ["lost-"]
            for name, node in native.nodes.items():
                t, wall = rec.now()
                rec.write(NodeSnapshot(name, t, wall, take_snapshot(node, prefixes)))
        finally:
            watcher.stop()
    assert new != old
    assert all(op.type == "ok" for op in acked), acked  # acknowledged by the isolated primary
    history = read_history(path)
    switch = failovers(history)[0]
    assert switch["from"].endswith(str(healed.config.native_port(old, "peer")))
    verdict = lost_writes.check(history, service="native", nodes="any")
    assert verdict.valid == "invalid" and verdict.figures["lost"] == len(acked), verdict


def test_killed_primary_is_replaced_and_rejoins_as_a_replica(healed, tmp_path):
    native = healed.native
    old = settled(healed)
    path = tmp_path / "history.jsonl"
    with HistoryWriter(path) as rec:
        watcher = SentinelWatcher(native.sentinels, rec)
        watcher.start()
        try:
            with KillPrimary(native, tmp_path / "ledger") as kill:
                assert kill.primary == old and not native.nodes[old].running()
                wait_until(lambda: failovers(_events(path)), FAILOVER_WITHIN_S, "+switch-master")
            new = settled(healed)  # the old primary was started again when the fault stopped
        finally:
            watcher.stop()
    assert new != old and native.replication(old).get("role") == "slave"
    url = healed.config.service_url("native")
    # A worker still holding the old primary gets READONLY (503 not_applied) once, then asks Sentinel again.
    w = wait_until(lambda: (r := requests.post(f"{url}/write/after-kill/v", timeout=5)).status_code == 200 and r,
                   FAILOVER_WITHIN_S, "a write through the new primary")
    assert w.json()["primary"] == new, w.text


def _write(rec, url, key):
    t, wall = rec.now()
    rec.write(Op("invoke", 0, "write", key, "v", "native", t, wall))
    r = requests.post(f"{url}/write/{key}/v", timeout=5)
    t, wall = rec.now()
    body = r.json()
    op = Op("ok" if r.status_code == 200 else "info", 0, "write", key, "v", "native", t, wall,
            version=body.get("version"), status=r.status_code)
    rec.write(op)
    return op


def _events(path):
    return [e for e in read_history(path) if isinstance(e, ClusterEvent)]


def _converted(path, old) -> bool:
    return any(e.event == "+convert-to-slave" for e in _events(path))


def _in_sync(native) -> bool:
    offsets = native.offsets()
    roles = [o["role"] for o in offsets.values()]
    return roles.count("master") == 1 and roles.count("slave") == 2 and \
        len({o["offset"] for o in offsets.values()}) == 1 and time.sleep(0.05) is None


def test_region_failover_drill_meets_its_targets(healed, tmp_path):
    """The primary region is lost under load; the standby is promoted; RPO and RTO within the spec's."""
    settled(healed)
    fast = DrillOptions(warmup_s=4.0, window_s=3.0, serve_timeout_s=20.0, clients=2, detect_timeout_s=5.0)
    out = run_drill(REGION_FAILOVER, healed, tmp_path, fast, say=lambda _m: None)
    results = json.loads((out.run_dir / "results.json").read_text())
    v = {x["checker"]: x for x in results["verdicts"]}
    assert out.passed, results
    rpo, rto = v["rpo"]["figures"], v["rto"]["figures"]
    assert v["rpo"]["valid"] == "valid" and rpo["acknowledged"] > 20 and rpo["lost_after_disaster"] == 0
    assert rpo["loss_window_s"] <= rpo["target_s"] and rto["rto_s"] <= rto["target_s"]
    region = results["facts"]["region"]
    assert region["lag_at_loss"]["lag_bytes"] is not None and region["lag_at_loss"]["link"] != "up"
    assert [s["step"] for s in results["facts"]["steps"]] == ["promote-standby", "repoint-native"]
    assert healed.native.primary() is not None and not healed.standby.node.running()  # the region is back
