"""The history of a Locust run: every request as an invoke and one completion, in harness.history's format.

The chaos checkers read these files as they read the chaos workload's. Each Locust user is a
Jepsen-style process: one request at a time. After an ``info`` completion (outcome unknown) the user
continues under a fresh process id, so no process ever has two operations that might overlap.

Times are seconds since the run's start, read on the monotonic clock as the chaos runner's own
recorder does, so a wall-clock step (NTP, a suspended laptop) can never reorder a history. The
start is either the caller's monotonic time zero (``t0_monotonic``: the chaos runner passes its
own, and CLOCK_MONOTONIC is shared by every process of the machine) or, without one, the wall-clock
reference ``start_wall_ms`` read once when the history opens and followed on the monotonic clock
from then on. ``wall_ms`` stays wall-clock time, for humans and for lag measured across processes.
"""
from __future__ import annotations

import heapq
import itertools
import json
import time
from dataclasses import dataclass
from pathlib import Path

from harness.history import HistoryWriter, NullRecorder, Op

from .answers import Answer

# Process ids per worker: worker i numbers its users from base + (i + 1) * STRIDE.
STRIDE = 100_000


@dataclass
class Pending:
    """An operation invoked and not yet completed; shared with the request listener via the context."""

    process: int
    service: str
    f: str
    key: str
    value: str | None
    started_ms: float  # on the monotonic clock
    answer: Answer | None = None  # set by the task, so the listener does not parse the body twice
    session: str | None = None  # the user's session id (sent as a header)
    instance: str | None = None  # the instance that answered, behind HAProxy (set by the task)


class LoadHistory:
    """Writes invokes and completions for the users of one Locust process."""

    def __init__(self, writer, start_wall_ms: float, process_base: int = 0, t0_monotonic: float | None = None):
        self.writer = writer
        self.start_wall_ms = float(start_wall_ms)
        if t0_monotonic is None or t0_monotonic <= 0:
            # Anchor once: the wall clock says how long ago the run started; the monotonic clock
            # takes over from here, so a later step of the wall clock changes nothing.
            t0_monotonic = time.monotonic() - (time.time_ns() / 1e6 - self.start_wall_ms) / 1000
        self.t0_monotonic = float(t0_monotonic)
        self._ids = itertools.count(process_base)
        self.open: dict[int, Pending] = {}

    def now(self) -> tuple[float, int]:
        """Return (seconds since the run's start on the monotonic clock, wall-clock ms)."""
        return round(time.monotonic() - self.t0_monotonic, 6), time.time_ns() // 1_000_000

    def new_process(self) -> int:
        return next(self._ids)

    def invoke(self, process: int, service: str, f: str, key: str, value: str | None = None,
               session: str | None = None) -> Pending:
        t, wall = self.now()
        p = Pending(process, service, f, key, value, time.monotonic() * 1000, session=session)
        self.open[process] = p
        self.writer.write(Op("invoke", process, f, key, value, service, t, wall, session=session))
        return p

    def complete(self, p: Pending, answer: Answer) -> str:
        """Write the completion of `p` from its answer; return the completion type."""
        if self.open.pop(p.process, None) is None:
            return "info"  # already closed at stop time
        kind = answer.completion
        body = answer.body or {}
        got = p.value if p.f == "write" else (body.get("value") if kind == "ok" else None)
        t, wall = self.now()
        self.writer.write(Op(
            kind, p.process, p.f, p.key, got, p.service, t, wall,
            version=body.get("version") if kind == "ok" else None, node=body.get("node"),
            staleness_ms=body.get("staleness_ms"), stale=body.get("stale"), status=answer.status,
            outcome=body.get("outcome"), error=answer.error_message,
            latency_ms=round(time.monotonic() * 1000 - p.started_ms, 3), session=p.session, instance=p.instance))
        return kind

    def close_open(self, reason: str = "stopped by Locust before an answer arrived") -> int:
        """Complete every operation still open as info (its outcome is unknown); return how many."""
        n = 0
        for p in list(self.open.values()):
            n += self.complete(p, Answer(None, None, reason)) == "info"
        return n

    def close(self) -> None:
        self.close_open()
        self.writer.close()


def null_history() -> LoadHistory:
    return LoadHistory(NullRecorder(), time.time() * 1000)


def open_history(path: str | None, start_wall_ms: float, process_base: int = 0,
                 t0_monotonic: float | None = None) -> LoadHistory:
    """A LoadHistory writing to `path`, or one that drops everything when there is no path."""
    writer = HistoryWriter(path) if path else NullRecorder()
    return LoadHistory(writer, start_wall_ms, process_base, t0_monotonic)


def worker_path(path: str, index: int) -> str:
    """Where worker `index` writes: history.jsonl -> history.worker3.jsonl, merged after the run."""
    p = Path(path)
    return str(p.with_name(f"{p.stem}.worker{index}{p.suffix or '.jsonl'}"))


def merge_histories(paths, out) -> int:
    """Merge history files (each in time order) into `out`, ordered by time; return the line count.

    A file that does not exist is skipped, so a worker that never started does not break the merge.
    A torn last line (a writer killed mid-line) is dropped. `out` may be one of `paths`.
    """
    streams = []
    for path in paths:
        if Path(path).exists():
            streams.append(_lines(Path(path)))
    merged = list(heapq.merge(*streams, key=lambda x: x[0]))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(str(out) + ".tmp")
    tmp.write_text("".join(line for _, line in merged), encoding="utf-8")
    tmp.replace(out)
    return len(merged)


def _lines(path: Path) -> list:
    lines = path.read_text(encoding="utf-8").split("\n")
    rows = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            t = json.loads(line)["time"]
        except (ValueError, KeyError) as e:
            if i == len(lines):  # no trailing newline: the writer died in the middle of this line
                break
            raise ValueError(f"{path}:{i}: not a history event ({e})") from None
        rows.append((t, line + "\n"))
    rows.sort(key=lambda r: r[0])  # stable: events of one process keep their order at equal times
    return rows
