"""One circuit breaker per node per process; every state change becomes a log event and a metric.

Policy, in the words of the domain: only network trouble (redis-py ConnectionError and TimeoutError)
counts against a node. An answer from Redis, even an error answer, shows the network is fine.
pybreaker turns OPEN into HALF_OPEN lazily, on the first call after ``reset_timeout``; the
maintenance loop makes that call (a PING) so an idle worker's breaker does not stay OPEN forever.
"""
from __future__ import annotations

import logging
import time
from collections import deque

import pybreaker
import redis

from .metrics import BREAKER_STATE, BREAKER_TRANSITIONS, STATE_VALUES

log = logging.getLogger("caplab.breaker")
NETWORK_ERRORS = (redis.ConnectionError, redis.TimeoutError)


def is_not_network_error(exc: BaseException) -> bool:
    """Exclude every exception that is not a network failure from the breaker's count."""
    return not isinstance(exc, NETWORK_ERRORS)


class BreakerListener(pybreaker.CircuitBreakerListener):
    """Log each transition as CIRCUIT_BREAKER_STATE_CHANGE and export it."""

    def __init__(self, node: str, mode: str, on_close=None):
        self.node, self.mode, self.on_close = node, mode, on_close
        self.opened_at_wall: float | None = None  # wall clock, for /circuit-breaker
        self.opened_at_mono: float | None = None  # monotonic, for the fail-fast check
        self.last_change_wall: float | None = None
        self.transitions: deque = deque(maxlen=20)  # recent (wall time, from, to), for /circuit-breaker

    def state_change(self, cb, old_state, new_state):
        old = old_state.name if old_state else None
        new = new_state.name
        now = time.time()
        if new == "open":
            self.opened_at_wall, self.opened_at_mono = now, time.monotonic()
        self.last_change_wall = now
        self.transitions.append((now, old, new))
        BREAKER_STATE.labels(node=self.node).set(STATE_VALUES[new])
        BREAKER_TRANSITIONS.labels(node=self.node, state=new).inc()
        log.warning("breaker %s: %s -> %s", self.node, old, new,
                    extra={"event": "CIRCUIT_BREAKER_STATE_CHANGE", "node": self.node,
                           "from_state": old, "to_state": new, "mode": self.mode})
        if new == "closed" and self.on_close is not None:
            self.on_close(self.node)


def make_breaker(node: str, mode: str, fail_max: int, reset_timeout: float, on_close=None):
    """Return (breaker, listener) for one node."""
    listener = BreakerListener(node, mode, on_close)
    breaker = pybreaker.CircuitBreaker(
        fail_max=fail_max, reset_timeout=reset_timeout, name=node,
        exclude=[is_not_network_error], listeners=[listener],
        # Re-raise the network error itself on the tripping call, so callers still know
        # whether the node may have been touched.
        throw_new_error_on_trip=False)
    BREAKER_STATE.labels(node=node).set(0)
    return breaker, listener
