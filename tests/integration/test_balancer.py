"""Three instances per service behind a real HAProxy: every instance serves, /ready checks take a
failing instance out and put it back, a crashed instance costs no request, and the affinity policies
keep a client on one instance. Slow clients reach no instance's worker through HAProxy.
"""
from __future__ import annotations

import sys
import threading

import pytest
import requests

from stack import ROOT, Stack, balancer
from stack.__main__ import main as stack_main
from stack.balancer import INSTANCE_HEADER
from stack.config import SESSION_HEADER, test_config
from stack.process import ManagedProcess
from tests.integration.live import wait_for
from tests.integration.test_slow_clients import ANSWERED, Trickle, answered

pytestmark = pytest.mark.integration
OFFSET = 850  # away from the session stack and the other modules' stacks


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    cfg = test_config(tmp_path_factory.mktemp("three-instances"), offset=OFFSET, instances=3, instance_links=True)
    with Stack(cfg).running() as s:
        yield s


def served_by(url: str, n: int, session=None, **kw) -> list[str]:
    get = (session or requests).get
    out = []
    for i in range(n):
        resp = get(f"{url}/read/balance-{i}", timeout=2, **kw)
        assert resp.status_code in (200, 404), resp.text
        out.append(resp.headers[INSTANCE_HEADER])
    return out


def state(stack, server: str) -> str:
    return next(r["status"] for r in stack.balancer_view() if r["server"] == server)


def test_every_instance_serves_in_turn_and_status_shows_them(three, capsys):
    for s in ("cp", "ap"):
        assert set(served_by(three.config.service_url(s), 6)) == {f"{s}1", f"{s}2", f"{s}3"}
    assert stack_main(["status", "--run-dir", str(three.run_dir)]) == 0
    out = capsys.readouterr().out
    assert "haproxy" in out and "app-ap-3" in out and "balance roundrobin" in out
    assert all(f"{s}{k}" in out for s in ("cp", "ap") for k in (1, 2, 3))
    metrics = requests.get(f"http://127.0.0.1:{three.config.haproxy_stats_port}/metrics", timeout=2).text
    assert 'haproxy_server_status{proxy="ap",server="ap2",state="UP"} 1' in metrics


def test_a_failing_ready_check_takes_the_instance_out_and_a_good_one_puts_it_back(three):
    url = three.config.service_url("cp")
    with three.client() as tp:
        try:  # cp2 alone loses both nodes: its /ready fails (no quorum), the others' does not
            for n in three.config.nodes:
                tp.set_enabled(f"cp2_{n}", False)
            wait_for(lambda: state(three, "cp2") == "DOWN", 10, "HAProxy taking cp2 out")
            assert "cp2" not in served_by(url, 6)
        finally:
            for n in three.config.nodes:
                tp.set_enabled(f"cp2_{n}", True)
    wait_for(lambda: state(three, "cp2") == "UP", 10, "HAProxy putting cp2 back")
    assert "cp2" in served_by(url, 6)


def test_a_killed_instance_costs_no_request_and_comes_back(three):
    url, victim = three.config.service_url("ap"), three.instances["ap"][2]
    victim.kill(group=True)
    try:
        # Before HAProxy's checks notice, a refused connection is retried on another instance.
        for i in range(12):
            resp = requests.post(f"{url}/write/crash-{i}/v", timeout=2)
            assert resp.status_code == 200 and resp.headers[INSTANCE_HEADER] != "ap3"
        wait_for(lambda: state(three, "ap3") == "DOWN", 10, "HAProxy taking ap3 out")
    finally:
        victim.start()
    wait_for(lambda: state(three, "ap3") == "UP", 10, "HAProxy putting ap3 back")


def test_affinity_by_cookie_or_header_keeps_a_client_on_one_instance(three):
    original = three.balancer
    try:
        for policy in ("cookie", "header"):
            three.balancer.stop()
            three.balancer = Stack(three.config.with_(balance=policy)).up(progress=lambda _m: None).balancer
            url = three.config.service_url("ap")
            firsts = set()
            for i in range(6):
                with requests.Session() as client:
                    client.headers[SESSION_HEADER] = f"client-{i}"
                    seen = served_by(url, 5, session=client)
                assert len(set(seen)) == 1, (policy, seen)
                firsts.add(seen[0])
            assert len(firsts) > 1, policy  # different clients still spread
    finally:
        three.balancer.stop()
        three.balancer = original
        balancer.write_config(three.config, three.run_dir)
        original.start()


def test_haproxy_buffers_slow_clients_away_from_a_sync_worker(three, tmp_path):
    """The trickle that starves a bare sync worker (test_slow_clients.py) never reaches it here."""
    base = three.config.instance_base_port  # ports in the instance band, away from the three's
    cfg = three.config.with_(run_dir=tmp_path, instances=1, haproxy=True, instance_base_port=base + 50,
                             service_ports={"cp": base + 41, "ap": base + 42},
                             haproxy_stats_port=three.config.haproxy_stats_port + 5)
    port = cfg.instance_port("cp", 1)
    env = {**three.config.service_env("cp"), "PORT": str(port), "WEB_WORKERS": "1",
           "WEB_WORKER_CLASS": "sync", "PYTHONPATH": str(ROOT)}
    app = ManagedProcess("app-sync", [sys.executable, "-m", "app", "serve"], tmp_path, port=port, env=env,
                         ready=lambda: requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok)
    front = balancer.balancer_process(cfg, tmp_path)
    balancer.write_config(cfg, tmp_path)
    try:
        app.start()
        front.start()
        url = cfg.service_url("cp")
        with Trickle(cfg.service_ports["cp"], 50):
            for i in range(5):
                assert answered(url + "/health") == 200
                assert answered(f"{url}/write/slow-{i}/{i}", "POST") == 200
            assert requests.get(f"{url}/read/slow-4", timeout=ANSWERED).json()["value"] == "4"
    finally:
        front.stop()
        app.stop()


def test_a_drained_rolling_restart_of_every_ap_instance_fails_no_request(three):
    """The spec's zero-downtime deploy through HAProxy's runtime API, under a client that never stops."""
    from chaos.faults import RollingRestart
    url, answers, stop = three.config.service_url("ap"), [], threading.Event()

    def client():
        with requests.Session() as s:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    answers.append(s.post(f"{url}/write/rolling-{i % 4}/{i}", timeout=2).status_code)
                except requests.RequestException as exc:
                    answers.append(type(exc).__name__)
    procs = [(balancer.instance_name("ap", k), p) for k, p in enumerate(three.instances["ap"], 1)]
    old = [p.pid for _, p in procs]
    fault = RollingRestart(procs, lambda line: balancer.command(three.run_dir, line), three.balancer_view)
    worker = threading.Thread(target=client)
    worker.start()
    try:
        fault.start()
        fault._thread.join(timeout=90)
        fault.stop()
    finally:
        stop.set()
        worker.join(timeout=5)
    assert [p.pid for _, p in procs] != old and all(a != b for a, b in zip(old, [p.pid for _, p in procs]))
    assert len(fault.steps) == 3 and len(answers) > 20
    assert set(answers) == {200}, {a: answers.count(a) for a in set(answers)}
