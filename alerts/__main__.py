"""python -m alerts render|test: render the rules from settings, and test them with promtool.

  python -m alerts render                       refresh alerts/rules/, alerts/tests/ and the compose configs (spec)
  python -m alerts render --profile fast --out run/alerts [--set hint_backlog=50 ...]
  python -m alerts test                         promtool check + test, both profiles
  python -m alerts webhook --port 9095          a local receiver for Alertmanager's notifications
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.arguments import folder, port

from .checked_in import check_checked_in, checked_in_drift, render_checked_in
from .promtool import PromtoolMissing, check_profile, render_into
from .settings import PROFILES, SETTABLE, AlertSettingsError


def setting(pair: str) -> tuple[str, str]:
    """--set NAME=VALUE, as (name, value); the value is typed by alerts.settings."""
    key, sep, value = pair.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"{pair!r}: expected name=value, e.g. --set hint_backlog=50")
    if key.strip() not in SETTABLE:
        raise argparse.ArgumentTypeError(f"{key.strip()} is not an alert setting; known: {', '.join(SETTABLE)}")
    return key.strip(), value.strip()


def cmd_render(args) -> int:
    if args.out is None:
        if args.profile != "spec" or args.set:
            raise AlertSettingsError(["without --out only the spec profile is rendered (into alerts/); "
                                      "give --out DIR for other profiles or --set"])
        render_checked_in()
        print("rendered alerts/rules/caplab-alerts.yml, alerts/tests/caplab-alerts.spec.test.yml, "
              "docker/prometheus.yml and docker/alertmanager.yml")
        return 0
    import os
    rules, tests = render_into(Path(args.out), args.profile, env=os.environ, **dict(args.set or []))
    print(f"rendered {rules} and {tests}")
    return 0


def cmd_test(args) -> int:
    failed = False
    drift = checked_in_drift()
    if drift:
        failed = True
        print(f"FAIL checked-in rules differ from a fresh render: {', '.join(drift)}; "
              f"run `python -m alerts render` and commit the result")
    runs = [("checked-in spec", r) for r in check_checked_in()]
    for profile in args.profile or list(PROFILES):
        runs += [(profile, r) for r in check_profile(profile)]
    for label, (what, proc) in runs:
        ok = proc.returncode == 0
        failed |= not ok
        print(f"{'ok  ' if ok else 'FAIL'} {label}: {what}")
        if not ok or args.verbose:
            print(proc.stdout + proc.stderr)
    return 1 if failed else 0


def cmd_webhook(args) -> int:
    from .webhook import main as webhook_main
    return webhook_main(["--port", str(args.port), "--out", args.out, "--host", args.host])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m alerts", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("render", help="render the rules and their promtool tests")
    r.add_argument("--profile", choices=list(PROFILES), default="spec")
    r.add_argument("--out", type=folder, help="folder to write into (default: the checked-in files, spec only)")
    r.add_argument("--set", action="append", type=setting, metavar="NAME=VALUE", help="override one setting")
    t = sub.add_parser("test", help="promtool check rules and test rules")
    t.add_argument("--profile", action="append", choices=list(PROFILES))
    t.add_argument("-v", "--verbose", action="store_true")
    w = sub.add_parser("webhook", help="receive Alertmanager notifications, append them to a file")
    w.add_argument("--port", type=port, default=9095)
    w.add_argument("--out", default="run/alerts/notifications.jsonl")
    w.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    args = ap.parse_args(argv)
    try:
        return {"render": cmd_render, "test": cmd_test, "webhook": cmd_webhook}[args.cmd](args)
    except (AlertSettingsError, PromtoolMissing) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
