"""Start a catalogue experiment from the page, and halt the running one.

A run started here is ``python -m chaos run <name>`` in a process of its own, exactly what a person
types, so there is one run lifecycle. Halting writes halt.json into the run folder (who asked, from
where, when); the runner's live-run observer reads it and aborts the run through the path Ctrl-C
takes, which heals every fault; the run record says it was halted by a person, and when.
"""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from chaos.observers.live import HALT, HALTABLE

ROOT = Path(__file__).resolve().parent.parent


class LaunchError(Exception):
    """A request the launcher refuses; the message says why and what to do."""

    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.status = status


class Launcher:
    def __init__(self, stack_dir, runs_dir, port_offset: int, log_dir):
        self.stack_dir, self.runs_dir, self.port_offset = Path(stack_dir), Path(runs_dir), port_offset
        self.log = Path(log_dir) / "dashboard-runs.log"
        self.proc: subprocess.Popen | None = None

    @property
    def busy(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, name: str, known: list[str], tail) -> dict:
        if name not in known:
            raise LaunchError(f"no experiment {name!r} to start from here; pick one of: {', '.join(known)}", 400)
        if self.busy or tail.phase == "running":
            raise LaunchError("an experiment is already running; wait for its verdicts, or halt it first")
        argv = [sys.executable, "-m", "chaos", "run", name, "--stack-run-dir", str(self.stack_dir),
                "--runs-dir", str(self.runs_dir), "--port-offset", str(self.port_offset)]
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "a", encoding="utf-8") as log:
            log.write(f"\n$ {' '.join(argv)}\n")
            log.flush()
            self.proc = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        return {"started": name, "pid": self.proc.pid, "log": str(self.log)}

    def halt(self, tail, requester: str) -> dict:
        """Ask the running experiment to stop: halt.json in its folder, read by the runner."""
        if tail.phase != "running" or tail.run_dir is None:
            raise LaunchError("no experiment is running: nothing to halt")
        stage = tail.live.get("phase")
        if stage not in HALTABLE:
            raise LaunchError(f"the run is {stage} already: its faults are undone or being undone; nothing to halt")
        request = {"by": "a person", "via": "dashboard", "from": requester,
                   "at": datetime.now(timezone.utc).isoformat(timespec="milliseconds")}
        path = tail.run_dir / HALT
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(request), encoding="utf-8")
        tmp.replace(path)  # whole or not at all: the runner never reads half a request
        return {"halting": str(tail.run_dir), **request}

    def close(self) -> None:
        """Reap a finished child; a run still going keeps going (it is a run like any other)."""
        if self.proc is not None and self.proc.poll() is not None:
            self.proc = None
