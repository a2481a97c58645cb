"""Command line: ``python -m app serve --mode cp|ap|native``, ``python -m app check-config``, ``python -m app repair``."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app", description="caplab CP/AP services")
    sub = parser.add_subparsers(dest="cmd", required=True)
    serve = sub.add_parser("serve", help="validate the settings, then run the service under gunicorn")
    serve.add_argument("--mode", choices=["cp", "ap", "native"], default=os.environ.get("APP_MODE"))
    check = sub.add_parser("check-config", help="validate the settings from the environment and exit")
    check.add_argument("--mode", choices=["cp", "ap", "native"], default=os.environ.get("APP_MODE"))
    sub.add_parser("repair", help="run a full anti-entropy pass over every node (AP records)")
    args = parser.parse_args(argv)

    from .config import ConfigError, load_settings
    try:
        # repair copies records between nodes and serves no mode: it needs none.
        mode = getattr(args, "mode", None) or os.environ.get("APP_MODE") or ("ap" if args.cmd == "repair" else None)
        settings = load_settings(mode=mode)
    except ConfigError as exc:
        print(f"caplab: {exc}", file=sys.stderr)
        return 2
    if args.cmd == "check-config":
        print(f"configuration OK: {settings.mode} over {', '.join(map(str, settings.nodes))}, "
              f"listening on {settings.listen} with {settings.web_workers} {settings.web_worker_class} workers")
        return 0
    if args.cmd == "repair":
        return _repair(settings)
    os.environ["APP_MODE"] = settings.mode
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or "gunicorn"
    conf = os.path.join(os.path.dirname(__file__), "gunicorn_conf.py")
    os.execv(gunicorn, [gunicorn, "-c", conf, "app.wsgi:create()"])


def _repair(settings) -> int:
    from .hints import repair
    from .nodes import Node, NodeUnavailable
    nodes = [Node(a, settings) for a in settings.nodes]
    try:
        result = repair(nodes)
    except NodeUnavailable as exc:
        print(f"caplab: repair needs every node reachable; {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
