"""How an HTTP answer becomes the completion of an operation: ok, fail or info (Jepsen's types)."""
from __future__ import annotations

from typing import Any


def classify(status: int | None, body: Any = None, exc: BaseException | None = None) -> str:
    """Return the completion type (ok, fail or info) of an HTTP answer, or of the exception raised instead."""
    if exc is not None:
        # A timeout or dropped connection may have reached the service: the write may have happened.
        return "info"
    if status is None:
        return "info"
    if 200 <= status < 300:
        return "ok"
    if status == 404 and isinstance(body, dict) and "value" in body:
        return "ok"  # a read of an absent key: the data endpoints answer 404 with value null
    if 400 <= status < 500:
        return "fail"  # bad input or rate limited: refused before touching any node
    outcome = body.get("outcome") if isinstance(body, dict) else None
    if status == 503 and outcome == "not_applied":
        return "fail"
    return "info"  # 503 "unknown", or any other 5xx: the service cannot vouch for the outcome
