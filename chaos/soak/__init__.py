"""A soak: both services under steady Locust load for a long time, with faults on a schedule.

Hypothesis: once warmed up, nothing grows without bound. The gunicorn masters' and workers' memory
stays within 10% of its level after the warm-up, no process gains file descriptors, Redis memory
stays flat (the key space is bounded), the history grows at a steady rate in MB per minute, and
the checkers' time and peak memory grow no faster than the history does.

The soak runs on its own stack on shifted ports (never a user's stack), writes runs/soak/<stamp>/
(history.jsonl from Locust, events.jsonl with faults and resource samples, results.json, soak.md
with plots), and heals and stops everything it started however it ends. See docs/benchmarks.md.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from chaos.faults import FaultScope, latency, partition
from harness.history import FaultEvent, HistoryWriter, MetricSample
from harness.runs import new_run_dir
from loadtests.workload import start_locust
from stack import Stack
from stack.target import stack_config

from .check import record_check, time_checkers
from .report import write_report
from .resources import SOAK, ResourceSampler

DEFAULT_PORT_OFFSET = 8000  # away from the defaults, the tests (10000+), bench (20000+) and drills (6000)


@dataclass(frozen=True)
class SoakOptions:
    duration_s: float = 1800.0
    users: int = 8  # split over cp and ap
    wait_ms: str = "20:60"
    fault_every_s: float = 60.0
    fault_s: float = 10.0
    sample_every_s: float = 5.0
    check_every_s: float = 300.0
    warmup_s: float | None = None  # default: a quarter of the run, at most 5 minutes
    port_offset: int = DEFAULT_PORT_OFFSET
    stack_run_dir: str = "run/soak"
    runs_dir: str = "runs"

    @property
    def warmup(self) -> float:
        return self.warmup_s if self.warmup_s is not None else min(300.0, self.duration_s / 4)


# The fault cycle: a refusing cut, a slow link and a black hole, one after another.
FAULT_CYCLE = (("cut-g2", lambda tp: partition(tp, ["cp_g2", "ap_g2"], "refuse"), "cp,ap->g2"),
               ("slow-g1", lambda tp: latency(tp, ["cp_g1", "ap_g1"], 100), "cp,ap->g1"),
               ("blackhole-g2", lambda tp: partition(tp, ["cp_g2", "ap_g2"], "blackhole"), "cp,ap->g2"))


def soak_stack(opts: SoakOptions) -> Stack:
    cfg = stack_config(2, "local", opts.stack_run_dir, opts.port_offset)
    return Stack(cfg.with_(extra_env={**cfg.extra_env, "RATE_LIMIT": "100000000 per minute"}))


def run_soak(opts: SoakOptions, say=print) -> Path:
    """Run one soak; return its run folder (results.json and soak.md inside)."""
    run_dir = new_run_dir(opts.runs_dir, "soak")
    (run_dir / "options.json").write_text(json.dumps(asdict(opts), indent=2))
    stack = soak_stack(opts)
    say(f"soak: {opts.duration_s:.0f} s, {opts.users} Locust users, a fault every {opts.fault_every_s:g} s; "
        f"stack in {stack.run_dir} (CP {stack.config.service_url('cp')}); run folder {run_dir}")
    started_stack = not any(row["running"] for row in stack.status())
    history, events = run_dir / "history.jsonl", run_dir / "events.jsonl"
    checks: list = []
    try:
        stack.up(progress=lambda _m: None)  # inside: a start that fails half way is stopped too
        with HistoryWriter(events) as rec:
            sampler = ResourceSampler(stack, rec, [history, events], opts.sample_every_s)
            sampler.start()
            try:
                _load_under_faults(stack, opts, rec, run_dir, checks, say)
            finally:
                sampler.stop()
            say("soak: load done; timing the checkers on the whole history")
            final = time_checkers([events, history])
            _record_check(rec, final, run_dir)
            checks.append(final)
    finally:
        if started_stack:
            stack.down(progress=lambda _m: None)
    write_report(run_dir, opts, checks, sampler.errors)
    say(f"soak: report {run_dir / 'soak.md'}")
    return run_dir


def _load_under_faults(stack, opts: SoakOptions, rec, run_dir: Path, checks: list, say) -> None:
    """Locust for the whole duration; the main thread applies the fault cycle inside a FaultScope."""
    t, wall = rec.now()
    users = max(2, opts.users)
    locust = start_locust(stack.config, ["cp", "ap"], users, opts.duration_s, run_dir / "history.jsonl",
                          wall - t * 1000, ["--wait-ms", opts.wait_ms], out_dir=run_dir / "locust",
                          p95_ms=60_000, max_error_rate=1.0, refusals_are_errors=False,
                          run_id=f"soak-{run_dir.name}")
    checker, last_said = None, 0.0
    try:
        with stack.client() as tp, FaultScope() as scope:
            start, n, next_check = time.monotonic(), 0, opts.check_every_s
            while (elapsed := time.monotonic() - start) < opts.duration_s and locust.master.poll() is None:
                due = opts.fault_every_s * (n + 1)
                if elapsed >= due and due + opts.fault_s < opts.duration_s - 5:
                    name, build, target = FAULT_CYCLE[n % len(FAULT_CYCLE)]
                    _one_fault(scope, build(tp), name, target, opts.fault_s, rec)
                    n += 1
                    continue
                if elapsed >= next_check and (checker is None or not checker.is_alive()):
                    checker = _check_in_background(run_dir, rec, checks)
                    next_check += opts.check_every_s
                if elapsed - last_said >= 60:
                    say(f"soak: {elapsed:.0f}/{opts.duration_s:.0f} s, {n} faults so far")
                    last_said = elapsed
                time.sleep(0.5)
    except BaseException:
        locust.stop()
        raise
    finally:
        if checker is not None:
            checker.join(timeout=600)
    locust.wait()


def _one_fault(scope, fault, name: str, target: str, seconds: float, rec) -> None:
    """Apply one fault for `seconds`, recording its start and stop in the events file."""
    def record(_fault, phase):
        if phase in ("start", "stop"):
            t, wall = rec.now()
            rec.write(FaultEvent(phase, name, target, t, wall, params={"applied": _fault.describe()}))
    fault.on_event = record
    scope.start(fault)
    try:
        time.sleep(seconds)
    finally:
        scope.stop(fault)


def _check_in_background(run_dir: Path, rec, checks: list) -> threading.Thread:
    def work():
        result = time_checkers([run_dir / "events.jsonl", run_dir / "history.jsonl"])
        _record_check(rec, result, run_dir)
        checks.append(result)
    thread = threading.Thread(target=work, name="soak-check", daemon=True)
    thread.start()
    return thread


def _record_check(rec, result: dict, run_dir: Path) -> None:
    t, wall = rec.now()
    result["at_s"] = round(t, 1)
    record_check(run_dir, result)
    for name, key in (("checker_seconds", "check_seconds"), ("checker_peak_rss_bytes", "peak_rss_bytes"),
                      ("checker_history_bytes", "history_bytes")):
        if result.get(key) is not None:
            rec.write(MetricSample(SOAK, name, {}, float(result[key]), t, wall))
