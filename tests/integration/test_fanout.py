"""Writes and CP reads go to every node at once (app/fanout.py): the corner cases of that path.

Cuts and breakers through it are covered by test_cp, test_ap and test_breakers; here: a node that
lost its scripts (NOSCRIPT), and a Redis error answer that is not a network failure.
"""
from __future__ import annotations

import pytest
import requests

from tests.integration.live import scrape
from tests.integration.test_cp import records

pytestmark = pytest.mark.integration


def call(stack, service, method, path):
    return requests.request(method, stack.config.service_url(service) + path, timeout=5)


@pytest.mark.parametrize("service", ["cp", "ap"])
def test_writes_load_the_script_again_on_nodes_that_lost_it(live, service):
    assert call(live, service, "POST", f"/write/fan-{service}/before").status_code == 200
    for node in live.nodes.values():
        with node.client() as c:
            c.script_flush()  # as after a restart without AOF: every worker's EVALSHA now gets NOSCRIPT
    for i in range(6):  # enough to reach both workers
        r = call(live, service, "POST", f"/write/fan-{service}/after-{i}")
        assert r.status_code == 200, r.text
        assert sorted(r.json()["nodes"]) == ["g1", "g2"]
    assert records(live, "g1")[f"caplab:r:fan-{service}"] == records(live, "g2")[f"caplab:r:fan-{service}"]
    assert records(live, "g1")[f"caplab:r:fan-{service}"][b"v"] == b"after-5"
    breakers = scrape(live, service, "circuit_breaker_state")
    assert all(v == 0 for v in breakers.values()), breakers


def test_a_redis_error_answer_is_a_500_and_leaves_breaker_and_connections_sound(live):
    with live.nodes["g2"].client() as c:
        c.set("caplab:r:wrongtype", "not a record")  # someone else wrote a plain string there
    failures = sum(scrape(live, "cp", "db_connection_failures_total").values())
    for _ in range(4):
        r = call(live, "cp", "POST", "/write/wrongtype/x")
        assert r.status_code == 500, r.text
        assert r.json()["error"]["code"] == "internal"
    # not a network failure: never counted against g2, and its breaker stays closed
    assert sum(scrape(live, "cp", "db_connection_failures_total").values()) == failures
    assert scrape(live, "cp", "circuit_breaker_state") == {'{node="g1"}': 0.0, '{node="g2"}': 0.0}
    for i in range(6):  # the next calls on the same pooled connections read their own replies
        assert call(live, "cp", "POST", f"/write/sound-{i}/v{i}").status_code == 200
        r = call(live, "cp", "GET", f"/read/sound-{i}")
        assert r.status_code == 200 and r.json()["value"] == f"v{i}"
