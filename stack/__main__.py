"""``python -m stack up|down|status``: the local stack on 127.0.0.1."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.arguments import folder, number

from .config import BALANCE, MAX_INSTANCES, PROFILES, StackConfig
from .process import StackError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack", description="caplab's local stack")
    parser.add_argument("command", choices=["up", "down", "status", "repair"])
    parser.add_argument("--run-dir", type=folder, default="run", help="where pid files, data and logs live (default: run)")
    parser.add_argument("--nodes", type=number(1, 9, integer=True), default=2, help="how many redis nodes: g1..gN (default 2)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="local")
    parser.add_argument("--native", action="store_true",
                        help="also run the native side: 3 Redis nodes replicating the Redis way, 3 Sentinels, "
                             "the native service (docs/native.md)")
    parser.add_argument("--native-replication", choices=["async", "wait", "min-replicas"], default="async",
                        help="the native service's NATIVE_REPLICATION (default async)")
    parser.add_argument("--instances", type=number(1, MAX_INSTANCES, integer=True), default=None,
                        help="CP and AP instances, behind HAProxy when more than 1 (default: as the "
                             "stack in --run-dir was started, else 1)")
    parser.add_argument("--balance", choices=BALANCE, default=None,
                        help="HAProxy's policy: roundrobin, or affinity by cookie or session header")
    parser.add_argument("--haproxy", action="store_true", help="HAProxy in front even of one instance")
    args = parser.parse_args(argv)
    # down and status also cover what an earlier `python -m alerts.monitoring up` attached (attached.json),
    # and the instances and HAProxy an earlier `up --instances N` started (shape.json)
    shape = read_shape(Path(args.run_dir)) if args.command != "up" else {}
    cfg = StackConfig(run_dir=Path(args.run_dir), profile=args.profile,
                      nodes=tuple(f"g{i}" for i in range(1, args.nodes + 1)), native=args.native,
                      native_replication=args.native_replication,
                      instances=args.instances or shape.get("instances", 1),
                      balance=args.balance or shape.get("balance", "roundrobin"),
                      haproxy=args.haproxy or bool(shape.get("haproxy")),
                      **({"haproxy_stats_port": shape["haproxy_stats_port"]} if "haproxy_stats_port" in shape else {}))
    from . import Stack
    try:
        stack = Stack(cfg)
        if args.command == "up":
            print(f"starting the local stack ({args.nodes} nodes, profile {args.profile}) in {cfg.run_dir}/")
            stack.up()
            print_status(stack)
        elif args.command == "down":
            stack.down()
        elif args.command == "repair":
            return _repair(cfg)
        else:
            print_status(stack)
    except StackError as exc:
        print(f"stack: {exc}", file=sys.stderr)
        return 1
    return 0


def read_shape(run_dir: Path) -> dict:
    """How the stack in ``run_dir`` was started ({"instances": 3, "balance": "cookie"}), or {}."""
    import json
    try:
        shape = json.loads((run_dir / "shape.json").read_text())
    except (OSError, ValueError):
        return {}
    return shape if isinstance(shape, dict) else {}


def _repair(cfg) -> int:
    """AP anti-entropy over the stack's nodes, through the AP service's own proxies."""
    import json

    from app.config import load_settings
    from app.hints import repair
    from app.nodes import Node, NodeUnavailable
    settings = load_settings(cfg.service_env("ap"))
    nodes = [Node(a, settings) for a in settings.nodes]
    try:
        print(json.dumps(repair(nodes)))
    except NodeUnavailable as exc:
        print(f"stack: repair needs every node reachable from the AP service; {exc}", file=sys.stderr)
        return 1
    return 0


def print_status(stack):
    cfg = stack.config
    print(f"{'process':<12} {'pid':>7}  {'port':>5}  state")
    for row in stack.status():
        print(f"{row['name']:<12} {row['pid'] or '-':>7}  {row['port']:>5}  "
              f"{'running' if row['running'] else 'stopped'}")
    print(f"CP service: {cfg.service_url('cp')}   AP service: {cfg.service_url('ap')}   "
          f"Toxiproxy API: {cfg.toxiproxy_url}")
    for name, proc in stack.attached.items():
        url = getattr(proc, "url", None) or (f"http://127.0.0.1:{proc.port}/" if proc.port else "")
        print(f"{name}: {url}" + (f" (appends to {stack.notifications})" if name == "webhook" else ""))
    print("proxies: " + ", ".join(f"{cfg.proxy_name(s, n)}:{cfg.proxy_port(s, n)}->{cfg.redis_port(n)}"
                                  for s in ("cp", "ap") for n in cfg.nodes))
    if stack.balancer is not None:
        print_balancer(stack)
    if cfg.native or any(s.running() for s in stack.native.sentinels):
        print_native(stack)


def print_balancer(stack):
    """HAProxy's address and its view of each instance: state, last check, sessions."""
    from .balancer import stats_url
    cfg = stack.config
    print(f"HAProxy ({cfg.instances} instances per service, balance {cfg.balance}): stats "
          f"{stats_url(cfg)}, Prometheus http://127.0.0.1:{cfg.haproxy_stats_port}/metrics")
    try:
        rows = stack.balancer_view()
    except Exception as exc:  # HAProxy is running but its stats page does not answer
        print(f"  (HAProxy's stats did not answer: {exc})")
        rows = []
    for row in rows:
        print(f"  {row['server']:<6} {row['status']:<8} check {row['check'] or '-':<8} "
              f"sessions {row['current']:>3} now, {row['total']:>7} in all, {row['downs']} times down")


def print_native(stack):
    """Who is primary, each node's replication offset, and what each Sentinel says."""
    native = stack.native
    print(f"native service: {stack.config.service_url('native')}   primary (Sentinels' majority): "
          f"{native.primary() or 'none'}")
    for name, row in native.offsets().items():
        link = f"  link {row['link']}" if row["link"] else ""
        print(f"  {name}: {row['role']:<7} offset {row['offset'] if row['offset'] is not None else '-'}{link}")
    for view in native.sentinel_view():
        if "error" in view:
            print(f"  {view['sentinel']}: {view['error']}")
        else:
            print(f"  {view['sentinel']}: primary {view['primary']} [{view['flags']}], "
                  f"{view['replicas_ok']} replicas ok, {view['other_sentinels']} other Sentinels")


if __name__ == "__main__":
    sys.exit(main())
