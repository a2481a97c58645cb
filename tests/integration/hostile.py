"""Helpers for hostile-input tests: a raw HTTP/1.1 client, stored-data snapshots, the error shape."""
from __future__ import annotations

import json
import socket
from dataclasses import dataclass

import requests

from app.errors import CODES

DOCUMENTED = set(CODES.values())
RID = "hostile-case-1"


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


def request_bytes(method: str, path: str, body: bytes = b"", headers: dict | None = None) -> bytes:
    """One request exactly as given: no quoting or normalising of the path, as a client could send."""
    head = {"Host": "127.0.0.1", "Connection": "close", "X-Request-ID": RID, **(headers or {})}
    if body and "Transfer-Encoding" not in head:
        head.setdefault("Content-Length", str(len(body)))
    lines = "".join(f"{k}: {v}\r\n" for k, v in head.items() if v is not None)
    return f"{method} {path} HTTP/1.1\r\n{lines}\r\n".encode("latin-1") + body


def send_raw(port: int, data: bytes, timeout: float = 10.0) -> Answer:
    """Send bytes on a fresh connection; read the one answer until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    length = int(headers.get("content-length", len(body)))
    return Answer(status, headers, body[:length])


def send_requests(url: str, method: str, path: str, **kwargs) -> Answer:
    """Send with requests (for large bodies the server may refuse before reading them)."""
    headers = {"X-Request-ID": RID, **kwargs.pop("headers", {})}
    r = requests.request(method, url + path, headers=headers, timeout=10, **kwargs)
    return Answer(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content)


def stored(stack) -> dict:
    """Everything on every node, byte for byte (DUMP of every key)."""
    out = {}
    for name, node in stack.nodes.items():
        with node.client() as c:
            out[name] = {k: c.dump(k) for k in sorted(c.keys("*"))}
    return out


def ensure_clear_error(answer: Answer, status: int, code: str, words: str, own_request_id: bool = True):
    """The one JSON error shape, the expected status and code, and a message with ``words``."""
    assert answer.status == status, (answer.status, answer.body[:300])
    assert answer.headers.get("content-type", "").startswith("application/json"), answer.headers
    body = answer.json()
    assert set(body["error"]) == {"code", "message", "request_id"}, body
    assert body["error"]["code"] == code and code in DOCUMENTED, body
    message = body["error"]["message"]
    assert words.lower() in message.lower(), message
    assert "Traceback" not in message and "<html" not in message.lower()
    assert body["error"]["request_id"] == answer.headers.get("x-request-id")
    if own_request_id:
        assert body["error"]["request_id"] == RID
