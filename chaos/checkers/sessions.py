"""What the session checkers share: each session's operations, in the order its client ran them.

A session is one client (one thread of the workload, one Locust user), named in every operation it
records (``Op.session``) and sent to the service in a header. It keeps its name across the process
ids it goes through, so its operations are one sequence even after an ``info``.
"""
from __future__ import annotations

from app.records import Version
from harness.pairs import Completed, pair_ops


def by_session(history, service: str | None) -> dict[str, list[Completed]]:
    """Group the paired operations of ``service`` (None: every service) by session, in invoke order."""
    out: dict[str, list[Completed]] = {}
    for c in pair_ops(history, service):
        if c.invoke.session:
            out.setdefault(c.invoke.session, []).append(c)
    return out


def version_of(c: Completed) -> Version | None:
    """The version a completed operation wrote or read; None for an absent key or an unversioned answer."""
    return Version.parse(c.version) if c.version else None


def judge_count(found: int, min_violations: int, max_violations: int | None) -> str | None:
    """Say what is wrong with a count of violations against the experiment's bounds, or None.

    By default none is allowed; an experiment whose hypothesis predicts violations sets
    ``min_violations`` and then bounds them from above only if it also sets ``max_violations``."""
    if max_violations is None and not min_violations:
        max_violations = 0
    if max_violations is not None and found > max_violations:
        return f"{found} violations, more than the {max_violations} allowed"
    if found < min_violations:
        return f"{found} violations, fewer than the {min_violations} the hypothesis predicts"
    return None


def describe(c: Completed) -> dict:
    """Name an operation for evidence, with the session and the instance that answered."""
    c_inst = c.completion.instance if c.completion is not None else None
    return dict(c.describe(), session=c.invoke.session, instance=c_inst)
