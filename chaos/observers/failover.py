"""Watch the Sentinels: every event they publish becomes a ClusterEvent in the run's history.

Each Sentinel publishes what it sees and does on its own pub/sub channels (``+sdown``, ``+odown``,
``+switch-master``, ``+convert-to-slave``...). One thread per Sentinel subscribes to all of them, so
the history says when the failover happened, as the Sentinels saw it, beside the faults and the
operations; the report draws them on the timeline. Hello messages between Sentinels are skipped.
"""
from __future__ import annotations

import logging
import threading

import redis

from harness.history import ClusterEvent

log = logging.getLogger("caplab.failover")
SKIPPED = {"__sentinel__:hello"}


class SentinelWatcher:
    """An observer of a stack's Sentinels; ``start`` subscribes, ``stop`` unsubscribes (bounded)."""

    def __init__(self, sentinels, recorder):
        self.sentinels, self.recorder = list(sentinels), recorder
        self._halt = threading.Event()
        self._threads: list[threading.Thread] = []
        self.errors: list[str] = []
        self.count = 0

    def start(self, run=None) -> None:
        if run is not None and getattr(run, "rec", None) is not None:
            self.recorder = run.rec
        for s in self.sentinels:
            pubsub = s.client().pubsub(ignore_subscribe_messages=True)
            pubsub.psubscribe("*")  # subscribed before start() returns: nothing is missed after
            t = threading.Thread(target=self._listen, args=(s.name, pubsub), daemon=True,
                                 name=f"watch-{s.name}")
            t.start()
            self._threads.append(t)

    def _listen(self, source: str, pubsub) -> None:
        try:
            while not self._halt.is_set():
                try:
                    msg = pubsub.get_message(timeout=0.2)
                except redis.RedisError as exc:  # the Sentinel went away: say so once, stop
                    self.errors.append(f"{source}: {exc}")
                    return
                if not msg or msg.get("channel") in SKIPPED:
                    continue
                t, wall = self.recorder.now()
                self.recorder.write(ClusterEvent(source, _text(msg["channel"]), _text(msg["data"]), t, wall))
                self.count += 1
        finally:
            pubsub.close()

    def stop(self) -> None:
        self._halt.set()
        for t in self._threads:
            t.join(timeout=2)
        self._threads = []

    def notes(self) -> list[str]:
        lines = [f"Sentinel events recorded: {self.count}"]
        return lines + [f"Sentinel watcher: {e}" for e in self.errors]


def _text(x) -> str:
    return x.decode(errors="replace") if isinstance(x, bytes) else str(x)
