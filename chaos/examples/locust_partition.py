"""Locust as the workload of a chaos experiment: cut CP from g2 under load, then run the checkers.

Shows one idea: the run's own history (fault events) and Locust's history share a start time, so
`merge_histories` makes one history.jsonl that the checkers judge as they judge the built-in
workload's. Run it against the local stack (`make up`):

    .venv/bin/python -m chaos.examples.locust_partition
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

from chaos.checkers import run_all
from harness.history import FaultEvent, HistoryWriter, read_history
from harness.runs import new_run_dir
from loadtests.history import merge_histories
from loadtests.workload import run_locust
from stack.config import StackConfig
from stack.toxiproxy import Toxiproxy


def main() -> None:
    cfg = StackConfig()
    run_dir = new_run_dir("runs", "locust-partition-cp")
    t0_wall_ms = time.time() * 1000  # the run's start: every history time counts from here
    rec = HistoryWriter(run_dir / "faults.jsonl")

    def fault(phase: str) -> None:
        wall = time.time() * 1000
        rec.write(FaultEvent(phase, "partition", "cp->g2", (wall - t0_wall_ms) / 1000, int(wall)))

    result = {}

    def load_run() -> None:
        try:
            result["r"] = run_locust(cfg, ["cp"], 6, 30, run_dir / "locust-history.jsonl", t0_wall_ms,
                                     out_dir=run_dir / "locust", process_base=100_000,
                                     refusals_are_errors=False)
        except Exception as e:  # noqa: BLE001  (reported below, after the fault is healed)
            result["error"] = e

    load = threading.Thread(target=load_run)
    load.start()
    with Toxiproxy(cfg.toxiproxy_url) as tp:
        try:
            time.sleep(10)
            fault("start")
            tp.set_enabled("cp_g2", False)
            time.sleep(8)
        finally:
            tp.set_enabled("cp_g2", True)
            fault("stop")
    load.join()
    rec.close()
    if "error" in result:
        raise result["error"]

    merge_histories([run_dir / "faults.jsonl", run_dir / "locust-history.jsonl"], run_dir / "history.jsonl")
    for v in run_all(read_history(run_dir / "history.jsonl"), {"linearizable": {}, "availability": {}}):
        print(f"{v.checker:<14} {v.valid:<8} {v.summary}")
    r = result["r"]
    print(f"Locust thresholds (refusals not counted): {'passed' if r.passed else r.broken}")
    print(f"history: {Path(run_dir) / 'history.jsonl'}")


if __name__ == "__main__":
    main()
