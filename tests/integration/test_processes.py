"""Secrets and processes: no secret in a file others can read or on a command line; one control
socket per gunicorn; every labelled metric present from the first scrape."""
from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest
import requests
from gunicorn.ctl.client import ControlClient

from app.config import load_settings
from stack import ROOT
from stack.process import ManagedProcess
from tests.integration.live import metric_values

pytestmark = pytest.mark.integration


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_secret_bearing_files_are_private_and_the_password_is_in_no_conf_or_argv(live):
    password = live.config.secrets()["REDIS_PASSWORD"]
    assert mode_of(live.run_dir / "secrets.json") == 0o600
    for name, node in live.nodes.items():
        with node.client() as c:
            c.set("mode-check", "1")
            c.bgrewriteaof()  # makes a fresh AOF base file, as a long run would
        assert mode_of(node.conf) == 0o600 and password not in node.conf.read_text()
        assert mode_of(node.data_dir) == 0o700
        files = [p for p in node.data_dir.rglob("*") if p.is_file()]
        assert files, f"{name}: no data files to check"
        assert {str(p.relative_to(node.data_dir)): oct(mode_of(p)) for p in files} == \
               {str(p.relative_to(node.data_dir)): "0o600" for p in files}
        cmdline = Path(f"/proc/{node.pid}/cmdline").read_bytes().decode()
        assert password not in cmdline


def test_each_service_has_its_own_control_socket(live):
    paths = {s: load_settings(live.config.service_env(s)).control_socket_path() for s in ("cp", "ap")}
    assert paths["cp"] != paths["ap"]
    pids = {}
    for service, path in paths.items():
        assert stat.S_ISSOCK(Path(path).stat().st_mode) and mode_of(Path(path)) == 0o600
        with ControlClient(path, timeout=5) as client:
            pids[service] = {w["pid"] for w in client.send_command("show workers")["workers"]}
        assert len(pids[service]) == live.config.workers
    assert not pids["cp"] & pids["ap"], "one socket answered for both services"


def test_labelled_series_exist_at_zero_before_anything_happens(live, tmp_path):
    port = live.config.service_ports["cp"] + 70
    env = {**live.config.service_env("cp"), "PORT": str(port), "WEB_WORKERS": "1", "PYTHONPATH": str(ROOT)}
    proc = ManagedProcess("app-fresh", [sys.executable, "-m", "app", "serve"], tmp_path, port=port, env=env,
                          ready=lambda: requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok)
    try:
        proc.start()
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        proc.stop()
    nodes = live.config.nodes
    expect = {
        "db_connection_failures_total": [f'{{node="{n}"}}' for n in nodes],
        "caplab_db_calls_total": [f'{{node="{n}"}}' for n in nodes],
        "caplab_hints_replayed_total": [f'{{node="{n}"}}' for n in nodes],
        "caplab_breaker_transitions_total": [f'{{node="{n}",state="{s}"}}' for n in nodes
                                             for s in ("closed", "half-open", "open")],
        "caplab_cp_refusals_total": [f'{{operation="{o}",outcome="{r}"}}' for o in ("write", "read")
                                     for r in ("not_applied", "unknown")],
        "app_requests_total": [f'{{mode="cp",operation="write",status="503"}}'],
    }
    for metric, series in expect.items():
        values = metric_values(text, metric)
        for s in series:
            assert values.get(s) == 0, f"{metric}{s} missing or not 0: {values}"


# A parent that exits at once on SIGTERM while its child (like a gunicorn worker) keeps the
# listening socket a little longer: stop() must not return while the port is still held.
_LINGERING_CHILD = r'''
import os, signal, socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
if os.fork() == 0:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(float(sys.argv[2])); os._exit(0)
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
while True:
    time.sleep(1)
'''


@pytest.mark.parametrize("linger_s, timeout_s", [(0.8, 10.0), (30.0, 1.0)])
def test_stop_returns_only_once_the_whole_group_has_let_go_of_the_port(tmp_path, linger_s, timeout_s):
    from stack.process import port_in_use
    import socket
    with socket.socket() as s:  # a free port on loopback
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = tmp_path / "lingering.py"
    script.write_text(_LINGERING_CHILD)
    proc = ManagedProcess("lingering", [sys.executable, str(script), str(port), str(linger_s)], tmp_path,
                          port=port, ready=lambda: port_in_use(port))
    try:
        proc.start()
        assert proc.stop(timeout=timeout_s)
        # the child ignored SIGTERM: it lingered (0.8 s) or was SIGKILLed at the timeout (1 s)
        assert not port_in_use(port)
        again = ManagedProcess("lingering", [sys.executable, str(script), str(port), "0"], tmp_path,
                               port=port, ready=lambda: port_in_use(port))
        assert again.start()  # the restart that used to find the port "already in use"
        again.stop()
    finally:
        proc.stop(timeout=0.5)
