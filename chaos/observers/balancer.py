"""HAProxy's view of the instances during a run: each instance's state, sampled into the history.

Every change of a server's state (UP, DOWN, MAINT, NOLB, and the transitional "UP 1/2") is written
as a ``MetricSample`` named ``haproxy_server_up`` (value 1 while HAProxy sends it requests) with
labels ``server`` and ``status``; the first poll writes every server once. The instance checker
(chaos/checkers/instances.py) times from these how long HAProxy took to take a crashed instance out
and to put it back.
"""
from __future__ import annotations

import threading
import time

from chaos.run.protocols import Observer
from harness.history import MetricSample

NAME = "haproxy_server_up"
SERVING = ("UP", "UP 1/2", "UP 1/3", "NOLB")  # HAProxy still sends it requests (going down, or draining)


def serving(status: str) -> bool:
    return status.split(" ")[0] in ("UP", "NOLB") or status in SERVING


class BalancerSampler(threading.Thread):
    """Poll ``view()`` (stack.Stack.balancer_view) every ``interval`` s; record each change of state."""

    def __init__(self, view, recorder, interval: float = 0.1):
        super().__init__(name="balancer-sampler", daemon=True)
        self.view, self.rec, self.interval = view, recorder, interval
        self.halt = threading.Event()
        self.last: dict[str, str] = {}
        self.failures = 0

    def run(self) -> None:
        while not self.halt.is_set():
            started = time.monotonic()
            try:
                rows = self.view()
            except Exception:  # HAProxy busy or restarting: the next poll tells
                self.failures += 1
                rows = []
            for row in rows:
                if self.last.get(row["server"]) != row["status"]:
                    self.last[row["server"]] = row["status"]
                    t, wall = self.rec.now()
                    self.rec.write(MetricSample(row["service"], NAME, {"server": row["server"], "status": row["status"]},
                                                1.0 if serving(row["status"]) else 0.0, t, wall))
            self.halt.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=5)


class BalancerObserver(Observer):
    """Sample HAProxy's view of the stack's instances for the whole run (chaos/run/assembly.py adds it
    when the stack runs HAProxy)."""

    def __init__(self):
        self.sampler: BalancerSampler | None = None

    def start(self, run) -> None:
        self.sampler = BalancerSampler(run.stack.balancer_view, run.rec)
        self.sampler.start()

    def stop(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()

    def notes(self) -> list:
        if self.sampler is not None and self.sampler.failures:
            return [f"HAProxy's stats did not answer {self.sampler.failures} polls"]
        return []
