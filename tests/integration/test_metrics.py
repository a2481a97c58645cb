"""Every spec metric has the right value after a known sequence of requests, with 2 gunicorn workers."""
from __future__ import annotations

import pytest
import requests

from tests.integration.live import scrape, wait_for

pytestmark = pytest.mark.integration


def delta(before, after):
    return {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)
            if after.get(k, 0) != before.get(k, 0)}


def test_request_counters_and_latency_sum_over_workers(live):
    url = live.config.service_url("ap")
    names = ("app_requests_total", "app_request_latency_seconds_count")
    before = {n: scrape(live, "ap", n) for n in names}
    pids = set()
    for i in range(30):  # a fresh connection each time, so both workers serve some of them
        requests.post(f"{url}/write/m{i}/v", timeout=5)
        requests.get(f"{url}/read/m{i}", timeout=5)
        pids.add(requests.get(f"{url}/health", timeout=5).json()["pid"])
    for _ in range(5):
        requests.get(f"{url}/read/bad key", timeout=5)
    assert len(pids) == 2, "the known sequence should have been served by both workers"

    counts = delta(before["app_requests_total"], scrape(live, "ap", "app_requests_total"))
    assert counts == {
        '{mode="ap",operation="write",status="200"}': 30,
        '{mode="ap",operation="read",status="200"}': 30,
        '{mode="ap",operation="read",status="400"}': 5,
        '{mode="ap",operation="health",status="200"}': 30,
        '{mode="ap",operation="metrics",status="200"}': 2,  # the two scrapes that took `before`
    }
    latency = delta(before["app_request_latency_seconds_count"],
                    scrape(live, "ap", "app_request_latency_seconds_count"))
    assert latency['{mode="ap",operation="write"}'] == 30
    assert latency['{mode="ap",operation="read"}'] == 35


def test_failures_breaker_state_and_staleness(live, toxiproxy):
    url = live.config.service_url("ap")
    before = scrape(live, "ap", "db_connection_failures_total")
    toxiproxy.set_enabled("ap_g2", False)
    # fail_max is 3 per worker: two writes fail on g2 twice at most per worker, breakers stay closed.
    for i in range(2):
        assert requests.post(f"{url}/write/f{i}/v", timeout=5).json()["pending"] == ["g2"]
    fails = delta(before, scrape(live, "ap", "db_connection_failures_total"))
    assert fails['{node="g2"}'] >= 2 and '{node="g1"}' not in fails
    # Keep writing: breakers open in every worker that serves, and the gauge says OPEN (2).
    wait_for(lambda: requests.post(f"{url}/write/f/v", timeout=5)
             and scrape(live, "ap", "circuit_breaker_state")['{node="g2"}'] == 2, 10, "g2 OPEN")
    assert scrape(live, "ap", "circuit_breaker_state")['{node="g1"}'] == 0
    assert wait_for(lambda: scrape(live, "ap", "data_staleness_ms")['{node="g2"}'] > 0, 5, "staleness")
    assert scrape(live, "ap", "data_staleness_ms")['{node="g1"}'] == 0
    # CP was not touched by any of this.
    assert scrape(live, "cp", "circuit_breaker_state")['{node="g2"}'] == 0
