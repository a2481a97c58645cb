"""create_app(mode): config -> nodes -> breakers -> store -> blueprints. Nothing connects at import."""
from __future__ import annotations

import logging
import time

from flask import Flask, g, jsonify, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException

from .config import load_settings
from .errors import APIError, code_for
from .inputs import ensure_path_utf8
from .request_ids import request_id_from

log = logging.getLogger("caplab.app")
OPERATIONS = {"api.write_path": "write", "api.write_kv": "write", "api.read_path": "read",
              "api.read_kv": "read", "health.health": "health", "health.ready": "ready",
              "health.circuit_breaker": "circuit_breaker", "metrics.metrics_view": "metrics"}
# Probes and scrapes must keep working when a client is over its limit.
EXEMPT_FROM_LIMITS = {"health.health", "health.ready", "health.circuit_breaker", "metrics.metrics_view"}


class NoSessions(SecureCookieSessionInterface):
    """The services keep no session: skip parsing a session cookie on every request (4% of a write)."""

    def open_session(self, app, request):
        return None  # Flask then uses a null session and never saves one


def create_app(mode: str | None = None, config: dict | None = None, start_maintenance: bool = True):
    """Build the service for ``mode`` ('cp' or 'ap'); ``config`` overrides environment variables."""
    from . import api, health, metrics
    from .ratelimit import RateLimiter
    from .logs import init_logging
    from .service import Service

    settings = load_settings(mode=mode, **(config or {}))
    init_logging(settings.log_level)
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.secret_key, JSON_SORT_KEYS=False,
                      # JSON escaping can grow a value up to 6x; the value check gives the exact limit.
                      MAX_CONTENT_LENGTH=settings.max_value_bytes * 6 + 1024,
                      # OPTIONS would answer 200 with an empty, non-JSON body: refuse it with 405.
                      PROVIDE_AUTOMATIC_OPTIONS=False)
    app.session_interface = NoSessions()
    # Werkzeug would answer /read//k with an HTML 308 to /read/k; a path is taken as it is sent.
    app.url_map.merge_slashes = False
    service = Service(settings, start_maintenance=start_maintenance)
    app.extensions["caplab"] = service

    limiter = RateLimiter(settings.rate_limit, exempt_endpoints=EXEMPT_FROM_LIMITS)
    _install_hooks(app, settings.mode, limiter)
    for bp in (health.bp, metrics.bp, api.bp):
        app.register_blueprint(bp)
    log.info("%s service ready to start: nodes %s", settings.mode.upper(),
             ", ".join(map(str, settings.nodes)), extra={"event": "STARTUP", "mode": settings.mode})
    return app


def _error_body(code, message, **extra):
    return {"error": {"code": code, "message": message, "request_id": g.get("request_id")}, **extra}


def _install_hooks(app, mode, limiter):
    from .metrics import LATENCY, REQUESTS

    @app.before_request
    def start_request():
        g.request_id = request_id_from(request.headers.get("X-Request-ID"))
        g.started = time.perf_counter()
        ensure_path_utf8(request.environ.get("PATH_INFO", ""))
        wait = limiter.check(request.endpoint, request.remote_addr or "unknown")
        if wait is not None:
            raise APIError(f"rate limit exceeded ({limiter.describe()}); retry in {wait}s",
                           status=429, code="too_many_requests", headers={"Retry-After": str(wait)})

    @app.after_request
    def finish_request(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        op = OPERATIONS.get(request.endpoint, "other")
        if "started" in g:
            LATENCY.labels(mode=mode, operation=op).observe(time.perf_counter() - g.started)
        REQUESTS.labels(mode=mode, operation=op, status=str(response.status_code)).inc()
        return response

    @app.errorhandler(APIError)
    def api_error(exc: APIError):
        response = jsonify(_error_body(exc.code, exc.message, **exc.extra))
        response.status_code = exc.status
        response.headers.update(exc.headers)
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code, message = code_for(exc.code or 500), exc.description or exc.name
        if exc.code == 413:
            message = f"request body is larger than {app.config['MAX_CONTENT_LENGTH']} bytes"
        elif exc.code == 404:
            message = f"not found: no endpoint {request.method} {request.path}; see docs/api.md"
        elif exc.code == 405:
            message = (f"method {request.method} is not allowed on {request.path}; "
                       f"allowed: {', '.join(sorted(exc.valid_methods or []))}")
        response = jsonify(_error_body(code, message))
        response.status_code = exc.code or 500
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def internal_error(exc: Exception):
        log.exception("unhandled error", extra={"event": "INTERNAL_ERROR"})
        response = jsonify(_error_body("internal", "internal error; see the service log for this request_id"))
        response.status_code = 500
        return response

