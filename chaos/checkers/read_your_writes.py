"""Read-your-writes: a session's read returns its own latest acknowledged write of the key, or a newer one.

Only a write acknowledged (ok, with its version) before the read was invoked binds the read; a
write whose outcome is unknown (info) binds nothing. A read of an absent key after such a write, or
of an older version, is a violation. Behind a balancer that sends a session's requests to any
instance, this is the guarantee affinity is meant to buy (docs/scaling.md).
"""
from __future__ import annotations

from harness.verdicts import Verdict

from .sessions import by_session, describe, judge_count, version_of

NAME = "read_your_writes"


def check(history, service: str | None = "ap", min_violations: int = 0,
          max_violations: int | None = None) -> Verdict:
    """Find each session's reads that missed its own acknowledged write; judge their count."""
    sessions = by_session(history, service)
    judged, unverifiable, violations = 0, 0, []
    for ops in sessions.values():
        last_write: dict[str, tuple] = {}  # key -> (version, the write)
        for c in ops:
            if c.f == "read" and c.type == "ok" and c.key in last_write:
                wrote, w = last_write[c.key]
                got = version_of(c)
                if got is None and c.value is not None:
                    unverifiable += 1
                    continue
                judged += 1
                if got is None or got < wrote:
                    violations.append(dict(describe(c), missed=str(wrote), write=describe(w)))
            if c.f == "write" and c.type == "ok" and c.version:
                v = version_of(c)
                if c.key not in last_write or v > last_write[c.key][0]:
                    last_write[c.key] = (v, c)
    figures = {"sessions": len(sessions), "judged": judged, "unverifiable": unverifiable,
               "violations": len(violations), "min_violations": min_violations,
               "max_violations": max_violations,
               "by_instance": _count_by(violations, "instance")}
    if not judged:
        why = "no session tag in the history" if not sessions else \
            "no session read a key after its own acknowledged, versioned write of it"
        return Verdict(NAME, "unknown", f"nothing to judge: {why}", figures=figures)
    problem = judge_count(len(violations), min_violations, max_violations)
    summary = (f"{len(violations)} of {judged} reads missed their session's own write "
               f"({len(sessions)} sessions)")
    return Verdict(NAME, "invalid" if problem else "valid", f"{problem}: {summary}" if problem else summary,
                   evidence=violations, figures=figures)


def _count_by(items: list[dict], field: str) -> dict:
    out: dict = {}
    for d in items:
        out[str(d.get(field))] = out.get(str(d.get(field)), 0) + 1
    return out
