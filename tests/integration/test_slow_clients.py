"""Slow clients do not take a service down: 50 connections trickling one byte at a time, per service.

"Answered" means within 1 s: that is the client timeout of every probe here, not a speed target.
The same trickle against a sync worker leaves /health unanswered, which shows the test can fail.
"""
from __future__ import annotations

import socket
import sys
import threading

import pytest
import requests

from stack import ROOT
from stack.process import ManagedProcess

pytestmark = pytest.mark.integration
ANSWERED = 1.0  # seconds: the definition of "answered"


class Trickle:
    """Slow clients: half send their headers one byte at a time, half a declared body."""

    def __init__(self, port: int, count: int):
        self.port, self.socks, self.stop = port, [], threading.Event()
        head = b"PUT /kv/slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n"
        self.pending = []
        for i in range(count):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            if i % 2:
                s.sendall(head)  # the body will come one byte at a time
                self.pending.append((s, iter(b'{"value": "' + b"x" * 4000)))
            else:
                self.pending.append((s, iter(head)))  # the headers themselves trickle
            self.socks.append(s)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop.wait(0.05):
            for s, data in self.pending:
                try:
                    s.send(bytes([next(data)]))
                except (StopIteration, OSError):
                    pass

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=5)
        for s in self.socks:
            s.close()


def answered(url: str, method: str = "GET") -> int:
    return requests.request(method, url, timeout=ANSWERED).status_code


def test_fifty_slow_clients_per_service_do_not_stop_health_or_requests(live):
    urls = {s: live.config.service_url(s) for s in ("cp", "ap")}
    with Trickle(live.config.service_ports["cp"], 50), Trickle(live.config.service_ports["ap"], 50):
        for service, url in urls.items():
            for i in range(5):
                assert answered(url + "/health") == 200
                assert answered(f"{url}/write/fast-{service}/{i}", "POST") == 200
                assert requests.get(f"{url}/read/fast-{service}", timeout=ANSWERED).json()["value"] == str(i)
            assert answered(url + "/ready") == 200
            assert answered(url + "/metrics") == 200


def test_the_same_trickle_starves_a_sync_worker(live, tmp_path):
    port = live.config.service_ports["cp"] + 60
    env = {**live.config.service_env("cp"), "PORT": str(port), "WEB_WORKERS": "1",
           "WEB_WORKER_CLASS": "sync", "PYTHONPATH": str(ROOT)}
    proc = ManagedProcess("app-sync", [sys.executable, "-m", "app", "serve"], tmp_path, port=port, env=env,
                          ready=lambda: requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok)
    try:
        proc.start()
        with Trickle(port, 2):
            with pytest.raises(requests.exceptions.RequestException):
                answered(f"http://127.0.0.1:{port}/health")
    finally:
        proc.stop()
