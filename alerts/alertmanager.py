"""Debian's prometheus-alertmanager for the local stack, routing every alert to a local webhook.

Clustering is off (no gossip port), it listens on 127.0.0.1 only, and resolved alerts are sent
too, so a run can show a notification for the fault and one for the heal.
"""
from __future__ import annotations

from pathlib import Path

import requests
import yaml

from stack.process import ManagedProcess, require_binary

from .settings import AlertSettings


def alertmanager_binary() -> str:
    return require_binary("prometheus-alertmanager", "alertmanager", package="prometheus-alertmanager",
                          step="alertmanager")


def render_config(webhook_url: str, settings: AlertSettings) -> str:
    """alertmanager.yml: one route, grouped by alert and service, to the webhook, resolved too."""
    fast = settings.evaluation_interval_s < 5
    doc = {"route": {"receiver": "caplab-webhook",
                     "group_by": ["alertname", "service", "node"],
                     "group_wait": "1s" if fast else "30s",
                     "group_interval": "1s" if fast else "5m",
                     "repeat_interval": "4h"},
           "receivers": [{"name": "caplab-webhook",
                          "webhook_configs": [{"url": webhook_url, "send_resolved": True}]}]}
    return yaml.safe_dump(doc, sort_keys=False)


class AlertmanagerServer(ManagedProcess):
    """Alertmanager on 127.0.0.1:``port``; config and state under ``run_dir``/alertmanager."""

    def __init__(self, run_dir, port: int, webhook_url: str, settings: AlertSettings):
        self.home = Path(run_dir).resolve() / "alertmanager"
        self.url = f"http://127.0.0.1:{port}"
        self.address = f"127.0.0.1:{port}"
        self.webhook_url, self.settings = webhook_url, settings
        argv = [alertmanager_binary(), f"--config.file={self.home / 'alertmanager.yml'}",
                f"--storage.path={self.home / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address="]
        super().__init__("alertmanager", argv, run_dir, port=port, ready=self._ready)

    def _ready(self) -> bool:
        return requests.get(self.url + "/-/ready", timeout=1).status_code == 200

    def start(self) -> bool:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "alertmanager.yml").write_text(render_config(self.webhook_url, self.settings))
        return super().start()
