"""Locust event listeners: the history recorder, the steady-state tally, and the verdict on quitting.

Who does what:
- a local run (one process) records, tallies and judges;
- a worker records its own history file and ships its tally to the master with every report;
- the master merges the tallies, judges the thresholds and sets the exit code. A worker never
  judges and never sets the exit code: in distributed mode only the master's verdict counts.
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from locust import events
from locust.runners import MasterRunner, WorkerRunner

from . import options as opts
from .answers import answer_of
from .history import STRIDE, null_history, open_history, worker_path
from .shapes import schedule_from_options
from .thresholds import Limits, Tally, judge

log = logging.getLogger("caplab.load")


class State:
    """What the listeners of this process share."""

    history = null_history()
    tally = Tally()
    shape_start_wall_s: float | None = None


state = State()


@events.init_command_line_parser.add_listener
def _(parser):
    opts.add_arguments(parser)


@events.init.add_listener
def on_init(environment, **_kw):
    options = environment.parsed_options
    if options is None or isinstance(environment.runner, WorkerRunner):
        return  # a worker gets its options from the master with the first spawn
    opts.check(options)
    if not options.t0_wall_ms:
        options.t0_wall_ms = time.time() * 1000
    if not options.run_id:
        options.run_id = time.strftime("%Y%m%dT%H%M%S")


@events.test_start.add_listener
def on_test_start(environment, **_kw):
    runner, options = environment.runner, environment.parsed_options
    if isinstance(runner, MasterRunner) or runner is None:
        state.shape_start_wall_s = time.time()
        return
    if not isinstance(runner, WorkerRunner):
        state.shape_start_wall_s = time.time()
    path, base = options.history, options.process_base
    if isinstance(runner, WorkerRunner):
        opts.check(options)
        path = worker_path(path, runner.worker_index) if path else ""
        base += (runner.worker_index + 1) * STRIDE
    state.history.close()
    state.history = open_history(path, options.t0_wall_ms, base, options.t0_monotonic)
    state.tally = Tally()


@events.request.add_listener
def on_request(context, response, exception, response_time, start_time, **_kw):
    pending = context.get("caplab") if context else None
    if pending is None:
        return
    answer = pending.answer or answer_of(response, exception)
    state.history.complete(pending, answer)
    state.tally.add(pending.service, start_time, response_time, answer.kind)


@events.report_to_master.add_listener
def on_report_to_master(data, **_kw):
    data["caplab_tally"] = state.tally.take()


@events.worker_report.add_listener
def on_worker_report(data, **_kw):
    state.tally.merge(data.get("caplab_tally") or {})


@events.test_stop.add_listener
def on_test_stop(environment, **_kw):
    n = state.history.close_open()
    if n:
        log.info("history: %d operations were cut off by the stop and end as info", n)


@events.quitting.add_listener
def on_quitting(environment, **_kw):
    state.history.close()
    if isinstance(environment.runner, WorkerRunner):
        return  # the master judges; a worker's exit code decides nothing
    verdict = verdict_of(environment)
    if verdict is None:
        return
    out = environment.parsed_options.out_dir
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "thresholds.json").write_text(json.dumps(verdict, indent=2) + "\n")
    for line in verdict["broken"]:
        log.error("threshold broken: %s", line)
    if verdict["passed"]:
        log.info("thresholds passed: %s", verdict["limits"])
    crashed = bool(environment.runner.exceptions)
    environment.process_exit_code = 2 if crashed else (0 if verdict["passed"] else 1)


def verdict_of(environment) -> dict | None:
    """Judge the merged tally over the shape's steady windows; None when no test was started."""
    options = environment.parsed_options
    if state.shape_start_wall_s is None:
        return None
    limits = Limits(options.p95_ms, options.max_error_rate, options.refusals_are_errors)
    windows = schedule_from_options(options).steady_windows()
    j = judge(state.tally.data, state.shape_start_wall_s, windows, limits).to_dict()
    j.update(shape=options.shape, users=options.num_users, spawn_rate=options.spawn_rate,
             run_time_s=options.run_time, crashed=bool(environment.runner.exceptions),
             exceptions=[e.get("msg") for e in environment.runner.exceptions.values()])
    return j
