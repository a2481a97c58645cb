"""The checkers, by name, and a way to run the ones an experiment asks for."""
from __future__ import annotations

from harness.verdicts import Verdict, run_checker

from . import (availability, breakers, convergence, linearizable, lost_writes, monotonic_reads,
               read_your_writes, staleness)

CHECKERS = {
    "linearizable": linearizable.check,
    "convergence": convergence.check,
    "lost_writes": lost_writes.check,
    "staleness": staleness.check,
    "availability": availability.check,
    "breakers": breakers.check,
    "read_your_writes": read_your_writes.check,
    "monotonic_reads": monotonic_reads.check,
}


def run_all(history, config: dict) -> list[Verdict]:
    """Run each configured checker (name -> thresholds) on the history; a crash answers unknown."""
    unknown = sorted(set(config) - set(CHECKERS))
    if unknown:
        # A misspelt checker would otherwise be skipped silently and its hypothesis never tested.
        raise ValueError(f"unknown checkers {unknown}; known: {sorted(CHECKERS)}")
    if not isinstance(history, list):
        history = list(history)  # a History keeps its line numbers, so bad lines can be named
    return [run_checker(CHECKERS[name], history, name=name, **(thresholds or {}))
            for name, thresholds in config.items()]
