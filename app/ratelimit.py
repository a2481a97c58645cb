"""Rate-limit storage: limits' memory storage without a timer thread on the hot path.

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
    """In-process counters for flask-limiter; ``caplab-memory://`` selects it."""

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
