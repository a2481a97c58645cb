"""What the balancer costs and what more instances buy: CP and AP direct, behind HAProxy, and as three.

Three shapes of the same stack, one after the other on the same ports: one instance per service
answering directly (as every other row of the benchmark), one instance behind HAProxy (the
balancer's own cost: one more hop, request buffering), and three instances behind HAProxy (what
scaling out buys on this machine's 2 cores). Each shape runs its own stack (docs/scaling.md).
"""
from __future__ import annotations

import requests

from stack import Stack

from . import wrk

SHAPES = (("direct", 1, False), ("haproxy, 1 instance", 1, True), ("haproxy, 3 instances", 3, True))


def compare(base, conns: list[int], seconds: float, say, keys: int = 1000) -> list[dict]:
    """Rows of (shape, service, operation, connections) with wrk's numbers."""
    rows = []
    for label, n, lb in SHAPES:
        cfg = base.with_(run_dir=base.run_dir / f"scaling-{n}{'-haproxy' if lb else ''}", instances=n, haproxy=lb)
        stack = Stack(cfg)
        try:
            stack.up(progress=lambda _m: None)
            for mode in ("cp", "ap"):
                with requests.Session() as s:  # every read hits a key that exists
                    for i in range(keys):
                        s.post(f"{cfg.service_url(mode)}/write/bench-{i}/seed", timeout=5)
            for c in conns:
                for mode in ("cp", "ap"):
                    url = cfg.service_url(mode)
                    for op in ("write", "read"):
                        wrk.run(mode, url, op, c, 2)  # warm-up
                        r = wrk.run(f"{mode} {op} {label}", url, op, c, seconds, keys=keys)
                        rows.append({"shape": label, "instances": n, "haproxy": lb, "service": mode, "op": op,
                                     **r.to_dict()})
                        say(f"  {mode} {op:<5} c={c:<3} {label:<22} {r.rps:8.0f} req/s  p50 {r.p50_ms:6.2f} ms  "
                            f"p99 {r.p99_ms:6.2f} ms  non-2xx {r.non_2xx}")
        finally:
            stack.down(progress=lambda _m: None)
    return rows


def markdown(rows: list[dict], command: str = "") -> list[str]:
    """The section of docs/benchmarks.md: each shape's req/s and latency, and its ratio to direct."""
    if not rows:
        return []
    direct = {(r["service"], r["op"], r["connections"]): r for r in rows if r["shape"] == "direct"}
    lines = ["", "## Behind HAProxy: one instance, then three", "",
             "The same CP and AP, answering directly, behind HAProxy with one instance per service, and "
             "behind HAProxy with three (round robin), one shape after the other on the same ports "
             "(`bench/scaling.py`, docs/scaling.md)" + (f"; measured with `{command}`" if command else "") + ".", "",
             "| service | op | conns | shape | req/s | p50 ms | p99 ms | × direct | errors |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        d = direct.get((r["service"], r["op"], r["connections"]))
        ratio = f"{r['rps'] / d['rps']:.2f}" if d and d["rps"] else ""
        lines.append(f"| {r['service']} | {r['op']} | {r['connections']} | {r['shape']} | {r['rps']:.0f} | "
                     f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {ratio} | {r['non_2xx'] + r['socket_errors']} |")
    return lines
