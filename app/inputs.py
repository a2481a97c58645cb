"""The one validation layer for what a client sends: path values, keys, values and JSON bodies.

Every check refuses with BadInput (400) or TooLarge (413) and a message saying what to fix, before
anything reaches a node. Nothing here recurses on client data: a body's nesting is measured by a
bounded scan before the JSON parser sees it.
"""
from __future__ import annotations

import json
import re

from .errors import BadInput, TooLarge

KEY_CHARS = re.compile(r"[A-Za-z0-9._:\-]+")
# A JSON string literal, unrolled so that a long string costs one pass.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
MAX_BODY_DEPTH = 8  # {"value": "..."} has depth 1; the margin only makes the message kinder
BODY_FIELDS = ("value",)


def ensure_path_utf8(path_info: str) -> None:
    """Raise BadInput unless the request path is valid UTF-8 once percent-decoded.

    The WSGI server hands the path over as latin-1 bytes; Werkzeug would replace invalid UTF-8
    with U+FFFD, and a value would be stored as something the client never sent."""
    try:
        path_info.encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise BadInput("the path is not valid UTF-8 once percent-decoded (e.g. %FF); "
                       "percent-encode the UTF-8 bytes of the text you mean", field="path") from None


def ensure_key(key: str, limit: int) -> str:
    """Raise BadInput unless ``key`` is 1..``limit`` characters of [A-Za-z0-9._:-], nothing else."""
    if not key or len(key) > limit:
        raise BadInput(f"key must be 1 to {limit} characters long (got {len(key)})", field="key")
    if not KEY_CHARS.fullmatch(key):
        raise BadInput("key may contain only letters, digits and . _ : - (no spaces, newlines "
                       "or other characters)", field="key")
    return key


def ensure_value(value, limit: int) -> str:
    """Raise BadInput unless ``value`` is a string of valid Unicode; TooLarge past ``limit`` bytes."""
    if not isinstance(value, str):
        raise BadInput(f"value must be a JSON string (got {_json_type(value)})", field="value")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError as exc:
        bad = value[exc.start]
        raise BadInput(f"value contains a lone surrogate (\\u{ord(bad):04x}) at character "
                       f"{exc.start}; send valid Unicode (surrogates only in pairs)", field="value") from None
    if size > limit:
        raise TooLarge(f"value is {size} bytes; the limit is {limit} (MAX_VALUE_BYTES)", field="value")
    return value


def parse_body(raw: bytes, content_type_is_json: bool) -> dict:
    """Return the body ``{"value": ...}`` as a dict; raise BadInput saying what is wrong with it."""
    shape = 'body must be a JSON object like {"value": "..."} with Content-Type: application/json'
    if not content_type_is_json:
        raise BadInput(f"{shape} (got Content-Type other than JSON)", field="body")
    if not raw.strip():
        raise BadInput(f"{shape} (the body is empty)", field="body")
    ensure_shallow(raw)
    try:
        text = raw.decode("utf-8")  # JSON on the wire is UTF-8 (RFC 8259); json.loads would guess
    except UnicodeDecodeError as exc:
        raise BadInput(f"{shape} (the body is not valid UTF-8 at byte {exc.start})", field="body") from None
    try:
        body = json.loads(text, object_pairs_hook=_unique_fields, parse_constant=_no_constant)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, too many digits, duplicates
        raise BadInput(f"{shape} (not valid JSON: {exc})", field="body") from None
    if not isinstance(body, dict) or "value" not in body:
        raise BadInput(f"{shape} (got {_json_type(body)}"
                       f"{' without a value field' if isinstance(body, dict) else ''})", field="body")
    extra = sorted(set(body) - set(BODY_FIELDS))
    if extra:
        raise BadInput(f"{shape}; unknown field(s) {', '.join(map(repr, extra[:5]))}", field="body")
    return body


def ensure_shallow(raw: bytes, limit: int = MAX_BODY_DEPTH) -> None:
    """Raise BadInput if the JSON text nests arrays or objects deeper than ``limit``.

    Strings are removed first (brackets inside them do not count); the scan stops as soon as the
    limit is passed, so a body nested 100,000 deep costs as little as a flat one."""
    depth = 0
    for ch in _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", raw)):
        depth += 1 if ch in b"[{" else -1
        if depth > limit:
            raise BadInput(f"body nests arrays or objects more than {limit} deep; send a flat "
                           f'object like {{"value": "..."}}', field="body")


def _unique_fields(pairs):
    seen = {}
    for name, value in pairs:
        if name in seen:
            raise ValueError(f"field {name!r} appears twice")
        seen[name] = value
    return seen


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def _json_type(value) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
