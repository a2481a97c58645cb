"""`python -m chaos.soak.judge [--whole] FILE...`: the soak's checkers on its history, as one JSON line.

By default the history is checked shard by shard (chaos/soak/shards.py): one shard in memory at a
time. `--whole` reads every event of every file into memory at once, as a chaos run does, to
compare. The output carries the checkers' own time and this process's peak resident memory.
"""
from __future__ import annotations

import json
import sys
import time

from .check import SOAK_CHECKERS


def main(argv=None) -> int:
    """Check the files; print the verdicts, the seconds and the peak RSS."""
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
