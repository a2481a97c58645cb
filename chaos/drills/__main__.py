"""``python -m chaos.drills`` (``make drill``): the DR drills, each a disaster under load, the runbook
automated, RPO and RTO measured as checkers; then one summary table (docs/disaster-recovery.md).

Exit status: 0 every drill behaved as its disaster declares; 1 one did not; 2 a bad option or drill
name; 3 the drill stack could not be started or the run could not go on; 130 / 143 Ctrl-C / SIGTERM
(the drill in progress heals, the others are not started).
"""
from __future__ import annotations

import argparse
import sys

from backup.errors import BackupError
from harness.arguments import folder, number, port_offset
from stack import Stack
from stack.process import StackError
from stack.target import RunnerError, ensure_up, stack_config

from .disasters import CATALOGUE as DISASTERS
from .recovery import INTERRUPTED, DrillOptions, run_drills
from .region import REGION_FAILOVER

CATALOGUE = {**DISASTERS, REGION_FAILOVER.name: REGION_FAILOVER}  # the region drill runs on the native side


def parser() -> argparse.ArgumentParser:
    d = argparse.ArgumentParser(prog="python -m chaos.drills", description=__doc__.splitlines()[0])
    d.add_argument("--only", help="comma-separated drills (default: all): " + ", ".join(CATALOGUE))
    d.add_argument("--rto-target", type=number(1, 86400), default=900.0, help="RTO target in seconds (default 900)")
    d.add_argument("--rpo-target", type=number(1, 86400), default=300.0, help="RPO target in seconds (default 300)")
    d.add_argument("--window", type=number(0.5, 600), default=5.0, help="RTO: seconds of >= 99%% success (default 5)")
    d.add_argument("--backup-every", type=number(0.5, 3600), default=5.0, help="drill backup interval, s (default 5)")
    d.add_argument("--warmup", type=number(0, 3600), default=14.0, help="seconds of load before the disaster (default 14)")
    d.add_argument("--runs-dir", type=folder, default="runs", help="where run folders go (default: runs)")
    d.add_argument("--stack-run-dir", type=folder, default="run/drill", help="the drill stack's folder (default: run/drill)")
    d.add_argument("--port-offset", type=port_offset, default=6000, help="shift the drill stack's ports (default 6000)")
    d.add_argument("--strict", action="store_true",
                   help="judge every drill against the targets only: an expected failure fails too (exit 1)")
    d.add_argument("--keep-stack", action="store_true", help="leave a stack the drill started running")
    return d


def cmd_drill(args) -> int:
    names = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else list(CATALOGUE)
    unknown = [n for n in names if n not in CATALOGUE]
    if unknown or not names:
        raise ValueError(f"unknown drill {', '.join(unknown) or '(none)'}: choose from {', '.join(CATALOGUE)}")
    opts = DrillOptions(rto_target_s=args.rto_target, rpo_target_s=args.rpo_target, window_s=args.window,
                        backup_every_s=args.backup_every, warmup_s=args.warmup, strict=args.strict)
    native = any("native" in CATALOGUE[n].services for n in names)
    cfg = stack_config(2, "local", args.stack_run_dir, args.port_offset, native=native)
    stack = Stack(cfg.with_(extra_env={"BREAKER_RESET_TIMEOUT_SEC": "1"}))  # a drill measures recovery, not waiting
    started = not any(row["running"] for row in stack.status())
    try:
        try:
            ensure_up(stack)
        except Exception as err:
            print(f"drill: could not start the drill stack in {stack.run_dir}: {err}", file=sys.stderr)
            return 3
        try:
            outcomes, _ = run_drills([CATALOGUE[n] for n in names], stack, args.runs_dir, opts)
        except RunnerError as err:
            print(f"drill: {err}", file=sys.stderr)
            return 3
    finally:
        if started and not args.keep_stack:
            stack.down(progress=lambda _m: None)
    cut = [o.exit_code for o in outcomes if o.exit_code in INTERRUPTED]
    return cut[0] if cut else 0 if all(o.passed for o in outcomes) else 1


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return cmd_drill(args)
    except ValueError as exc:
        print(f"drill: refused: {exc}", file=sys.stderr)
        return 2
    except (BackupError, StackError) as exc:
        print(f"drill: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a folder that cannot be written, a full disk: say which, never a traceback
        print(f"drill: {exc.filename or ''}: {exc.strerror or exc}; check the folder and its permissions",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
