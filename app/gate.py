"""A first-come, first-served gate: at most N holders at once, the rest wait in arrival order.

gevent's (and threading's) semaphores let a newcomer take a slot freed a moment before the longest
waiter is woken, so under steady load a waiter can be passed over again and again: a long latency
tail. This gate hands a freed slot straight to the longest waiter instead.
"""
from __future__ import annotations

import threading
from collections import deque
from contextlib import contextmanager


class FairGate:
    """At most ``slots`` holders at once; waiters get a slot in the order they asked for one."""

    def __init__(self, slots: int):
        self._free = slots
        self._waiters: deque = deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                return
            turn = threading.Event()
            self._waiters.append(turn)
        try:
            turn.wait()  # release() hands this waiter its slot
        except BaseException:  # killed while waiting (e.g. a worker's graceful timeout)
            with self._lock:
                if turn in self._waiters:
                    self._waiters.remove(turn)
                    raise
            self.release()  # the slot arrived anyway: pass it on
            raise

    def release(self) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().set()  # the slot passes on, never back to the pool
            else:
                self._free += 1

    @contextmanager
    def held(self):
        self.acquire()
        try:
            yield
        finally:
            self.release()
