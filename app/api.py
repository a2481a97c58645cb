"""The data endpoints: /write, /read and /kv, with input validated at the edge."""
from __future__ import annotations

import re

from flask import Blueprint, current_app, jsonify, request

from .errors import BadInput, TooLarge

bp = Blueprint("api", __name__)
KEY_CHARS = re.compile(r"^[A-Za-z0-9._:\-]+$")


def _service():
    return current_app.extensions["caplab"]


def ensure_key(key: str) -> str:
    """Raise BadInput unless ``key`` is 1..MAX_KEY_LENGTH characters of [A-Za-z0-9._:-]."""
    limit = _service().settings.max_key_length
    if not key or len(key) > limit:
        raise BadInput(f"key must be 1 to {limit} characters long (got {len(key)})", field="key")
    if not KEY_CHARS.match(key):
        raise BadInput("key may contain only letters, digits and . _ : -", field="key")
    return key


def ensure_value(value) -> str:
    """Raise BadInput unless ``value`` is a string; TooLarge past MAX_VALUE_BYTES (UTF-8)."""
    if not isinstance(value, str):
        raise BadInput(f"value must be a JSON string (got {type(value).__name__})", field="value")
    limit = _service().settings.max_value_bytes
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise TooLarge(f"value is {size} bytes; the limit is {limit} (MAX_VALUE_BYTES)", field="value")
    return value


@bp.post("/write/<key>/<value>")
def write_path(key, value):
    return jsonify(_service().store.write(ensure_key(key), ensure_value(value)))


@bp.get("/read/<key>")
def read_path(key):
    return jsonify(_service().store.read(ensure_key(key)))


@bp.put("/kv/<key>")
def write_kv(key):
    ensure_key(key)
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or "value" not in body:
        raise BadInput('body must be a JSON object like {"value": "..."} '
                       "with Content-Type: application/json", field="body")
    return jsonify(_service().store.write(key, ensure_value(body["value"])))


@bp.get("/kv/<key>")
def read_kv(key):
    return jsonify(_service().store.read(ensure_key(key)))
