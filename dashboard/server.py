"""The dashboard's Flask app: the page, its Server-Sent Events, and the start and halt buttons' endpoints.

``create_app(hub, launcher)`` builds the app around a running Hub (the one loop that makes points)
and a Launcher; nothing connects at import. Every error is JSON that says what to do.
"""
from __future__ import annotations

import json
import queue
from pathlib import Path

from flask import Flask, Response, jsonify, request, send_from_directory
from werkzeug.exceptions import HTTPException

from dashboard.catalogue import experiments
from dashboard.launcher import LaunchError

STATIC = Path(__file__).resolve().parent / "static"
HEARTBEAT_S = 10.0
LOCAL = ("127.0.0.1", "localhost")


def create_app(hub, launcher, runs_root) -> Flask:
    app = Flask(__name__, static_folder=str(STATIC), static_url_path="/static")
    app.config["hub"], app.config["launcher"] = hub, launcher
    runs_root = Path(runs_root).resolve()
    nodes = len(hub.stack.config.nodes)

    app.before_request(_local_only)

    @app.get("/")
    def index():
        return send_from_directory(STATIC, "index.html", max_age=0)

    @app.get("/events")
    def events():
        return Response(_stream(hub), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/api/state")
    def state():
        return jsonify(hub.initial())

    @app.get("/api/experiments")
    def catalogue():
        items = experiments()
        for e in items:
            e["why_not"] = _why_not(e, nodes, hub.services)
            e["startable"] = not e["why_not"]
        return jsonify(items)

    @app.post("/api/run")
    def run():
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise LaunchError('send JSON {"name": "<catalogue experiment>"}', 400)
        known = [e["name"] for e in experiments() if not _why_not(e, nodes, hub.services)]
        return jsonify(launcher.start(body["name"], known, hub.tail)), 202

    @app.post("/api/halt")
    def halt():
        return jsonify(launcher.halt(hub.tail, request.remote_addr or "?")), 202

    @app.get("/runs/<path:name>")
    def run_file(name):
        if not name.endswith((".html", ".png", ".md", ".json")):
            return _error(404, "only a run's report, plots and results are served here")
        return send_from_directory(runs_root, name, max_age=0)

    @app.errorhandler(LaunchError)
    def refused(err):
        return _error(err.status, str(err))

    @app.errorhandler(HTTPException)
    def http_error(err):
        return _error(err.code or 500, err.description or err.name)

    return app


def _local_only():
    """Refuse what another site open in the same browser could send: other host names (DNS
    rebinding) and form posts; the page itself sends JSON to 127.0.0.1."""
    if request.host.rpartition(":")[0] not in LOCAL and request.host not in LOCAL:
        return _error(403, "this dashboard answers requests addressed to 127.0.0.1 or localhost only")
    if request.method == "POST" and not request.is_json:
        return _error(415, 'send JSON (Content-Type: application/json): {} to halt, {"name": ...} to start')
    return None


def _why_not(e: dict, nodes: int, services) -> str:
    """Why the page cannot start this experiment on its stack ("" when it can)."""
    if e["nodes"] != nodes:
        return f"needs a {e['nodes']}-node stack; this dashboard watches a {nodes}-node one"
    others = [s for s in e["services"] if s not in services]
    if others:
        return f"runs {', '.join(others)}, which this page does not chart: use make chaos EXP={e['name']}"
    return ""


def _error(status: int, message: str):
    resp = jsonify({"error": message})
    resp.status_code = status
    return resp


def _stream(hub):
    """One page's events: everything on screen first, then a frame per tick."""
    q = hub.subscribe()
    try:
        yield f"event: init\ndata: {json.dumps(hub.initial(), separators=(',', ':'))}\n\n"
        while True:
            try:
                data = q.get(timeout=HEARTBEAT_S)
            except queue.Empty:
                yield ": still here\n\n"  # a comment: keeps proxies from closing an idle stream
                continue
            yield f"event: frame\ndata: {data}\n\n"
    finally:
        hub.unsubscribe(q)
