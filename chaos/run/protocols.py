"""What the run lifecycle drives, as small protocols: the runner calls these and knows no concrete type.

One run (chaos/run/runner.py) is: observers ``prepare`` -> steady state before -> observers
``start`` -> workload ``start`` -> nemesis ``start`` -> every 0.1 s nemesis ``step(elapsed)`` (and
observers ``faults_over`` once the nemesis is ``done``) -> nemesis ``stop`` -> workload ``stop`` ->
nemesis ``heal`` -> observers ``settle`` -> breakers closed -> observers ``stop`` -> steady state
after -> observers ``close`` -> checkers, nemesis and observer ``verdicts`` -> the run record.
Every hook gets the ``RunContext`` (chaos/run/context.py): the experiment, the stack, the history
recorder, the service URLs, the workload, the live state a dashboard reads, and ``abort()``.

- ``Workload``: client threads or Locust. Started before the nemesis, told to stop writing once
  the last fault is gone (a quiet store for the snapshots), stopped, then ``finish`` folds what it
  kept aside into the run's history and returns notes for the run record.
- ``Nemesis``: what is done to the stack. ``start(run)`` takes charge (a fault scope that Ctrl-C
  and SIGTERM unwind); ``step(elapsed)`` applies and removes what is due ``elapsed`` seconds into
  the workload and should return quickly (the loop checks ``abort`` between steps); ``active``
  names what is in effect (the progress line, a dashboard); ``done`` is true once nothing is left
  to apply or remove (without a workload duration, it ends the run); ``stop`` removes whatever is
  still in effect, on every exit path; ``heal(run)``, called even if ``start`` failed, makes the
  stack whole again and returns its verdicts; ``verdicts(history)`` judges what only the nemesis
  knows; ``record(verdicts)`` gives its fields of the run record (its ``notes`` are added to the
  runner's). Examples: the fault schedule (chaos/nemesis/scheduled.py), a DR drill's disaster and
  its runbook (chaos/drills/nemesis.py).
- ``Observer``: watches the run without acting on the stack, in the style of pybreaker's listeners.
  Subclass ``Observer`` and override only the hooks you need; the others do nothing. ``prepare``
  may raise ``stack.target.RunnerError`` (the run then does not happen: exit 3). An observer that
  must stop the run calls ``run.abort(reason, by=...)`` from any thread: the run heals through
  the same path as Ctrl-C and the record says who aborted it and when. Examples: the metric
  sampler, the node snapshots, the alert probe (chaos/observers/).

The checkers (chaos/checkers/) are pure functions of the history and need no protocol.
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
class Nemesis(Protocol):
    @property
    def active(self) -> list[str]: ...

    @property
    def done(self) -> bool: ...

    def start(self, run) -> None: ...

    def step(self, elapsed: float) -> None: ...

    def stop(self) -> None: ...

    def heal(self, run) -> list: ...  # [Verdict]; called even when start was not, or failed

    def verdicts(self, history) -> list: ...  # [Verdict]

    def record(self, verdicts) -> dict: ...  # its RunRecord fields, given every verdict of the run


@runtime_checkable
class Observer(Protocol):
    """Watches a run. Subclass it and override what you need: every hook defaults to nothing."""

    def prepare(self, run) -> None:
        """Before the steady state: get ready, or raise RunnerError (nothing is injected)."""

    def start(self, run) -> None:
        """Just before the workload starts."""

    def faults_over(self, run) -> None:
        """The nemesis is done (or the run heals early); may be called twice, act once."""

    def settle(self, run) -> None:
        """After the heal: wait, bounded, for what is watched to settle (e.g. the nodes to agree)."""

    def stop(self) -> None:
        """Before the steady state after: stop sampling."""

    def close(self) -> None:
        """After the steady state after, and on every exit path once prepared: release everything."""

    def verdicts(self, history) -> list:
        """Verdicts that only this observer can give, judged on the whole history."""
        return []

    def notes(self) -> list:
        """Lines for the run record's notes, asked once the run is over."""
        return []
