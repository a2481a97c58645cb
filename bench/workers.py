"""What the worker model costs: the same CP and AP operations under sync and gevent workers.

The services run under gevent workers so that slow clients cannot starve them (docs/design.md).
This measures the price: a second CP and AP, identical but for ``WEB_WORKER_CLASS=sync``, on the
same nodes and proxies, driven by the same wrk loops, one after the other.
"""
from __future__ import annotations

import shutil
import sys

import requests

from stack import ROOT, Stack
from stack.process import ManagedProcess

from . import wrk

SYNC_PORTS = {"cp": 25011, "ap": 25012}


def sync_services(stack: Stack) -> dict:
    """{mode: ManagedProcess} of each service under sync workers, not started."""
    procs = {}
    for mode, port in SYNC_PORTS.items():
        metrics = stack.run_dir / "metrics" / f"{mode}-sync"
        shutil.rmtree(metrics, ignore_errors=True)
        metrics.mkdir(parents=True)
        env = {**stack.config.service_env(mode), "PORT": str(port), "WEB_WORKER_CLASS": "sync",
               "PROMETHEUS_MULTIPROC_DIR": str(metrics), "PYTHONPATH": str(ROOT)}
        procs[mode] = ManagedProcess(f"app-{mode}-sync", [sys.executable, "-m", "app", "serve"], stack.run_dir,
                                     port=port, env=env, ready_timeout=30,
                                     ready=lambda p=port: requests.get(f"http://127.0.0.1:{p}/ready", timeout=1).ok)
    return procs


def compare(stack: Stack, conns: list[int], seconds: float, say) -> list[dict]:
    """Throughput and latency of each (service, operation, connections) under both worker models."""
    procs = sync_services(stack)
    rows = []
    try:
        for proc in procs.values():
            proc.start()
        for c in conns:
            for mode in ("cp", "ap"):
                urls = {"sync": f"http://127.0.0.1:{SYNC_PORTS[mode]}", "gevent": stack.config.service_url(mode)}
                for op in ("write", "read"):
                    for worker, url in urls.items():
                        wrk.run(mode, url, op, c, 2)  # warm-up
                        r = wrk.run(f"{mode} {op} {worker}", url, op, c, seconds)
                        rows.append({"service": mode, "op": op, "connections": c, "worker": worker,
                                     **r.to_dict()})
                        say(f"  {mode} {op:<5} c={c:<3} {worker:<6} {r.rps:8.0f} req/s  p50 {r.p50_ms:6.2f} ms  "
                            f"p99 {r.p99_ms:6.2f} ms  non-2xx {r.non_2xx}")
    finally:
        for proc in procs.values():
            proc.stop()
    return rows


def markdown(rows: list[dict]) -> list[str]:
    """The section of docs/benchmarks.md: sync and gevent side by side, gevent's ratio to sync."""
    if not rows:
        return []
    by = {(r["service"], r["op"], r["connections"], r["worker"]): r for r in rows}
    lines = ["", "## Worker model: sync against gevent", "",
             "The same services on the same nodes, `WEB_WORKER_CLASS=sync` against the default `gevent` "
             "(2 workers each), measured one after the other (`bench/workers.py`). gevent is what keeps "
             "50 slow clients from starving a service (docs/design.md); this is its price or gain.", "",
             "| service | op | conns | sync req/s | gevent req/s | gevent ÷ sync | sync p50 / p99 ms | "
             "gevent p50 / p99 ms | errors sync / gevent |",
             "|---|---|---|---|---|---|---|---|---|"]
    for (service, op, c, worker), s in by.items():
        g = by.get((service, op, c, "gevent"))
        if worker != "sync" or g is None:
            continue
        lines.append(f"| {service} | {op} | {c} | {s['rps']:.0f} | {g['rps']:.0f} | {g['rps'] / s['rps']:.2f} | "
                     f"{s['p50_ms']:.2f} / {s['p99_ms']:.2f} | {g['p50_ms']:.2f} / {g['p99_ms']:.2f} | "
                     f"{s['non_2xx'] + s['socket_errors']} / {g['non_2xx'] + g['socket_errors']} |")
    return lines
