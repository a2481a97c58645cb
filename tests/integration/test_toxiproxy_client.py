"""The Toxiproxy client against a real toxiproxy-server and a real redis-server, over real sockets."""
from __future__ import annotations

import socket
import time

import pytest
import redis

from stack.toxiproxy import Toxiproxy, ToxiproxyError
from tests.integration.toxi_fixtures import (free_port, make_redis, proxied,  # noqa: F401
                                             proxy_port, redis_client, redis_node, toxiproxy,
                                             toxiproxy_server)

pytestmark = pytest.mark.integration


def test_version(toxiproxy):
    assert toxiproxy.version() == "2.12.0"


def test_ping_through_proxy(toxiproxy, proxied):
    assert redis_client(proxied["cp_g1"]).ping()


def test_ensure_proxy_is_idempotent_and_updates(toxiproxy, redis_node):
    upstream = f"127.0.0.1:{redis_node.port}"
    first = toxiproxy.ensure_proxy("cp_g1", "127.0.0.1:0", upstream)
    again = toxiproxy.ensure_proxy("cp_g1", "127.0.0.1:0", upstream)
    assert again == first
    changed = toxiproxy.ensure_proxy("cp_g1", first.listen, "127.0.0.1:1", enabled=False)
    assert (changed.listen, changed.upstream, changed.enabled) == (first.listen, "127.0.0.1:1", False)
    assert list(toxiproxy.proxies()) == ["cp_g1"]


def test_populate_creates_and_replaces(toxiproxy, redis_node):
    upstream = f"127.0.0.1:{redis_node.port}"
    made = toxiproxy.populate([{"name": n, "listen": "127.0.0.1:0", "upstream": upstream}
                               for n in ("cp_g1", "ap_g1")])
    assert sorted(p.name for p in made) == ["ap_g1", "cp_g1"]
    assert redis_client(proxy_port(toxiproxy, "ap_g1")).ping()


def test_disabled_proxy_refuses_quickly(toxiproxy, proxied):
    proxy = toxiproxy.set_enabled("cp_g1", False)
    assert proxy.enabled is False
    started = time.monotonic()
    with pytest.raises(redis.ConnectionError):
        redis_client(proxied["cp_g1"], timeout=2).ping()
    assert time.monotonic() - started < 0.5
    toxiproxy.set_enabled("cp_g1", True)
    assert redis_client(proxied["cp_g1"]).ping()


def test_toxic_round_trip(toxiproxy, proxied):
    name = toxiproxy.add_toxic("cp_g1", "latency", {"latency": 50, "jitter": 5}, stream="upstream",
                               toxicity=0.5, name="slow")
    assert name == "slow"
    [toxic] = toxiproxy.toxics("cp_g1")
    assert (toxic.type, toxic.stream, toxic.toxicity, toxic.attributes) == (
        "latency", "upstream", 0.5, {"latency": 50, "jitter": 5})
    updated = toxiproxy.update_toxic("cp_g1", "slow", {"latency": 80}, toxicity=1.0)
    assert (updated.attributes["latency"], updated.toxicity) == (80, 1.0)
    toxiproxy.remove_toxic("cp_g1", "slow")
    assert toxiproxy.toxics("cp_g1") == []


def test_latency_toxic_is_measured(toxiproxy, proxied):
    client = redis_client(proxied["cp_g1"], timeout=2)
    client.ping()  # connect first, so only the round trip is timed
    toxiproxy.add_toxic("cp_g1", "latency", {"latency": 150})
    started = time.monotonic()
    client.ping()
    slow = time.monotonic() - started
    toxiproxy.reset()
    started = time.monotonic()
    client.ping()
    fast = time.monotonic() - started
    assert 0.15 <= slow < 0.6
    assert fast < 0.05


def test_reset_heals_everything(toxiproxy, proxied):
    toxiproxy.set_enabled("cp_g1", False)
    toxiproxy.add_toxic("ap_g1", "timeout", {"timeout": 0})
    toxiproxy.reset()
    assert all(p.enabled and not p.toxics for p in toxiproxy.proxies().values())


def test_unknown_toxic_type_carries_server_message(toxiproxy, proxied):
    with pytest.raises(ToxiproxyError) as info:
        toxiproxy.add_toxic("cp_g1", "earthquake", {})
    err = info.value
    assert (err.status, err.server_message, err.method, err.path) == (
        400, "invalid toxic type", "POST", "/proxies/cp_g1/toxics")
    assert "invalid toxic type" in str(err) and "POST /proxies/cp_g1/toxics" in str(err)


def test_missing_proxy_and_duplicate_proxy(toxiproxy, proxied):
    with pytest.raises(ToxiproxyError, match="proxy not found") as info:
        toxiproxy.set_enabled("nope", False)
    assert info.value.status == 404
    with pytest.raises(ToxiproxyError, match="toxic not found"):
        toxiproxy.remove_toxic("cp_g1", "nope")
    with pytest.raises(ToxiproxyError, match="proxy already exists") as info:
        toxiproxy.create_proxy("cp_g1", "127.0.0.1:0", "127.0.0.1:1")
    assert info.value.status == 409


def test_misspelt_attribute_is_caught_and_taken_back(toxiproxy, proxied):
    # The server ignores unknown attributes; the read-back notices and the toxic is removed.
    with pytest.raises(ToxiproxyError, match="does not match"):
        toxiproxy.add_toxic("cp_g1", "latency", {"latencyy": 100})
    assert toxiproxy.toxics("cp_g1") == []


def test_bad_arguments_are_refused_before_calling(toxiproxy, proxied):
    with pytest.raises(ValueError, match="toxicity"):
        toxiproxy.add_toxic("cp_g1", "latency", {"latency": 1}, toxicity=1.5)
    with pytest.raises(ValueError, match="stream"):
        toxiproxy.add_toxic("cp_g1", "latency", {"latency": 1}, stream="sideways")


def test_server_not_running_is_reported_quickly():
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(ToxiproxyError, match="not running") as info:
        Toxiproxy(url).proxies()
    assert time.monotonic() - started < 0.5
    assert url in str(info.value) and "toxiproxy-server" in str(info.value)


def test_silent_server_times_out():
    with socket.socket() as listener:  # accepts connections (the backlog) and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(ToxiproxyError, match="did not answer within"):
            Toxiproxy(url, connect_timeout=0.3, read_timeout=0.3).version()
        assert time.monotonic() - started < 1.0
