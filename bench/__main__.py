"""``make bench``: the services against a bare Flask+redis-py baseline, side by side, plus extras.

Starts its own stack on ports away from the defaults, a baseline app under the same gunicorn
settings, drives each with wrk, and writes docs/benchmarks.md and runs/bench/<timestamp>/results.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import requests

from harness.arguments import file_path, folder, integer_list, number
from stack import ROOT, Stack
from stack.config import StackConfig
from stack.process import ManagedProcess, StackError

from . import report, scaling, workers, wrk
from .wrk import BenchError

BASELINE_PORT, BASELINE_PROXY_PORT, PROXIED_BASELINE_PORT = 25003, 27901, 25004


def bench_config(run_dir: Path, offset: int = 0) -> StackConfig:
    """The bench's own stack, away from the default ports (and shifted by ``offset``)."""
    return StackConfig(run_dir=run_dir, profile="local", redis_base_port=26380 + offset, toxiproxy_port=28474 + offset,
                       proxy_base_port=27000 + offset, service_ports={"cp": 25001 + offset, "ap": 25002 + offset},
                       instance_base_port=25100 + offset, haproxy_stats_port=25190 + offset,
                       extra_env={"RATE_LIMIT": "100000000 per minute", "LOG_LEVEL": "WARNING"})


def baseline(stack: Stack, name: str, port: int, redis_addr: str) -> ManagedProcess:
    env = {**stack.config.service_env("cp"), "PORT": str(port), "BASELINE_REDIS": redis_addr,
           "PYTHONPATH": str(ROOT), "PROMETHEUS_MULTIPROC_DIR": ""}
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    return ManagedProcess(name, [sys.executable, gunicorn, "-c", str(ROOT / "app" / "gunicorn_conf.py"),
                                 "bench.baseline:create()"], stack.run_dir, port=port, env=env,
                          ready=lambda: requests.get(f"http://127.0.0.1:{port}/read/x", timeout=1).ok)


def gauge(url: str, name: str, node: str) -> float:
    for line in requests.get(url + "/metrics", timeout=5).text.splitlines():
        if line.startswith(f'{name}{{node="{node}"}}'):
            return float(line.split()[-1])
    return float("nan")


def wait(check, timeout: float, step: float = 0.05) -> float:
    """Poll ``check`` until true; return the seconds it took (raise BenchError on timeout)."""
    t0 = time.monotonic()
    while not check():
        if time.monotonic() - t0 > timeout:
            raise BenchError(f"condition not met after {timeout}s")
        time.sleep(step)
    return time.monotonic() - t0


def cp_unknowns(url: str) -> float:
    """CP writes answered 503 unknown so far (summed over the workers)."""
    for line in requests.get(url + "/metrics", timeout=5).text.splitlines():
        if line.startswith('caplab_cp_refusals_total{operation="write",outcome="unknown"}'):
            return float(line.split()[-1])
    return 0.0


def throughput(targets: dict, conns: list[int], seconds: float, say, keys: int = 1000) -> list:
    results = []
    for c in conns:
        for name, url in targets.items():
            if name == "baseline-via-toxiproxy" and c != conns[0]:
                continue
            for mode in ("write", "read"):
                wrk.run(name, url, mode, c, 2)  # warm-up: connections, caches, JIT-free but pools fill
                unknown = cp_unknowns(url) if (name, mode) == ("cp", "write") else None
                r = wrk.run(f"{name} {mode}", url, mode, c, seconds, keys=keys)
                row = r.to_dict()
                if unknown is not None:  # same-key contention: crossed writes answered unknown
                    row["cp_unknown"] = int(cp_unknowns(url) - unknown)
                say(f"  {r.target:<32} c={c:<3} {r.rps:8.0f} req/s  p50 {r.p50_ms:6.2f} ms  "
                    f"p99 {r.p99_ms:6.2f} ms  non-2xx {r.non_2xx}"
                    + (f" (503 unknown: {row['cp_unknown']})" if unknown is not None else ""))
                results.append(row)
    return results


def fail_fast(stack: Stack, seconds: float, say) -> dict:
    """CP refusal latency while the breaker for g2 is open in every worker."""
    cp = stack.config.service_url("cp")
    with stack.client() as tp:
        tp.set_enabled("cp_g2", False)
        try:
            wrk.run("trip", cp, "write", 16, 2)
            r = wrk.run("cp write, breaker open", cp, "write", 16, seconds)
            # One connection: no queue in front of the workers, so this is the refusal's own cost.
            alone = wrk.run("cp write, breaker open, 1 conn", cp, "write", 1, seconds, threads=1)
        finally:
            tp.set_enabled("cp_g2", True)
    say(f"  CP refusal with g2's breaker open: 16 conns p50 {r.p50_ms:.2f} ms, p99 {r.p99_ms:.2f} ms, "
        f"{r.rps:.0f} req/s, {r.non_2xx} of {r.requests} answered 503; "
        f"1 conn p50 {alone.p50_ms:.2f} ms, p99 {alone.p99_ms:.2f} ms")
    wait(lambda: gauge(cp, "circuit_breaker_state", "g2") == 0, 60)
    return {**r.to_dict(), "one_connection": alone.to_dict()}


def hint_replay(stack: Stack, count: int, say) -> dict:
    """Replay ``count`` hints g1 -> g2 through the AP proxies with app.hints.replay_hints."""
    from app import hints
    from app.config import load_settings
    from app.nodes import Node
    from app.records import Record, Version, hints_key, record_args, record_key
    stack.services["ap"].stop()  # its maintenance loop would replay them too
    try:
        settings = load_settings(stack.config.service_env("ap"))
        g1, g2 = (Node(a, settings) for a in settings.nodes)
        pipe = g1.client.pipeline(transaction=False)
        now = int(time.time() * 1000)
        for i in range(count):
            rec = Record(f"v{i}", Version(now, i, 1), now, "bench")
            g1.store_script(keys=[record_key(f"hint-{i}"), hints_key("g2")],
                            args=record_args(rec, now, f"hint-{i}"), client=pipe)
        pipe.execute()
        t0 = time.perf_counter()
        done = hints.replay_hints([g1, g2], g2)
        elapsed = time.perf_counter() - t0
        left = g1.client.zcard(hints_key("g2"))
    finally:
        stack.services["ap"].start()
    rate = done / elapsed
    say(f"  hint replay: {done} hints in {elapsed:.2f}s = {rate:.0f} hints/s ({left} left)")
    return {"hints": done, "seconds": elapsed, "hints_per_s": rate, "left": left}


def convergence(stack: Stack, partition_s: float, say) -> dict:
    """AP under write load, g2 cut off for ``partition_s``; then time to breaker close and no hints."""
    ap = stack.config.service_url("ap")
    load = threading.Thread(target=wrk.run, args=("ap write, partition", ap, "write", 16, partition_s + 20))
    with stack.client() as tp:
        load.start()
        time.sleep(2)
        tp.set_enabled("ap_g2", False)
        try:
            time.sleep(partition_s)
            lag = gauge(ap, "data_staleness_ms", "g2")
            pending = gauge(ap, "caplab_hints_pending", "g2")
        finally:
            tp.set_enabled("ap_g2", True)
    closed = wait(lambda: gauge(ap, "circuit_breaker_state", "g2") == 0, 120)
    drained = wait(lambda: gauge(ap, "caplab_hints_pending", "g2") == 0, 120) + closed
    load.join()
    say(f"  convergence after a {partition_s:.0f}s partition under load: lag at heal {lag:.0f} ms, "
        f"{pending:.0f} keys hinted; breaker closed after {closed:.1f}s, hints drained after {drained:.1f}s")
    return {"partition_s": partition_s, "lag_at_heal_ms": lag, "hinted_keys": pending,
            "breaker_closed_after_s": closed, "converged_after_s": drained}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--seconds", type=number(1, 3600), default=10, help="wrk duration per measurement")
    p.add_argument("--connections", type=integer_list(1, 10_000), default="16,64")
    p.add_argument("--partition", type=number(1, 3600), default=60, help="partition length for convergence (s)")
    p.add_argument("--hints", type=number(0, 10**7, integer=True), default=20000)
    p.add_argument("--out", type=file_path, default="docs/benchmarks.md")
    p.add_argument("--run-dir", type=folder, default="run/bench")
    p.add_argument("--targets", default="baseline,cp,ap,baseline-via-toxiproxy",
                   help="which services to drive (comma-separated)")
    p.add_argument("--keys", type=number(1, 1000, integer=True), default=1000, metavar="1..1000",
                   help="how many keys wrk spreads over (fewer keys: more same-key contention)")
    p.add_argument("--worker-model", choices=("yes", "no", "only"), default="yes",
                   help="also measure CP and AP under sync workers against gevent (only: nothing else)")
    p.add_argument("--scaling", choices=("yes", "no", "only"), default="yes",
                   help="also measure CP and AP behind HAProxy with 1 and 3 instances (only: nothing else, "
                        "printed as Markdown; its own stacks)")
    p.add_argument("--port-offset", type=number(0, 20000, integer=True), default=0,
                   help="shift the bench stack's ports, for --scaling only (the rest uses fixed ports)")
    p.add_argument("--no-extras", action="store_true",
                   help="throughput only: skip fail-fast, hint replay and convergence (and the report)")
    return p


def main(argv=None) -> int:
    p = parser()
    args = p.parse_args(argv)
    wrong = set(args.targets.split(",")) - {"baseline", "cp", "ap", "baseline-via-toxiproxy"}
    if wrong:
        p.error(f"--targets: unknown {', '.join(sorted(wrong))}; choose from baseline, cp, ap, baseline-via-toxiproxy")
    started = datetime.now(timezone.utc)
    say = lambda msg: print(msg, flush=True)  # noqa: E731
    if args.scaling == "only":
        return scaling_only(args, argv, say)
    stack = Stack(bench_config(Path(args.run_dir)))
    procs = []
    try:
        say("starting the bench stack and the baselines...")
        stack.up(progress=lambda _m: None)
        cfg = stack.config
        with stack.client() as tp:
            tp.ensure_proxy("bench_g1", f"127.0.0.1:{BASELINE_PROXY_PORT}", f"127.0.0.1:{cfg.redis_port('g1')}")
        procs = [baseline(stack, "baseline", BASELINE_PORT, f"127.0.0.1:{cfg.redis_port('g1')}"),
                 baseline(stack, "baseline-proxied", PROXIED_BASELINE_PORT, f"127.0.0.1:{BASELINE_PROXY_PORT}")]
        for proc in procs:
            proc.start()
        targets = {"baseline": f"http://127.0.0.1:{BASELINE_PORT}", "cp": cfg.service_url("cp"),
                   "ap": cfg.service_url("ap"), "baseline-via-toxiproxy": f"http://127.0.0.1:{PROXIED_BASELINE_PORT}"}
        for url in targets.values():  # every read hits a key that exists
            for i in range(1000):
                requests.post(f"{url}/write/bench-{i}/seed", timeout=5)
        conns = args.connections
        worker_rows = []
        if args.worker_model != "no":
            say("worker model, sync against gevent (wrk, closed loop):")
            rows = workers.compare(stack, conns, args.seconds, say)
            if args.worker_model == "only":
                say("\n".join(workers.markdown(rows)))
                return 0
            worker_rows = rows
        say("throughput and latency (wrk, closed loop):")
        chosen = args.targets.split(",")
        results = {"throughput": throughput({k: v for k, v in targets.items() if k in chosen},
                                            conns, args.seconds, say, args.keys)}
        results["worker_model"] = worker_rows
        results["scaling"] = scaling_rows(stack, args, say) if args.scaling == "yes" else []
        if args.no_extras:
            return 0
        say("extras:")
        results["fail_fast"] = fail_fast(stack, args.seconds, say)
        results["hint_replay"] = hint_replay(stack, args.hints, say)
        results["convergence"] = convergence(stack, args.partition, say)
    except (BenchError, StackError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    finally:
        for proc in procs:
            proc.stop()
        stack.down(progress=lambda _m: None)
    write_results(results, started, argv, args.out, conns, say)
    return 0


def scaling_rows(stack: Stack, args, say) -> list:
    """The HAProxy shapes at the first connection count; the bench stack is down meanwhile (same ports)."""
    stack.down(progress=lambda _m: None)
    say("behind HAProxy (wrk, closed loop):")
    try:
        return scaling.compare(bench_config(Path(args.run_dir)), args.connections[:1], args.seconds, say, args.keys)
    finally:
        stack.up(progress=lambda _m: None)


def scaling_only(args, argv, say) -> int:
    """`--scaling only`: the three shapes, printed as the Markdown section and kept in results.json."""
    started = datetime.now(timezone.utc)
    try:
        rows = scaling.compare(bench_config(Path(args.run_dir), args.port_offset), args.connections, args.seconds,
                               say, args.keys)
    except (BenchError, StackError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    out_dir = ROOT / "runs" / "bench" / started.strftime("%Y%m%dT%H%M%SZ")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps({"scaling": rows}, indent=2))
    say("\n".join(scaling.markdown(rows, " ".join(["python -m bench"] + (argv or sys.argv[1:])))))
    return 0


def write_results(results: dict, started, argv, out: str, conns, say) -> None:
    """runs/bench/<stamp>/results.json and the Markdown report (docs/benchmarks.md by default)."""
    results["meta"] = report.machine(started, " ".join(["make bench"] + (argv or sys.argv[1:])))
    out_dir = ROOT / "runs" / "bench" / started.strftime("%Y%m%dT%H%M%SZ")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2))
    text = report.markdown(results, conns[0])
    Path(out).write_text(text)
    say(f"\nwrote {out} and {out_dir / 'results.json'}")
    say(report.summary(results, conns[0]))


if __name__ == "__main__":
    sys.exit(main())
