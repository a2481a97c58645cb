"""Breaker transitions CLOSED -> OPEN -> HALF_OPEN -> CLOSED, seen in /circuit-breaker, metrics and logs."""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest
import requests

from tests.integration.live import scrape, wait_breakers_closed, wait_for

pytestmark = pytest.mark.integration
CYCLE = [("closed", "open"), ("open", "half-open"), ("half-open", "closed")]


def _epoch(iso: str) -> float:
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def transitions_seen(stack, service, node, since: float):
    """Ask /circuit-breaker on fresh connections until some worker shows the full cycle, in order,
    among transitions made after ``since`` (a worker keeps its last 20, earlier tests' included)."""
    for _ in range(40):
        body = requests.get(stack.config.service_url(service) + "/circuit-breaker", timeout=5).json()
        steps = [(t["from"], t["to"]) for t in body["breakers"][node]["transitions"]
                 if _epoch(t["at"]) >= since]
        it = iter(steps)
        if all(step in it for step in CYCLE):  # CYCLE is a subsequence of steps
            return body
    return None


def log_events(stack, service):
    events = []
    for line in stack.services[service].logfile.read_text().splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
    return events


def test_breaker_cycle_in_endpoint_metric_and_log(live, toxiproxy):
    url = live.config.service_url("cp")
    before = scrape(live, "cp", "caplab_breaker_transitions_total")
    since = time.time() - 0.01
    toxiproxy.set_enabled("cp_g2", False)
    wait_for(lambda: [requests.post(url + "/write/b/x", timeout=5) for _ in range(4)]
             and scrape(live, "cp", "circuit_breaker_state")['{node="g2"}'] == 2, 10, "breaker opens")
    open_state = requests.get(url + "/circuit-breaker", timeout=5).json()["breakers"]
    assert open_state["g1"]["state"] == "closed"

    toxiproxy.set_enabled("cp_g2", True)
    wait_breakers_closed(live)  # the maintenance probe half-opens, then closes, each breaker
    body = transitions_seen(live, "cp", "g2", since)
    assert body is not None, "no worker reported closed->open->half-open->closed for g2"
    g2 = body["breakers"]["g2"]
    assert g2["state"] == "closed" and g2["last_opened_at"] is not None and g2["fail_counter"] == 0

    after = scrape(live, "cp", "caplab_breaker_transitions_total")
    for state in ("open", "half-open", "closed"):
        label = f'{{node="g2",state="{state}"}}'
        assert after.get(label, 0) > before.get(label, 0), state

    changes = [(e.get("from_state"), e.get("to_state")) for e in log_events(live, "cp")
               if e.get("event") == "CIRCUIT_BREAKER_STATE_CHANGE" and e.get("node") == "g2"]
    it = iter(changes)
    assert all(step in it for step in CYCLE), changes


def test_only_network_errors_count(live):
    # A Redis error answer (a wrong-type key) is not network trouble: it must not trip the breaker.
    with live.nodes["g1"].client() as c:
        c.set("caplab:r:wrongtype", "not a hash")
    url = live.config.service_url("cp")
    failures = scrape(live, "cp", "db_connection_failures_total").get('{node="g1"}', 0)
    for _ in range(10):
        r = requests.get(url + "/read/wrongtype", timeout=5)
        assert r.status_code == 500 and "Traceback" not in r.text
        assert r.json()["error"]["code"] == "internal"
    assert scrape(live, "cp", "circuit_breaker_state")['{node="g1"}'] == 0
    assert scrape(live, "cp", "db_connection_failures_total").get('{node="g1"}', 0) == failures
