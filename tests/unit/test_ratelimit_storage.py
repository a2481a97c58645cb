"""The rate-limit storage limits like limits' MemoryStorage, expires windows, and starts no threads."""
from __future__ import annotations

import threading
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from app.ratelimit import SCHEME, SweepingMemoryStorage


def test_scheme_is_registered_and_limits():
    storage = storage_from_string(f"{SCHEME}://")
    assert isinstance(storage, SweepingMemoryStorage)
    limiter = FixedWindowRateLimiter(storage)
    five = parse("5 per second")
    assert [limiter.hit(five, "client") for _ in range(7)] == [True] * 5 + [False] * 2
    assert limiter.hit(five, "other-client")


def test_window_resets_and_expired_keys_are_swept(monkeypatch):
    storage = SweepingMemoryStorage()
    limiter = FixedWindowRateLimiter(storage)
    one = parse("1 per second")
    assert limiter.hit(one, "a") and not limiter.hit(one, "a")
    time.sleep(1.05)
    assert limiter.hit(one, "a")
    storage.incr("stale", expiry=0.01)
    time.sleep(0.02)
    monkeypatch.setattr(storage, "_next_sweep", 0.0)
    storage.incr("fresh", expiry=10)  # triggers the inline sweep
    assert "stale" not in storage.storage and "fresh" in storage.storage


def test_no_thread_per_request():
    storage = SweepingMemoryStorage()
    limiter = FixedWindowRateLimiter(storage)
    many = parse("100000 per minute")
    started = []
    original = threading.Thread.start
    threading.Thread.start = lambda self: started.append(self) or original(self)
    try:
        for i in range(500):
            limiter.hit(many, f"client-{i % 3}")
    finally:
        threading.Thread.start = original
    assert started == []
