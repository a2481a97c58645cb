"""Stretch a soak's history to a longer run, to measure the checkers on an hour without waiting one.

`python -m chaos.soak.stretch runs/soak/<stamp> /tmp/soak-1h --minutes 60` writes history.jsonl
and events.jsonl made of copies of the source run laid end to end: copy k is shifted by k times
the source's length, and its keys and process ids are renamed, so every copy is an independent
stretch of the same real traffic (faults included) and the checkers see a history of the length
asked. Every line is streamed; nothing is held in memory.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from harness.arguments import folder, number

PROCESS_SHIFT = 10_000_000


def span_s(path: Path) -> float:
    """The time of the last complete event of a history file."""
    last = 0.0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.endswith("\n") and line.strip():
                last = max(last, json.loads(line).get("time", 0.0))
    return last


def stretch(src: Path, out: Path, minutes: float) -> dict:
    """Write out/history.jsonl and out/events.jsonl, `minutes` long, from the soak run in `src`."""
    out.mkdir(parents=True, exist_ok=True)
    span = max(span_s(src / "history.jsonl"), 1.0) + 1.0
    copies = max(1, math.ceil(minutes * 60 / span))
    for name in ("history.jsonl", "events.jsonl"):
        with open(out / name, "w", encoding="utf-8") as dst:
            for k in range(copies):
                with open(src / name, encoding="utf-8") as f:
                    for line in f:
                        if not (line.endswith("\n") and line.strip()):
                            continue
                        d = json.loads(line)
                        d["time"] = d["time"] + k * span
                        d["wall_ms"] = d["wall_ms"] + int(k * span * 1000)
                        if "key" in d:
                            d["key"], d["process"] = f"{d['key']}~{k}", d["process"] + k * PROCESS_SHIFT
                        dst.write(json.dumps(d, separators=(",", ":")) + "\n")
    return {"copies": copies, "span_s": span, "bytes": sum((out / n).stat().st_size
                                                           for n in ("history.jsonl", "events.jsonl"))}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m chaos.soak.stretch", description=__doc__.splitlines()[0])
    p.add_argument("source", type=folder, help="a soak run folder (runs/soak/<stamp>)")
    p.add_argument("out", type=folder, help="where to write the stretched history")
    p.add_argument("--minutes", type=number(1, 24 * 60), default=60.0)
    args = p.parse_args(argv)
    if not (args.source / "history.jsonl").is_file():
        p.error(f"{args.source} has no history.jsonl; give a soak run folder")
    print(json.dumps(stretch(args.source, args.out, args.minutes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
