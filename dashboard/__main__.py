"""``python -m dashboard``: the live dashboard of a local stack on http://127.0.0.1:8080/ (make dashboard).

It watches the stack in --stack-run-dir (the folder ``make up`` and ``make chaos`` use), follows
every run made on it, whoever started it, and can start catalogue runs and halt them. Ctrl-C stops
the dashboard only; a run it started goes on to its verdicts.
"""
from __future__ import annotations

import argparse
import logging
import sys

from werkzeug.serving import make_server

from harness.arguments import folder, number, port_offset, url


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m dashboard", description="caplab's live dashboard")
    p.add_argument("--stack-run-dir", type=folder, default="run", help="the local stack's folder (default: run)")
    p.add_argument("--runs-dir", type=folder, default="runs", help="where run folders go (default: runs)")
    p.add_argument("--nodes", type=number(2, 9, integer=True), default=2, help="the stack's nodes (default 2)")
    p.add_argument("--port-offset", type=port_offset, default=0, help="the stack's port shift, as for make chaos")
    p.add_argument("--port", type=number(1024, 65535, integer=True), default=None,
                   help="the page's port on 127.0.0.1 (default 8080 plus the offset)")
    p.add_argument("--prometheus", type=url, default=None,
                   help="Prometheus's address for request rates between runs (default: the stack's, if it runs)")
    p.add_argument("--no-prometheus", action="store_true", help="never ask Prometheus")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request: the page asks often
    from dashboard.hub import Hub
    from dashboard.launcher import Launcher
    from dashboard.server import create_app
    from stack import Stack
    from stack.process import StackError
    from stack.target import stack_config
    cfg = stack_config(args.nodes, "local", args.stack_run_dir, args.port_offset)
    port = args.port or cfg.dashboard_port + args.port_offset
    prometheus = "" if args.no_prometheus else (args.prometheus or f"http://127.0.0.1:{cfg.prometheus_port}")
    try:
        stack = Stack(cfg)
    except StackError as err:
        print(f"dashboard: {err}", file=sys.stderr)
        return 1
    hub = Hub(stack, args.runs_dir, prometheus_url=prometheus).start()
    launcher = Launcher(stack.run_dir, args.runs_dir, args.port_offset, stack.run_dir)
    try:
        server = make_server("127.0.0.1", port, create_app(hub, launcher, args.runs_dir), threaded=True)
    except OSError as err:
        hub.stop()
        print(f"dashboard: cannot listen on 127.0.0.1:{port} ({err.strerror}); pass --port", file=sys.stderr)
        return 1
    print(f"dashboard: http://127.0.0.1:{port}/  (stack in {stack.run_dir}, runs in {args.runs_dir}; Ctrl-C stops)",
          flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        hub.stop()
        launcher.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
