"""Run a headless load test and judge it: `python -m loadtests.run --service cp --users 20 --duration 30s`.

Writes Locust's CSV, HTML and JSON, thresholds.json (and history.jsonl with --history) under
runs/load/<timestamp>/, prints a summary, and exits 0 when every threshold held, 1 when one broke,
2 when the run itself failed (service down, Locust crashed).
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import requests

from harness.arguments import duration, folder, fraction, number, url
from harness.runs import new_run_dir

from .options import _bool
from .workload import LoadError, run_locust


def parser() -> argparse.ArgumentParser:
    from stack.config import StackConfig

    cfg = StackConfig()
    p = argparse.ArgumentParser(prog="python -m loadtests.run", description=__doc__.split("\n")[0])
    p.add_argument("--service", choices=["cp", "ap", "both"], default="both")
    p.add_argument("--users", type=number(1, 10_000, integer=True), default=10)
    p.add_argument("--spawn-rate", type=number(0.01, 10_000), default=None, help="users started per second (default: users/2)")
    p.add_argument("--duration", type=duration(1, 7 * 86400), default="30s", help="30s, 5m, 1h30m")
    p.add_argument("--shape", choices=["steady", "step", "spike", "soak"], default="steady")
    p.add_argument("--out", type=folder, default=None, help="run folder (default: runs/load/<timestamp>/)")
    p.add_argument("--p95-ms", type=number(0.001, 600_000, unit="ms"), default=500.0)
    p.add_argument("--max-error-rate", type=fraction, default=0.001, help="a fraction: 0.001 = 0.1%%")
    p.add_argument("--refusals-are-errors", type=_bool, default=True, metavar="yes|no")
    p.add_argument("--history", action="store_true", help="also write history.jsonl for the checkers")
    p.add_argument("--workers", type=number(0, 64, integer=True), default=0, help="distributed: a master plus this many local workers")
    p.add_argument("--cp-url", type=url, default=cfg.service_url("cp"))
    p.add_argument("--ap-url", type=url, default=cfg.service_url("ap"))
    p.add_argument("locust_args", nargs="*", help="after --: more Locust options, e.g. -- --settle-s 3")
    return p


def ensure_up(urls: dict, services: list) -> None:
    """Raise LoadError naming the fix when a service does not answer /health."""
    for s in services:
        try:
            requests.get(urls[s] + "/health", timeout=2).raise_for_status()
        except requests.RequestException as e:
            raise LoadError(f"the {s} service at {urls[s]} does not answer /health ({e}). "
                            "Start the local stack with `make up`, or pass --cp-url/--ap-url.") from None


def stats_rows(out: Path) -> list[dict]:
    path = out / "locust_stats.csv"
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _rate_limited(out: Path) -> bool:
    path = out / "locust_failures.csv"
    return path.exists() and " 429 " in path.read_text().replace("'", " ")


def summary(result) -> str:
    """The per-endpoint table (whole run) and the steady-state verdict per service."""
    lines = [f"{'endpoint (whole run)':<36}{'reqs':>8}{'fails':>7}{'p50':>7}{'p95':>7}{'p99':>7}{'rps':>8}"]
    for r in stats_rows(result.out_dir):
        name = r["Name"] if r["Type"] else "Aggregated"
        lines.append(f"{name[:35]:<36}{r['Request Count']:>8}{r['Failure Count']:>7}{r['50%']:>7}"
                     f"{r['95%']:>7}{r['99%']:>7}{float(r['Requests/s']):>8.1f}")
    v = result.verdict or {}
    lim = v.get("limits", {})
    lines.append("")
    lines.append(f"steady state {v.get('windows')} s: p95 < {lim.get('p95_ms')} ms, error rate < "
                 f"{lim.get('max_error_rate', 0):.3%}, refusals {'count' if lim.get('refusals_are_errors') else 'do not count'} as errors")
    lines.append(f"{'service':<9}{'reqs':>7}{'errors':>8}{'refusals':>10}{'err rate':>10}{'p95 ms':>8}{'rps':>8}")
    for s in v.get("services", []):
        lines.append(f"{s['service']:<9}{s['requests']:>7}{s['errors']:>8}{s['refusals']:>10}"
                     f"{s['error_rate']:>10.3%}{s['p95_ms'] if s['p95_ms'] is not None else '-':>8}{s['rps']:>8}")
    lines.append("")
    if result.passed:
        lines.append("PASSED: every threshold held")
    else:
        lines += ["FAILED: " + b for b in result.broken]
    if _rate_limited(result.out_dir):
        lines.append("note: the service answered 429: raise its RATE_LIMIT (the local stack sets "
                     "100000 per minute) or the load measures the limiter, not the service")
    lines.append(f"outputs: {result.out_dir}")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    services = ["cp", "ap"] if args.service == "both" else [args.service]
    urls = {"cp": args.cp_url, "ap": args.ap_url}
    out = args.out or new_run_dir("runs", "load")
    try:
        ensure_up(urls, services)
        result = run_locust(
            urls, services, args.users, args.duration, out / "history.jsonl" if args.history else None,
            None, args.locust_args, out_dir=out, shape=args.shape,
            spawn_rate=args.spawn_rate or max(1.0, args.users / 2), p95_ms=args.p95_ms,
            max_error_rate=args.max_error_rate, refusals_are_errors=args.refusals_are_errors,
            workers=args.workers)
    except (LoadError, ValueError) as e:
        print(f"load: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # the output folder cannot be written
        print(f"load: {e.filename or ''}: {e.strerror or e}; check --out and its permissions", file=sys.stderr)
        return 2
    print(summary(result))
    if result.worker_exit_codes:
        print(f"workers exited with {result.worker_exit_codes} (informational: the master judges)")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
