"""Timed steps: every operation reports each step's progress and duration, and keeps them as data."""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field


def quiet(_message: str) -> None:
    """A progress callback that drops everything (tests, dry runs)."""


@dataclass(frozen=True)
class Step:
    """One finished step: its name, how long it took, whether it worked, and a one-line detail."""

    name: str
    seconds: float
    ok: bool = True
    detail: str = ""


@dataclass
class Steps:
    """The steps of one operation, printed through ``progress`` as they start and end."""

    label: str
    progress: object = print
    done: list = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    @contextmanager
    def step(self, name: str):
        """Time the block; the block may set ``note[0]`` to a detail shown with the duration."""
        self.progress(f"[{self.label}] {name} ...")
        t0, note = time.monotonic(), [""]
        try:
            yield note
        except BaseException as exc:
            took = time.monotonic() - t0
            self.done.append(Step(name, round(took, 3), False, str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
            self.progress(f"[{self.label}] {name} FAILED after {took:.2f}s")
            raise
        took = time.monotonic() - t0
        self.done.append(Step(name, round(took, 3), True, note[0]))
        self.progress(f"[{self.label}] {name} done in {took:.2f}s" + (f": {note[0]}" if note[0] else ""))

    @property
    def seconds(self) -> float:
        return round(time.monotonic() - self.started, 3)

    def to_json(self) -> list:
        return [asdict(s) for s in self.done]
