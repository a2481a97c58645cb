"""Monotonic reads: once a session has read a version of a key, it never reads an older one.

Reads are taken in the session's own order: a read counts against every read of the same key that
the session saw completed (ok, with a version) before it invoked this one. Reading the key absent
after having read it present is a violation too. Behind a balancer, a session sent to an instance
that reads a replica further behind than the last one sees time go backwards (docs/scaling.md).
"""
from __future__ import annotations

from harness.verdicts import Verdict

from .sessions import by_session, describe, judge_count, version_of

NAME = "monotonic_reads"


def check(history, service: str | None = "ap", min_violations: int = 0,
          max_violations: int | None = None) -> Verdict:
    """Find each session's reads older than one it read before; judge their count."""
    sessions = by_session(history, service)
    judged, unverifiable, violations = 0, 0, []
    for ops in sessions.values():
        seen: dict[str, tuple] = {}  # key -> (highest version read, the read)
        for c in ops:
            if c.f != "read" or c.type != "ok":
                continue
            got = version_of(c)
            if got is None and c.value is not None:
                unverifiable += 1
                continue
            if c.key in seen:
                judged += 1
                best, before = seen[c.key]
                if got is None or got < best:
                    violations.append(dict(describe(c), older_than=str(best), earlier_read=describe(before)))
                    continue
            if got is not None and (c.key not in seen or got > seen[c.key][0]):
                seen[c.key] = (got, c)
    figures = {"sessions": len(sessions), "judged": judged, "unverifiable": unverifiable,
               "violations": len(violations), "min_violations": min_violations,
               "max_violations": max_violations}
    if not judged:
        why = "no session tag in the history" if not sessions else \
            "no session read a key it had read a version of before"
        return Verdict(NAME, "unknown", f"nothing to judge: {why}", figures=figures)
    problem = judge_count(len(violations), min_violations, max_violations)
    summary = f"{len(violations)} of {judged} repeat reads went back in time ({len(sessions)} sessions)"
    return Verdict(NAME, "invalid" if problem else "valid", f"{problem}: {summary}" if problem else summary,
                   evidence=violations, figures=figures)
