"""Helpers for tests against the live stack: scraping metrics and waiting on conditions."""
from __future__ import annotations

import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

import requests


def metric_values(text: str, name: str) -> dict:
    """{labels-string: value} for one metric in Prometheus text format."""
    out = {}
    for line in text.splitlines():
        m = re.match(rf"^{re.escape(name)}(\{{[^}}]*\}})?\s+(\S+)$", line)
        if m:
            out[m.group(1) or ""] = float(m.group(2))
    return out


def scrape(stack, service: str, name: str) -> dict:
    text = requests.get(stack.config.service_url(service) + "/metrics", timeout=5).text
    return metric_values(text, name)


def wait_breakers_closed(stack, timeout: float = 8.0):
    """Wait until circuit_breaker_state (max over workers) is 0 for every node of both services."""
    deadline = time.monotonic() + timeout
    while True:
        states = {s: scrape(stack, s, "circuit_breaker_state") for s in ("cp", "ap")}
        if all(v == 0 for d in states.values() for v in d.values()):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"breakers still not closed after {timeout}s: {states}")
        time.sleep(0.1)


def wait_for(check, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not true after {timeout}s (last: {last!r})")


def restart_service(stack, service: str, **env: str):
    """Restart one service with some settings changed (e.g. a test-only unsafe flag)."""
    proc = stack.services[service]
    proc.stop()
    metrics = Path(proc.env["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(metrics, ignore_errors=True)  # dead workers' files would lie about the breakers
    metrics.mkdir(parents=True)
    proc.env.update(env)
    proc.start()


@contextmanager
def scraping_prometheus(stack, settings, alertmanager=None):
    """A Prometheus on the test stack's port that scrapes both services and Toxiproxy, stopped afterwards."""
    from alerts.prometheus import PrometheusServer
    server = PrometheusServer(stack.run_dir, stack.config.prometheus_port, stack.config, settings,
                              **({"alertmanager": alertmanager} if alertmanager else {}))
    try:
        server.start()
        wait_for(lambda: all(server.targets_up().get(job) == "up" for job in ("caplab_cp", "caplab_ap", "toxiproxy"))
                 or None, 15, "Prometheus scrapes both services and Toxiproxy")
        yield server
    finally:
        server.stop()
