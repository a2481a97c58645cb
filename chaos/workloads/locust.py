"""Locust as the workload of an experiment (`workload: {engine: locust, users: N}`).

Locust runs in its own processes (loadtests.workload.start_locust), writing its history with times
counted from the run's own start on the same monotonic clock as the runner's recorder (its t0 is
passed down), under process ids from PROCESS_BASE, and with keys under the
run's id; after the run its file is merged into history.jsonl, so the same checkers and report
apply. Locust's thresholds decide nothing here: the checkers judge the history.
"""
from __future__ import annotations

import time
from pathlib import Path

from chaos.workloads.threads import Stats
from harness.history import Op, read_history
from loadtests.history import merge_histories
from loadtests.workload import LoadError, start_locust

PROCESS_BASE = 1_000_000  # far above the thread clients' ids, should a run ever use both
STARTUP_GUESS_S = 1.5  # Locust's start, before its first operation


class LocustWorkload:
    """The chaos.run.protocols.Workload interface (like chaos.workloads.threads.ClientThreads), driven by a headless Locust run."""

    def __init__(self, workload, urls: dict, run_id: str, recorder, run_dir, last_fault_end: float | None = None,
                 writes_stop_for: tuple = ()):
        self.w, self.urls, self.run_id, self.rec = workload, dict(urls), run_id, recorder
        self.out_dir = Path(run_dir) / "locust"
        self.history_path = self.out_dir / "history.jsonl"
        self.last_fault_end, self.writes_stop_for = last_fault_end, writes_stop_for
        self.stats = Stats()
        self.run = None
        self.result = None
        self.error: str | None = None

    def start(self) -> None:
        """Start Locust and return once its first operation is in the history (at most 30 s)."""
        w = self.w
        t, wall = self.rec.now()
        t0_wall_ms = wall - t * 1000  # the run's time 0, so both histories share one clock
        think = f"{w.think_ms:g}:{w.think_ms:g}"
        extra = ["--hot-keys", str(w.keys), "--cold-keys", "0", "--wait-ms", think, "--timeout-s", f"{w.timeout_s:g}"]
        if self.last_fault_end is not None and self.writes_stop_for:
            # Writes stop when the last fault does, so the nodes can be snapshotted until they agree.
            # (Locust takes one deadline for every service; set it only when the after-heal phase asks.)
            extra += ["--writes-until-s", f"{t + STARTUP_GUESS_S + self.last_fault_end:.3f}"]
        users = w.users or w.clients * len(self.urls)
        self.run = start_locust(self.urls, list(self.urls), users, w.duration_s, self.history_path, t0_wall_ms,
                                extra, out_dir=self.out_dir, spawn_rate=w.spawn_rate or users,
                                p95_ms=60_000, max_error_rate=1.0, refusals_are_errors=False,
                                process_base=PROCESS_BASE, run_id=self.run_id, t0_monotonic=self.rec.t0)
        deadline = time.monotonic() + 30
        while not (self.history_path.exists() and self.history_path.stat().st_size > 0):
            if self.run.master.poll() is not None or time.monotonic() > deadline:
                self.run.stop()
                self.error = "Locust wrote no operation"
                raise LoadError(f"Locust wrote no operation; see {self.out_dir / 'locust.log'}")
            time.sleep(0.05)

    @property
    def alive(self) -> bool:
        return True  # the schedule's clock decides; Locust stops by itself at duration_s

    def stop_writes(self, services) -> None:
        """Nothing to do: Locust got its --writes-until-s deadline at start."""

    def stop(self, timeout: float | None = None) -> None:
        """Wait for Locust to end (it runs for duration_s), and stop every process it left."""
        if self.run is None or self.result is not None or self.error is not None:
            return
        try:
            self.result = self.run.wait()
        except LoadError as err:
            self.error = str(err).splitlines()[0]
        finally:
            self.run.stop()

    def finish(self, history_path) -> list[str]:
        """Merge Locust's history into the run's; count its completions for results.json; say what failed."""
        if self.history_path.exists():
            merge_histories([history_path, self.history_path], history_path)
            for e in read_history(self.history_path):
                if isinstance(e, Op) and e.type != "invoke":
                    self.stats.add(e.service, e.type)
        return [f"Locust: {self.error}"] if self.error else []
