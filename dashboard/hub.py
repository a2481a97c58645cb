"""The dashboard's one loop: follow the run, sample when no run is going, make points, fan them out.

Every tick the hub polls the run's history (dashboard/tail.py), makes the points whose tick has
ended (dashboard/feed.py) and hands one frame to each page connected. While no run is going, the
runner's own Sampler (chaos/observers/samplers.py) writes breaker and metric samples into the Feed,
and Prometheus, where it runs, gives request rates and latencies; during a run only the run's
history feeds the page, so the page and the report can never disagree.
"""
from __future__ import annotations

import json
import queue
import threading
import time

import requests

from chaos.observers.samplers import Sampler
from dashboard.feed import Feed
from dashboard.health import stack_health
from dashboard.prometheus import PrometheusRates
from dashboard.tail import RunTail
from stack.config import SERVICES

HEALTH_EVERY_S = 1.0


class Hub:
    def __init__(self, stack, runs_root, tick_s: float = 0.25, keep_s: float = 180.0, prometheus_url: str = ""):
        self.stack = stack
        self.services = SERVICES  # CP and AP side by side: the page has a column for each
        self.feed = Feed(self.services, tick_s=tick_s, keep_s=keep_s)
        self.tail = RunTail(stack.run_dir, self.feed, runs_root)
        self.urls = {s: stack.config.service_url(s) for s in self.services}
        self.prometheus = PrometheusRates(prometheus_url, self.services) if prometheus_url else None
        self.health: dict = {}
        self._subscribers: list[queue.Queue] = []
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._sampler: Sampler | None = None
        self._thread: threading.Thread | None = None
        self.session = requests.Session()
        self.session.trust_env = False

    # -- the loop ----------------------------------------------------------------------------------
    def start(self) -> "Hub":
        self._thread = threading.Thread(target=self._loop, name="dashboard-hub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join(5)
        self._sample(False)
        self.session.close()

    def _loop(self) -> None:
        next_health = 0.0
        while not self._halt.is_set():
            started = time.monotonic()
            self.tail.poll()
            self._sample(self.tail.phase != "running")
            if started >= next_health:
                self.health = stack_health(self.stack, self.session)
                next_health = started + HEALTH_EVERY_S
                if self.prometheus is not None and self.tail.phase != "running":
                    self.feed.external(self.prometheus.rates(self.session))
            points = self.feed.advance()
            if points:
                self.publish({"points": points, **self.state()})
            self._halt.wait(max(0.02, self.feed.tick_s - (time.monotonic() - started)))

    def _sample(self, wanted: bool) -> None:
        """Run the Sampler into the Feed while no run is going (the run's own sampler feeds it then)."""
        if wanted and self._sampler is None:
            self._sampler = Sampler(self.urls, self.feed)
            self._sampler.start()
        elif not wanted and self._sampler is not None:
            self._sampler.stop()
            self._sampler = None

    # -- what the page gets ------------------------------------------------------------------------
    def state(self) -> dict:
        """Everything but the points: fault bands, counts, the run, the stack's health."""
        return {"faults": self.feed.faults(), "counts": self.feed.snapshot()["counts"], "run": self.tail.status(),
                "health": self.health, "now": round(time.time(), 3), "services": list(self.services),
                "nodes": list(self.stack.config.nodes)}

    def initial(self) -> dict:
        """The first message of a connection: every point still on screen."""
        return {**self.feed.snapshot(), **self.state(), "keep_s": self.feed.keep_s, "tick_s": self.feed.tick_s}

    def subscribe(self) -> queue.Queue:
        q: queue.Queue = queue.Queue(maxsize=64)
        with self._lock:
            self._subscribers.append(q)
        return q

    def unsubscribe(self, q: queue.Queue) -> None:
        with self._lock:
            if q in self._subscribers:
                self._subscribers.remove(q)

    def publish(self, message: dict) -> None:
        data = json.dumps(message, separators=(",", ":"), allow_nan=False)
        with self._lock:
            for q in list(self._subscribers):
                try:
                    q.put_nowait(data)
                except queue.Full:  # a page that stopped reading: drop it, it reconnects and starts over
                    self._subscribers.remove(q)
