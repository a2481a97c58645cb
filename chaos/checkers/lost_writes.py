"""Decide whether every acknowledged write survived: present in the final state, or superseded."""
from __future__ import annotations

from app.records import Version
from harness.pairs import pair_ops
from harness.verdicts import Verdict

from .common import snapshot_rounds

NAME = "lost_writes"


def check(history, service: str | None = None, nodes: str = "any", phase: str | None = None) -> Verdict:
    """Check each ok write against the last snapshot round: on any node (AP) or on all nodes."""
    if nodes not in ("any", "all"):
        raise ValueError(f"nodes must be 'any' or 'all', not {nodes!r}")
    rounds = snapshot_rounds(history, phase)
    if not rounds:
        return Verdict(NAME, "unknown", "no snapshots in the history: the final state is unknown")
    final = rounds[-1]
    # Info writes are not acknowledged: the client never heard they happened, so none is owed.
    acked = [c for c in pair_ops(history, service=service) if c.f == "write" and c.type == "ok"]
    counts = {"acknowledged": len(acked), "present": 0, "superseded": 0, "lost": 0, "unversioned": 0}
    lost, unversioned = [], []
    by_service: dict = {}
    for c in acked:
        mine = by_service.setdefault(c.service, {"acknowledged": 0, "lost": 0})
        mine["acknowledged"] += 1
        if not c.version:
            counts["unversioned"] += 1
            unversioned.append(c.describe())
            continue
        outcome = combine([fate(snap.records.get(c.key), c.version, c.value) for snap in final.values()], nodes)
        counts[outcome] += 1
        if outcome == "lost":
            mine["lost"] += 1
            seen = {n: snap.records.get(c.key) for n, snap in final.items()}
            lost.append(dict(c.describe(), final={n: r and r.get("version") for n, r in seen.items()}))
    figures = dict(counts, nodes=sorted(final), snapshot_at_s=max(s.time for s in final.values()),
                   by_service=by_service)
    if not acked:
        return Verdict(NAME, "unknown", f"no acknowledged {service or ''} write: nothing could be lost".replace("  ", " "),
                       figures=figures)
    if lost:
        return Verdict(NAME, "invalid", f"{len(lost)} of {len(acked)} acknowledged writes lost",
                       evidence=lost, figures=figures)
    if unversioned:
        return Verdict(NAME, "unknown", f"{len(unversioned)} acknowledged writes carry no version to check",
                       evidence=unversioned, figures=figures)
    return Verdict(NAME, "valid", f"{len(acked)} acknowledged writes: {counts['present']} present, "
                   f"{counts['superseded']} superseded", figures=figures)


def fate(record: dict | None, version: str, value) -> str:
    """Say what became of a write of ``version`` on one node: present, superseded or lost.

    The one definition of a write's fate: lost_writes and the DR drill's RPO (objectives) both ask it."""
    if record is None or not record.get("version"):
        return "lost"
    held, v = Version.parse(record["version"]), Version.parse(version)
    if held > v:
        return "superseded"
    # The same version with another value would mean two writes shared a version: one was lost.
    return "present" if held == v and record.get("value") == value else "lost"


def combine(fates: list[str], nodes: str) -> str:
    """Combine per-node fates: 'any' takes the best node, 'all' the worst."""
    rank = ["lost", "present", "superseded"]
    pick = max if nodes == "any" else min
    return pick(fates, key=rank.index)
