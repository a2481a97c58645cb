"""The fault catalogue against real toxiproxy-server and redis-server processes, over real sockets.

Each test states the effect on the wire and checks, by asking the server, that the fault is gone.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import redis

from chaos.faults import (BlackHole, FaultScope, FlappingLink, KillNode, NoFault, PauseNode,
                          ProxiesDown, Topology, bandwidth, cut_node_off, cut_service_from_node,
                          heal, latency, limit_data, partition, reset_peer, slicer)
from chaos.faults.ledger import read_entries
from stack.toxiproxy import ToxiproxyError
from tests.integration.toxi_fixtures import (ROOT, make_redis, proxied,  # noqa: F401
                                             redis_client, redis_node, toxiproxy, toxiproxy_server)

pytestmark = pytest.mark.integration
TOPOLOGY = Topology(services=["cp", "ap"], nodes=["g1"])


def assert_clean(toxiproxy):
    proxies = toxiproxy.proxies()
    assert proxies, "the test should have proxies to check"
    for proxy in proxies.values():
        assert proxy.enabled, f"{proxy.name} left disabled"
        assert proxy.toxics == (), f"{proxy.name} left with toxics {proxy.toxics}"


def recorder():
    events = []
    return events, lambda fault, phase: events.append((fault.name, phase))


def test_black_hole_times_out_then_heals(toxiproxy, proxied):
    events, on_event = recorder()
    fault = cut_service_from_node(toxiproxy, TOPOLOGY, "cp", "g1", mode="blackhole",
                                  on_event=on_event)
    with fault:
        started = time.monotonic()
        with pytest.raises(redis.TimeoutError):
            redis_client(proxied["cp_g1"], timeout=0.3).ping()
        assert 0.25 < time.monotonic() - started < 1.0
        assert redis_client(proxied["ap_g1"]).ping()  # only cp is cut off
        assert {t.name for t in toxiproxy.toxics("cp_g1")} == {
            "cut_cp_g1_blackhole_upstream", "cut_cp_g1_blackhole_downstream"}
    assert_clean(toxiproxy)
    assert redis_client(proxied["cp_g1"]).ping()
    assert events == [("cut_cp_g1_blackhole", p) for p in ("starting", "start", "stopping", "stop")]
    fault.stop()  # idempotent: no error, no second event
    assert len(events) == 4
    assert fault.describe() == {"name": "cut_cp_g1_blackhole", "kind": "blackhole",
                                "proxies": ["cp_g1"], "streams": ["upstream", "downstream"],
                                "mechanism": "timeout toxic, timeout=0"}


def test_node_cut_off_refuses_both_services(toxiproxy, proxied):
    with cut_node_off(toxiproxy, TOPOLOGY, "g1", mode="refuse"):
        for port in proxied.values():
            with pytest.raises(redis.ConnectionError):
                redis_client(port).ping()
        assert not toxiproxy.get_proxy("ap_g1").enabled
    assert_clean(toxiproxy)


def test_one_way_downstream_applies_the_write_but_loses_the_reply(toxiproxy, proxied, redis_node):
    client = redis_client(proxied["cp_g1"], timeout=0.3)
    client.ping()  # connect first: redis-py's handshake would itself wait for a reply
    with partition(toxiproxy, "cp_g1", mode="downstream"):
        with pytest.raises(redis.TimeoutError):
            client.set("k", "v")
    assert redis_node.client().get("k") == b"v"  # the write happened: its outcome was unknown
    with partition(toxiproxy, "cp_g1", mode="upstream"):
        with pytest.raises(redis.TimeoutError):
            redis_client(proxied["cp_g1"], timeout=0.3).set("k2", "v")
    assert redis_node.client().get("k2") is None  # the request never arrived
    assert_clean(toxiproxy)


def test_exception_inside_the_block_undoes_the_fault(toxiproxy, proxied):
    with pytest.raises(RuntimeError, match="boom"):
        with ProxiesDown(toxiproxy, ["cp_g1", "ap_g1"]):
            raise RuntimeError("boom")
    assert_clean(toxiproxy)


def test_half_applied_start_is_rolled_back(toxiproxy, proxied):
    fault = BlackHole(toxiproxy, ["cp_g1", "missing_proxy"])
    with pytest.raises(ToxiproxyError, match="proxy not found"):
        fault.start()
    assert not fault.active
    assert_clean(toxiproxy)


def test_nested_refusals_keep_the_outer_one(toxiproxy, proxied):
    with ProxiesDown(toxiproxy, "cp_g1", name="outer"):
        with ProxiesDown(toxiproxy, "cp_g1", name="inner"):
            pass
        assert not toxiproxy.get_proxy("cp_g1").enabled
    assert_clean(toxiproxy)


def test_latency_with_jitter_and_update(toxiproxy, proxied):
    client = redis_client(proxied["ap_g1"], timeout=2)
    client.ping()
    with latency(toxiproxy, "ap_g1", ms=100, jitter_ms=10) as fault:
        started = time.monotonic()
        client.ping()
        assert time.monotonic() - started >= 0.09
        fault.update({"latency": 250})
        assert toxiproxy.get_toxic("ap_g1", fault.name).attributes == {"latency": 250, "jitter": 10}
        started = time.monotonic()
        client.ping()
        assert time.monotonic() - started >= 0.24
    assert_clean(toxiproxy)


@pytest.mark.parametrize("make_fault, attributes", [
    (lambda tp: bandwidth(tp, "cp_g1", 64), {"rate": 64}),
    (lambda tp: slicer(tp, "cp_g1", 8, 2, delay_us=100), {"average_size": 8, "size_variation": 2,
                                                           "delay": 100}),
    (lambda tp: reset_peer(tp, "cp_g1", 0, stream="upstream", toxicity=0.5),
     {"timeout": 0}),
    (lambda tp: limit_data(tp, "cp_g1", 1000), {"bytes": 1000}),
])
def test_toxic_faults_are_confirmed_and_removed(toxiproxy, proxied, make_fault, attributes):
    fault = make_fault(toxiproxy)
    with fault:
        [toxic] = toxiproxy.toxics("cp_g1")
        assert (toxic.name, toxic.type, toxic.attributes) == (fault.name, fault.kind, attributes)
        assert (toxic.stream, toxic.toxicity) == (fault.stream, fault.toxicity)
    assert_clean(toxiproxy)


def test_reset_peer_and_limit_data_break_connections(toxiproxy, proxied):
    with reset_peer(toxiproxy, "cp_g1", 0, stream="upstream"):
        with pytest.raises(redis.ConnectionError):
            redis_client(proxied["cp_g1"]).ping()
    with limit_data(toxiproxy, "cp_g1", 20):
        with pytest.raises(redis.ConnectionError):
            redis_client(proxied["cp_g1"]).set("k", "x" * 100)
    assert_clean(toxiproxy)


SCOPE_CHILD = textwrap.dedent("""
    import sys, time
    from stack.toxiproxy import Toxiproxy
    from chaos.faults import BlackHole, FaultScope, ProxiesDown
    tp = Toxiproxy(sys.argv[1])
    with FaultScope(BlackHole(tp, "ap_g1"), ProxiesDown(tp, "cp_g1")):
        print("ready", flush=True)
        time.sleep(30)
""")


def run_child(script: str, *args: str) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", script, *args], cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = child.stdout.readline()
    if line.strip() != "ready":
        child.kill()
        raise AssertionError(f"child did not start: {line!r} {child.stderr.read()}")
    return child


def test_sigterm_to_a_process_in_a_fault_scope_undoes_its_faults(toxiproxy, proxied,
                                                                  toxiproxy_server):
    child = run_child(SCOPE_CHILD, toxiproxy_server.url)
    try:
        assert not toxiproxy.get_proxy("cp_g1").enabled and toxiproxy.toxics("ap_g1")
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=5) == 128 + signal.SIGTERM
    finally:
        child.kill()
        child.wait()
    assert_clean(toxiproxy)


def test_flapping_link_flaps_and_ends_healed(toxiproxy, proxied):
    flaps, events = [], []
    fault = FlappingLink(toxiproxy, "cp_g1", period_sec=0.3, down_sec=0.15,
                         on_event=lambda f, phase: events.append(phase),
                         on_flap=lambda phase, detail: flaps.append(phase))
    with fault:
        time.sleep(1.0)
    assert flaps.count("cut") >= 2 and flaps.count("heal") >= 2
    assert events == ["starting", "start", "stopping", "stop"]
    assert_clean(toxiproxy)
    assert redis_client(proxied["cp_g1"]).ping()


def test_kill_node_and_restart(tmp_path, redis_node):
    events, on_event = recorder()
    with KillNode(redis_node, tmp_path, on_event=on_event) as fault:
        with pytest.raises(redis.ConnectionError):
            redis_node.client().ping()
        [(_, entry)] = read_entries(tmp_path)
        assert (entry["kind"], entry["node"], entry["pid"]) == ("kill", "g1", fault.pid)
    assert redis_node.client().ping()
    assert redis_node.pid != fault.pid
    assert read_entries(tmp_path) == []
    assert [phase for _, phase in events] == ["starting", "start", "stopping", "stop"]


def test_pause_makes_reads_time_out_and_resume_restores_them(tmp_path, redis_node):
    redis_node.client().set("k", "v")
    with PauseNode(redis_node, tmp_path):
        with pytest.raises(redis.TimeoutError):  # the kernel still accepts the connection
            redis_node.client(timeout=0.3).get("k")
        assert len(read_entries(tmp_path)) == 1
    assert redis_node.client().get("k") == b"v"
    assert read_entries(tmp_path) == []


KILLED_RUN_CHILD = textwrap.dedent("""
    import os, signal, sys, time
    from stack.toxiproxy import Toxiproxy
    from chaos.faults import BlackHole, KillNode, PauseNode, ProxiesDown, latency
    from chaos.faults.ledger import process_state

    class PidNode:
        def __init__(self, name, pid):
            self.name, self.pid = name, pid
        def kill(self):
            os.kill(self.pid, signal.SIGKILL)
            while process_state(self.pid) not in (None, "Z"):
                time.sleep(0.01)
        def start(self):
            raise RuntimeError("the stack restarts nodes")

    url, state_dir, g1_pid, g2_pid = sys.argv[1:]
    tp = Toxiproxy(url)
    for fault in [ProxiesDown(tp, "cp_g1"), BlackHole(tp, "ap_g1"), latency(tp, "ap_g1", 100),
                  PauseNode(PidNode("g1", int(g1_pid)), state_dir),
                  KillNode(PidNode("g2", int(g2_pid)), state_dir)]:
        fault.start()
    print("ready", flush=True)
    time.sleep(30)
""")


def test_heal_after_a_killed_run_restores_everything(toxiproxy, proxied, redis_node, make_redis,
                                                     toxiproxy_server, tmp_path):
    g2 = make_redis("g2")
    state_dir = tmp_path / "state"
    child = run_child(KILLED_RUN_CHILD, toxiproxy_server.url, str(state_dir),
                      str(redis_node.pid), str(g2.pid))
    child.kill()  # the run dies without undoing anything
    child.wait()
    assert len(toxiproxy.toxics("ap_g1")) == 3 and not toxiproxy.get_proxy("cp_g1").enabled
    assert len(read_entries(state_dir)) == 2

    report = heal(toxiproxy, state_dir)

    assert report.ok and report.errors == []
    assert report.proxies_reset == ["ap_g1", "cp_g1"]
    assert report.resumed == [f"g1 (pid {redis_node.pid})"]
    assert report.nodes_to_restart == ["g2"]
    assert_clean(toxiproxy)
    assert read_entries(state_dir) == []
    assert redis_client(proxied["cp_g1"]).ping() and redis_client(proxied["ap_g1"]).ping()
    g2.start()  # what the stack does with nodes_to_restart
    assert g2.client().ping()
    assert heal(toxiproxy, state_dir).to_dict()["ok"]  # healing twice is harmless


def test_heal_reports_an_unreachable_server(tmp_path):
    from chaos.faults import HealError
    from stack.toxiproxy import Toxiproxy
    from tests.integration.toxi_fixtures import free_port
    with pytest.raises(HealError, match="not running") as info:
        heal(Toxiproxy(f"http://127.0.0.1:{free_port()}"), tmp_path)
    assert not info.value.report.ok


def test_no_fault_in_a_scope(toxiproxy, proxied):
    events, on_event = recorder()
    with FaultScope(NoFault(on_event=on_event)) as scope:
        assert [f.name for f in scope.faults] == ["no_fault"]
    assert events == [("no_fault", p) for p in ("starting", "start", "stopping", "stop")]
