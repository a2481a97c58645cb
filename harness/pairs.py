"""Pair each client invoke with its completion: the view of a history the checkers reason over."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

from harness.history import Event, HistoryError, Op


@dataclass(frozen=True)
class Completed:
    """An invoke paired with its completion; ``end`` is +inf when the outcome is unknown."""

    invoke: Op
    completion: Op | None  # None: the run ended before the operation completed

    @property
    def type(self) -> str:
        return self.completion.type if self.completion else "info"

    @property
    def process(self) -> int:
        return self.invoke.process

    @property
    def f(self) -> str:
        return self.invoke.f

    @property
    def key(self) -> str:
        return self.invoke.key

    @property
    def service(self) -> str:
        return self.invoke.service

    @property
    def value(self) -> str | None:
        """The value written (write) or read (read ok)."""
        if self.f == "write":
            return self.invoke.value
        return self.completion.value if self.completion else None

    @property
    def version(self) -> str | None:
        return self.completion.version if self.completion else None

    @property
    def start(self) -> float:
        return self.invoke.time

    @property
    def end(self) -> float:
        """The completion time; +inf for info, since the operation may take effect at any later time."""
        return math.inf if self.type == "info" else self.completion.time

    @property
    def returned(self) -> float:
        """When the client got its answer (info included); +inf when it never did."""
        return math.inf if self.completion is None else self.completion.time

    def describe(self) -> dict:
        """Return a short dict naming this operation, for evidence."""
        c = self.completion
        return {"process": self.process, "f": self.f, "key": self.key, "value": self.value,
                "type": self.type, "service": self.service, "start": self.start,
                "end": None if c is None else c.time, "version": self.version,
                "node": None if c is None else c.node}


def pair_ops(history: Iterable[Event], service: str | None = None) -> list[Completed]:
    """Pair each invoke with its completion, in invoke order; optionally keep one service only.

    Raise HistoryError, naming the line when the history was read from a file, for a history that
    cannot have happened: a completion without an invoke, one stamped before its invoke or for
    another operation, or an invoke while the same process still has one open.
    """
    lines = getattr(history, "lines", None)
    source = getattr(history, "source", None)
    open_: dict[tuple, tuple[Op, int | None]] = {}
    done: list[Completed] = []
    for i, ev in enumerate(history):
        if not isinstance(ev, Op) or (service is not None and ev.service != service):
            continue
        line = lines[i] if lines is not None and i < len(lines) else None
        who = (ev.service, ev.process)
        if ev.type == "invoke":
            if who in open_:
                raise HistoryError(f"{_name(ev)} invoked a {ev.f} at t={ev.time:g} while its {open_[who][0].f} "
                                   f"invoked{_at(open_[who][1])} is still open", line, source, ev)
            open_[who] = (ev, line)
            continue
        inv, inv_line = open_.pop(who, (None, None))
        if inv is None:
            raise HistoryError(f"{_name(ev)} completed a {ev.f} ({ev.type}) at t={ev.time:g} without an invoke",
                               line, source, ev)
        if ev.time < inv.time:
            raise HistoryError(f"{_name(ev)} completed a {ev.f} at t={ev.time:g}, before its invoke{_at(inv_line)} "
                               f"at t={inv.time:g}", line, source, ev)
        if (ev.f, ev.key) != (inv.f, inv.key):
            raise HistoryError(f"{_name(ev)} completed a {ev.f} of {ev.key!r}, but its open invoke{_at(inv_line)} "
                               f"is a {inv.f} of {inv.key!r}", line, source, ev)
        done.append(Completed(inv, ev))
    done.extend(Completed(inv, None) for inv, _ in open_.values())
    done.sort(key=lambda c: c.start)
    return done


def _name(op: Op) -> str:
    return f"process {op.process} of {op.service}"


def _at(line: int | None) -> str:
    return "" if line is None else f" on line {line}"
