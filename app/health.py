"""Liveness, readiness for this mode, and the breakers' state."""
from __future__ import annotations

import os

from flask import Blueprint, current_app, jsonify

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    """Answer while the process is alive; touches no node."""
    return jsonify({"status": "ok", "mode": current_app.extensions["caplab"].mode, "pid": os.getpid()})


@bp.get("/ready")
def ready():
    """200 when this mode can serve: CP needs a quorum of nodes, AP any one node."""
    service = current_app.extensions["caplab"]
    with service.in_flight():
        ok, detail = service.ready()
    body = {"status": "ready" if ok else "not_ready", "mode": service.mode, **detail}
    return jsonify(body), (200 if ok else 503)


@bp.get("/circuit-breaker")
def circuit_breaker():
    """Each breaker in this worker: state, failure count, when it last opened."""
    service = current_app.extensions["caplab"]
    return jsonify({"mode": service.mode, "pid": os.getpid(),
                    "breakers": {n.name: n.describe() for n in service.nodes}})
