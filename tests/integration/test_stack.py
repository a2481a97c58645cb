"""The local stack: idempotent, stops only its own processes, clear errors for ports and binaries."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest
import redis
import requests

from alerts.monitoring import init_stack
from stack import ROOT, Stack
from stack.config import test_config
from stack.process import StackError, wait_until

pytestmark = pytest.mark.integration


def test_up_is_idempotent_and_status_shows_everything(stack):
    pids = {row["name"]: row["pid"] for row in stack.status()}
    again = Stack(stack.config)  # a second handle, as a second `make up` would make
    lines = []
    again.up(progress=lines.append)
    assert {row["name"]: row["pid"] for row in again.status()} == pids
    assert sum("already running" in line for line in lines) == len(pids) == 5
    assert all(row["running"] for row in again.status())


def test_port_in_use_gives_a_clear_error_and_starts_nothing(tmp_path):
    cfg = test_config(tmp_path, offset=200)
    with socket.socket() as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", cfg.redis_port("g1")))
        blocker.listen()
        s = Stack(cfg)
        with pytest.raises(StackError, match=f"port {cfg.redis_port('g1')} on 127.0.0.1 is already in use"):
            s.up(progress=lambda _m: None)
        assert not any(row["running"] for row in s.status())
        s.down(progress=lambda _m: None)


def test_down_leaves_foreign_processes_alone(tmp_path):
    cfg = test_config(tmp_path, offset=210)
    s = Stack(cfg)
    node = s.nodes["g1"]
    # A pid file pointing at a process that is not ours (this test) must not be signalled.
    node.pidfile.write_text(str(os.getpid()))
    assert node.pid is None
    s.down(progress=lambda _m: None)  # would kill pytest itself if it trusted the pid file


def test_missing_redis_binary_is_named(tmp_path):
    env = {"PATH": "/nonexistent", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "stack", "up", "--run-dir", str(tmp_path)],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert "redis-server is not installed" in out.stderr and "scripts/setup.sh redis" in out.stderr
    assert "Traceback" not in out.stderr


def test_process_that_dies_at_start_reports_its_log(tmp_path):
    from stack.process import ManagedProcess
    proc = ManagedProcess("doomed", [sys.executable, "-c", "import sys; print('boom: bad flag'); sys.exit(3)"],
                          tmp_path, ready=lambda: False, ready_timeout=5)
    with pytest.raises(StackError, match="boom: bad flag"):
        proc.start()
    assert not proc.running()


def test_up_with_alerts_runs_alertmanager_and_a_webhook_and_down_stops_them(tmp_path):
    """`make up ALERTS=1`: Prometheus, Alertmanager and a webhook receiver that writes notifications
    to the run folder; a plain `make down` (no ALERTS) stops them with the rest."""
    cfg = test_config(tmp_path, offset=220, alerts=True, webhook_receiver=True)
    cfg = cfg.with_(webhook_port=cfg.alertmanager_port + 2)
    s = init_stack(Stack(cfg))
    try:
        s.up(progress=lambda _m: None)
        names = {row["name"] for row in s.status() if row["running"]}
        assert {"prometheus", "alertmanager", "webhook"} <= names
        alert = {"labels": {"alertname": "CaplabStackSelfTest", "service": "cp", "node": "g1"},
                 "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        requests.post(s.alertmanager.url + "/api/v2/alerts", json=[alert], timeout=5).raise_for_status()
        wait_until(lambda: s.notifications.exists() and "CaplabStackSelfTest" in s.notifications.read_text(),
                   15, "the webhook writes Alertmanager's notification to the run folder")
        note = json.loads(s.notifications.read_text().splitlines()[0])
        assert note["alerts"][0]["labels"]["alertname"] == "CaplabStackSelfTest"
        assert note["alerts"][0]["status"] == "firing"
        out = subprocess.run([sys.executable, "-m", "stack", "down", "--run-dir", str(tmp_path)],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        for name in ("prometheus", "alertmanager", "webhook", "app-cp", "toxiproxy"):
            assert f"{name}" in out.stdout and "stopped" in out.stdout
        assert not any(row["running"] for row in Stack(cfg).status())
    finally:
        s.down(progress=lambda _m: None)


def test_freeze_stops_a_node_where_it_is_and_resume_undoes_it(stack):
    node = stack.nodes["g1"]
    state = lambda: open(f"/proc/{node.pid}/stat").read().rsplit(")", 1)[1].split()[0]  # noqa: E731
    try:
        node.freeze()
        assert state() == "T"
        with node.client(socket_timeout=0.2) as c, pytest.raises(redis.TimeoutError):
            c.ping()  # a frozen redis-server accepts the connection but never answers
    finally:
        node.resume()
    assert state() in ("S", "R")
    with node.client() as c:
        assert c.ping()
