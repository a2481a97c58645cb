"""What every part of one run shares: the run's identity, its stack, its history, its live state, and
the way to abort it from any thread (a dashboard's halt button, a guard)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable


class RunAborted(Exception):
    """Raised in the runner's loop once ``RunContext.abort`` was called: the run heals as after Ctrl-C."""


@dataclass
class Live:
    """What the run is doing now, updated by the runner's loop every tick; read it from any thread."""

    elapsed_s: float = 0.0
    active: list = field(default_factory=list)  # the nemesis's names in effect
    breakers: dict = field(default_factory=dict)  # service -> node -> closed | half-open | open
    phase: str = "prepare"  # prepare | steady-before | under-load | healing | steady-after | judging | over


@dataclass
class RunContext:
    """One run's shared context: handed to the nemesis, the observers, and the workload factory."""

    exp: Any  # the Experiment
    stack: Any
    run_dir: Path
    run_id: str
    urls: dict  # service -> base URL
    settings: dict  # service -> the settings the services run with
    seed: int
    say: Callable = print
    rec: Any = None  # the HistoryWriter, once the history is open
    workload: Any = None  # a chaos.run.protocols.Workload
    live: Live = field(default_factory=Live)
    t0: float = field(default_factory=time.monotonic)
    halted: dict | None = None  # who aborted the run, why, and when
    _halt: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def abort(self, reason: str, by: str = "unknown") -> bool:
        """Ask the run to stop now, from any thread: its faults are undone and it heals, as after Ctrl-C.

        Only the first call counts (its reason and author go into the run record); returns whether
        this call was the one that aborted the run."""
        with self._lock:
            if self.halted is not None:
                return False
            self.halted = {"by": by, "reason": reason, "after_s": round(time.monotonic() - self.t0, 2),
                           "at": datetime.now(timezone.utc).isoformat(timespec="milliseconds")}
            self._halt.set()
        return True

    @property
    def aborting(self) -> bool:
        return self._halt.is_set()

    def check_abort(self) -> None:
        """Raise RunAborted if someone asked the run to stop."""
        if self._halt.is_set():
            raise RunAborted(f"aborted by {self.halted['by']}: {self.halted['reason']}")
