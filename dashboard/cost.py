"""``python -m dashboard.cost``: what the live page costs, as the CPU of the dashboard's process during a run.

Starts a stack of its own (local profile, every port shifted by --port-offset), the dashboard as a
process of its own, and headless Chromium on the page; then runs an experiment through the CLI
(``python -m chaos run``) and reads the dashboard's CPU time (user + system, psutil) before and
after it. With --shots, it saves the page during the experiment's first fault and after the heal.
Needs Debian's chromium (scripts/setup.sh chromium).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil

from harness.arguments import folder, number, port_offset
from stack import ROOT, Stack
from stack.target import stack_config

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m dashboard.cost", description=__doc__.splitlines()[0])
    p.add_argument("--experiment", default="partition-g2-cp-vs-ap", help="a catalogue experiment (default: %(default)s)")
    p.add_argument("--port-offset", type=port_offset, default=3000,
                   help="shift of every port (default 3000: away from make up, make bench and the test stacks)")
    p.add_argument("--run-dir", type=folder, default="runs/dashboard-cost", help="stack and runs (default: %(default)s)")
    p.add_argument("--shots", type=folder, default=None, help="save partition-during.png and partition-after-heal.png here")
    p.add_argument("--into-fault-s", type=number(0, 600), default=9.0, help="the first shot, this long into the first fault")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if not os.access(CHROMIUM, os.X_OK):
        print(f"dashboard.cost: no chromium at {CHROMIUM}: run scripts/setup.sh chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright
    cfg = stack_config(2, "local", Path(args.run_dir) / "stack", args.port_offset)
    port, runs = cfg.dashboard_port + args.port_offset, Path(args.run_dir) / "runs"
    common = ["--stack-run-dir", str(cfg.run_dir), "--runs-dir", str(runs), "--port-offset", str(args.port_offset)]
    with Stack(cfg).running() as stack:
        dash = subprocess.Popen([sys.executable, "-m", "dashboard", *common, "--port", str(port), "--no-prometheus"],
                                cwd=ROOT)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                try:
                    result = _measure(browser, f"http://127.0.0.1:{port}/", dash.pid, args, common)
                finally:
                    browser.close()
        finally:
            dash.terminate()
            dash.wait(20)
        stack.down(progress=lambda _m: None)
    print(json.dumps(result, indent=1))
    return 0


def _measure(browser, url: str, pid: int, args, common: list) -> dict:
    page = browser.new_page(viewport={"width": 1400, "height": 1700})
    deadline = time.monotonic() + 30
    while True:
        try:
            page.goto(url)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    page.wait_for_function("+document.body.dataset.frames > 4", timeout=30_000)
    proc = psutil.Process(pid)
    before, t0 = proc.cpu_times(), time.monotonic()
    run = subprocess.Popen([sys.executable, "-m", "chaos", "run", args.experiment, *common], cwd=ROOT,
                           stdout=subprocess.DEVNULL)
    try:
        page.wait_for_function("window.dashboard.faults.some(f => f.end == null)", timeout=120_000)
        if args.shots:
            time.sleep(args.into_fault_s)
            Path(args.shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(args.shots) / "partition-during.png"))
        code = run.wait(600)
    finally:
        if run.poll() is None:
            run.terminate()
            run.wait(60)
    after, t1 = proc.cpu_times(), time.monotonic()
    page.wait_for_function("window.dashboard.run.phase === 'finished'", timeout=30_000)
    if args.shots:
        time.sleep(1.0)
        page.screenshot(path=str(Path(args.shots) / "partition-after-heal.png"))
    cpu = (after.user + after.system) - (before.user + before.system)
    return {"experiment": args.experiment, "exit_code": code, "pages": 1, "run_wall_s": round(t1 - t0, 1),
            "dashboard_cpu_s": round(cpu, 2), "dashboard_cpu_percent_of_one_core": round(100 * cpu / (t1 - t0), 2),
            "frames_seen_by_the_page": page.evaluate("window.dashboard.frames")}


if __name__ == "__main__":
    sys.exit(main())
