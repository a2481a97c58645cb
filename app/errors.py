"""The one exception tree the API answers from, and the one error shape it answers with."""
from __future__ import annotations


class APIError(Exception):
    """An answer other than 200; ``extra`` goes into the JSON body beside ``error``."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, status: int | None = None, code: str | None = None,
                 headers: dict | None = None, **extra):
        super().__init__(message)
        self.message = message
        self.status = status or self.status
        self.code = code or self.code
        self.headers = headers or {}
        self.extra = extra


class BadInput(APIError):
    status, code = 400, "bad_input"


class TooLarge(APIError):
    status, code = 413, "too_large"


class NotFound(APIError):
    status, code = 404, "not_found"


class Unavailable(APIError):
    """The service cannot serve the request safely now. ``outcome`` says whether it may have applied."""

    status, code = 503, "unavailable"

    def __init__(self, message: str, outcome: str, retry_after: int = 1, **extra):
        super().__init__(message, headers={"Retry-After": str(retry_after)}, outcome=outcome, **extra)
        self.outcome = outcome
