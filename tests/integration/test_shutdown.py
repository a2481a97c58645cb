"""Graceful shutdown: on SIGTERM, a request in flight finishes and the service exits cleanly."""
from __future__ import annotations

import signal
import sys
import threading
import time

import pytest
import requests

from stack import ROOT
from stack.process import ManagedProcess

pytestmark = pytest.mark.integration


def test_sigterm_lets_the_request_in_flight_finish(live, toxiproxy, tmp_path):
    port = live.config.service_ports["cp"] + 60
    env = {**live.config.service_env("cp"), "PORT": str(port), "WEB_WORKERS": "1",
           "NETWORK_TIMEOUT_SEC": "1.5", "PYTHONPATH": str(ROOT)}
    proc = ManagedProcess("app-shutdown", [sys.executable, "-m", "app", "serve"], tmp_path, port=port, env=env,
                          ready=lambda: requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok)
    try:
        proc.start()
        url = f"http://127.0.0.1:{port}"
        assert requests.post(f"{url}/write/sd/before", timeout=5).status_code == 200
        # A black hole on g2 keeps the next write in flight for the 1.5 s network timeout.
        toxiproxy.add_toxic("cp_g2", "timeout", {"timeout": 0}, stream="upstream", name="hold")
        answer = {}

        def in_flight():
            try:
                answer["r"] = requests.post(f"{url}/write/sd/during", timeout=10)
            except requests.RequestException as exc:
                answer["error"] = exc

        t = threading.Thread(target=in_flight)
        t.start()
        time.sleep(0.5)  # the request is now waiting on g2
        pid = proc.pid
        proc._signal(pid, signal.SIGTERM)
        t.join(timeout=10)
        assert "error" not in answer, f"the request in flight was cut off: {answer.get('error')}"
        r = answer["r"]
        assert r.status_code == 503 and r.json()["outcome"] == "unknown"  # answered, not cut off
        deadline = time.monotonic() + 10
        while proc.running() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not proc.running(), "gunicorn did not exit after SIGTERM"
        assert "Traceback" not in proc.logfile.read_text()
    finally:
        toxiproxy.reset()
        proc.stop()
