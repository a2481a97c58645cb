"""Over the rate limit: 429 with a JSON body and Retry-After; health and metrics stay reachable."""
from __future__ import annotations

import sys

import pytest
import requests

from stack import ROOT
from stack.process import ManagedProcess
from tests.integration.live import scrape

pytestmark = pytest.mark.integration


@pytest.fixture
def limited(live, tmp_path):
    port = live.config.service_ports["cp"] + 50
    env = {**live.config.service_env("cp"), "RATE_LIMIT": "5 per minute", "PORT": str(port),
           "WEB_WORKERS": "1", "PYTHONPATH": str(ROOT)}
    proc = ManagedProcess("app-limited", [sys.executable, "-m", "app", "serve"], tmp_path, port=port,
                          env=env, ready=lambda: requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok)
    try:
        proc.start()
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.stop()


def test_429_with_json_and_retry_after(limited):
    answers = [requests.post(f"{limited}/write/rl/{i}", timeout=5) for i in range(7)]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
    over = answers[-1]
    assert over.json()["error"]["code"] == "too_many_requests"
    assert over.json()["error"]["request_id"] == over.headers["X-Request-ID"]
    assert 1 <= int(over.headers["Retry-After"]) <= 61
    assert "Retry-After" not in answers[0].headers
    assert requests.get(f"{limited}/health", timeout=5).status_code == 200
    assert requests.get(f"{limited}/metrics", timeout=5).status_code == 200
