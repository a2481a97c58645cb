"""Rate limiting: the limits library called directly, on a storage without a timer thread.

limits 5.8's MemoryStorage starts a 10 ms ``threading.Timer`` to sweep expired entries whenever
none is alive, that is on about every other request under load (measured: 893 thread starts in
2,000 requests, a third of an AP read's CPU). Fixed-window counters already expire lazily in
``get``; this subclass sweeps the rest inline, at most once a second, and never starts a thread.
"""
from __future__ import annotations

import time

from limits.storage import MemoryStorage

SCHEME = "caplab-memory"
SWEEP_EVERY_SEC = 1.0


class SweepingMemoryStorage(MemoryStorage):
    """In-process rate-limit counters; ``caplab-memory://`` selects it by URI."""

    STORAGE_SCHEME = [SCHEME]  # limits registers storage classes by scheme when they are defined

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()
        self._next_sweep = 0.0

    # MemoryStorage calls self.__schedule_expiry(), i.e. this name, from incr/decr/acquire_entry.
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_EVERY_SEC
            self._MemoryStorage__expire_events()


class RateLimiter:
    """Per-client fixed-window limits, checked once per request from a before_request hook.

    We call ``limits`` directly instead of going through flask-limiter: profiling an AP read under
    load showed flask-limiter's per-request machinery (filtering, evaluation, exemption scopes,
    context) at 17% of the request's time, and the counter update itself at 1% (docs/design.md).
    """

    def __init__(self, limits_text: str, exempt_endpoints: set[str]):
        from limits import parse_many
        from limits.strategies import FixedWindowRateLimiter
        self.limits = parse_many(limits_text)
        self.exempt = exempt_endpoints
        self._limiter = FixedWindowRateLimiter(SweepingMemoryStorage())

    def describe(self) -> str:
        return "; ".join(str(limit) for limit in self.limits)

    def check(self, endpoint: str | None, client: str) -> int | None:
        """Count one request of ``client``; return None if allowed, else seconds until it may retry."""
        if endpoint in self.exempt:
            return None
        for limit in self.limits:
            if not self._limiter.hit(limit, client):
                reset = self._limiter.get_window_stats(limit, client).reset_time
                return max(1, int(reset - time.time()) + 1)
        return None
