"""Follow the stack's latest run as it is written: its history lines into the Feed, its status for the page.

The runner's live-run observer (chaos/observers/live.py) names the run in ``<stack folder>/live-run.json``
when it starts. From then on the tail reads history.jsonl from where it left off, whole lines only,
so a line being written is read on the next poll. The run's own files say the rest:
experiment.json (name, hypothesis, schedule), results.json once the verdicts are in.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from chaos.observers.live import HALT, POINTER


def read_json(path: Path):
    """The JSON in a file, or None while it is missing, half written or not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def pid_alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunTail:
    """The run named by the stack's live-run pointer, read incrementally into a Feed."""

    def __init__(self, stack_dir, feed, runs_root=None):
        self.pointer = Path(stack_dir) / POINTER
        self.feed = feed
        self.runs_root = Path(runs_root).resolve() if runs_root else None
        self.run_dir: Path | None = None
        self.live: dict = {}
        self.experiment: dict | None = None
        self.record: dict | None = None
        self._offset = 0
        self._partial = b""

    def poll(self) -> None:
        """Switch to a newer run if the pointer names one; read the lines written since the last poll."""
        live = read_json(self.pointer)
        if isinstance(live, dict) and live.get("run_dir") and (self.run_dir is None
                                                               or Path(live["run_dir"]) != self.run_dir):
            self._switch(Path(live["run_dir"]), live)
        elif isinstance(live, dict) and self.run_dir is not None and Path(live.get("run_dir", "")) == self.run_dir:
            self.live = live  # the runner's phase moves on
        if self.run_dir is None:
            return
        if self.experiment is None:
            self.experiment = read_json(self.run_dir / "experiment.json")
        self._read_lines()
        if self.record is None:
            self.record = read_json(self.run_dir / "results.json")

    def _switch(self, run_dir: Path, live: dict) -> None:
        self.run_dir, self.live = run_dir, live
        self.experiment = self.record = None
        self._offset, self._partial = 0, b""
        self.feed.reset_counts()

    def _read_lines(self) -> None:
        path = self.run_dir / "history.jsonl"
        try:
            with open(path, "rb") as f:
                f.seek(self._offset)
                chunk = f.read(4 << 20)
        except OSError:
            return
        self._offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()  # not yet ended by a newline: read again next time
        for line in lines:
            if line.strip():
                try:
                    self.feed.write(json.loads(line))
                except ValueError:
                    continue

    @property
    def phase(self) -> str:
        """idle (no run yet) | running | finished | ended (the runner died without a record)."""
        if self.run_dir is None:
            return "idle"
        if self.record is not None:
            return "finished"
        return "running" if pid_alive(self.live.get("pid")) else "ended"

    def status(self) -> dict:
        """What the page shows about the run: name, hypothesis, schedule, clock, verdicts, report."""
        if self.run_dir is None:
            return {"phase": "idle"}
        exp, rec = self.experiment or {}, self.record or {}
        started = self.live.get("started_wall_ms", 0) / 1000
        schedule = [{"name": s.get("name"), "fault": s.get("fault"), "at": s.get("at"), "duration": s.get("duration"),
                     "params": s.get("params")} for s in exp.get("schedule") or []]
        out = {"phase": self.phase, "stage": self.live.get("phase"), "run_dir": str(self.run_dir), "experiment": exp.get("name", ""),
               "title": exp.get("title", ""), "hypothesis": exp.get("hypothesis", ""),
               "question": exp.get("question", ""), "schedule": schedule,
               "duration_s": (exp.get("workload") or {}).get("duration_s"), "started": started,
               "elapsed_s": round((time.time() - started) if self.phase == "running" else rec.get("duration_s") or 0, 1),
               "halt": read_json(self.run_dir / HALT)}
        if rec:
            out.update(overall=rec.get("overall"), aborted=rec.get("aborted"), notes=rec.get("notes", []),
                       verdicts=[{k: v.get(k) for k in ("checker", "valid", "summary")} for v in rec.get("verdicts", [])],
                       report=self.report_link())
        return out

    def report_link(self) -> str | None:
        """The report's address under /runs/ when the run folder is under the runs root the server shows."""
        if self.runs_root is None or self.run_dir is None:
            return None
        try:
            rel = self.run_dir.resolve().relative_to(self.runs_root)
        except ValueError:
            return None
        return f"/runs/{rel.as_posix()}/report.html"
