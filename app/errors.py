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


# The one table of error codes: every status the services (and their gunicorn) answer with.
CODES = {
    400: "bad_input",            # the request is malformed or its input is invalid
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    414: "too_large",            # request line (path) too long
    417: "bad_input",            # an Expect header other than 100-continue
    429: "too_many_requests",
    431: "too_large",            # headers too many or too large
    500: "internal",
    501: "not_implemented",      # a Transfer-Encoding the server does not implement
    503: "unavailable",
}


def code_for(status: int) -> str:
    """The documented ``code`` for an HTTP status (``bad_input`` for any other 4xx)."""
    return CODES.get(status, "bad_input" if 400 <= status < 500 else "internal")
