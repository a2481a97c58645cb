"""``python -m chaos.soak --duration 30m``: a soak on a private stack; see chaos/soak/__init__.py.

Exit codes: 0 the soak ran and met its targets (RSS growth < 10% after warm-up, no descriptor
growth); 1 it ran and missed one; 2 bad arguments; 3 the stack or Locust could not run.
"""
from __future__ import annotations

import argparse
import json
import sys

from harness.arguments import duration, folder, number, port_offset

from . import DEFAULT_PORT_OFFSET, SoakOptions, run_soak


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m chaos.soak", description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=duration(60, 24 * 3600), default=1800.0,
                   help="how long the load runs: 2m .. 24h (default 30m)")
    p.add_argument("--users", type=number(2, 200, integer=True), default=8,
                   help="Locust users over cp and ap (default 8)")
    p.add_argument("--wait-ms", default="20:60", help="think time between a user's requests, MIN:MAX ms")
    p.add_argument("--fault-every", type=duration(5, 3600), default=60.0,
                   help="one fault of the cycle (cut g2, slow g1, black-hole g2) this often (default 60s)")
    p.add_argument("--fault-for", type=duration(1, 600), default=10.0, help="each fault's length (default 10s)")
    p.add_argument("--sample-every", type=duration(1, 300), default=5.0, help="resource samples (default 5s)")
    p.add_argument("--check-every", type=duration(10, 24 * 3600), default=300.0,
                   help="time the checkers on the history so far this often (default 5m)")
    p.add_argument("--warmup", type=duration(0, 3600), default=None,
                   help="excluded from growth figures (default: a quarter of the run, at most 5m)")
    p.add_argument("--port-offset", type=port_offset, default=DEFAULT_PORT_OFFSET,
                   help=f"shift every stack port (default {DEFAULT_PORT_OFFSET}: never a user's stack)")
    p.add_argument("--stack-run-dir", type=folder, default="run/soak")
    p.add_argument("--runs-dir", type=folder, default="runs")
    p.add_argument("--report", type=folder, metavar="RUN_DIR",
                   help="rebuild the report of a finished soak from its files instead of running one")
    p.add_argument("--recheck", action="store_true", help="with --report: time the checkers on the whole "
                   "history again first (appended to checks.jsonl)")
    return p


def report_only(run_dir: Path, recheck: bool) -> int:
    """Rebuild soak.md, results.json and the plots of a finished run (`--report RUN_DIR`)."""
    from .check import read_checks, record_check, time_checkers
    from .report import rebuild
    if not (run_dir / "events.jsonl").is_file() or not (run_dir / "options.json").is_file():
        print(f"soak: {run_dir} is not a soak run folder (no events.jsonl or options.json)", file=sys.stderr)
        return 2
    opts = SoakOptions(**json.loads((run_dir / "options.json").read_text()))
    if recheck:
        result = time_checkers([run_dir / "events.jsonl", run_dir / "history.jsonl"])
        record_check(run_dir, {**result, "at_s": "after the run"})
    figs = rebuild(run_dir, read_checks(run_dir), opts)
    print(f"soak: report {run_dir / 'soak.md'}")
    return 0 if figs["verdict"]["rss_ok"] and figs["verdict"]["fds_ok"] else 1


def main(argv=None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.report is not None:
        return report_only(args.report, args.recheck)
    lo, _, hi = args.wait_ms.partition(":")
    try:
        if not 0 <= float(lo) <= float(hi or lo) <= 60_000:
            raise ValueError
    except ValueError:
        p.error(f"--wait-ms: {args.wait_ms!r} is not MIN:MAX with 0 <= MIN <= MAX <= 60000 ms")
    if args.fault_for >= args.fault_every:
        p.error(f"--fault-for ({args.fault_for:g} s) must be shorter than --fault-every ({args.fault_every:g} s)")
    opts = SoakOptions(duration_s=args.duration, users=args.users, wait_ms=args.wait_ms,
                       fault_every_s=args.fault_every, fault_s=args.fault_for, sample_every_s=args.sample_every,
                       check_every_s=args.check_every, warmup_s=args.warmup, port_offset=args.port_offset,
                       stack_run_dir=str(args.stack_run_dir), runs_dir=str(args.runs_dir))
    from loadtests.workload import LoadError
    from stack.process import StackError
    try:
        run_dir = run_soak(opts, say=lambda msg: print(msg, flush=True))
    except (StackError, LoadError) as err:
        print(f"soak: {err}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("soak: interrupted; faults undone, stack stopped", file=sys.stderr)
        return 130
    figs = json.loads((run_dir / "results.json").read_text())["figures"]
    v = figs["verdict"]
    print(f"RSS growth (worst gunicorn process): {v['rss_growth_max']}; descriptor growth: {v['fd_growth_max']}; "
          f"history {figs['history_mb_per_min']} MB/min")
    return 0 if v["rss_ok"] and v["fds_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
