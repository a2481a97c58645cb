"""The history of a run: client operations, faults, breaker samples and node snapshots as JSON lines.

Every client operation is an ``invoke`` followed by exactly one completion from the same process
(Jepsen style): ``ok`` it happened, ``fail`` it certainly did not, ``info`` nobody knows. A fault's
start and its stop are changes of the system, recorded the same way: one event when the change
begins (``stage: invoke``) and one when it is confirmed in place (``stage: complete``).
"""
from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Union

OP_TYPES = ("invoke", "ok", "fail", "info")
COMPLETIONS = ("ok", "fail", "info")


def _ensure_time(t, what: str) -> None:
    """Raise ValueError unless t is a finite number of seconds: checkers order events by it."""
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
        raise ValueError(f"{what}.time must be a finite number of seconds, not {t!r}")


@dataclass(frozen=True)
class Op:
    """One client operation event: an invoke or its completion."""

    type: str  # invoke | ok | fail | info
    process: int
    f: str  # read | write
    key: str
    value: str | None  # write invoke: the value written; read ok: the value read (None = absent)
    service: str  # cp | ap
    time: float  # seconds since run start, monotonic
    wall_ms: int
    version: str | None = None
    node: str | None = None
    staleness_ms: int | None = None
    stale: bool | None = None
    status: int | None = None
    outcome: str | None = None
    error: str | None = None
    latency_ms: float | None = None
    session: str | None = None  # the client session (sent as a header; session checkers group by it)
    instance: str | None = None  # the service instance that answered, when several run behind HAProxy

    def __post_init__(self):
        if self.type not in OP_TYPES:
            raise ValueError(f"Op.type must be one of {OP_TYPES}, not {self.type!r}")
        if self.f not in ("read", "write"):
            raise ValueError(f"Op.f must be 'read' or 'write', not {self.f!r}")
        _ensure_time(self.time, "Op")
        if isinstance(self.process, bool) or not isinstance(self.process, int):
            raise ValueError(f"Op.process must be an integer, not {self.process!r}")


FAULT_PHASES = ("start", "stop")
FAULT_STAGES = ("invoke", "complete")


@dataclass(frozen=True)
class FaultEvent:
    """The start or stop of an injected fault: the change beginning (invoke) or confirmed (complete).

    ``stage`` None is one event standing for both, as histories written before the two stages
    were recorded have it: a change of no measurable duration.
    """

    phase: str  # start | stop
    name: str  # e.g. "partition"
    target: str  # e.g. "cp->g2"
    time: float
    wall_ms: int
    params: dict = field(default_factory=dict)
    stage: str | None = None  # invoke | complete | None (both at once)
    type: str = field(default="fault", init=False)

    def __post_init__(self):
        if self.phase not in FAULT_PHASES:
            raise ValueError(f"FaultEvent.phase must be one of {FAULT_PHASES}, not {self.phase!r}")
        if self.stage is not None and self.stage not in FAULT_STAGES:
            raise ValueError(f"FaultEvent.stage must be one of {FAULT_STAGES} or null, not {self.stage!r}")
        _ensure_time(self.time, "FaultEvent")

    @property
    def begins(self) -> bool:
        """Say whether this event marks the change beginning (an invoke, or a one-event change)."""
        return self.stage != "complete"

    @property
    def confirms(self) -> bool:
        """Say whether this event marks the change confirmed in place (a completion, or a one-event change)."""
        return self.stage != "invoke"


@dataclass(frozen=True)
class BreakerSample:
    """The state of one service's breaker for one node, as seen at one moment."""

    service: str
    node: str
    state: str  # closed | half-open | open
    time: float
    wall_ms: int
    type: str = field(default="breaker", init=False)


@dataclass(frozen=True)
class NodeSnapshot:
    """Every record one node held at one moment: key -> {"value": ..., "version": "ms.c.w"}."""

    node: str
    time: float
    wall_ms: int
    records: dict
    phase: str = "after-heal"
    type: str = field(default="snapshot", init=False)


@dataclass(frozen=True)
class MetricSample:
    """One value of one service metric at one moment, e.g. data_staleness_ms{node="g2"}."""

    service: str
    name: str
    labels: dict
    value: float
    time: float
    wall_ms: int
    type: str = field(default="metric", init=False)


@dataclass(frozen=True)
class AlertEvent:
    """One Prometheus alert changing state: pending, firing, resolved; or the watcher failing to poll."""

    phase: str  # pending | firing | resolved | poll-error
    alert: str
    labels: dict
    time: float
    wall_ms: int
    active_at: str | None = None  # Prometheus's activeAt: when the condition first held
    value: str | None = None
    error: str | None = None
    type: str = field(default="alert", init=False)


@dataclass(frozen=True)
class ClusterEvent:
    """Something the system under test reported about itself, e.g. a Sentinel's +switch-master."""

    source: str  # who said it, e.g. "sentinel-2"
    event: str  # e.g. "+switch-master", "+convert-to-slave", "+sdown"
    detail: str  # the message as sent, e.g. "caplab 127.0.0.1 16394 127.0.0.1 16395"
    time: float
    wall_ms: int
    type: str = field(default="cluster", init=False)


Event = Union[Op, FaultEvent, BreakerSample, NodeSnapshot, MetricSample, AlertEvent, ClusterEvent]
_BY_TYPE = {"fault": FaultEvent, "breaker": BreakerSample, "snapshot": NodeSnapshot,
            "metric": MetricSample, "alert": AlertEvent, "cluster": ClusterEvent}


def to_dict(event: Event) -> dict:
    """Return the plain JSON-ready dict of an event."""
    return asdict(event)


def from_dict(d: dict) -> Event:
    """Build the typed event for a dict read from a history; raise ValueError when it does not fit."""
    if not isinstance(d, dict):
        raise ValueError(f"expected a JSON object, found {type(d).__name__}")
    kind = d.get("type")
    cls = Op if kind in OP_TYPES else _BY_TYPE.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"unknown event type {kind!r}; expected one of {OP_TYPES + tuple(_BY_TYPE)}")
    names = {f.name for f in fields(cls) if f.init}
    unknown = set(d) - names - {"type"}
    if unknown:
        raise ValueError(f"{cls.__name__} has no fields {sorted(unknown)}")
    kwargs = {k: v for k, v in d.items() if k in names}
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise ValueError(f"bad {cls.__name__} event {d!r}: {e}") from None


class HistoryWriter:
    """Append events to a JSON-lines file, one flushed line per event, safe across threads."""

    def __init__(self, path, t0: float | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")
        self._lock = threading.Lock()
        self.t0 = time.monotonic() if t0 is None else t0

    def now(self) -> tuple[float, int]:
        """Return (seconds since run start, wall-clock ms) for stamping an event."""
        return time.monotonic() - self.t0, time.time_ns() // 1_000_000

    def write(self, event: Event) -> None:
        """Append one event and flush it, so a crash loses at most the line being written."""
        line = json.dumps(to_dict(event), separators=(",", ":"), allow_nan=False) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()

    def __enter__(self) -> "HistoryWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class NullRecorder:
    """A recorder that drops every event, for dry runs and tests."""

    def __init__(self, t0: float | None = None):
        self.t0 = time.monotonic() if t0 is None else t0

    def now(self) -> tuple[float, int]:
        return time.monotonic() - self.t0, time.time_ns() // 1_000_000

    def write(self, event: Event) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> "NullRecorder":
        return self

    def __exit__(self, *exc) -> None:
        pass


class HistoryError(ValueError):
    """A history that cannot have happened, or cannot be read; names the file and line when known."""

    def __init__(self, problem: str, line: int | None = None, source=None, event=None):
        where = f"{source or 'history'}:{line}: " if line is not None else ""
        super().__init__(where + problem)
        self.problem, self.line, self.source, self.event = problem, line, source, event


class History(list):
    """The events of one history, in file order, with the line each one was read from."""

    def __init__(self, events=(), lines=None, source=None):
        super().__init__(events)
        self.lines = list(lines) if lines is not None else [None] * len(self)
        self.source = None if source is None else str(source)

    def line(self, index: int) -> int | None:
        """Return the file line of the event at `index`, or None when it was not read from a file."""
        return self.lines[index] if 0 <= index < len(self.lines) else None


def iter_history(path, numbered: bool = False):
    """Yield the typed events of a history file (with `numbered`, (line, event) pairs) one at a time.

    A torn last line (a crash mid-write, or a writer still going) is skipped. Memory stays flat
    whatever the file's size: a soak's hour of history is never held at once.
    """
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as e:
                if not line.endswith("\n"):  # no trailing newline: the writer died mid-line
                    return
                raise HistoryError(f"not JSON ({e})", i, path) from None
            try:
                event = from_dict(d)
            except ValueError as e:
                raise HistoryError(str(e), i, path) from None
            yield (i, event) if numbered else event


def read_history(path) -> History:
    """Read a whole history file into typed events; a torn last line (a crash mid-write) is skipped."""
    numbers, events = [], []
    for i, event in iter_history(path, numbered=True):
        numbers.append(i)
        events.append(event)
    return History(events, numbers, path)
