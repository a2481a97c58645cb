"""Decide whether the CP history of each key is linearizable as a read/write register.

The search is Lowe's just-in-time linearization, run breadth-first over time as Knossos' "linear"
checker does: walk the invoke/return entries in time order, keep the set of reachable
configurations (register state, pending ops already linearized), and at each return linearize
pending ops only until the returning op is placed. Configurations are memoized, as in Porcupine.
A violation shows up at the first return no configuration can explain, with no backtracking over
the whole history. Our first, depth-first version (Wing & Gong with Porcupine's cache) had to
exhaust every ordering of the prefix to prove a late violation: 2 million steps were not enough
for one stale read near the end of 2,000 ops. Keys are checked
separately (a register per key is P-compositional).
"""
from __future__ import annotations

import heapq
import math
import time

from harness.history import Op
from harness.pairs import Completed, pair_ops
from harness.verdicts import Verdict, worst

NAME = "linearizable"


class _Unread:
    """The one state that stands for every value no read returned."""

    def __repr__(self):
        return "<a value no read returned>"


_UNREAD = _Unread()


def check(history, service: str = "cp", max_steps: int = 2_000_000,
          time_limit_s: float = 30.0, allow_mixed_keys: bool = False) -> Verdict:
    """Check every key's register history; a key whose search runs out of budget answers unknown.

    A key also written through another service is skipped (its history is not all here); that
    makes the verdict unknown unless the experiment expects it (``allow_mixed_keys: true``). A
    history with nothing to contradict linearizability (no operation, or no ok read) is unknown.
    """
    if not isinstance(allow_mixed_keys, bool):
        raise ValueError(f"allow_mixed_keys must be true or false, not {allow_mixed_keys!r}")
    ops = pair_ops(history, service=service)
    # Only invokes are read for the other services: their records may be malformed, and they are
    # not this checker's business beyond naming the keys they wrote.
    other_writers = {e.key for e in history if isinstance(e, Op) and e.type == "invoke"
                     and e.service != service and e.f == "write"}
    by_key: dict[str, list[Completed]] = {}
    for c in ops:
        by_key.setdefault(c.key, []).append(c)
    # The CP promise covers keys written only through CP: a write through another service is
    # outside this history, so any read of it would look like a read of a value never written.
    mixed = sorted(k for k in by_key if k in other_writers)
    results, evidence, unknown_keys = {}, [], []
    started = time.monotonic()
    for key in sorted(by_key):
        if key in mixed:
            continue
        res = check_key(by_key[key], max_steps=max_steps, time_limit_s=time_limit_s)
        results[key] = res
        if res["valid"] == "invalid" and not evidence:
            evidence = [{"key": key, "explanation": res["explanation"], "could_hold": res["could_hold"]}]
            evidence += res["window"]
        elif res["valid"] == "unknown":
            unknown_keys.append(key)
    invalid_keys = sorted(k for k, r in results.items() if r["valid"] == "invalid")
    observed = sum(any(c.f == "read" and c.type == "ok" for c in by_key[k]) for k in results)
    figures = {
        "keys": len(results), "ops": sum(r["ops"] for r in results.values()),
        "steps": sum(r["steps"] for r in results.values()),
        "seconds": round(time.monotonic() - started, 3), "keys_with_reads": observed,
        "invalid_keys": invalid_keys, "unknown_keys": unknown_keys, "skipped_mixed_keys": mixed,
        "allow_mixed_keys": allow_mixed_keys,
    }
    valid, summary = _judge(results, invalid_keys, unknown_keys, mixed, allow_mixed_keys, observed, service)
    if valid == "invalid":
        summary = f"{len(invalid_keys)} of {len(results)} keys not linearizable: {evidence[0]['explanation']}"
    elif valid == "valid":
        summary = f"{len(results)} keys, {figures['ops']} ops: linearizable" + (
            f" ({len(mixed)} keys written through another service skipped, as expected)" if mixed else "")
    return Verdict(NAME, valid, summary, evidence=evidence, figures=figures)


def _judge(results, invalid_keys, unknown_keys, mixed, allow_mixed, observed, service) -> tuple[str, str]:
    """Return (validity, summary) from the per-key results; a check of nothing is unknown."""
    if invalid_keys:
        return "invalid", ""
    if not results:
        why = (f"all {len(mixed)} keys were also written through another service, so none could be checked"
               if mixed else f"no {service} operations in the history")
        return "unknown", why
    if unknown_keys:
        return "unknown", f"search budget exhausted on {len(unknown_keys)} keys; no violation found elsewhere"
    if mixed and not allow_mixed:
        return "unknown", (f"{len(mixed)} of {len(mixed) + len(results)} keys were also written through another "
                           f"service and were not checked; set allow_mixed_keys: true if the experiment "
                           f"means them to be")
    if not observed:
        return "unknown", f"no ok {service} read in {len(results)} keys: nothing could contradict linearizability"
    return "valid", ""


def _relevant(ops: list[Completed]) -> list[Completed]:
    """Drop the operations that cannot constrain the search."""
    read_values = {c.value for c in ops if c.f == "read" and c.type == "ok"}
    keep = []
    for c in ops:
        if c.type == "fail":
            continue  # certainly did not happen
        if c.f == "read" and c.type != "ok":
            continue  # a read with no answer could be linearized anywhere, with any result
        if c.f == "write" and c.type == "info" and c.value not in read_values:
            # Nobody observed it, so linearizing it last (or never) is always possible and changes
            # nothing; dropping it keeps many timed-out writes from blowing up the search.
            continue
        keep.append(c)
    return keep


# The one function over 60 lines (tests/unit/test_sizes.py names it): the search loop keeps its
# frontier, memo and bounds in locals on purpose; split into calls, each step of millions pays for them.
def check_key(ops: list[Completed], max_steps: int = 2_000_000, time_limit_s: float = 30.0) -> dict:
    """Search one key's operations for a linearization; return validity, steps, and a failure window."""
    ops = _relevant(ops)
    n = len(ops)
    is_write = [c.f == "write" for c in ops]
    read_values = {c.value for c in ops if c.f == "read"}
    # Values no read ever returns are interchangeable: no read can match any of them. One symbol
    # for all of them merges configurations that differ only in which unread value is held.
    value = [c.value if c.f == "read" or c.value in read_values else _UNREAD for c in ops]
    # At equal times calls come first, so touching operations count as concurrent: the permissive
    # reading, which can miss a violation but never invent one.
    entries = sorted([(c.start, 0, i) for i, c in enumerate(ops)]
                     + [(c.end, 1, i) for i, c in enumerate(ops) if c.end != math.inf])
    # A configuration is (register state, mask of pending ops already linearized). Pending ops get
    # small slot numbers, reused once they return, so masks stay small integers.
    configs = {(None, 0)}
    slot_of, pending, free = [0] * n, {}, []
    reads_of: dict = {}  # value -> mask of pending, read slots that returned it
    next_slot, steps = 0, 0
    deadline = time.monotonic() + time_limit_s
    out = {"valid": "valid", "ops": n, "steps": 0, "explanation": None, "window": [], "could_hold": []}
    for _, is_ret, i in entries:
        if not is_ret:
            s = heapq.heappop(free) if free else next_slot
            next_slot = max(next_slot, s + 1)
            slot_of[i], pending[s] = s, i
            if not is_write[i]:
                bit = 1 << s
                reads_of[value[i]] = reads_of.get(value[i], 0) | bit
                # A read that matches the state can be linearized now at no cost: a configuration
                # with it done dominates the one without, and this keeps read subsets from exploding.
                configs = {(st, m | bit) if st == value[i] else (st, m) for st, m in configs}
            continue
        s = slot_of[i]
        bit = 1 << s
        done, seen, stack = set(), set(configs), list(configs)
        while stack:  # just in time: linearize pending ops only until op i is linearized
            steps += 1
            if steps > max_steps or (steps & 0xFFF == 0 and time.monotonic() > deadline):
                out.update(valid="unknown", steps=steps)
                return out
            st, m = stack.pop()
            if m & bit:
                done.add((st, m & ~bit))
                continue
            for s2, j in pending.items():
                b2 = 1 << s2
                if m & b2 or not (is_write[j] or value[j] == st):
                    continue
                nst = value[j] if is_write[j] else st
                c = (nst, m | b2 | reads_of.get(nst, 0))
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
        if not done:
            states = sorted({st for st, _ in seen}, key=str)
            out.update(valid="invalid", steps=steps)
            out["explanation"], out["window"], out["could_hold"] = _explain(ops, i, states, list(pending.values()))
            return out
        configs = done
        del pending[s]
        if not is_write[i]:
            reads_of[value[i]] &= ~bit
        heapq.heappush(free, s)
    out["steps"] = steps
    return out


def _explain(ops: list[Completed], blocked: int, states: list, pending: list[int]) -> tuple[str, list, list]:
    """Describe where the search failed: the op it could not place, the ops concurrent with it, and
    the values the register could hold just before it returned (None: absent)."""
    b = ops[blocked]
    what = f"read of {b.value!r}" if b.f == "read" else f"write of {b.value!r}"
    window = [ops[j] for j in pending if j != blocked]
    before = [c for c in ops if c.f == "write" and c.end < b.start]
    if before:  # the last write that surely preceded it shows what the register should hold
        window.append(max(before, key=lambda c: c.end))
    if _UNREAD in states:  # name the unread values the window could have left in the register
        read = {c.value for c in ops if c.f == "read"}
        states = [x for x in states if x is not _UNREAD]
        states += sorted({c.value for c in window if c.f == "write" and c.value not in read}) or ["?"]
    expl = (f"{what} by process {b.process} (t={b.start:.3f}..{b.end:.3f}) cannot be linearized: "
            f"before it returned the register could only hold one of {states!r}")
    window.sort(key=lambda c: abs(c.start - b.start))
    rows = [dict(b.describe(), role="blocked")] + [c.describe() for c in window[:19]]
    rows.sort(key=lambda r: r["start"])
    return expl, rows, states
