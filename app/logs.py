"""JSON logs, one object a line, each carrying the request ID of the request that caused it."""
from __future__ import annotations

import json
import logging
import sys
import time

from flask import g, has_request_context

# Attributes every LogRecord has; anything else was passed in ``extra`` and goes into the JSON.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_SECRET_WORDS = ("password", "secret", "token")


class JSONFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, event, message, request_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                  + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "event": getattr(record, "event", None) or "LOG",
            "message": record.getMessage(),
        }
        if has_request_context():
            out["request_id"] = getattr(g, "request_id", None)
        for k, v in vars(record).items():
            if k not in _STANDARD and k not in out and not any(w in k.lower() for w in _SECRET_WORDS):
                out[k] = v
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def init_logging(level: str) -> None:
    """Send caplab's logs to stderr as JSON lines at ``level``."""
    root = logging.getLogger("caplab")
    root.setLevel(level)
    if not any(getattr(h, "_caplab", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JSONFormatter())
        handler._caplab = True
        root.addHandler(handler)
    root.propagate = False
