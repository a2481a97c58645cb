"""Run the checkers on a soak's history in a child process, and measure their time and peak memory.

`python -m chaos.soak.check FILE...` streams the history files, runs the soak's checkers and prints
one JSON object. `time_checkers` runs it as a child and reads the child's own peak resident memory
as the kernel counts it (the child's getrusage ru_maxrss just before it exits), so the figure is
the checkers' alone: RUSAGE_CHILDREN in the parent would mix in every earlier child.
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
    proc = subprocess.Popen([sys.executable, "-m", "chaos.soak.check", *(["--whole"] if whole else []), *paths], cwd=ROOT,
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


def main(argv=None) -> int:
    """`python -m chaos.soak.check [--whole] FILE...`: the soak's checkers, sharded by key by default."""
    import resource

    args = sys.argv[1:] if argv is None else list(argv)
    whole = "--whole" in args
    paths = [a for a in args if a != "--whole"]
    started = time.monotonic()
    if whole:  # for comparison: every event of every file in memory at once, as a chaos run does
        from chaos.checkers import run_all
        from harness.history import read_history
        verdicts, shards = run_all([e for p in paths for e in read_history(p)], SOAK_CHECKERS), 0
    else:
        from .shards import check_sharded
        verdicts, shards = check_sharded(paths, SOAK_CHECKERS)
    seconds = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    print(json.dumps({"check_seconds": round(seconds, 2), "peak_rss_bytes": peak, "shards": shards,
                      "verdicts": [{"checker": v.checker, "valid": v.valid, "summary": v.summary}
                                   for v in verdicts]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
