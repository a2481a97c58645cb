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

from chaos.observers.samplers import Snapshotter
from chaos.run.protocols import Observer
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


class SentinelObserver(Observer):
    """The run's observer of the Sentinels (chaos/run/protocols.Observer): a SentinelWatcher from
    just before the workload until the steady state after, so the heal's demotion is recorded too."""

    def __init__(self):
        self.watcher: SentinelWatcher | None = None

    def start(self, run) -> None:
        self.watcher = SentinelWatcher(run.stack.native.sentinels, run.rec)
        self.watcher.start()

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()

    def notes(self) -> list[str]:
        return self.watcher.notes() if self.watcher is not None else []


class NativeSnapshots(Observer):
    """Once the faults are over, the native clients only read, and the native nodes are snapshotted
    (phase ``native-after-heal``) until two identical rounds: the old primary has been demoted and
    resynced. Apart from the g nodes' snapshots, whose records are other services'."""

    PHASE = "native-after-heal"

    def __init__(self, after_heal):
        self.after_heal = after_heal
        self.snapshotter = None

    def faults_over(self, run) -> None:
        if self.snapshotter is not None or "native" not in self.after_heal.services:
            return
        run.workload.stop_writes(["native"])
        nodes = dict(run.stack.native.nodes)
        h = self.after_heal
        self.snapshotter = Snapshotter(nodes, [f"{run.run_id}:native:"], run.rec, h.snapshot_every_s, h.within_s,
                                       phase=self.PHASE)
        self.snapshotter.start()

    def settle(self, run) -> None:
        if self.snapshotter is not None:
            self.snapshotter.join(self.after_heal.within_s + 10)
            self.snapshotter.halt.set()

    def notes(self) -> list[str]:
        s = self.snapshotter
        if s is None:
            return []
        return [f"native nodes {'identical' if s.converged else 'NOT identical'} after {s.rounds} snapshot rounds"]
