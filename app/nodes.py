"""One Redis client per node, with explicit timeouts and retries, guarded by the node's breaker."""
from __future__ import annotations

import logging
import time

import pybreaker
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .breakers import NETWORK_ERRORS, make_breaker
from .metrics import DB_CALLS, DB_FAILURES
from .records import DROP_HINT_IF_CURRENT, STORE_IF_NEWER

log = logging.getLogger("caplab.nodes")
# Requests one worker serves against the nodes at once (app/service.py gates them). Each holds at
# most one connection per node at a time, and the maintenance loop one more: the pool never runs
# dry, so "Too many connections" (a ConnectionError) can never count against a healthy node.
MAX_IN_FLIGHT = 4


class NodeUnavailable(Exception):
    """A node could not serve a call. ``touched`` says whether it may have applied it."""

    def __init__(self, node: str, reason: str, touched: bool):
        super().__init__(f"{node}: {reason}")
        self.node, self.reason, self.touched = node, reason, touched


def _touched(exc: Exception) -> bool:
    """Say whether a failed call may have reached the node.

    redis-py reports failures to connect as "... connecting to ..." (refused, or a connect
    timeout); those never sent the command. Anything else (a read timeout, a reset) may have.
    """
    return "connecting to" not in str(exc).lower()


class Node:
    """A Redis node as one service process sees it: client, script, breaker."""

    def __init__(self, address, settings, on_breaker_close=None):
        self.name = address.name
        self.address = address
        retry = Retry(NoBackoff(), settings.redis_retries)
        self.client = redis.Redis(
            host=address.host, port=address.port, password=settings.redis_password or None,
            socket_timeout=settings.network_timeout_sec,
            socket_connect_timeout=settings.network_timeout_sec,
            retry=retry, retry_on_error=[], retry_on_timeout=False,
            health_check_interval=0, decode_responses=False,
            max_connections=MAX_IN_FLIGHT + 1)
        self.store_script = self.client.register_script(STORE_IF_NEWER)
        self.drop_hint_script = self.client.register_script(DROP_HINT_IF_CURRENT)
        self.calls = DB_CALLS.labels(node=self.name)
        self.breaker, self.listener = make_breaker(
            self.name, settings.mode, settings.breaker_fail_max,
            settings.breaker_reset_timeout_sec, on_breaker_close)

    @property
    def state(self) -> str:
        return self.breaker.current_state

    def allows_call(self) -> bool:
        """Say whether the breaker would let a call through now (OPEN past reset_timeout does)."""
        if self.breaker.current_state != "open":
            return True
        opened = self.listener.opened_at_mono
        return opened is None or time.monotonic() - opened >= self.breaker.reset_timeout

    def call(self, fn, *args, **kwargs):
        """Run ``fn(*args)`` through the breaker; network trouble becomes NodeUnavailable."""
        try:
            return self.breaker.call(self._counted, fn, *args, **kwargs)
        except pybreaker.CircuitBreakerError:
            raise NodeUnavailable(self.name, "circuit breaker open", touched=False) from None
        except NETWORK_ERRORS as exc:
            raise self.unavailable(exc) from None

    def unavailable(self, exc: Exception) -> NodeUnavailable:
        """Count and log a network failure of a call to this node; return it as NodeUnavailable."""
        DB_FAILURES.labels(node=self.name).inc()
        log.warning("node %s: %s", self.name, exc,
                    extra={"event": "DB_CONNECT_FAILURE", "node": self.name, "error": type(exc).__name__})
        return NodeUnavailable(self.name, f"{type(exc).__name__}: {exc}", _touched(exc))

    def _counted(self, fn, *args, **kwargs):
        self.calls.inc()
        return fn(*args, **kwargs)

    def ping(self) -> bool:
        try:
            return bool(self.call(self.client.ping))
        except NodeUnavailable:
            return False

    def describe(self) -> dict:
        lst = self.listener
        return {
            "state": self.state,
            "fail_counter": self.breaker.fail_counter,
            "fail_max": self.breaker.fail_max,
            "reset_timeout_sec": self.breaker.reset_timeout,
            "last_opened_at": _iso(lst.opened_at_wall),
            "last_change_at": _iso(lst.last_change_wall),
            "transitions": [{"at": _iso(t), "from": a, "to": b} for t, a, b in lst.transitions],
        }

    def close(self):
        self.client.close()
        self.client.connection_pool.disconnect()


def _iso(ts):
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"
