"""Property-based tests over the HTTP API of both services, on a real stack (Hypothesis).

Arbitrary keys, values, bodies, methods and content types, sent byte for byte. The invariant:
every answer is the JSON error shape or a JSON success, with a documented status and code, never a
500; and nothing stored changes unless the answer is a 2xx, in which case the node holds exactly
the value that was sent. Fixed seed (derandomize) and a bounded number of examples, so `make test`
runs the same examples every time.
"""
from __future__ import annotations

import json
from urllib.parse import quote, quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import CODES
from app.records import record_key
from tests.integration.hostile import request_bytes, send_raw, stored

pytestmark = pytest.mark.integration
EXAMPLES = 120  # per service and property
PROPERTY = settings(derandomize=True, max_examples=EXAMPLES, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SUCCESS = {200}
DOCUMENTED_STATUS = set(CODES) | SUCCESS

# Keys: mostly near the rules (valid characters, lengths around the limit), some anything at all.
VALID_KEY = st.from_regex(r"[A-Za-z0-9._:\-]{1,210}", fullmatch=True)
ANY_TEXT = st.text(min_size=0, max_size=40)
# A valid key with one character that does not belong before, inside or after it: where the
# pattern's anchors and character class are tested.
EDGE = st.sampled_from(["\n", "\r\n", "\r", "\x00", " ", "\t", "%", "/", "\u00e9", "\u2028", "\uff11", "\x7f"])
EDGE_KEY = st.tuples(VALID_KEY.filter(lambda k: len(k) < 100), EDGE, st.sampled_from(["before", "inside", "after"])).map(
    lambda t: {"before": t[1] + t[0], "inside": t[0][:1] + t[1] + t[0][1:], "after": t[0] + t[1]}[t[2]])
KEY_BYTES = st.one_of(VALID_KEY.map(str.encode), EDGE_KEY.map(str.encode),
                      ANY_TEXT.map(lambda s: s.encode("utf-8", "surrogatepass")), st.binary(max_size=30))
VALUE_BYTES = st.one_of(ANY_TEXT.map(lambda s: s.encode("utf-8", "surrogatepass")), st.binary(max_size=60))
JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), ANY_TEXT)
JSON_ANY = st.recursive(JSON_LEAF, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                           st.dictionaries(ANY_TEXT, inner, max_size=3)),
                        max_leaves=12)


def body_strategy():
    """Bodies: a good {"value": ...} with any text, any JSON, raw text, raw bytes, deep nesting."""
    good = ANY_TEXT.map(lambda s: json.dumps({"value": s}).encode())
    surrogate = st.sampled_from(["\\ud800", "\\udfff", "\\ud83d\\ude00", "\\u0000", "\\\\ud800"]).map(
        lambda esc: b'{"value": "a' + esc.encode() + b'"}')
    deep = st.integers(1, 3000).map(lambda n: b'{"value": ' + b"[" * n + b"]" * n + b"}")
    return st.one_of(good, surrogate, deep, JSON_ANY.map(lambda v: json.dumps(v).encode()),
                     JSON_ANY.map(lambda v: json.dumps({"value": v}).encode()),
                     ANY_TEXT.map(lambda s: s.encode("utf-8", "surrogatepass")), st.binary(max_size=80))


def path_part(raw: bytes) -> str:
    return quote_from_bytes(raw, safe="")


REQUEST = st.one_of(
    st.tuples(st.just("POST"), KEY_BYTES, VALUE_BYTES).map(
        lambda t: ("write", t[1], request_bytes("POST", f"/write/{path_part(t[1])}/{path_part(t[2])}"), t[2])),
    st.tuples(st.sampled_from(["GET", "HEAD"]), st.sampled_from(["read", "kv"]), KEY_BYTES).map(
        lambda t: ("read", t[2], request_bytes(t[0], f"/{t[1]}/{path_part(t[2])}"), None)),
    st.tuples(KEY_BYTES, body_strategy(),
              st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", None])).map(
        lambda t: ("put", t[0], request_bytes("PUT", f"/kv/{path_part(t[0])}", t[1],
                                              {"Content-Type": t[2], "Content-Length": str(len(t[1]))}), t[1])),
    st.tuples(st.sampled_from(["DELETE", "PATCH", "OPTIONS", "FOO", "CONNECT"]), KEY_BYTES).map(
        lambda t: ("other", t[1], request_bytes(t[0], f"/kv/{path_part(t[1])}"), None)),
)


def sent_value(kind: str, payload: bytes):
    """The value a successful write must have stored."""
    if kind == "write":
        return payload.decode("utf-8")
    return json.loads(payload)["value"]


def documented_key(raw: bytes) -> bool:
    """The key rule of docs/api.md, restated: 1..200 of A-Z a-z 0-9 . _ : - and nothing else."""
    allowed = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-")
    return 1 <= len(raw) <= 200 and set(raw) <= allowed


def node_values(stack, key: str) -> set:
    values = set()
    for node in stack.nodes.values():
        with node.client() as c:
            values.add(c.hget(record_key(key), "v"))
    return values


def check_answer(stack, service: str, kind: str, key: bytes, data: bytes, payload):
    before = stored(stack)
    answer = send_raw(stack.config.service_ports[service], data)
    assert answer.status in DOCUMENTED_STATUS, (answer.status, answer.body[:200])
    assert answer.status != 500
    if data.startswith(b"HEAD "):
        assert answer.body == b""
    else:
        assert answer.headers.get("content-type", "").startswith("application/json"), answer.headers
        body = answer.json()
        if answer.status not in SUCCESS:
            assert body["error"]["code"] == CODES[answer.status] or answer.status == 404, body
            assert body["error"]["message"] and body["error"]["request_id"]
    looked_up = answer.status == 404 and answer.body and "value" in answer.json()  # an absent key, not a route
    if answer.status in SUCCESS or looked_up:
        assert documented_key(key), f"{kind} of key {key!r} answered {answer.status}: the key breaks the rules"
    if answer.status in SUCCESS and kind == "write":
        payload.decode("utf-8")  # a value that is not UTF-8 must never be accepted
    if answer.status in SUCCESS and kind in ("write", "put"):
        value = sent_value(kind, payload)
        assert answer.json()["value"] == value
        assert node_values(stack, key.decode()) == {value.encode()}, "the nodes hold another value"
    else:
        assert stored(stack) == before, f"{kind} answered {answer.status} but stored data changed"


@pytest.mark.parametrize("service", ["cp", "ap"])
def test_any_request_gets_a_documented_json_answer_and_changes_data_only_on_2xx(live, service):
    for s in ("cp", "ap"):
        send_raw(live.config.service_ports[s], request_bytes("POST", "/write/seed/original"))

    @PROPERTY
    @given(REQUEST)
    def prop(request):
        kind, key, data, payload = request
        check_answer(live, service, kind, key, data, payload)

    prop()


@pytest.mark.parametrize("service", ["cp", "ap"])
def test_any_text_value_round_trips_exactly(live, service):
    """A value that is valid Unicode and within the limit is stored and read back unchanged."""
    url_port = live.config.service_ports[service]

    @PROPERTY
    @given(VALID_KEY.filter(lambda k: len(k) <= 200), st.text(max_size=200))
    def prop(key, value):
        answer = send_raw(url_port, request_bytes("PUT", f"/kv/{quote(key)}", json.dumps({"value": value}).encode(),
                                                  {"Content-Type": "application/json"}))
        assert answer.status == 200, answer.body[:300]
        read = send_raw(url_port, request_bytes("GET", f"/kv/{quote(key)}"))
        assert read.status == 200 and read.json()["value"] == value

    prop()


@pytest.mark.parametrize("service", ["cp", "ap"])
def test_a_key_is_accepted_exactly_when_the_documented_rule_says(live, service):
    """Reads of any key: looked up (200/404 with a value field) if it keeps the rule, else 400."""
    port = live.config.service_ports[service]

    @PROPERTY
    @given(st.one_of(EDGE_KEY.map(str.encode), KEY_BYTES))
    def prop(key):
        answer = send_raw(port, request_bytes("GET", f"/read/{path_part(key)}"))
        body = answer.json()
        looked_up = answer.status == 200 or (answer.status == 404 and "value" in body)
        no_route = b"/" in key or not key
        assert looked_up == documented_key(key), (key, answer.status, body)
        if not looked_up and not no_route:
            assert answer.status == 400 and body["error"]["code"] == "bad_input", body

    prop()
