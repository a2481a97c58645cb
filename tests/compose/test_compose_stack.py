"""docker-compose.yml, run for real under podman: the stack serves, survives a cut and a paused node,
is scraped by Prometheus, and `down -v` leaves nothing behind.

Tests run in file order on one project (the session fixture); each leaves the stack healed.
Waits are bounded polls on conditions (breakers closing, hints replayed), never fixed sleeps.
"""
import json
import subprocess
import sys
import time

import pytest
import requests

from app.records import record_key
from stack.compose import ROOT, podman
from stack.process import wait_until

# The first `up --build` may build the app image (about 70 s, pip install included) on a busy
# machine; the experiment alone runs about 70 s.
pytestmark = pytest.mark.timeout(600)
WAIT = 30  # seconds for a condition that depends on BREAKER_RESET_TIMEOUT_SEC (5 s) and scheduling


@pytest.fixture(scope="module")
def stack(compose_project):
    return compose_project[0]


@pytest.fixture(scope="module")
def http():
    session = requests.Session()
    session.trust_env = False
    return session


def url(stack, mode, path):
    return stack.config.service_url(mode) + path


def metric(http, stack, mode, name, node):
    """The value of `name{node=...}` in a service's /metrics, or None when absent."""
    for line in http.get(url(stack, mode, "/metrics"), timeout=3).text.splitlines():
        if line.startswith(name + "{") and f'node="{node}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return None


def set_enabled(http, stack, proxy, enabled):
    r = http.post(f"{stack.config.toxiproxy_url}/proxies/{proxy}", json={"enabled": enabled}, timeout=3)
    assert r.status_code == 200, r.text


def writes_ok(http, stack, mode, key):
    return http.post(url(stack, mode, f"/write/{key}/probe-{time.time_ns()}"), timeout=3).status_code == 200


def test_every_health_check_of_the_compose_file_passes(stack):
    """Podman runs no health check by itself (no systemd); run each one once, by hand."""
    for service, container in sorted(stack.containers(all_states=False).items()):
        proc = podman("healthcheck", "run", container, check=False)
        assert proc.returncode == 0, f"{service}: {proc.stdout}{proc.stderr}"


def test_cp_and_ap_write_and_read(stack, http):
    for mode in ("cp", "ap"):
        w = http.post(url(stack, mode, f"/write/compose-{mode}/v1"), timeout=3)
        assert w.status_code == 200 and w.json()["mode"] == mode, w.text
        r = http.get(url(stack, mode, f"/read/compose-{mode}"), timeout=3)
        assert r.status_code == 200 and r.json()["value"] == "v1", r.text
    # both nodes hold CP's write: the containers' Redis, reached on their published ports
    for node in stack.nodes.values():
        with node.client() as c:
            assert c.hget(record_key("compose-cp"), "v") == b"v1"


def test_metrics_and_circuit_breakers(stack, http):
    for mode in ("cp", "ap"):
        text = http.get(url(stack, mode, "/metrics"), timeout=3).text
        assert "app_requests_total" in text and "circuit_breaker_state" in text
        answer = http.get(url(stack, mode, "/circuit-breaker"), timeout=3).json()
        assert answer["mode"] == mode
        assert {n: b["state"].lower() for n, b in answer["breakers"].items()} == {"g1": "closed", "g2": "closed"}


def test_cut_g2_cp_refuses_ap_serves_and_g2_falls_behind(stack, http):
    before = {}
    with stack.nodes["g2"].client() as c:
        before = c.hget(record_key("compose-ap"), "v")
    for proxy in ("cp_g2", "ap_g2"):
        set_enabled(http, stack, proxy, False)
    try:
        w = http.post(url(stack, "cp", "/write/compose-cut/v2"), timeout=5)
        assert w.status_code == 503 and w.json()["outcome"] in ("not_applied", "unknown"), w.text
        assert w.headers.get("Retry-After")
        w = http.post(url(stack, "ap", "/write/compose-ap/v2"), timeout=5)
        assert w.status_code == 200 and w.json().get("pending") == ["g2"], w.text
        r = http.get(url(stack, "ap", "/read/compose-ap"), timeout=5)
        assert r.status_code == 200 and r.json()["value"] == "v2", r.text
        # g2 missed the write: it still holds the old value, and AP says how far behind it is
        with stack.nodes["g2"].client() as c:
            assert c.hget(record_key("compose-ap"), "v") == before == b"v1"
        wait_until(lambda: (metric(http, stack, "ap", "data_staleness_ms", "g2") or 0) > 0, WAIT,
                   "AP data_staleness_ms{g2} > 0")
    finally:
        for proxy in ("cp_g2", "ap_g2"):
            set_enabled(http, stack, proxy, True)
    # healed: CP writes again once its g2 breaker closes; AP replays the hint to g2
    wait_until(lambda: writes_ok(http, stack, "cp", "compose-healed"), WAIT, "CP writes after the heal")
    wait_until(lambda: metric(http, stack, "ap", "caplab_hints_pending", "g2") == 0, WAIT, "AP hints replayed")
    with stack.nodes["g2"].client() as c:
        assert c.hget(record_key("compose-ap"), "v") == b"v2"


def test_paused_redis_container_cp_refuses_then_recovers(stack, http):
    node = stack.nodes["g2"]
    node.pause()
    try:
        assert node.pid is None, "a paused container must not count as running"
        r = http.post(url(stack, "cp", "/write/compose-pause/v1"), timeout=5)
        assert r.status_code == 503 and r.json()["outcome"] in ("not_applied", "unknown"), r.text
        assert writes_ok(http, stack, "ap", "compose-pause")
    finally:
        node.resume()
    assert node.pid is not None
    wait_until(lambda: writes_ok(http, stack, "cp", "compose-pause"), WAIT, "CP writes after unpause")


def test_heal_unpauses_a_container_that_a_killed_run_left_paused(compose_project):
    """A pause fault never stopped (its run was killed): `chaos heal --target compose` unpauses it."""
    from chaos.faults.process import PauseNode
    from chaos.faults import NodeHandle
    from stack.target import state_dir
    stack, env_file = compose_project
    node = stack.nodes["g2"]
    PauseNode(NodeHandle("g2", node), state_dir(stack)).start()
    try:
        assert node.pid is None, "paused"
        proc = subprocess.run([sys.executable, "-m", "chaos", "heal", "--target", "compose",
                               "--compose-env-file", str(env_file)], cwd=ROOT, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"g2 (container {node.container})" in proc.stdout, proc.stdout
        assert node.pid is not None, "heal must unpause the container"
    finally:
        if node.pid is None:
            node.resume()
    stack.wait_ready(WAIT)


def test_partition_experiment_against_compose_gets_the_local_verdicts(compose_project, tmp_path):
    """`python -m chaos run partition-g2-cp-vs-ap --target compose`: every verdict valid, as locally."""
    stack, env_file = compose_project
    proc = subprocess.run(
        [sys.executable, "-m", "chaos", "run", "partition-g2-cp-vs-ap", "--target", "compose",
         "--compose-env-file", str(env_file), "--runs-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    results = json.loads(next(tmp_path.glob("partition-g2-cp-vs-ap/*/results.json")).read_text())
    assert results["overall"] == "valid"
    assert results["stack"]["services"] == {m: stack.config.service_url(m) for m in ("cp", "ap")}
    verdicts = {v["checker"]: v["valid"] for v in results["verdicts"]}
    for checker in ("linearizable", "availability", "breakers", "staleness", "convergence", "lost_writes"):
        assert verdicts.get(checker) == "valid", verdicts


def test_monitoring_profile_scrapes_both_services(stack, http):
    stack.compose("--profile", "monitoring", "up", "-d", profiles=())
    prometheus = f"http://127.0.0.1:{stack.ports['PROMETHEUS_PORT']}"

    def scraped():
        active = http.get(prometheus + "/api/v1/targets", timeout=3).json()["data"]["activeTargets"]
        up = {t["scrapeUrl"].split("/")[2] for t in active if t["health"] == "up"}
        return {"app_cp:5001", "app_ap:5002"} <= up

    wait_until(scraped, 90, "Prometheus scraping app_cp:5001 and app_ap:5002")
    q = http.get(prometheus + "/api/v1/query", params={"query": "sum by (mode) (app_requests_total)"}, timeout=3)
    assert {r["metric"].get("mode") for r in q.json()["data"]["result"]} >= {"cp", "ap"}, q.text
    am = f"http://127.0.0.1:{stack.ports['ALERTMANAGER_PORT']}/-/ready"
    wait_until(lambda: http.get(am, timeout=3).status_code == 200, 60, "Alertmanager ready")


def test_down_v_leaves_nothing(stack):
    assert stack.leftovers(), "the project should exist before down"
    stack.down(progress=lambda _m: None)
    assert stack.leftovers() == {}
