"""AP: answers while g2 is cut off, says how stale, replays hints after heal until nodes agree."""
from __future__ import annotations

import time

import pytest
import requests

from stack import ROOT

from tests.integration.live import scrape, wait_breakers_closed, wait_for
from tests.integration.test_cp import cut, records

pytestmark = pytest.mark.integration


def ap(stack, method, path, **kw):
    return requests.request(method, stack.config.service_url("ap") + path, timeout=5, **kw)


def staleness(stack, node):
    return scrape(stack, "ap", "data_staleness_ms").get(f'{{node="{node}"}}', 0.0)


@pytest.mark.parametrize("how", ["refuse", "blackhole"])
def test_available_while_g2_cut_and_converges_after_heal(live, toxiproxy, how):
    for i in range(5):
        assert ap(live, "POST", f"/write/key{i}/v{i}").status_code == 200
    cut(toxiproxy, "ap_g2", how)

    written = {}
    for i in range(40):
        r = ap(live, "POST", f"/write/key{i % 10}/cut-{i}")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["replicated_to"] == ["g1"] and body["pending"] == ["g2"]
        written[f"key{i % 10}"] = body["version"]
        read = ap(live, "GET", f"/read/key{i % 10}")
        assert read.status_code == 200 and read.json()["value"] == f"cut-{i}"

    first = wait_for(lambda: staleness(live, "g2"), 5, "g2 staleness above 0")
    time.sleep(0.3)
    assert staleness(live, "g2") > first  # it grows while the cut lasts
    assert staleness(live, "g1") == 0
    assert scrape(live, "ap", "caplab_hints_pending")['{node="g2"}'] == 10  # ten distinct keys

    toxiproxy.reset()
    wait_breakers_closed(live)
    wait_for(lambda: records(live, "g1") == records(live, "g2"), 10, "g1 and g2 identical")
    wait_for(lambda: staleness(live, "g2") == 0, 5, "g2 staleness back to 0")
    assert scrape(live, "ap", "caplab_hints_pending")['{node="g2"}'] == 0
    g2 = records(live, "g2")
    for key, version in written.items():
        v = g2[f"caplab:r:{key}"]
        assert f"{v[b'ms'].decode()}.{v[b'c'].decode()}.{v[b'w'].decode()}" == version


def test_reads_fall_back_to_any_node(live, toxiproxy):
    ap(live, "POST", "/write/fb/1")
    toxiproxy.set_enabled("ap_g1", False)  # g1 is the preferred read node
    read = ap(live, "GET", "/read/fb")
    assert read.status_code == 200 and read.json()["node"] == "g2" and read.json()["value"] == "1"


def test_unavailable_only_when_every_node_is_cut(live, toxiproxy):
    toxiproxy.set_enabled("ap_g1", False)
    toxiproxy.set_enabled("ap_g2", False)
    w = ap(live, "POST", "/write/none/x")
    assert w.status_code == 503 and w.json()["outcome"] == "not_applied"
    assert ap(live, "GET", "/read/none").status_code == 503
    assert ap(live, "GET", "/ready").status_code == 503
    assert requests.get(live.config.service_url("cp") + "/ready", timeout=5).status_code == 200


def test_anti_entropy_repair_copies_newer_records(live):
    ap(live, "POST", "/write/r1/a")
    with live.nodes["g2"].client() as c:
        c.delete("caplab:r:r1")  # as if g2 had been restored from an older backup
    import subprocess
    import sys
    env = {**live.config.service_env("ap"), "PATH": "/usr/bin:/bin"}
    env["REDIS_NODES"] = ",".join(f"{n}=127.0.0.1:{live.config.redis_port(n)}" for n in live.config.nodes)
    out = subprocess.run([sys.executable, "-m", "app", "repair"], env=env, capture_output=True,
                         text=True, timeout=30, cwd=str(ROOT))
    assert out.returncode == 0, out.stderr
    assert records(live, "g1") == records(live, "g2")
