"""Hostile HTTP input, one named case a row: each gets the clear JSON error, and nothing stored changes.

Every case runs against both services, on a stack that already holds data, and compares every
node's contents byte for byte before and after. "words" is what the message must say to tell the
client what to fix.
"""
from __future__ import annotations

import json

import pytest
import requests

from tests.integration.hostile import (ensure_clear_error, request_bytes, send_raw, send_requests,
                                       stored)

pytestmark = pytest.mark.integration
JSON = {"Content-Type": "application/json"}
KEY_CHARS = "may contain only"
NOT_UTF8 = "not valid UTF-8"
SHAPE = 'JSON object like {"value"'
DEEP = "more than 8 deep"


def put(body: bytes, headers=None, key="seed"):
    return request_bytes("PUT", f"/kv/{key}", body, {**JSON, **(headers or {})})


def chunked(*chunks: bytes, end=b"0\r\n\r\n") -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + end


CHUNKED = {**JSON, "Transfer-Encoding": "chunked"}
# (name, how: app = raw bytes answered by the app | gunicorn = raw bytes gunicorn refuses itself
#  | big = requests, for bodies refused before they are read), request, status, code, words
CASES = [
    # keys: matched whole, one character class, a length
    ("key-trailing-newline", "app", request_bytes("POST", "/write/seed%0A/v"), 400, "bad_input", KEY_CHARS),
    ("key-trailing-crlf", "app", request_bytes("POST", "/write/seed%0D%0A/v"), 400, "bad_input", KEY_CHARS),
    ("key-leading-newline", "app", request_bytes("POST", "/write/%0Aseed/v"), 400, "bad_input", KEY_CHARS),
    ("key-inner-newline", "app", request_bytes("POST", "/write/se%0Aed/v"), 400, "bad_input", KEY_CHARS),
    ("key-space", "app", request_bytes("POST", "/write/bad%20key/v"), 400, "bad_input", KEY_CHARS),
    ("key-tab", "app", request_bytes("POST", "/write/a%09b/v"), 400, "bad_input", KEY_CHARS),
    ("key-nul", "app", request_bytes("POST", "/write/a%00b/v"), 400, "bad_input", KEY_CHARS),
    ("key-trailing-nul", "app", request_bytes("POST", "/write/seed%00/v"), 400, "bad_input", KEY_CHARS),
    ("key-accented", "app", request_bytes("POST", "/write/caf%C3%A9/v"), 400, "bad_input", KEY_CHARS),
    ("key-emoji", "app", request_bytes("POST", "/write/%F0%9F%98%80/v"), 400, "bad_input", KEY_CHARS),
    ("key-fullwidth-digit", "app", request_bytes("POST", "/write/%EF%BC%91/v"), 400, "bad_input", KEY_CHARS),
    ("key-percent-sign", "app", request_bytes("POST", "/write/a%25b/v"), 400, "bad_input", KEY_CHARS),
    ("key-brackets", "app", request_bytes("POST", "/write/a%5Bb%5D/v"), 400, "bad_input", KEY_CHARS),
    ("key-star", "app", request_bytes("POST", "/write/*/v"), 400, "bad_input", KEY_CHARS),
    ("key-quote", "app", request_bytes("POST", "/write/a%22b/v"), 400, "bad_input", KEY_CHARS),
    ("key-backslash", "app", request_bytes("POST", "/write/a%5Cb/v"), 400, "bad_input", KEY_CHARS),
    ("key-201-chars", "app", request_bytes("POST", "/write/" + "k" * 201 + "/v"), 400, "bad_input", "1 to 200"),
    ("key-4000-chars", "app", request_bytes("GET", "/read/" + "k" * 4000), 400, "bad_input", "1 to 200"),
    ("read-key-newline", "app", request_bytes("GET", "/read/seed%0A"), 400, "bad_input", KEY_CHARS),
    ("kv-get-key-space", "app", request_bytes("GET", "/kv/a%20b"), 400, "bad_input", KEY_CHARS),
    ("kv-put-key-newline", "app", put(b'{"value": "x"}', key="seed%0A"), 400, "bad_input", KEY_CHARS),
    ("kv-put-key-too-long", "app", put(b'{"value": "x"}', key="k" * 300), 400, "bad_input", "1 to 200"),
    # the path must be UTF-8 once percent-decoded
    ("key-invalid-utf8", "app", request_bytes("POST", "/write/%FF/v"), 400, "bad_input", NOT_UTF8),
    ("key-overlong-utf8", "app", request_bytes("POST", "/write/%C0%AF/v"), 400, "bad_input", NOT_UTF8),
    ("value-invalid-utf8", "app", request_bytes("POST", "/write/seed/%FF%FE"), 400, "bad_input", NOT_UTF8),
    ("value-truncated-utf8", "app", request_bytes("POST", "/write/seed/%C3"), 400, "bad_input", NOT_UTF8),
    ("value-overlong-nul", "app", request_bytes("POST", "/write/seed/%C0%80"), 400, "bad_input", NOT_UTF8),
    ("value-encoded-surrogate", "app", request_bytes("POST", "/write/seed/%ED%A0%80"), 400, "bad_input", NOT_UTF8),
    ("value-latin1-byte", "app", request_bytes("POST", "/write/seed/caf%E9"), 400, "bad_input", NOT_UTF8),
    ("value-5-byte-utf8", "app", request_bytes("POST", "/write/seed/%F8%88%80%80%80"), 400, "bad_input", NOT_UTF8),
    ("value-above-u10ffff", "app", request_bytes("POST", "/write/seed/%F4%90%80%80"), 400, "bad_input", NOT_UTF8),
    ("read-invalid-utf8", "app", request_bytes("GET", "/read/%FE"), 400, "bad_input", NOT_UTF8),
    ("unknown-route-invalid-utf8", "app", request_bytes("GET", "/%FF"), 400, "bad_input", NOT_UTF8),
    # values in a body: valid Unicode only
    ("body-lone-high-surrogate", "app", put(b'{"value": "\\ud800"}'), 400, "bad_input", "lone surrogate"),
    ("body-lone-low-surrogate", "app", put(b'{"value": "\\udc00"}'), 400, "bad_input", "lone surrogate"),
    ("body-reversed-pair", "app", put(b'{"value": "\\udc00\\ud800"}'), 400, "bad_input", "lone surrogate"),
    ("body-surrogate-mid-string", "app", put(b'{"value": "ab\\ud83dcd"}'), 400, "bad_input", "lone surrogate"),
    ("body-surrogate-at-end", "app", put(b'{"value": "abc\\udfff"}'), 400, "bad_input", "lone surrogate"),
    ("body-raw-invalid-utf8", "app", put(b'{"value": "\xff"}'), 400, "bad_input", "not valid UTF-8"),
    ("body-utf16", "app", put('{"value": "x"}'.encode("utf-16")), 400, "bad_input", "not valid UTF-8"),
    ("body-utf8-bom", "app", put(b'\xef\xbb\xbf{"value": "x"}'), 400, "bad_input", "not valid JSON"),
    ("body-raw-control-char", "app", put(b'{"value": "a\x01b"}'), 400, "bad_input", "not valid JSON"),
    # nesting is measured before parsing
    ("body-array-100000-deep", "app", put(b'{"value": ' + b"[" * 100000 + b"]" * 100000 + b"}"), 400, "bad_input", DEEP),
    ("body-object-20000-deep", "app", put(b'{"value": ' + b'{"a": ' * 20000 + b"1" + b"}" * 20001), 400, "bad_input", DEEP),
    ("body-top-level-100000-deep", "app", put(b"[" * 100000), 400, "bad_input", DEEP),
    ("body-unclosed-deep", "app", put(b'{"value": ' + b"[" * 5000), 400, "bad_input", DEEP),
    ("body-9-deep", "app", put(b'{"value": ' + b"[" * 8 + b"]" * 8 + b"}"), 400, "bad_input", DEEP),
    ("body-mixed-deep", "app", put(b'{"value": ' + b'[{"a": ' * 3000 + b"1" + b"}]" * 3000 + b"}"), 400, "bad_input", DEEP),
    # the body's shape
    ("body-not-json", "app", put(b"{not json"), 400, "bad_input", SHAPE),
    ("body-empty-with-json-type", "app", request_bytes("PUT", "/kv/seed", b"", {**JSON, "Content-Length": "0"}), 400, "bad_input", "empty"),
    ("body-whitespace", "app", put(b"   \n "), 400, "bad_input", "empty"),
    ("body-array", "app", put(b'["value"]'), 400, "bad_input", "an array"),
    ("body-string", "app", put(b'"value"'), 400, "bad_input", "a string"),
    ("body-null", "app", put(b"null"), 400, "bad_input", "null"),
    ("body-number", "app", put(b"12"), 400, "bad_input", "a number"),
    ("body-empty-object", "app", put(b"{}"), 400, "bad_input", "without a value field"),
    ("body-value-number", "app", put(b'{"value": 12}'), 400, "bad_input", "JSON string"),
    ("body-value-null", "app", put(b'{"value": null}'), 400, "bad_input", "JSON string"),
    ("body-value-bool", "app", put(b'{"value": true}'), 400, "bad_input", "JSON string"),
    ("body-value-object", "app", put(b'{"value": {"a": "b"}}'), 400, "bad_input", "JSON string"),
    ("body-value-array", "app", put(b'{"value": ["a"]}'), 400, "bad_input", "JSON string"),
    ("body-duplicate-field", "app", put(b'{"value": "a", "value": "b"}'), 400, "bad_input", "appears twice"),
    ("body-unknown-field", "app", put(b'{"value": "a", "extra": 1}'), 400, "bad_input", "unknown field"),
    ("body-nan", "app", put(b'{"value": NaN}'), 400, "bad_input", "NaN is not JSON"),
    ("body-infinity", "app", put(b'{"value": -Infinity}'), 400, "bad_input", "Infinity is not JSON"),
    ("body-5000-digit-number", "app", put(b'{"value": ' + b"1" * 5000 + b"}"), 400, "bad_input", "not valid JSON"),
    ("body-trailing-garbage", "app", put(b'{"value": "a"} x'), 400, "bad_input", "not valid JSON"),
    ("body-two-objects", "app", put(b'{"value": "a"}{"value": "b"}'), 400, "bad_input", "not valid JSON"),
    ("body-single-quotes", "app", put(b"{'value': 'a'}"), 400, "bad_input", "not valid JSON"),
    ("body-comment", "app", put(b'{"value": "a" /* c */}'), 400, "bad_input", "not valid JSON"),
    ("body-trailing-comma", "app", put(b'{"value": "a",}'), 400, "bad_input", "not valid JSON"),
    ("body-text-plain", "app", request_bytes("PUT", "/kv/seed", b'{"value": "x"}', {"Content-Type": "text/plain"}), 400, "bad_input", "Content-Type"),
    ("body-form-encoded", "app", request_bytes("PUT", "/kv/seed", b"value=x", {"Content-Type": "application/x-www-form-urlencoded"}), 400, "bad_input", "Content-Type"),
    ("body-no-content-type", "app", request_bytes("PUT", "/kv/seed", b'{"value": "x"}'), 400, "bad_input", "Content-Type"),
    ("body-chunked-bad-size", "app", put(b"zz\r\nabc\r\n0\r\n\r\n", CHUNKED), 400, "bad_input", "could not be read"),
    ("body-chunked-no-terminator", "app", put(b"3\r\nabcXX0\r\n\r\n", CHUNKED), 400, "bad_input", "could not be read"),
    ("body-chunked-negative-size", "app", put(b"-5\r\nabc\r\n0\r\n\r\n", CHUNKED), 400, "bad_input", "could not be read"),
    ("body-chunked-not-json", "app", put(chunked(b"{not ", b"json"), CHUNKED), 400, "bad_input", "not valid JSON"),
    ("body-chunked-surrogate", "app", put(chunked(b'{"value": ', b'"\\ud800"}'), CHUNKED), 400, "bad_input", "lone surrogate"),
    # sizes: 413 whichever way the body comes
    ("body-chunked-over-limit", "app", put(chunked(*[b"x" * 65536] * 7), CHUNKED), 413, "too_large", "larger than the limit"),
    ("body-chunked-just-over-limit", "app", put(chunked(b"x" * 394241), CHUNKED), 413, "too_large", "larger than the limit"),
    ("value-one-byte-over", "big", ("PUT", "/kv/seed", {"json": {"value": "x" * 65537}}), 413, "too_large", "65537 bytes"),
    ("value-multibyte-over", "big", ("PUT", "/kv/seed", {"json": {"value": "\u00e9" * 32769}}), 413, "too_large", "65538 bytes"),
    ("value-escaped-over", "big", ("PUT", "/kv/seed", {"data": json.dumps({"value": "\u00e9" * 40000}), "headers": JSON}), 413, "too_large", "80000 bytes"),
    ("body-content-length-over", "big", ("PUT", "/kv/seed", {"data": b"x" * 400000, "headers": JSON}), 413, "too_large", "larger than the limit"),
    # routes and methods
    ("unknown-route", "app", request_bytes("GET", "/no/such/route"), 404, "not_found", "not found"),
    ("root-path", "app", request_bytes("GET", "/"), 404, "not_found", "not found"),
    ("key-encoded-slash", "app", request_bytes("POST", "/write/a%2Fb/v"), 404, "not_found", "not found"),
    ("write-missing-value", "app", request_bytes("POST", "/write/seed"), 404, "not_found", "not found"),
    ("write-empty-value", "app", request_bytes("POST", "/write/seed/"), 404, "not_found", "not found"),
    ("double-slash-read", "app", request_bytes("GET", "/read//seed"), 404, "not_found", "not found"),
    ("encoded-slash-first", "app", request_bytes("GET", "/read/%2Fseed"), 404, "not_found", "not found"),
    ("write-extra-segment", "app", request_bytes("POST", "/write/seed/v/extra"), 404, "not_found", "not found"),
    ("delete-kv", "app", request_bytes("DELETE", "/kv/seed"), 405, "method_not_allowed", "not allowed"),
    ("patch-kv", "app", request_bytes("PATCH", "/kv/seed", b'{"value": "x"}', JSON), 405, "method_not_allowed", "not allowed"),
    ("options-kv", "app", request_bytes("OPTIONS", "/kv/seed"), 405, "method_not_allowed", "not allowed"),
    ("post-read", "app", request_bytes("POST", "/read/seed"), 405, "method_not_allowed", "not allowed"),
    ("get-write", "app", request_bytes("GET", "/write/seed/v"), 405, "method_not_allowed", "not allowed"),
    ("put-write", "app", request_bytes("PUT", "/write/seed/v"), 405, "method_not_allowed", "not allowed"),
    ("unknown-method", "app", request_bytes("FOO", "/kv/seed"), 405, "method_not_allowed", "not allowed"),
    ("trace-health", "app", request_bytes("TRACE", "/health"), 405, "method_not_allowed", "not allowed"),
    # refused by gunicorn itself, answered in the same JSON shape
    ("request-line-too-long", "gunicorn", request_bytes("POST", "/write/seed/" + "v" * 9000), 414, "too_large", "request line is too long"),
    ("invalid-method-chars", "gunicorn", request_bytes("G@T", "/health"), 400, "bad_input", "invalid HTTP method"),
    ("lowercase-method", "gunicorn", request_bytes("get", "/health"), 400, "bad_input", "invalid HTTP method"),
    ("http-version-3-7", "gunicorn", b"GET /health HTTP/3.7\r\nHost: x\r\n\r\n", 400, "bad_input", "HTTP version"),
    ("http-version-garbage", "gunicorn", b"GET /health HTTP/x.y\r\nHost: x\r\n\r\n", 400, "bad_input", "HTTP version"),
    ("request-line-no-version", "gunicorn", b"GET /health\r\nHost: x\r\n\r\n", 400, "bad_input", "request line"),
    ("request-line-double-space", "gunicorn", b"GET  /health HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_input", "request line"),
    ("header-name-with-space", "gunicorn", b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", 400, "bad_input", "malformed header"),
    ("header-without-colon", "gunicorn", b"GET /health HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400, "bad_input", "malformed header"),
    ("header-obsolete-folding", "gunicorn", b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: b\r\n  folded\r\n\r\n", 400, "bad_input", "malformed header"),
    ("header-nul-in-value", "gunicorn", b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: b\x00c\r\n\r\n", 400, "bad_input", "malformed header"),
    ("too-many-headers", "gunicorn", b"GET /health HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(150)) + b"\r\n", 431, "too_large", "too many headers"),
    ("header-too-large", "gunicorn", b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431, "too_large", "header too large"),
    ("content-length-negative", "gunicorn", b"PUT /kv/seed HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "bad_input", "malformed header"),
    ("content-length-not-a-number", "gunicorn", b"PUT /kv/seed HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n", 400, "bad_input", "malformed header"),
    ("content-length-twice", "gunicorn", b"PUT /kv/seed HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", 400, "bad_input", "malformed header"),
    ("content-length-and-chunked", "gunicorn", b"PUT /kv/seed HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "bad_input", "malformed header"),
    ("transfer-encoding-gzip", "gunicorn", b"PUT /kv/seed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400, "bad_input", "malformed header"),
    ("transfer-encoding-chunked-gzip", "gunicorn", b"PUT /kv/seed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400, "bad_input", "malformed header"),
    ("expect-unknown", "gunicorn", b"PUT /kv/seed HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\n{}", 417, "bad_input", "Expect"),
]


@pytest.fixture
def seeded(live):
    """A stack holding data on every node (a key, and an AP hint's worth of state), so any change shows."""
    for service in ("cp", "ap"):
        assert requests.post(f"{live.config.service_url(service)}/write/seed/{service}-original",
                             timeout=5).status_code == 200
    return live


@pytest.mark.parametrize("service", ["cp", "ap"])
@pytest.mark.parametrize("name,how,sent,status,code,words", CASES, ids=[c[0] for c in CASES])
def test_hostile_input_gets_a_clear_error_and_changes_nothing(seeded, service, name, how, sent, status,
                                                             code, words):
    before = stored(seeded)
    if how == "big":
        method, path, kwargs = sent
        answer = send_requests(seeded.config.service_url(service), method, path, **dict(kwargs))
    else:
        answer = send_raw(seeded.config.service_ports[service], sent)
    ensure_clear_error(answer, status, code, words, own_request_id=how != "gunicorn")
    assert stored(seeded) == before, f"{name} changed stored data"
    assert requests.get(seeded.config.service_url(service) + "/health", timeout=5).status_code == 200


def test_case_names_are_unique():
    names = [c[0] for c in CASES]
    assert len(names) == len(set(names)) and len(names) >= 100


def test_request_ids_are_unique_across_workers(live):
    """Each worker makes its own IDs: 400 answers on fresh connections, from both workers, no repeat."""
    ids, pids = [], set()
    for service in ("cp", "ap"):
        for _ in range(200):
            r = requests.get(live.config.service_url(service) + "/health", timeout=5)
            ids.append(r.headers["X-Request-ID"])
            pids.add(r.json()["pid"])
    assert len(pids) == 4, "both workers of both services should have answered"
    assert len(set(ids)) == len(ids)
