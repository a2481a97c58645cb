"""`python -m chaos list | run <experiment> | run-all | alerts-drill | heal | report <run-dir> | compare <run-dir>...
| crosscheck <run-dir>`.

Exit codes: 0 every verdict valid; 1 a verdict is invalid; 2 a bad experiment file or bad usage;
3 the run did not happen (the stack could not start, the steady state failed before any fault,
another run holds the stack); 4 some verdict is unknown and none invalid; 130/143 interrupted.
`crosscheck` exits 0 when caplab and Porcupine agree on every key, 1 when they disagree on one,
2 on a bad run folder, 3 when Porcupine could not run, 4 when a key is undecided on either side;
for several folders, 1 if any disagrees, else the highest code.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from chaos.experiment.files import ExperimentError, catalogue, find_experiment, load_experiment
from harness.arguments import folder, number, port_offset

EXIT_USAGE, EXIT_NOT_RUN = 2, 3


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except ExperimentError as err:
        print(f"chaos: invalid experiment {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("chaos: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m chaos", description="caplab's chaos experiments")
    sub = p.add_subparsers(dest="command", required=True)

    def stack_args(sp):
        sp.add_argument("--stack-run-dir", type=folder, default="run", help="the local stack's folder (default: run; "
                        "3-node experiments use <dir>/3nodes)")
        sp.add_argument("--port-offset", type=port_offset, default=0,
                        help="shift every stack port by this much (use multiples of 1000)")
        sp.add_argument("--target", choices=("local", "compose"), default="local",
                        help="local: the stack of processes (default); compose: docker-compose.yml "
                             "under podman, as its settings file describes it")
        sp.add_argument("--compose-env-file", default=".env",
                        help="with --target compose: the compose settings file (default: .env)")

    sp = sub.add_parser("list", help="list the catalogue")
    sp.set_defaults(func=cmd_list)
    sp = sub.add_parser("run", help="run one experiment (a catalogue name or a YAML file)")
    sp.add_argument("experiment")
    sp.add_argument("--runs-dir", type=folder, default="runs", help="where run folders go (default: runs)")
    stack_args(sp)
    sp.set_defaults(func=cmd_run)
    sp = sub.add_parser("run-all", help="run the whole catalogue, one experiment after another")
    sp.add_argument("--runs-dir", type=folder, default="runs")
    sp.add_argument("--only", default="", help="comma-separated names to run (default: all)")
    stack_args(sp)
    sp.set_defaults(func=cmd_run_all)
    sp = sub.add_parser("heal", help="remove every fault the tool knows about, also a killed run's")
    stack_args(sp)
    sp.set_defaults(func=cmd_heal)
    sp = sub.add_parser("alerts-drill", help="one experiment per alert (fast profile): does each fire and resolve?")
    sp.add_argument("--runs-dir", type=folder, default="runs")
    sp.add_argument("--only", default="", help="comma-separated drill experiments (default: all)")
    stack_args(sp)
    sp.set_defaults(func=cmd_alerts_drill)
    sp = sub.add_parser("report", help="(re)build report.md and report.html for a run folder")
    sp.add_argument("run_dir")
    sp.set_defaults(func=cmd_report)
    sp = sub.add_parser("compare", help="runs side by side: comparison.md and comparison.html")
    sp.add_argument("run_dirs", nargs="+", metavar="run-dir", help="two or more run folders")
    sp.add_argument("--out", type=folder, default=None, help="output folder (default: runs/compare/<timestamp>)")
    sp.set_defaults(func=cmd_compare)
    sp = sub.add_parser("crosscheck", help="judge runs' CP histories with Porcupine too; exit 1 if they disagree")
    sp.add_argument("run_dirs", nargs="+", metavar="run-dir", help="one or more run folders")
    sp.add_argument("--key-timeout", type=number(0.1, 3600), default=30.0, help="Porcupine's time bound per key, s (default 30)")
    sp.add_argument("--mem-mb", type=number(8, 65536, integer=True), default=1024,
                    help="Porcupine's Go heap bound, MiB, 8..65536 (default 1024)")
    sp.set_defaults(func=cmd_crosscheck)
    return p


def cmd_list(args) -> int:
    from chaos.experiment.files import ALERTS_DIR
    bad = 0
    for path in catalogue() + [None] + catalogue(ALERTS_DIR):
        if path is None:
            print("\nthe alerts drill (`python -m chaos alerts-drill`, or run one by name):")
            continue
        try:
            e = load_experiment(path)
        except ExperimentError as err:
            bad += 1
            print(f"{path.stem:<28} INVALID: {err.problems[0]}")
            continue
        faults = ", ".join(dict.fromkeys(s.fault for s in e.schedule)) or "none"
        print(f"{e.name:<28} {'+'.join(e.services):<6} {e.nodes} nodes  {e.workload.duration_s:>4.0f} s  "
              f"faults: {faults}\n{'':<29}{e.title}")
    return EXIT_USAGE if bad else 0


def _stack_for(exp, args):
    from alerts.monitoring import init_stack
    from stack import Stack
    from stack.target import compose_stack, stack_config
    if args.target == "compose":
        return compose_stack(exp, args.compose_env_file)
    return init_stack(Stack(stack_config(exp.nodes, exp.profile, args.stack_run_dir, args.port_offset,
                                         alerts=bool(exp.alerts), alert_profile=exp.alert_profile,
                                         native="native" in exp.services,
                                         instances=exp.stack.instances, balance=exp.stack.balance,
                                         local_reads=exp.stack.local_reads)))


def run_one(exp, args, started: list | None = None) -> int:
    """Run one experiment, starting its stack if needed (appended to `started`)."""
    from chaos.run.runner import run_experiment
    from stack.target import RunnerError, ensure_settings, ensure_shape, ensure_up
    from stack.process import StackError
    try:
        stack = _stack_for(exp, args)
        try:
            if ensure_up(stack) and started is not None:
                started.append(stack)
            if exp.stack.instances > 1:  # the policy and read preference of this experiment
                stack = ensure_shape(stack, exp.stack.balance, exp.stack.local_reads)
            if exp.service_settings:
                stack = ensure_settings(stack, exp.service_settings)
        except Exception as err:  # a port in use, a missing binary, Toxiproxy refusing a proxy
            raise StackError(f"could not start the stack in {stack.run_dir}: {err}") from err
        try:
            return run_experiment(exp, stack, args.runs_dir).exit_code
        finally:
            if exp.service_settings:  # the next experiment gets the profile's settings again
                ensure_settings(stack, {})
    except (StackError, RunnerError) as err:
        print(f"chaos: {err}", file=sys.stderr)
        return EXIT_NOT_RUN


def cmd_run(args) -> int:
    exp = load_experiment(find_experiment(args.experiment))
    started: list = []
    try:
        return run_one(exp, args, started)
    finally:
        _stop_extra_stacks(started)


def _stop_extra_stacks(stacks) -> None:
    """Stop the stacks a command started, except the default one (`make up` leaves it running)."""
    for stack in stacks:
        if stack.config.nodes != ("g1", "g2") or stack.config.alerts or stack.config.instances > 1:
            print(f"stopping the stack in {stack.run_dir}")
            stack.down(progress=lambda _m: None)


def cmd_run_all(args) -> int:
    paths = catalogue()
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        paths = [find_experiment(n) for n in wanted]
    experiments = [load_experiment(p) for p in paths]  # every file valid before anything runs
    started, rows, stacks = time.monotonic(), [], []
    try:
        for exp in experiments:
            t = time.monotonic()
            print(f"\n=== {exp.name} ===", flush=True)
            code = run_one(exp, args, stacks)
            rows.append((exp.name, code, time.monotonic() - t))
    finally:
        _stop_extra_stacks(stacks)  # stop only the stacks this command started
    words = {0: "valid", 1: "INVALID", 3: "NOT RUN", 4: "unknown", 130: "interrupted", 143: "terminated"}
    print(f"\n{'experiment':<28} {'verdict':<11} time")
    for name, code, secs in rows:
        print(f"{name:<28} {words.get(code, code):<11} {secs:5.0f} s")
    print(f"catalogue: {len(rows)} experiments in {time.monotonic() - started:.0f} s")
    return max((code for _, code, _ in rows), default=0)


def _heal_targets(args):
    """(stack, its Toxiproxy running?) for every stack `heal` looks at."""
    from chaos.faults.ledger import read_entries
    from stack.target import stack_config
    from stack import Stack
    if args.target == "compose":
        from stack.compose import ComposeStack
        stack = ComposeStack(args.compose_env_file)
        yield stack, any(r["running"] for r in stack.status() if r["name"] == "toxiproxy")
        return
    for nodes, instances in ((2, 1), (3, 1), (2, 3), (3, 3)):  # instance stacks too (their own folder)
        cfg = stack_config(nodes, "local", args.stack_run_dir, args.port_offset, instances=instances)
        if not (cfg.run_dir / "toxiproxy.pid").exists() and not read_entries(cfg.run_dir / "chaos-state"):
            continue  # no stack of this size was ever started here
        stack = Stack(cfg)
        yield stack, stack.toxiproxy.running()


def cmd_heal(args) -> int:
    from chaos.faults.heal import heal_stack
    from chaos.faults.ledger import read_entries
    from stack.process import StackError
    from stack.target import state_dir
    ok, touched = True, 0
    try:
        targets = list(_heal_targets(args))
    except (StackError, OSError) as err:  # no settings file for --target compose, no podman
        print(f"chaos: {err}", file=sys.stderr)
        return EXIT_USAGE
    for stack, running in targets:
        if not running and not read_entries(state_dir(stack)):
            continue
        touched += 1
        with stack.client() as tp:
            report = heal_stack(stack, tp if running else None)
        print(f"{stack.run_dir} ({len(stack.config.nodes)} nodes): " + ("healed" if report.ok else "NOT fully healed"))
        for label, items in (("proxies reset", report.proxies_reset), ("resumed", report.resumed),
                             ("notes", report.notes), ("errors", report.errors)):
            if items:
                print(f"  {label}: {', '.join(items)}")
        ok = ok and report.ok
    if not touched:
        print(f"nothing to heal: no stack is running under {args.stack_run_dir}/")
    return 0 if ok else 1


def cmd_report(args) -> int:
    run_dir = Path(args.run_dir)
    if not (run_dir / "history.jsonl").exists():
        print(f"chaos: {run_dir} has no history.jsonl; give a run folder such as runs/<experiment>/<timestamp>",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        from chaos.report.build import build_report
    except ImportError:
        print("chaos: chaos.report.build is not available in this checkout", file=sys.stderr)
        return 1
    from chaos.report.build import ReportError
    try:
        md, html = build_report(run_dir)
    except ReportError as err:
        print(f"chaos: cannot build the report: {err}", file=sys.stderr)
        return EXIT_USAGE
    print(f"report: {md} and {html}")
    return 0


def cmd_compare(args) -> int:
    from datetime import datetime, timezone

    from chaos.report.build import ReportError, build_comparison
    out = Path(args.out) if args.out else Path("runs") / "compare" / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    try:
        md, html = build_comparison(args.run_dirs, out)
    except ReportError as err:
        print(f"chaos: cannot compare: {err}", file=sys.stderr)
        return EXIT_USAGE
    print(f"comparison: {md} and {html}")
    return 0


def cmd_crosscheck(args) -> int:
    from chaos.report.crosscheck import check_folders
    return check_folders(args.run_dirs, key_timeout_s=args.key_timeout, mem_mb=args.mem_mb)


def cmd_alerts_drill(args) -> int:
    from chaos.drills.alerts import run_alerts_drill
    return run_alerts_drill(args)


if __name__ == "__main__":
    sys.exit(main())
