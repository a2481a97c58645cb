"""Time the checkers on a soak's history in a child process, and measure their peak memory.

`time_checkers` runs `python -m chaos.soak.judge FILE...` (chaos/soak/judge.py) as a child. The
child reads its own peak resident memory as the kernel counts it (getrusage ru_maxrss just before
it exits), so the figure is the checkers' alone: RUSAGE_CHILDREN in the parent would mix in every
earlier child. Each result is also appended to the run's checks.jsonl, so the report can be rebuilt.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What the soak judges: CP stays linearizable, AP's staleness is honest, and availability outside
# the faults is the catalogue's (docs/experiments.md): CP 98% and AP 99% in steady state, AP 99% in faults.
SOAK_CHECKERS = {"availability": {"min_availability": {"cp": {"steady": 0.98}, "ap": {"steady": 0.99, "fault": 0.99}}},
                 "linearizable": {"service": "cp"},
                 "staleness": {"service": "ap", "require_honest_staleness": True}}


def time_checkers(paths, timeout_s: float = 1800.0, whole: bool = False) -> dict:
    """Run the checkers on `paths` in a child; return seconds, peak RSS bytes, bytes read and verdicts."""
    paths = [str(p) for p in paths]
    size = sum(Path(p).stat().st_size for p in paths if Path(p).exists())
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "chaos.soak.judge", *(["--whole"] if whole else []), *paths], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"history_bytes": size, "seconds": None, "error": f"the checkers ran over {timeout_s:.0f} s"}
    seconds = round(time.monotonic() - started, 2)
    if proc.returncode != 0:
        return {"history_bytes": size, "seconds": seconds, "error": err.decode(errors="replace")[-500:]}
    result = json.loads(out)
    return {"history_bytes": size, "seconds": seconds, **result}


def record_check(run_dir, result: dict) -> None:
    """Append one checker timing to the run's checks.jsonl."""
    with open(Path(run_dir) / "checks.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(result, default=str) + "\n")


def read_checks(run_dir) -> list[dict]:
    """The checker timings of a run, in order."""
    path = Path(run_dir) / "checks.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
