"""The gunicorn worker of both services: gevent, answering gunicorn's own refusals in JSON.

gevent gives each connection a greenlet, so a client that sends its request one byte at a time
holds a greenlet, not the worker: /health and other clients are still served (docs/design.md).
gunicorn refuses some requests before the app sees them (a request line too long, a bad header, an
invalid method) and writes an HTML page for them; this worker writes the API's one JSON error shape
instead, with the status gunicorn chose and a request ID like any other answer.
"""
from __future__ import annotations

import json

from gunicorn import util
from gunicorn.http import errors as http
from gunicorn.workers.ggevent import GeventWorker
from gunicorn.workers.sync import SyncWorker

from .errors import code_for
from .request_ids import new_request_id

# gunicorn's refusal -> (status, what the client should do about it)
REFUSALS = [
    (http.LimitRequestLine, 414, "the request line is too long (at most 8190 bytes); send long "
                                 "values in the body of PUT /kv/<key>"),
    (http.LimitRequestHeaders, 431, "too many headers or a header too large; send fewer or shorter ones"),
    (http.InvalidRequestMethod, 400, "invalid HTTP method; use GET, POST or PUT (docs/api.md)"),
    (http.InvalidHTTPVersion, 400, "invalid HTTP version; use HTTP/1.0 or HTTP/1.1"),
    (http.InvalidRequestLine, 400, "invalid request line; send 'METHOD /path HTTP/1.1'"),
    (http.UnsupportedTransferCoding, 501, "unsupported Transfer-Encoding; send the body with "
                                          "Content-Length or Transfer-Encoding: chunked"),
    (http.ExpectationFailed, 417, "unsupported Expect header; only 100-continue is understood"),
    ((http.InvalidChunkSize, http.ChunkMissingTerminator, http.InvalidChunkExtension), 400,
     "malformed chunked body; send valid chunks or use Content-Length"),
    ((http.InvalidHeader, http.InvalidHeaderName, http.ObsoleteFolding, http.InvalidSchemeHeaders), 400,
     "malformed header; send each header as 'Name: value' on one line, once"),
    ((http.InvalidProxyLine, http.InvalidProxyHeader, http.ForbiddenProxyRequest), 400,
     "PROXY protocol is not accepted here"),
    (http.ParseException, 400, "malformed HTTP request"),
]
REASONS = {400: "Bad Request", 414: "URI Too Long", 417: "Expectation Failed",
           431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented"}


def refusal(exc: BaseException) -> tuple[int, str]:
    """The status and message for something gunicorn refused (500 for anything else)."""
    if isinstance(exc, (http.InvalidResponseHeader, http.InvalidResponseHeaderName)):
        return 500, "internal error; see the service log"  # the app's fault, not the client's
    for kinds, status, hint in REFUSALS:
        if isinstance(exc, kinds):
            detail = str(exc)[:200]
            return status, f"{hint} ({detail})" if detail else hint
    return 500, "internal error; see the service log for this request_id"


def error_response(status: int, message: str, request_id: str) -> bytes:
    """A complete HTTP/1.1 response with the API's error shape; the connection closes after it."""
    body = json.dumps({"error": {"code": code_for(status), "message": message,
                                 "request_id": request_id}}).encode()
    head = (f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"X-Request-ID: {request_id}\r\n\r\n")
    return head.encode("latin-1") + body


class CaplabWorker(GeventWorker):
    """gunicorn's gevent worker with JSON refusals."""

    def handle_error(self, req, client, addr, exc):
        status, message = refusal(exc)
        rid = new_request_id()
        ip = (addr or ("",))[0]
        if status == 500:
            self.log.exception("error handling request from ip=%s (request_id %s)", ip, rid)
        else:
            self.log.warning("refused request from ip=%s with %s: %s (request_id %s)", ip, status, exc, rid)
        try:
            util.write_nonblock(client, error_response(status, message, rid))
        except Exception:  # noqa: BLE001 - the client may be gone; nothing more to tell it
            self.log.debug("could not send the error answer")


class CaplabSyncWorker(SyncWorker):
    """gunicorn's sync worker with JSON refusals: kept to measure what gevent costs (make bench)."""

    handle_error = CaplabWorker.handle_error
