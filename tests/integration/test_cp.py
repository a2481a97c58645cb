"""CP: quorum writes and reads; refusal with the right outcome under a cut; fail-fast; heal."""
from __future__ import annotations

import time

import pytest
import requests

from app.records import Version
from chaos.checkers import linearizable

from tests.integration.live import restart_service, scrape, wait_breakers_closed, wait_for
from tests.unit.histories import H

pytestmark = pytest.mark.integration


def cp(stack, method, path, **kw):
    return requests.request(method, stack.config.service_url("cp") + path, timeout=5, **kw)


def records(stack, node):
    with stack.nodes[node].client() as c:
        return {k.decode(): c.hgetall(k) for k in c.keys("caplab:r:*")}


def cut(toxiproxy, proxy, how):
    """Cut one proxy: 'refuse' disables it, 'blackhole' swallows both streams."""
    if how == "refuse":
        toxiproxy.set_enabled(proxy, False)
    else:
        for stream in ("upstream", "downstream"):
            toxiproxy.add_toxic(proxy, "timeout", {"timeout": 0}, stream=stream, name=f"bh_{stream}")


def test_write_then_read_is_on_both_nodes(live):
    first = cp(live, "POST", "/write/acct/100").json()
    second = cp(live, "PUT", "/kv/acct", json={"value": "a value / with slashes"}).json()
    assert Version.parse(second["version"]) > Version.parse(first["version"])
    read = cp(live, "GET", "/read/acct").json()
    assert read["value"] == "a value / with slashes" and read["version"] == second["version"]
    assert read["stale"] is False and read["staleness_ms"] == 0 and read["mode"] == "cp"
    assert records(live, "g1") == records(live, "g2") != {}


def test_read_of_missing_key_is_404_with_null_value(live):
    r = cp(live, "GET", "/read/nothing-here")
    assert r.status_code == 404
    assert r.json()["value"] is None and r.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("how", ["refuse", "blackhole"])
def test_refuses_while_g2_cut_then_fails_fast_then_heals(live, toxiproxy, how):
    cp(live, "POST", "/write/k/before")
    cut(toxiproxy, "cp_g2", how)

    w = cp(live, "POST", "/write/k/during")
    assert w.status_code == 503 and w.headers["Retry-After"].isdigit()
    # g1 stored it before g2 failed, so the write may become visible: unknown, never "not applied".
    assert w.json()["outcome"] == "unknown"
    r = cp(live, "GET", "/read/k")
    assert r.status_code == 503 and r.json()["outcome"] == "not_applied"

    # Keep writing until four refusals in a row come from open breakers (fail_max=3 per worker).
    fast, streak = [], 0
    for i in range(60):
        x = cp(live, "POST", f"/write/k/fast-{i}")
        assert x.status_code == 503
        if "circuit breaker open" in x.json()["error"]["message"]:
            # Fail-fast: refused before touching any node, so it is certainly not applied.
            assert x.json()["outcome"] == "not_applied" and x.json()["nodes"] == ["g2"]
            fast.append(f"fast-{i}")
            streak += 1
            if streak == 4:
                break
        else:
            streak = 0
    assert streak == 4, "the breaker for g2 never opened"
    assert scrape(live, "cp", "circuit_breaker_state")['{node="g2"}'] == 2
    assert records(live, "g1")["caplab:r:k"][b"v"].decode() not in fast

    toxiproxy.reset()
    wait_breakers_closed(live)
    ok = cp(live, "POST", "/write/k/after")
    assert ok.status_code == 200
    assert cp(live, "GET", "/read/k").json()["value"] == "after"
    assert records(live, "g1") == records(live, "g2")


def test_read_writes_back_a_partly_applied_write(live, toxiproxy):
    cp(live, "POST", "/write/p/old")
    toxiproxy.set_enabled("cp_g2", False)
    assert cp(live, "POST", "/write/p/partial").json()["outcome"] == "unknown"  # only g1 has it
    toxiproxy.set_enabled("cp_g2", True)
    wait_breakers_closed(live)
    assert records(live, "g2")["caplab:r:p"][b"v"] == b"old"
    # The read sees g1's newer record and makes it durable on g2 before answering.
    assert cp(live, "GET", "/read/p").json()["value"] == "partial"
    assert records(live, "g2")["caplab:r:p"][b"v"] == b"partial"


def test_cutting_cp_leaves_ap_alone(live, toxiproxy):
    toxiproxy.set_enabled("cp_g2", False)
    ap = requests.post(live.config.service_url("ap") + "/write/shared/x", timeout=5).json()
    assert ap["replicated_to"] == ["g1", "g2"] and ap["pending"] == []


@pytest.fixture
def skewed_writer(live):
    """Give the stack back with fresh CP clocks once the test planted a version from the future.

    A worker that reads a version 10 minutes ahead moves its hybrid clock past it, as it must, and
    then stamps every write 10 minutes ahead. On the stack the whole session shares, that leaked:
    its writes, read through AP by a later test, moved an AP worker ahead too, and that worker's
    writes then beat later writes of the other AP worker (test_fanout[ap] found "after-4" where
    "after-5" was written last). Restarting CP gives its workers fresh clocks.
    """
    yield
    live.flush()
    restart_service(live, "cp")
    wait_breakers_closed(live)


def test_crossed_write_is_acknowledged(live, skewed_writer):
    """A write stored on g1 but rejected by g2 (which holds a concurrent newer version) is acknowledged.

    With 2 nodes, the node that stored it meets every quorum and the two nodes together hold it or
    newer, so it linearizes just before the concurrent write (docs/semantics.md, "Crossed writes").
    It is still never retried: storing it again above X would make it take effect twice (W, then X,
    then W again), which the linearizability checker once caught.
    """
    future = int(time.time() * 1000) + 600_000  # a concurrent writer whose clock is ahead
    t0 = time.monotonic()
    with live.nodes["g2"].client() as g2:
        g2.hset("caplab:r:race", mapping={"v": "X", "ms": future, "c": 0, "w": 1, "at": future, "wn": "other"})
    t1 = time.monotonic()
    w = cp(live, "POST", "/write/race/W")
    t2 = time.monotonic()
    assert w.status_code == 200, w.text
    assert w.json()["superseded"] is True and w.json()["nodes"] == ["g1"]
    assert records(live, "g1")["caplab:r:race"][b"v"] == b"W"  # stored once...
    assert records(live, "g2")["caplab:r:race"][b"v"] == b"X"  # ...and never written again above X
    read = cp(live, "GET", "/read/race")
    t3 = time.monotonic()
    assert read.json()["value"] == "X"  # W linearizes just before X: W's version is older
    assert records(live, "g1")["caplab:r:race"][b"v"] == b"X"  # the read wrote X back

    # The same history, judged: X is a concurrent write still in flight (its writer never heard back).
    history = (H().write(9, "race", "X", t0, None)
               .write(1, "race", "W", t1, t2, version=w.json()["version"])
               .read(2, "race", "X", t2 + 1e-6, t3).build())
    verdict = linearizable.check(history)
    assert verdict.valid == "valid", verdict.summary
