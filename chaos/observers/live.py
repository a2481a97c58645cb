"""Tell a dashboard which run is going on a stack, and hear its halt button.

On ``prepare`` the observer writes ``<stack folder>/live-run.json`` (the run folder, this process's
pid, the experiment, the phase), so a dashboard watching the stack follows the run whoever started
it. Every 0.2 s it rewrites the phase when it changes, and looks for ``halt.json`` in the run folder:
a dashboard writes it when a person presses Halt, and the observer then aborts the run through the
path Ctrl-C takes (``run.abort``): the faults are healed, and the run record says who halted it and
when. The dashboard only reads and writes these files; it never acts on the stack itself.
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from chaos.run.protocols import Observer

POINTER = "live-run.json"
HALT = "halt.json"
POLL_S = 0.2
HALTABLE = ("prepare", "steady-before", "under-load")  # later, the faults are already being undone


def write_atomic(path: Path, data: dict) -> None:
    """Write JSON whole or not at all: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(path)


def read_request(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else {}


class LiveRun(Observer):
    def __init__(self, poll_s: float = POLL_S):
        self.poll_s = poll_s
        self.halt_request: dict | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pointer: dict = {}

    def prepare(self, run) -> None:
        self._pointer = {"run_dir": str(Path(run.run_dir).resolve()), "pid": os.getpid(),
                         "experiment": run.exp.name, "run_id": run.run_id,
                         "started_wall_ms": time.time_ns() // 1_000_000, "phase": run.live.phase}
        self._path = Path(run.stack.run_dir) / POINTER
        try:
            write_atomic(self._path, self._pointer)
        except OSError as err:  # a stack folder we cannot write to: the run goes on, unwatched
            run.say(f"  live-run pointer not written ({err.strerror}): a dashboard will not see this run")
            return
        self._thread = threading.Thread(target=self._watch, args=(run,), name="live-run", daemon=True)
        self._thread.start()

    def _watch(self, run) -> None:
        halt_file = Path(run.run_dir) / HALT
        while not self._stop.wait(self.poll_s):
            self._phase(run.live.phase)
            if self.halt_request is None and halt_file.exists():
                self.halt_request = request = read_request(halt_file) or {}
                if run.live.phase not in HALTABLE:  # healing or judging already: nothing left to stop
                    request["ignored"] = f"the run was {run.live.phase} already"
                    continue
                who = request.get("by", "a person")
                where = ", ".join(f"{k} {request[k]}" for k in ("via", "from") if request.get(k))
                run.abort(f"halt requested at {request.get('at', '?')}" + (f" ({where})" if where else ""), by=who)

    def _phase(self, phase: str) -> None:
        if phase != self._pointer.get("phase"):
            self._pointer["phase"] = phase
            try:
                write_atomic(self._path, self._pointer)
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._phase("judging")

    def notes(self) -> list:
        if self.halt_request is None:
            return []
        return [f"halt button pressed: {json.dumps(self.halt_request, sort_keys=True)}"]
