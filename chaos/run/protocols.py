"""What the run lifecycle drives, as small protocols: the runner calls these and knows no concrete type.

- ``Workload``: client threads or Locust. Started before the schedule, told to stop writing once
  the last fault is gone (a quiet store for the snapshots), stopped, then ``finish`` folds what it
  kept aside into the run's history and returns notes for the run record.
- ``Observer``: watches the run without acting on the stack (the metric sampler, in the style of
  pybreaker's listeners): ``start`` before the workload, ``stop`` before the checkers.

The fault schedule (chaos/nemesis/schedule.py) and the alert probe (chaos/observers/alerting.py) are
still driven by the runner by name; a ``Nemesis`` protocol (start / stop / heal) for the fault
schedule and a DR drill's disaster is the next step (docs/architecture.md).
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class Workload(Protocol):
    stats: object

    @property
    def alive(self) -> bool: ...

    def start(self) -> None: ...

    def stop_writes(self, services) -> None: ...

    def stop(self, timeout: float | None = None) -> None: ...

    def finish(self, history_path: Path) -> list[str]: ...


@runtime_checkable
class Observer(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...
