"""Verdicts: what a checker decides (valid, invalid or unknown), and how verdicts compose."""
from __future__ import annotations

import traceback
from dataclasses import asdict, dataclass, field

from harness.history import HistoryError

VALIDITY = ("valid", "unknown", "invalid")  # from best to worst
MAX_EVIDENCE = 20


@dataclass(frozen=True)
class Verdict:
    """One checker's answer: validity, a one-line summary, the operations at fault, and measured figures."""

    checker: str
    valid: str  # valid | invalid | unknown
    summary: str
    evidence: list = field(default_factory=list)
    figures: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.valid not in VALIDITY:
            raise ValueError(f"Verdict.valid must be one of {VALIDITY}, not {self.valid!r}")
        if len(self.evidence) > MAX_EVIDENCE:
            # A report is read by people: keep the first cases and say how many were left out.
            kept = list(self.evidence[:MAX_EVIDENCE])
            kept.append({"omitted": len(self.evidence) - MAX_EVIDENCE})
            object.__setattr__(self, "evidence", kept)

    def to_json(self) -> dict:
        return asdict(self)


def worst(validities) -> str:
    """Return the worst of some validities: invalid > unknown > valid; nothing checked is unknown."""
    vs = list(validities)
    if not vs:
        return "unknown"
    return max(vs, key=VALIDITY.index)


def compose(verdicts, checker: str = "overall") -> Verdict:
    """Combine verdicts into one whose validity is the worst of its parts."""
    verdicts = list(verdicts)
    overall = worst(v.valid for v in verdicts)
    counts = {k: sum(v.valid == k for v in verdicts) for k in VALIDITY}
    bad = [f"{v.checker}: {v.summary}" for v in verdicts if v.valid != "valid"]
    summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "no checkers ran"
    return Verdict(checker, overall, summary, evidence=[{"problem": b} for b in bad],
                   figures={v.checker: v.valid for v in verdicts})


def invalid_history(name: str, err: HistoryError) -> Verdict:
    """The verdict on a history that cannot have happened: invalid, naming the line at fault."""
    return Verdict(name, "invalid", f"invalid history: {err}",
                   evidence=[{"line": err.line, "problem": err.problem, "file": err.source}],
                   figures={"invalid_history": {"line": err.line, "problem": err.problem}})


def run_checker(fn, *args, name: str | None = None, **kwargs) -> Verdict:
    """Run one checker; a checker that raises, or answers something else than a Verdict, answers unknown.

    A history that cannot have happened (HistoryError) answers invalid: the run's record is broken,
    so no promise about the system can be vouched for, and the verdict says which line to look at.
    """
    name = name or getattr(fn, "__module__", "").rsplit(".", 1)[-1] or getattr(fn, "__name__", "checker")
    try:
        verdict = fn(*args, **kwargs)
    except HistoryError as e:
        return invalid_history(name, e)
    except Exception as e:  # a crashing checker proves nothing either way
        return Verdict(name, "unknown", f"checker crashed: {type(e).__name__}: {e}",
                       evidence=[{"exception": f"{type(e).__name__}: {e}",
                                  "traceback": traceback.format_exc(limit=5)}])
    if not isinstance(verdict, Verdict):
        return Verdict(name, "unknown", f"checker returned {type(verdict).__name__}, not a Verdict")
    return verdict
