"""The baseline: a minimal Flask app doing one plain redis-py SET or GET against one node.

Same gunicorn settings as the services (app/gunicorn_conf.py), same redis-py, no breaker, no
quorum, no metrics: what the consistency machinery is measured against.
"""
import os

import redis
from flask import Flask, jsonify
from redis.backoff import NoBackoff
from redis.retry import Retry


def create():
    """Build the baseline app from BASELINE_REDIS (host:port) and REDIS_PASSWORD."""
    host, port = os.environ["BASELINE_REDIS"].rsplit(":", 1)
    client = redis.Redis(host=host, port=int(port), password=os.environ.get("REDIS_PASSWORD") or None,
                         socket_timeout=0.5, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    app = Flask(__name__)

    @app.post("/write/<key>/<value>")
    def write(key, value):
        client.set("baseline:" + key, value)
        return jsonify({"key": key, "value": value})

    @app.get("/read/<key>")
    def read(key):
        value = client.get("baseline:" + key)
        return jsonify({"key": key, "value": value.decode() if value else None})

    return app
