"""Pair each client invoke with its completion: the view of a history the checkers reason over."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

from harness.history import Event, Op


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

    def describe(self) -> dict:
        """Return a short dict naming this operation, for evidence."""
        c = self.completion
        return {"process": self.process, "f": self.f, "key": self.key, "value": self.value,
                "type": self.type, "service": self.service, "start": self.start,
                "end": None if c is None else c.time, "version": self.version,
                "node": None if c is None else c.node}


def pair_ops(history: Iterable[Event], service: str | None = None) -> list[Completed]:
    """Pair each invoke with its completion, in invoke order; optionally keep one service only."""
    open_: dict[tuple, Op] = {}
    done: list[Completed] = []
    for ev in history:
        if not isinstance(ev, Op) or (service is not None and ev.service != service):
            continue
        who = (ev.service, ev.process)
        if ev.type == "invoke":
            if who in open_:
                raise ValueError(f"process {who} invoked at t={ev.time} with an operation still open")
            open_[who] = ev
        else:
            inv = open_.pop(who, None)
            if inv is None:
                raise ValueError(f"process {who} completed at t={ev.time} without an invoke")
            done.append(Completed(inv, ev))
    done.extend(Completed(inv, None) for inv in open_.values())
    done.sort(key=lambda c: c.start)
    return done
