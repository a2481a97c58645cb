"""The spec's rolling update, for real: redeploy one service of the compose stack while Locust drives both.

    python -m loadtests.rolling_update --compose-env-file F [--service cp] [--users 8] [--duration 60]
                                       [--at 20] [--spec-only]

Starts a Locust run (`python -m loadtests.run --history`) against both services, and `--at` seconds in
runs the deployment guide's `up -d --no-deps --build app_<service>`. podman-compose 1.6.0 recreates a
container only when its compose configuration changed, not when the rebuilt image did, so by default
`--force-recreate` is added: the old container is stopped and a new one started from the new image,
which is what Docker compose does when the image changed. `--spec-only` runs the command as written.
Every request of the run is then sorted, per service, into ok, refusal (a 503 stating an `outcome`),
no answer (connection refused, reset or timed out) and other errors, with the times of the first and
last non-ok answer from the start of the update. Writes rolling-update.json next to Locust's files.
Exit 0 when AP had no failed request and CP only refusals with an outcome; 1 otherwise; 2 when the
run itself failed.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from harness.arguments import folder, number
from harness.runs import new_run_dir
from loadtests.history import LoadHistory
from stack.compose import ROOT, ComposeStack, podman
from stack.process import StackError

CATEGORIES = ("ok", "refusal", "no_answer", "error", "stopped")
# Requests still open when Locust stops its users at the end of the run: not the update's doing.
STOPPED = LoadHistory.close_open.__defaults__[0]
# No connection was made, so the request was certainly not applied (unlike a reset or a timeout).
CONNECT_ERRORS = ("Connection refused", "No route to host")


def category(op: dict) -> str:
    """ok, refusal (503 with an outcome: the service declined and says what happened), no_answer,
    error, or stopped (cut off by the end of the load, not failed)."""
    status = op.get("status")
    if op["type"] == "ok" or (status == 404 and op["f"] == "read"):
        return "ok"
    if status is None and op.get("error") == STOPPED:
        return "stopped"
    if status is None:
        return "no_answer"
    if status == 503 and op.get("outcome"):
        return "refusal"
    return "error"


def tally(history: Path, update_start_ms: float) -> dict:
    """Per service: counts per category, and when (s from the update's start) non-ok answers came."""
    counts: dict = {}
    first_last: dict = {}
    for line in history.read_text().splitlines():
        op = json.loads(line)
        if op.get("type") not in ("ok", "fail", "info") or "service" not in op:
            continue
        service, cat = op["service"], category(op)
        counts.setdefault(service, Counter())[cat] += 1
        if cat == "no_answer" and any(e in (op.get("error") or "") for e in CONNECT_ERRORS):
            counts[service]["no_answer_at_connect"] += 1
        if cat not in ("ok", "stopped"):
            t = round((op["wall_ms"] - update_start_ms) / 1000, 2)
            lo, hi = first_last.get(service, (t, t))
            first_last[service] = (min(lo, t), max(hi, t))
    return {s: {**{c: counts[s][c] for c in CATEGORIES}, "no_answer_at_connect": counts[s]["no_answer_at_connect"],
                "requests": sum(counts[s][c] for c in CATEGORIES),
                "non_ok_from_s": first_last.get(s, (None, None))[0], "non_ok_until_s": first_last.get(s, (None, None))[1]}
            for s in sorted(counts)}


def container_id(stack: ComposeStack, service: str) -> str:
    return podman("inspect", "--format", "{{.Id}}", stack.container(service)).stdout.strip()[:12]


def run(args) -> dict:
    stack = ComposeStack(args.compose_env_file)
    if not all(row["running"] for row in stack.status()):
        stack.up()
    stack.wait_ready(60)
    out = Path(args.out or new_run_dir(ROOT / "runs", "rolling-update"))
    out.mkdir(parents=True, exist_ok=True)
    service = f"app_{args.service}"
    before = container_id(stack, service)
    load = subprocess.Popen(
        [sys.executable, "-m", "loadtests.run", "--service", "both", "--users", str(args.users),
         "--duration", f"{args.duration}s", "--history", "--out", str(out), "--max-error-rate", "1",
         "--cp-url", stack.config.service_url("cp"), "--ap-url", stack.config.service_url("ap")],
        cwd=ROOT, stdout=open(out / "locust.out", "w"), stderr=subprocess.STDOUT)
    try:
        time.sleep(args.at)  # the load's steady part before the update
        command = ["up", "-d", "--no-deps", "--build", *([] if args.spec_only else ["--force-recreate"]), service]
        started = time.time_ns() / 1e6
        stack.compose(*command)
        took = (time.time_ns() / 1e6 - started) / 1000
        after = container_id(stack, service)
        load.wait(timeout=args.duration + 120)
    finally:
        if load.poll() is None:
            load.terminate()
            load.wait(30)
    result = {"command": "podman-compose " + " ".join(command), "update_took_s": round(took, 2),
              "container_before": before, "container_after": after, "replaced": before != after,
              "users": args.users, "duration_s": args.duration, "update_at_s": args.at,
              "services": tally(out / "history.jsonl", started), "out": str(out)}
    cp, ap = result["services"].get("cp", {}), result["services"].get("ap", {})
    result["target_met"] = (ap.get("ok", 0) > 0 and ap["requests"] == ap["ok"] + ap["stopped"]
                            and cp.get("no_answer", 1) == 0 and cp.get("error", 1) == 0)
    (out / "rolling-update.json").write_text(json.dumps(result, indent=2))
    return result


def summary(r: dict) -> str:
    lines = [f"{r['command']}: {r['update_took_s']} s, container {r['container_before']} -> "
             f"{r['container_after']} ({'replaced' if r['replaced'] else 'NOT replaced'})",
             f"{'service':<8}{'requests':>9}{'ok':>8}{'refusal':>9}{'no answer':>11}{'at connect':>11}{'error':>7}"
             f"{'stopped':>9}  non-ok window (s from the update)"]
    for s, c in r["services"].items():
        window = "-" if c["non_ok_from_s"] is None else f"{c['non_ok_from_s']} .. {c['non_ok_until_s']}"
        lines.append(f"{s:<8}{c['requests']:>9}{c['ok']:>8}{c['refusal']:>9}{c['no_answer']:>11}"
                     f"{c['no_answer_at_connect']:>11}{c['error']:>7}{c['stopped']:>9}  {window}")
    lines.append("target (AP: 0 failed; CP: refusals with an outcome only): " + ("MET" if r["target_met"] else "NOT met"))
    lines.append(f"outputs: {r['out']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtests.rolling_update", description=__doc__.split("\n")[0])
    p.add_argument("--compose-env-file", default=".env", help="the compose project's settings file")
    p.add_argument("--service", choices=("cp", "ap"), default="cp", help="the service to redeploy")
    p.add_argument("--users", type=number(2, 1000, integer=True), default=8)
    p.add_argument("--duration", type=number(5, 3600, integer=True), default=60, help="seconds of load")
    p.add_argument("--at", type=number(0, 3600), default=20, help="seconds into the load when the update starts")
    p.add_argument("--spec-only", action="store_true", help="run the spec's command without --force-recreate")
    p.add_argument("--out", type=folder, default=None)
    args = p.parse_args(argv)
    if args.at >= args.duration:
        p.error(f"--at ({args.at:g} s) must come before the end of the load (--duration {args.duration} s)")
    try:
        result = run(args)
    except (StackError, subprocess.SubprocessError, OSError) as err:
        print(f"rolling update: {err}", file=sys.stderr)
        return 2
    print(summary(result))
    return 0 if result["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
