"""Decide whether the AP nodes converged after the network healed, and how long it took."""
from __future__ import annotations

from harness.verdicts import Verdict

from .common import last_fault_stop, snapshot_rounds

NAME = "convergence"


def differing_keys(round_: dict, nodes: list[str]) -> list[dict]:
    """Return the keys whose record differs between nodes, with each node's version (None = absent)."""
    keys = set()
    for snap in round_.values():
        keys |= set(snap.records)
    out = []
    for k in sorted(keys):
        recs = {n: (round_[n].records.get(k) if n in round_ else None) for n in nodes}
        seen = {None if r is None else (r.get("value"), r.get("version")) for r in recs.values()}
        if len(seen) > 1:
            out.append({"key": k, "versions": {n: (r or {}).get("version") for n, r in recs.items()},
                        "values": {n: (r or {}).get("value") for n, r in recs.items()}})
    return out


def check(history, within_s: float | None = None, phase: str = "after-heal") -> Verdict:
    """Check that the last snapshot round is identical on every node, reached within within_s of the heal."""
    rounds = snapshot_rounds(history, phase)
    if not rounds:
        return Verdict(NAME, "unknown", f"no {phase!r} snapshots in the history")
    nodes = sorted({n for r in rounds for n in r})
    if len(nodes) < 2:
        return Verdict(NAME, "unknown", f"only {nodes} snapshotted: one node cannot diverge from itself")
    # A round missing a node proves nothing about that node, so it never counts as converged.
    same = [len(r) == len(nodes) and not differing_keys(r, nodes) for r in rounds]
    healed = last_fault_stop(history)
    figures = {"nodes": nodes, "rounds": len(rounds), "identical_rounds": sum(same),
               "healed_at_s": healed, "converged_after_s": None, "within_s": within_s}
    if not same[-1]:
        last = rounds[-1]
        missing = [n for n in nodes if n not in last]
        diff = differing_keys(last, nodes)
        figures["differing_keys"] = len(diff)
        why = f"nodes {missing} missing from the last round" if missing else f"{len(diff)} keys differ"
        return Verdict(NAME, "invalid", f"not converged in the last of {len(rounds)} rounds: {why}",
                       evidence=diff, figures=figures)
    if not any(s.records for s in rounds[-1].values()):
        return Verdict(NAME, "unknown", "the nodes hold no record of the run in the last round: nothing to compare",
                       figures=figures)
    # Converged from the first round of the final identical streak: an identical round followed by
    # a differing one was a coincidence, not convergence.
    first = len(same) - 1
    while first > 0 and same[first - 1]:
        first -= 1
    done_at = max(s.time for s in rounds[first].values())
    figures["converged_at_s"] = done_at
    if healed is None:
        return Verdict(NAME, "valid", f"{len(nodes)} nodes identical (no fault stop to time from)",
                       figures=figures)
    after = round(done_at - healed, 3)
    figures["converged_after_s"] = after
    if within_s is not None and after > within_s:
        return Verdict(NAME, "invalid", f"converged {after} s after the heal, more than {within_s} s",
                       figures=figures)
    return Verdict(NAME, "valid", f"{len(nodes)} nodes identical {after} s after the heal", figures=figures)
