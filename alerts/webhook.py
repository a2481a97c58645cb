"""The small webhook receiver Alertmanager notifies: keeps every notification, appends it to a file.

Standard library only, so the service image can run it too (docker-compose.yml's ``webhook``):
``python -m alerts.webhook --port 9095 --out run/alerts/notifications.jsonl [--host 0.0.0.0]``.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from harness.arguments import port


class WebhookReceiver:
    """A small HTTP server that keeps every Alertmanager notification (and appends it to a file)."""

    def __init__(self, port: int = 0, out: Path | None = None, host: str = "127.0.0.1"):
        self.notifications: list[dict] = []
        self.out = Path(out) if out else None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    payload = json.loads(body or b"{}")
                except ValueError:
                    self.send_error(400, "expected Alertmanager's JSON notification")
                    return
                receiver._keep(payload if isinstance(payload, dict) else {})
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

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.url = f"http://{'127.0.0.1' if host in ('', '0.0.0.0') else host}:{self.server.server_address[1]}/"
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


def serve_webhook(port: int, out: Path, host: str = "127.0.0.1") -> None:
    """Run a receiver in the foreground until Ctrl-C or SIGTERM."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with WebhookReceiver(port, out, host) as rx:
        print(f"webhook receiver on {rx.url}, notifications appended to {out}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m alerts.webhook", description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=port, default=9095)
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    ap.add_argument("--out", default="run/alerts/notifications.jsonl")
    args = ap.parse_args(argv)
    try:
        serve_webhook(args.port, Path(args.out), args.host)
    except OSError as exc:
        print(f"webhook: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
