"""Check a history too long to hold in memory: its operations split by key into shard files.

An experiment's history fits in memory (validation caps a run at 600 s); an hour of soak does not.
`check_sharded` streams the history twice: once to measure each key's bytes, once to write each
operation's line to the shard file of its key (keys spread so the shards hold about the same
bytes), keeping only the few other events (faults, breaker and metric samples, snapshots). The
checkers then run on one shard at a time, with those events. Peak memory is one shard's worth: about
SHARD_BYTES of lines, or the busiest key's, whichever is larger (a key cannot be split: its register
history is checked whole).

This is exact for what the soak judges. Linearizability, staleness and lost writes are properties
of each key on its own (a register per key is P-compositional), and a key's operations all land in
one shard. Availability counts add up across shards: the merged table sums them per window and
service and is judged against the bounds again (its latency percentiles are the worst shard's,
marked as such). Every other checker's verdict is the worst of its shards'.
"""
from __future__ import annotations

import heapq
import json
import math
import re
import tempfile
from pathlib import Path

from chaos.checkers import availability, run_all
from harness.history import OP_TYPES, Op, from_dict, iter_history
from harness.verdicts import Verdict, worst

SHARD_BYTES = 16 << 20  # about 16 MiB of JSON lines per shard


def split(paths, folder: Path, shard_bytes: int = SHARD_BYTES) -> tuple[list[Path], list]:
    """Write the operations of `paths` into shard files by key; return them and the other events.

    A first pass measures each key's bytes; keys then go, largest first, to the shard holding the
    fewest bytes so far, so a few hot keys cannot pile into one shard (a hash would let them).
    """
    paths = [Path(p) for p in paths if Path(p).exists()]
    ends = {p: p.stat().st_size for p in paths}  # the history so far: a file still growing stops here
    sizes: dict[str, int] = {}
    for path in paths:
        for line in _lines(path, ends[path]):
            key = _op_key(line)
            if key is not None:
                sizes[key] = sizes.get(key, 0) + len(line)
    n = max(1, min(len(sizes), math.ceil(sum(sizes.values()) / shard_bytes)))
    loads = [(0, i) for i in range(n)]  # a heap of (bytes so far, shard)
    home = {}
    for key, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
        load, i = heapq.heappop(loads)
        home[key] = i
        heapq.heappush(loads, (load + size, i))
    shards = [folder / f"shard-{i:03d}.jsonl" for i in range(n)]
    files = [open(s, "w", encoding="utf-8") for s in shards]
    others = []
    try:
        for path in paths:
            for line in _lines(path, ends[path]):
                key = _op_key(line)
                if key is not None:
                    files[home[key]].write(line)
                else:
                    others.append(from_dict(json.loads(line)))
    finally:
        for f in files:
            f.close()
    return shards, others


_OP_PREFIXES = tuple(f'{{"type":"{t}",' for t in OP_TYPES)  # HistoryWriter writes an Op's type first
_KEY = re.compile(r'"key":"((?:[^"\\]|\\.)*)"')


def _op_key(line: str) -> str | None:
    """The key of an operation's line as written (JSON-escaped: the same key, the same text), or None."""
    if line.startswith(_OP_PREFIXES):
        m = _KEY.search(line)
        if m:
            return m.group(1)
    if '"key"' not in line:
        return None
    d = json.loads(line)  # an Op written by another writer, fields in another order
    return json.dumps(d["key"])[1:-1] if isinstance(d, dict) and d.get("type") in OP_TYPES \
        and isinstance(d.get("key"), str) else None


def _lines(path, end: int):
    """The complete lines in the first `end` bytes of a history file (a torn last line is left out)."""
    done = 0
    with open(path, "rb") as f:
        for raw in f:
            done += len(raw)
            if done > end:
                return
            if raw.strip() and raw.endswith(b"\n"):
                yield raw.decode("utf-8")


def check_sharded(paths, config: dict, shard_bytes: int = SHARD_BYTES) -> tuple[list[Verdict], int]:
    """Run the checkers of `config` shard by shard; return the merged verdicts and the shard count."""
    with tempfile.TemporaryDirectory(prefix="caplab-shards-") as tmp:
        shards, others = split(paths, Path(tmp), shard_bytes)
        per_checker: dict[str, list[Verdict]] = {name: [] for name in config}
        for shard in shards:
            if shard.stat().st_size == 0:
                continue  # no key hashed here: nothing to judge, and no verdict to count
            history = others + list(iter_history(shard))
            present = {e.service for e in history if isinstance(e, Op)}
            # A checker of one service has nothing to judge in a shard of the other's keys only.
            wanted = {name: t for name, t in config.items() if (t or {}).get("service", "") in ("", *present)}
            for v in run_all(history, wanted):
                per_checker[v.checker].append(v)
            del history
            shard.unlink()
    return [merge(name, verdicts, config[name]) for name, verdicts in per_checker.items()], len(shards)


def merge(name: str, verdicts: list[Verdict], thresholds: dict | None = None) -> Verdict:
    """One verdict from the shards' verdicts of one checker: the worst validity, summed counts.

    Availability is judged again on the rows summed over the shards: a window can hold no operation
    of one shard's keys and many of the others'.
    """
    if name == "availability":
        rows = _merge_windows([v.figures.get("windows", []) for v in verdicts])
        merged = availability.judge(rows, **(thresholds or {}), any_ops=any(r["ops"] for r in rows))
        return Verdict(name, merged.valid, f"{len(verdicts)} shards by key, summed: {merged.summary}",
                       evidence=merged.evidence, figures=merged.figures)
    valid = worst(v.valid for v in verdicts)
    figures = _sum_figures([v.figures for v in verdicts])
    bad = [v for v in verdicts if v.valid == valid]
    evidence = [e for v in bad for e in (v.evidence or [])][:50]
    if valid != "valid":
        summary = f"{len(verdicts)} shards by key, the worst: {bad[0].summary}"
    else:
        counts = [f"{figures[k]} {k.replace('_', ' ')}" for k in ("keys", "ops", "reads", "observed_stale")
                  if k in figures]
        summary = f"{len(verdicts)} shards by key, each valid: " + ", ".join(counts)
    return Verdict(name, valid, summary, evidence=evidence, figures=figures)


def _sum_figures(all_figures: list[dict]) -> dict:
    """Sum the whole-number figures the shards share (ops, keys, reads, ...); keep the rest out."""
    out: dict = {}
    for figures in all_figures:
        for key, value in (figures or {}).items():
            if isinstance(value, int) and not isinstance(value, bool):
                out[key] = out.get(key, 0) + value
            elif isinstance(value, list) and key.endswith("_keys"):
                out[key] = out.get(key, []) + value
    return out


def _merge_windows(tables: list[list]) -> list[dict]:
    """Availability rows summed per (window, service) across shards."""
    rows: dict = {}
    for table in tables:
        for r in table:
            key = (r["window"], r["service"])
            row = rows.setdefault(key, {**{k: r.get(k) for k in ("window", "kind", "name", "edge", "service",
                                                                   "start", "end")}, "ops": 0, "ok": 0, "fail": 0,
                                        "info": 0, "latency_ms_worst_shard": {}})
            for k in ("ops", "ok", "fail", "info"):
                row[k] += r.get(k) or 0
            for q, ms in (r.get("latency_ms") or {}).items():
                if ms is not None:
                    row["latency_ms_worst_shard"][q] = max(ms, row["latency_ms_worst_shard"].get(q) or 0)
    for row in rows.values():
        row["availability"] = round(row["ok"] / row["ops"], 4) if row["ops"] else None
    return list(rows.values())
