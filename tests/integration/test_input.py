"""Bad input gets 400 or 413 with a JSON error naming the problem, and nothing is written."""
from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.integration


def stored_keys(stack):
    keys = set()
    for node in stack.nodes.values():
        with node.client() as c:
            keys |= {k.decode() for k in c.keys("*")}
    return keys


@pytest.mark.parametrize("service", ["cp", "ap"])
@pytest.mark.parametrize("method,path,kwargs,status,code,words", [
    ("POST", "/write/bad%20key/v", {}, 400, "bad_input", "key may contain only"),
    ("POST", "/write/" + "k" * 201 + "/v", {}, 400, "bad_input", "1 to 200 characters"),
    ("PUT", "/kv/ok", {"json": {"value": "x" * 65537}}, 413, "too_large", "65537 bytes"),
    ("PUT", "/kv/ok", {"data": b"{not json", "headers": {"Content-Type": "application/json"}},
     400, "bad_input", "JSON object"),
    ("PUT", "/kv/ok", {"json": {"value": 12}}, 400, "bad_input", "JSON string"),
    ("PUT", "/kv/ok", {"json": ["value"]}, 400, "bad_input", "JSON object"),
    ("PUT", "/kv/ok", {"data": b"x" * (65536 * 6 + 2048),
                       "headers": {"Content-Type": "application/json"}}, 413, "too_large", "larger than"),
    ("GET", "/no/such/route", {}, 404, "not_found", "not found"),
    ("DELETE", "/kv/ok", {}, 405, "method_not_allowed", "not allowed"),
])
def test_bad_input_is_refused_and_nothing_is_written(live, service, method, path, kwargs, status, code, words):
    before = stored_keys(live)
    kwargs = dict(kwargs)  # parametrize shares the dict between both services
    headers = {"X-Request-ID": "req-123", **kwargs.pop("headers", {})}
    r = requests.request(method, live.config.service_url(service) + path, timeout=5, headers=headers, **kwargs)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"]["code"] == code
    assert words.lower() in body["error"]["message"].lower()
    assert body["error"]["request_id"] == "req-123" == r.headers["X-Request-ID"]
    assert stored_keys(live) == before


def test_request_id_is_made_when_missing_or_malformed(live):
    r = requests.get(live.config.service_url("cp") + "/health", timeout=5,
                     headers={"X-Request-ID": "bad id with spaces"})
    assert len(r.headers["X-Request-ID"]) == 32 and " " not in r.headers["X-Request-ID"]


def test_largest_allowed_value_round_trips(live):
    url = live.config.service_url("ap")
    value = "é" * (65536 // 2)  # exactly MAX_VALUE_BYTES in UTF-8
    assert requests.put(url + "/kv/big", json={"value": value}, timeout=5).status_code == 200
    assert requests.get(url + "/kv/big", timeout=5).json()["value"] == value
