"""The workload: client threads that read and write over HTTP and record every operation.

Each client is a Jepsen-style process: one operation outstanding at a time, recorded as an invoke
and then exactly one completion (ok, fail or info). After an `info` (the outcome is unknown, and the
operation may still take effect) the client continues under a fresh process id, so no process ever
has two operations that might overlap.
"""
from __future__ import annotations

import itertools
import random
import threading
import time
from dataclasses import dataclass, field

import requests

from harness.history import Op
from harness.outcomes import classify
from stack.balancer import INSTANCE_HEADER
from stack.config import SESSION_HEADER


@dataclass
class Stats:
    """Counts per service and completion type, for the progress line."""

    counts: dict = field(default_factory=dict)  # (service, type) -> n
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, service: str, kind: str) -> None:
        with self.lock:
            self.counts[(service, kind)] = self.counts.get((service, kind), 0) + 1

    def total(self, kind: str | None = None) -> int:
        with self.lock:
            return sum(n for (_s, k), n in self.counts.items() if kind is None or k == kind)


def key_space(run_id: str, service: str, prefix: str, n: int) -> list[str]:
    """The keys one service's clients use: unique to the run, so old data never enters a history."""
    return [f"{run_id}:{service}:{prefix}{i}" for i in range(n)]


class Client(threading.Thread):
    """One client: picks a key, reads or writes it, records invoke and completion, repeats."""

    def __init__(self, workload, service: str, base_url: str, keys: list[str], recorder, stop: threading.Event,
                 writes_stopped: threading.Event, next_pid, stats: Stats, seed: int, session_id: str = ""):
        super().__init__(name=f"client-{service}", daemon=True)
        self.w, self.service, self.url, self.keys = workload, service, base_url, keys
        self.rec, self.stop, self.writes_stopped = recorder, stop, writes_stopped
        self.next_pid, self.stats = next_pid, stats
        self.rng = random.Random(seed)
        self.process = next_pid()
        self.n = 0
        # One session per client, kept across its process ids: what the session checkers judge, and
        # what HAProxy's header affinity hashes (its cookie affinity follows the client's cookie jar).
        self.session_id = session_id or f"{service}-{seed}"

    def run(self) -> None:
        session = requests.Session()
        session.trust_env = False  # never route the workload through an environment proxy
        session.headers[SESSION_HEADER] = self.session_id
        try:
            while not self.stop.is_set() and self.n < self.w.max_ops:
                self.invoke(session)
                if self.w.think_ms:
                    self.stop.wait(self.w.think_ms / 1000)
        finally:
            session.close()

    def invoke(self, session: requests.Session) -> str:
        """Run one operation and record it; return its completion type."""
        self.n += 1
        key = self.rng.choice(self.keys)
        write = not self.writes_stopped.is_set() and self.rng.random() >= self.w.read_ratio
        f = "write" if write else "read"
        value = f"{self.service}-{self.process}-{self.n}" if write else None
        t, wall = self.rec.now()
        self.rec.write(Op("invoke", self.process, f, key, value, self.service, t, wall, session=self.session_id))
        started = time.monotonic()
        status, body, exc, instance = None, None, None, None
        try:
            if write:
                resp = session.post(f"{self.url}/write/{key}/{value}", timeout=self.w.timeout_s)
            else:
                resp = session.get(f"{self.url}/read/{key}", timeout=self.w.timeout_s)
            status, instance = resp.status_code, resp.headers.get(INSTANCE_HEADER)
            try:
                body = resp.json()
            except ValueError:
                body = None
        except requests.RequestException as err:
            exc = err
        latency = round((time.monotonic() - started) * 1000, 3)
        kind = classify(status, body, exc)
        body = body if isinstance(body, dict) else {}
        error = body.get("error")
        if exc is not None:
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
        elif isinstance(error, dict):
            error = error.get("message")
        got = value if write else (body.get("value") if kind == "ok" else None)
        t, wall = self.rec.now()
        self.rec.write(Op(kind, self.process, f, key, got, self.service, t, wall,
                          version=body.get("version") if kind == "ok" else None, node=body.get("node"),
                          staleness_ms=body.get("staleness_ms"), stale=body.get("stale"), status=status,
                          outcome=body.get("outcome"), error=error, latency_ms=latency,
                          session=self.session_id, instance=instance))
        self.stats.add(self.service, kind)
        if kind == "info":
            self.process = self.next_pid()  # the old process may still have an operation in flight
        return kind


class ClientThreads:
    """Every client of every targeted service; `start()`, then `stop()` or let `max_ops` end it.
    A chaos.run.protocols.Workload; `workload` is the experiment's settings (chaos.experiment.model)."""

    def __init__(self, workload, urls: dict, run_id: str, recorder, seed: int = 0):
        self.w, self.urls, self.rec, self.run_id = workload, urls, recorder, run_id
        self.stats = Stats()
        self.stop_event = threading.Event()
        self.writes_stopped = {s: threading.Event() for s in urls}
        counter, lock = itertools.count(), threading.Lock()

        def next_pid() -> int:
            with lock:
                return next(counter)

        self.keys = {s: key_space(run_id, s, workload.key_prefix, workload.keys) for s in urls}
        self.clients = [Client(workload, s, url, self.keys[s], recorder, self.stop_event, self.writes_stopped[s],
                               next_pid, self.stats, seed=seed * 1000 + i, session_id=f"{run_id}:{s}:{i}")
                        for s, url in urls.items() for i in range(workload.clients)]

    def start(self) -> None:
        for c in self.clients:
            c.start()

    def use_fresh_keys(self, prefix: str) -> None:
        """From now on, every client uses keys no earlier operation touched (a DR drill's disaster)."""
        for c in self.clients:
            c.keys = key_space(self.run_id, c.service, prefix, self.w.keys)

    def stop_writes(self, services) -> None:
        """From now on, the clients of these services only read (a quiet store for convergence)."""
        for s in services:
            if s in self.writes_stopped:
                self.writes_stopped[s].set()

    def stop(self, timeout: float | None = None) -> None:
        """Ask every client to stop and wait for the operations in flight (bounded by their timeout)."""
        self.stop_event.set()
        deadline = time.monotonic() + (timeout if timeout is not None else self.w.timeout_s + 2)
        for c in self.clients:
            c.join(max(0.0, deadline - time.monotonic()))

    def finish(self, history_path) -> list[str]:
        """Nothing to fold in: every client wrote to the run's history as it went."""
        return []

    @property
    def alive(self) -> bool:
        return any(c.is_alive() for c in self.clients)
