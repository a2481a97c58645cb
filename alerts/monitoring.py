"""Monitoring for a local stack, attached from above (``init_app`` style): Prometheus with caplab's
rules, and with a webhook port Alertmanager routing every notification to that webhook.

The stack knows these only as processes it starts after the services and stops before them; this
module knows what they are. ``python -m alerts.monitoring up|down|status`` is ``make up ALERTS=1``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.arguments import folder, number, port
from stack import ROOT, Stack, http_ok
from stack.__main__ import print_status
from stack.config import PROFILES, StackConfig
from stack.process import ManagedProcess, StackError

from .alertmanager import AlertmanagerServer
from .prometheus import PrometheusServer
from .settings import load_alert_settings


def init_stack(stack: Stack) -> Stack:
    """Attach Prometheus (the fast alert profile for the test stack profile), and with a webhook
    port Alertmanager too; with ``webhook_receiver``, the receiver as well, appending to
    alerts/notifications.jsonl. A stack whose config asks for no alerts is left as it is."""
    cfg = stack.config
    if not cfg.alerts:
        return stack
    profile = cfg.alert_profile or ("fast" if cfg.profile == "test" else "spec")
    settings = load_alert_settings(profile, env=cfg.service_env("cp"))
    alertmanager = None
    if cfg.webhook_port:
        if cfg.webhook_receiver:
            stack.attach(_webhook(stack, cfg.webhook_port), "webhook")
        alertmanager = stack.attach(AlertmanagerServer(stack.run_dir, cfg.alertmanager_port,
                                                       f"http://127.0.0.1:{cfg.webhook_port}/", settings),
                                    "alertmanager")
    stack.attach(PrometheusServer(stack.run_dir, cfg.prometheus_port, cfg, settings,
                                  alertmanager=alertmanager.address if alertmanager else None), "prometheus")
    return stack


def _webhook(stack: Stack, port: int) -> ManagedProcess:
    """The webhook receiver (``python -m alerts.webhook``) as a stack process."""
    url = f"http://127.0.0.1:{port}/"
    argv = [sys.executable, "-m", "alerts.webhook", "--port", str(port), "--out", str(stack.notifications)]
    return ManagedProcess("webhook", argv, stack.run_dir, port=port, env={"PYTHONPATH": str(ROOT)},
                          ready=lambda: http_ok(url))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m alerts.monitoring",
                                     description="the local stack with Prometheus, Alertmanager and a webhook receiver")
    parser.add_argument("command", choices=["up", "status"])
    parser.add_argument("--run-dir", type=folder, default="run", help="where pid files, data and logs live (default: run)")
    parser.add_argument("--nodes", type=number(1, 9, integer=True), default=2, help="how many redis nodes: g1..gN (default 2)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="local")
    parser.add_argument("--webhook-port", type=port, default=9095, help="the webhook receiver's port (default 9095)")
    args = parser.parse_args(argv)
    cfg = StackConfig(run_dir=Path(args.run_dir), profile=args.profile, alerts=True, webhook_port=args.webhook_port,
                      webhook_receiver=True, nodes=tuple(f"g{i}" for i in range(1, args.nodes + 1)))
    try:
        stack = init_stack(Stack(cfg))
        if args.command == "up":
            print(f"starting the local stack ({args.nodes} nodes, profile {args.profile}) with alerts in {cfg.run_dir}/")
            stack.up()
        print_status(stack)
    except StackError as exc:
        print(f"alerts.monitoring: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
