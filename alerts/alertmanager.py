"""Debian's prometheus-alertmanager for the local stack, routing every alert to a local webhook.

Clustering is off (no gossip port), it listens on 127.0.0.1 only, and resolved alerts are sent
too, so a run can show a notification for the fault and one for the heal.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


class WebhookReceiver:
    """A small HTTP server that keeps every Alertmanager notification (and appends it to a file)."""

    def __init__(self, port: int = 0, out: Path | None = None):
        self.notifications: list[dict] = []
        self.out = Path(out) if out else None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver._keep(json.loads(body or b"{}"))
                self.send_response(200)
                self.end_headers()

            def do_GET(self):  # a liveness answer, for the stack's readiness check and for people
                body = json.dumps({"receiver": "caplab-webhook", "notifications": len(receiver.notifications)})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self._thread = threading.Thread(target=self.server.serve_forever, name="webhook", daemon=True)
        self._lock = threading.Lock()

    def _keep(self, payload: dict):
        note = {"received_ms": time.time_ns() // 1_000_000, "status": payload.get("status"),
                "alerts": [{"status": a.get("status"), "labels": a.get("labels", {}),
                            "startsAt": a.get("startsAt"), "endsAt": a.get("endsAt")}
                           for a in payload.get("alerts", [])]}
        with self._lock:
            self.notifications.append(note)
            if self.out:
                self.out.parent.mkdir(parents=True, exist_ok=True)
                with open(self.out, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(note) + "\n")

    def seen(self, alertname: str, status: str, **labels) -> list[dict]:
        """Notifications holding ``alertname`` in ``status`` (firing or resolved) with ``labels``."""
        with self._lock:
            return [n for n in self.notifications for a in n["alerts"]
                    if a["labels"].get("alertname") == alertname and a["status"] == status
                    and all(a["labels"].get(k) == v for k, v in labels.items())]

    def start(self) -> "WebhookReceiver":
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "WebhookReceiver":
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def serve_webhook(port: int, out: Path) -> None:
    """Run a receiver in the foreground (``python -m alerts webhook``) until Ctrl-C."""
    with WebhookReceiver(port, out) as rx:
        print(f"webhook receiver on {rx.url}, notifications appended to {out}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
