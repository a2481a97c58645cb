"""``make demo``: start the stack, cut g2 off from both services, and show CP and AP diverge.

A short scripted walk-through. The fault is scoped: it is undone on every path, Ctrl-C included.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import requests

from chaos.faults import FaultScope, Topology, cut_node_off
from stack import Stack
from stack.config import StackConfig
from stack.process import StackError

CUT_SECONDS = 6


def call(url, method="GET"):
    try:
        r = requests.request(method, url, timeout=3)
        return r.status_code, r.json()
    except requests.RequestException as exc:
        return None, {"error": {"message": str(exc)}}


def describe(service, status, body):
    """One line per answer: what was stored or served, or why it was refused."""
    if status == 200:
        if "replicated_to" in body:  # AP write
            extra = f" replicated_to={body['replicated_to']} pending={body['pending']}"
        elif "node" in body:  # a read
            extra = f" served by {body['node']}, staleness_ms={body['staleness_ms']} stale={body['stale']}"
        else:  # CP write
            extra = f" stored on {body.get('nodes')}"
        return f"{service.upper()} 200 value={body.get('value')!r}{extra}"
    outcome = body.get("outcome")
    return (f"{service.upper()} {status} {body.get('error', {}).get('message')}"
            + (f" (outcome={outcome})" if outcome else ""))


def gauge(url, name, node):
    text = requests.get(url + "/metrics", timeout=3).text
    for line in text.splitlines():
        if line.startswith(f'{name}{{node="{node}"}}'):
            return float(line.split()[-1])
    return None


def run(cfg: StackConfig):

    print("== caplab demo: CP refuses, AP serves stale, both recover ==\n")
    stack = Stack(cfg).up()
    cp, ap = cfg.service_url("cp"), cfg.service_url("ap")
    print("\n1. Healthy: both services write and read through both nodes")
    for i, svc in enumerate(("cp", "ap")):
        print("  ", describe(svc, *call(f"{cfg.service_url(svc)}/write/demo-{svc}/v{i}", "POST")))

    print(f"\n2. Cut g2 off from both services (connections refused) for {CUT_SECONDS}s")
    with stack.client() as tp, FaultScope() as scope:
        scope.start(cut_node_off(tp, Topology(["cp", "ap"], list(cfg.nodes)), "g2", mode="refuse"))
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < CUT_SECONDS:
            n += 1
            w_cp = describe("cp", *call(f"{cp}/write/demo-cp/cut{n}", "POST"))
            w_ap = describe("ap", *call(f"{ap}/write/demo-ap/cut{n}", "POST"))
            if n <= 3 or n % 10 == 0:
                print(f"   t={time.monotonic() - t0:4.1f}s  {w_cp}")
                print(f"   {'':8}{w_ap}")
            time.sleep(0.1)
        print(f"   ... {n} writes each. AP lag of g2: data_staleness_ms = {gauge(ap, 'data_staleness_ms', 'g2'):.0f}"
              f", hints pending = {gauge(ap, 'caplab_hints_pending', 'g2'):.0f}")
        print(f"   breakers: CP g2 = {gauge(cp, 'circuit_breaker_state', 'g2'):.0f}, "
              f"AP g2 = {gauge(ap, 'circuit_breaker_state', 'g2'):.0f}  (0 closed, 1 half-open, 2 open)")
        print("   AP reads from g1, which has every write; g2 is the node that is behind:")
        print("  ", describe("ap", *call(f"{ap}/read/demo-ap")))
        print("  ", describe("cp", *call(f"{cp}/read/demo-cp")))

    print("\n3. Healed. Waiting for breakers to close and hints to replay...")
    t0 = time.monotonic()
    while time.monotonic() - t0 < 30:
        states = [gauge(u, "circuit_breaker_state", "g2") for u in (cp, ap)]
        if states == [0, 0] and gauge(ap, "caplab_hints_pending", "g2") == 0:
            break
        time.sleep(0.2)
    print(f"   recovered after {time.monotonic() - t0:.1f}s: breakers closed, "
          f"g2 staleness = {gauge(ap, 'data_staleness_ms', 'g2'):.0f} ms")
    print("  ", describe("cp", *call(f"{cp}/write/demo-cp/after", "POST")))
    g1, g2 = (stack.nodes[n].client() for n in ("g1", "g2"))
    same = g1.hgetall("caplab:r:demo-ap") == g2.hgetall("caplab:r:demo-ap")
    print(f"   g1 and g2 hold the same demo-ap record: {same}")
    print("\nThe stack is still running (`make status`; `make down` stops it).")
    print("\nNext: the same cut as a checked experiment (`make chaos EXP=partition-g2-cp-vs-ap`):")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos.demo")
    parser.add_argument("--run-dir", default="run")
    args = parser.parse_args(argv)
    try:
        run(StackConfig(run_dir=Path(args.run_dir)))
    except StackError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; every fault was undone", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
