"""The data endpoints: /write, /read and /kv; every input goes through app/inputs.py first."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from . import inputs
from .errors import BadInput, TooLarge

bp = Blueprint("api", __name__)


def _service():
    return current_app.extensions["caplab"]


def ensure_key(key: str) -> str:
    return inputs.ensure_key(key, _service().settings.max_key_length)


def ensure_value(value) -> str:
    return inputs.ensure_value(value, _service().settings.max_value_bytes)


def read_body() -> bytes:
    """The request body; 413 past the limit, whether it comes with a length or chunked.

    Read straight from the WSGI input, at most limit + 1 bytes: Werkzeug's stream hands a chunked
    body over truncated or empty, which would then be refused as bad JSON (400) instead of 413."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    length = request.content_length
    if length is not None and length > limit:
        raise TooLarge(f"request body of {length} bytes is larger than the limit of {limit} bytes "
                       f"(6 x MAX_VALUE_BYTES + 1024)", field="body")
    stream, chunks, size = request.environ["wsgi.input"], [], 0
    try:
        while size <= limit:
            chunk = stream.read(min(65536, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except Exception as exc:  # noqa: BLE001 - a malformed chunk, or a client gone mid-body
        raise BadInput(f"the request body could not be read ({type(exc).__name__}: {exc}); send "
                       f"it with Content-Length or valid chunks", field="body") from None
    if size > limit:
        raise TooLarge(f"request body is larger than the limit of {limit} bytes "
                       f"(6 x MAX_VALUE_BYTES + 1024)", field="body")
    return b"".join(chunks)


@bp.post("/write/<key>/<value>")
def write_path(key, value):
    key, value = ensure_key(key), ensure_value(value)
    with _service().in_flight():
        return jsonify(_service().store.write(key, value))


@bp.get("/read/<key>")
def read_path(key):
    key = ensure_key(key)
    with _service().in_flight():
        return jsonify(_service().store.read(key))


@bp.put("/kv/<key>")
def write_kv(key):
    key = ensure_key(key)
    value = ensure_value(inputs.parse_body(read_body(), request.is_json)["value"])
    with _service().in_flight():
        return jsonify(_service().store.write(key, value))


@bp.get("/kv/<key>")
def read_kv(key):
    return read_path(key)
