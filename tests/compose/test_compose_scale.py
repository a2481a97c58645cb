"""docker-compose.scale.yml, for real under podman: three replicas of each service behind HAProxy.

A project of its own (caplabscale<offset>, on the compose tests' ports, one after the other), up
from nothing and down again: HAProxy finds the replicas by name through the network's DNS
(aardvark-dns), checks their /ready, and a client on the service port sees several of them serve.
"""
import json
import os

import pytest
import requests

from stack.balancer import INSTANCE_HEADER, servers
from stack.compose import PROJECT_LABEL, SCALE_FILE, SERVICE_LABEL, ComposeStack, podman, write_env_file
from stack.process import wait_until

from .conftest import COMPOSE_PORT_SHIFT

pytestmark = pytest.mark.timeout(600)
INSTANCES = 3
WAIT = 60  # seconds for HAProxy to resolve the replicas and see two good /ready checks of each


@pytest.fixture(scope="module")
def scaled(tmp_path_factory):
    offset = int(os.environ.get("CAPLAB_TEST_PORT_OFFSET", "0"))
    env_file = write_env_file(tmp_path_factory.mktemp("scale") / "compose.env", f"caplabscale{offset}",
                              offset=COMPOSE_PORT_SHIFT + offset)
    with env_file.open("a") as f:
        f.write(f"INSTANCES={INSTANCES}\n")
    stack = ComposeStack(env_file, files=(SCALE_FILE,))
    stack.down(progress=lambda _m: None)  # a killed earlier run of the same project
    try:
        stack.up(progress=lambda _m: None)
        yield stack
    finally:
        stack.down(progress=lambda _m: None)


def replicas(stack, service):
    """Names of the running containers of a compose service (every replica)."""
    rows = json.loads(podman("ps", "--format", "json", "--filter", f"label={PROJECT_LABEL}={stack.project}",
                             "--filter", f"label={SERVICE_LABEL}={service}").stdout or "[]")
    return sorted(r["Names"][0] for r in rows)


def test_scaled_replicas_serve_behind_haproxy_and_down_v_leaves_nothing(scaled):
    stack = scaled
    for mode in ("cp", "ap"):
        assert len(replicas(stack, f"app_{mode}")) == INSTANCES, f"app_{mode}: {INSTANCES} replicas"

    def up_servers():
        return {(s["service"], s["server"]) for s in servers(stack.config) if s["status"] == "UP"}

    wanted = {(m, f"{m}{k}") for m in ("cp", "ap") for k in range(1, INSTANCES + 1)}
    wait_until(lambda: up_servers() == wanted, WAIT, f"HAProxy: {sorted(wanted)} UP, the other slots not")
    http = requests.Session()
    http.trust_env = False
    for mode in ("cp", "ap"):
        seen = set()
        for i in range(2 * INSTANCES):
            w = http.post(stack.config.service_url(mode) + f"/write/scale-{mode}/v{i}", timeout=5)
            assert w.status_code == 200 and w.json()["mode"] == mode, w.text
            seen.add(w.headers[INSTANCE_HEADER])
        assert seen == {f"{mode}{k}" for k in range(1, INSTANCES + 1)}, f"round robin over every replica: {seen}"
        r = http.get(stack.config.service_url(mode) + f"/read/scale-{mode}", timeout=5)
        assert r.status_code == 200 and r.json()["value"] == f"v{2 * INSTANCES - 1}", r.text
    # the replicas publish nothing of their own: HAProxy is the only way in
    for name in replicas(stack, "app_cp") + replicas(stack, "app_ap"):
        ports = podman("port", name, check=False).stdout.strip()
        assert ports == "", f"{name} publishes {ports}"
    stack.down(progress=lambda _m: None)
    assert stack.leftovers() == {}
