"""The local stack: idempotent, stops only its own processes, clear errors for ports and binaries."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from stack import ROOT, Stack
from stack.config import test_config
from stack.process import StackError

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
