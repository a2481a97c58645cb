"""The running service: settings, nodes, the policy for its mode, and the maintenance loop."""
from __future__ import annotations

import logging
import os
import secrets
import threading
from contextlib import contextmanager

from .ap import APStore
from .cp import CPStore
from .native import NativeStore, node_settings
from .gate import FairGate
from .metrics import BREAKER_STATE, STATE_VALUES, init_series
from .nodes import MAX_IN_FLIGHT, Node
from .records import HybridClock

log = logging.getLogger("caplab.service")


class Service:
    """Everything one worker process needs to serve its mode."""

    def __init__(self, settings, start_maintenance: bool = True):
        self.settings = settings
        self.mode = settings.mode
        self._wake = threading.Event()
        self._stop = threading.Event()
        # Under gevent, a greenlet per connection: slow clients only hold greenlets, and requests
        # that reach the nodes are bounded here (created after gunicorn patched threading).
        self._in_flight = FairGate(MAX_IN_FLIGHT)
        node_cfg = node_settings(settings) if self.mode == "native" else settings
        self.nodes = [Node(a, node_cfg, on_breaker_close=self._on_breaker_close) for a in settings.nodes]
        writer = secrets.randbits(47) + 1
        self.writer_name = f"{self.mode}-{os.getpid()}-{writer:x}"
        self.clock = HybridClock(writer)
        store_cls = {"cp": CPStore, "ap": APStore, "native": NativeStore}[self.mode]
        self.store = store_cls(settings, self.nodes, self.clock, self.writer_name)
        init_series(self.mode, [n.name for n in self.nodes])
        self._thread = None
        if start_maintenance:
            self._thread = threading.Thread(target=self._loop, name="caplab-maintenance", daemon=True)
            self._thread.start()

    @contextmanager
    def in_flight(self):
        """Hold one of the worker's MAX_IN_FLIGHT slots for a block that calls the nodes."""
        with self._in_flight.held():
            yield

    def _on_breaker_close(self, node_name):
        self._wake.set()  # replay hints now rather than at the next tick

    def _loop(self):
        while not self._stop.is_set():
            self._wake.wait(self.settings.maintenance_interval_sec)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.maintain()
            except Exception:  # the loop must survive anything; the next tick tries again
                log.exception("maintenance failed", extra={"event": "MAINTENANCE_FAILED"})

    def maintain(self) -> dict:
        """Probe OPEN breakers whose timeout has passed, then let the policy do its upkeep."""
        for n in self.nodes:
            if n.state != "closed" and n.allows_call():
                n.ping()  # OPEN -> HALF_OPEN -> CLOSED on success, back to OPEN on failure
        return self.store.maintain()

    def refresh_gauges(self):
        """Make the gauges tell the truth at scrape time, even in an idle worker."""
        for n in self.nodes:
            BREAKER_STATE.labels(node=n.name).set(STATE_VALUES[n.state])
        if self.mode == "ap":
            self.store.refresh_lag()

    def ready(self) -> tuple[bool, dict]:
        """Ping every node; CP is ready with a quorum, AP with any node, native with its primary."""
        if self.mode == "native":
            return self.store.ready()
        up = {n.name: n.ping() for n in self.nodes}
        need = self.settings.quorum if self.mode == "cp" else 1
        return sum(up.values()) >= need, {"nodes": up, "need": need}

    def close(self):
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for n in self.nodes:
            n.close()
