"""What one HTTP answer means, to the load test (ok, error, refusal) and to the history (ok, fail, info)."""
from __future__ import annotations

import json
from dataclasses import dataclass

from harness.outcomes import classify


@dataclass(frozen=True)
class Answer:
    """The parts of a response that the thresholds and the history need."""

    status: int | None  # None: no HTTP answer at all (refused connection, reset, timeout)
    body: dict | None
    transport_error: str | None = None

    @property
    def kind(self) -> str:
        """ok, refusal (a 503 that states an outcome: the service declines on purpose) or error."""
        s, b = self.status, self.body or {}
        if s is None:
            return "error"
        if 200 <= s < 300 or (s == 404 and "value" in b):
            return "ok"  # a read of an absent key is an answer, not an error
        if s == 503 and b.get("outcome"):
            return "refusal"
        return "error"

    @property
    def completion(self) -> str:
        """The history's completion type, by the same rule the chaos workload uses."""
        if self.status is None:
            return classify(None, None, RuntimeError(self.transport_error or "no answer"))
        return classify(self.status, self.body)

    @property
    def outcome(self) -> str | None:
        return (self.body or {}).get("outcome")

    def describe(self) -> str:
        """A short failure text for Locust's failure table; refusals name their outcome."""
        if self.status is None:
            return f"no answer: {self.transport_error}"
        err = (self.body or {}).get("error")
        code = err.get("code") if isinstance(err, dict) else None
        if self.kind == "refusal":
            return f"{self.status} refused (outcome={self.outcome})"
        return f"{self.status} {code or 'unexpected answer'}"

    @property
    def error_message(self) -> str | None:
        if self.status is None:
            return self.transport_error
        err = (self.body or {}).get("error")
        return err.get("message") if isinstance(err, dict) else None


def answer_of(response, exception=None) -> Answer:
    """Read a FastHttpUser response (status 0 means no answer arrived) into an Answer."""
    status = getattr(response, "status_code", 0) or None
    if status is None:
        exc = exception or getattr(response, "error", None)
        return Answer(None, None, f"{type(exc).__name__}: {str(exc)[:200]}" if exc else "no answer")
    try:
        body = json.loads(response.content or b"null")
    except (ValueError, TypeError):
        body = None
    return Answer(status, body if isinstance(body, dict) else None)
