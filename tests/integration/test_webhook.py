"""The webhook receiver runs from what the service image holds, as docker-compose.yml starts it.

No Docker engine here, so the test copies the Dockerfile's COPY sources into an empty folder and
runs the compose service's command there (on 127.0.0.1 and a free port instead of 0.0.0.0:9095):
an import of anything the image lacks would fail it.
"""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys

import pytest
import requests
import yaml

from tests.integration.live import wait_for
from tests.integration.toxi_fixtures import free_port
from tests.unit.test_compose import ROOT, dockerfile

pytestmark = pytest.mark.integration

NOTIFICATION = {"status": "firing", "alerts": [{"status": "firing", "labels": {"alertname": "CaplabBreakerOpen",
                "service": "cp", "node": "g2"}, "startsAt": "2026-11-23T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}]}


def test_compose_webhook_runs_from_the_image_tree_and_keeps_notifications(tmp_path):
    image = tmp_path / "image"
    image.mkdir()
    for op, args in dockerfile():
        if op == "COPY" and args.split()[0].endswith("/"):
            shutil.copytree(ROOT / args.split()[0], image / args.split()[1], ignore=shutil.ignore_patterns("__pycache__"))
    command = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["webhook"]["command"]
    port, out = free_port(), tmp_path / "data" / "notifications.jsonl"
    argv = list(command)
    for flag, value in (("--host", "127.0.0.1"), ("--port", str(port)), ("--out", str(out))):
        argv[argv.index(flag) + 1] = value
    assert argv[0] == "python"
    proc = subprocess.Popen([sys.executable, *argv[1:]], cwd=image, env={"PATH": "/usr/bin:/bin"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        def up():
            if proc.poll() is not None:
                raise AssertionError(f"the webhook exited: {proc.stderr.read()}")
            try:
                return requests.get(url, timeout=1).json()
            except requests.RequestException:
                return None
        assert wait_for(up, 10, "the webhook answers")["notifications"] == 0
        assert requests.post(url, json=NOTIFICATION, timeout=2).status_code == 200
        assert requests.post(url, data=b"not json", timeout=2).status_code == 400
        kept = [json.loads(line) for line in out.read_text().splitlines()]
        assert len(kept) == 1 and kept[0]["alerts"][0]["labels"]["node"] == "g2"
        assert requests.get(url, timeout=1).json()["notifications"] == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        finally:
            proc.kill()
    assert proc.returncode == 0, proc.stderr.read()
    assert "Traceback" not in proc.stderr.read()
