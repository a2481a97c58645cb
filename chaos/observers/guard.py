"""Guards: abort a run live when what it promised to keep falls too far (Gremlin's health checks).

An experiment declares ``guards: [{service: ap, metric: availability, below: 0.9, for_s: 5}]``. While
the workload runs, the guard watches the workload's own counts every 0.25 s; once a service's
availability over the trailing ``for_s`` seconds stays below ``below`` (with at least ``min_ops``
operations completed in that span) it calls ``run.abort(...)``, the path Ctrl-C takes: every fault
is healed, and the run record says the guard halted it, why and when. A guard that tripped gives an
``invalid`` verdict: the run broke the bound it declared.
"""
from __future__ import annotations

import threading
import time
from collections import deque

from chaos.run.protocols import Observer
from harness.verdicts import Verdict

POLL_S = 0.25


class AvailabilityWindow:
    """Availability over a trailing span, from cumulative (ok, completed) counts sampled over time."""

    def __init__(self, for_s: float, min_ops: int):
        self.for_s, self.min_ops = for_s, min_ops
        self.samples: deque = deque()  # (t, ok, completed)
        self.judged = 0  # windows long enough, with enough ops, to be judged

    def add(self, t: float, ok: int, completed: int) -> float | None:
        """Take the counts at time t; return the window's availability when it can be judged, else None."""
        self.samples.append((t, ok, completed))
        while len(self.samples) > 1 and self.samples[1][0] <= t - self.for_s:
            self.samples.popleft()  # keep one sample at least for_s old: the window's start
        t0, ok0, done0 = self.samples[0]
        if t - t0 < self.for_s or completed - done0 < self.min_ops:
            return None
        self.judged += 1
        return (ok - ok0) / (completed - done0)


def service_counts(stats, service: str) -> tuple[int, int]:
    """(ok, completed) of one service so far, from the workload's Stats."""
    lock = getattr(stats, "lock", None)
    with lock if lock is not None else threading.Lock():
        counts = dict(stats.counts)
    ok = counts.get((service, "ok"), 0)
    return ok, ok + counts.get((service, "fail"), 0) + counts.get((service, "info"), 0)


class GuardObserver(Observer):
    """Enforce an experiment's guards while its workload runs."""

    def __init__(self, guards, poll_s: float = POLL_S):
        self.guards = list(guards)
        self.poll_s = poll_s
        self.windows = [AvailabilityWindow(g.for_s, g.min_ops) for g in self.guards]
        self.tripped: dict | None = None
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, run) -> None:
        self._thread = threading.Thread(target=self._watch, args=(run,), name="guard", daemon=True)
        self._thread.start()

    def _watch(self, run) -> None:
        while not self._halt.wait(self.poll_s):
            if run.workload is None or run.live.phase != "under-load":
                continue
            if self.check(run, time.monotonic()):
                return

    def check(self, run, now: float) -> bool:
        """Look once at every guard; abort the run on the first that trips. Return whether one did."""
        for guard, window in zip(self.guards, self.windows):
            ok, completed = service_counts(run.workload.stats, guard.service)
            value = window.add(now, ok, completed)
            if value is not None and value < guard.below:
                self.tripped = {"guard": guard.label, "value": round(value, 4), "elapsed_s": round(run.live.elapsed_s, 2)}
                run.abort(f"guard: {guard.label} (it was {value:.1%} over the last {guard.for_s:g} s)", by="guard")
                return True
        return False

    def stop(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join(5)

    def verdicts(self, history) -> list:
        labels = "; ".join(g.label for g in self.guards)
        if self.tripped:
            t = self.tripped
            return [Verdict("guard", "invalid", f"{t['guard']}: {t['value']:.1%} at {t['elapsed_s']:g} s into the "
                            "workload; the run was halted", figures=dict(t))]
        if not any(w.judged for w in self.windows):
            return [Verdict("guard", "unknown", f"never judged ({labels}): no span long enough with enough operations")]
        return [Verdict("guard", "valid", f"held: {labels} never happened",
                        figures={"judged": [w.judged for w in self.windows]})]
