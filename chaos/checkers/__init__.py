"""The checkers, by name, and a way to run the ones an experiment asks for."""
from __future__ import annotations

from dataclasses import replace

from harness.verdicts import Verdict, run_checker

from . import (availability, breakers, convergence, instances, linearizable, lost_writes, monotonic_reads,
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
    "instances": instances.check,
}


EXPECT = ("valid", "invalid")


def base_name(name: str) -> str:
    """A checker listed more than once carries a label: ``lost_writes/native`` is ``lost_writes``."""
    return name.split("/", 1)[0]


def run_all(history, config: dict) -> list[Verdict]:
    """Run each configured checker (name -> thresholds) on the history; a crash answers unknown.

    ``expect: invalid`` states the hypothesis that the checker finds a violation (native async
    loses writes): the verdict is then valid when it does, invalid when it does not."""
    unknown = sorted({base_name(n) for n in config} - set(CHECKERS))
    if unknown:
        # A misspelt checker would otherwise be skipped silently and its hypothesis never tested.
        raise ValueError(f"unknown checkers {unknown}; known: {sorted(CHECKERS)}")
    if not isinstance(history, list):
        history = list(history)  # a History keeps its line numbers, so bad lines can be named
    out = []
    for name, thresholds in config.items():
        kwargs = dict(thresholds or {})
        expect = kwargs.pop("expect", "valid")
        verdict = run_checker(CHECKERS[base_name(name)], history, name=name, **kwargs)
        out.append(expected(replace(verdict, checker=name), expect))
    return out


def expected(verdict: Verdict, expect: str) -> Verdict:
    """Judge a verdict against what the hypothesis expects of it; unknown stays unknown."""
    if expect not in EXPECT:
        raise ValueError(f"expect must be one of {EXPECT}, not {expect!r}")
    if expect == "valid" or verdict.valid == "unknown":
        return verdict
    figures = {**verdict.figures, "expected": "invalid"}
    if verdict.valid == "invalid":
        return replace(verdict, valid="valid", summary=f"violation found, as expected: {verdict.summary}",
                       figures=figures)
    return replace(verdict, valid="invalid", summary=f"expected a violation, found none: {verdict.summary}",
                   figures=figures)
