"""The caplab control: record a caplab history while `chaos run` runs, and judge it at the end.

Declared once at the top of an experiment:

    "controls": [{"name": "caplab", "provider": {"type": "python",
                  "module": "chaostoolkit_caplab.control", "arguments": {"clients": 2}}}]

Before the experiment it opens a run folder (`<caplab_runs_dir>/<name>/<timestamp>/`, as
`python -m chaos run` does) and starts client threads on both services and the breaker and metric
sampler; the actions stamp their faults into the same history.jsonl. After the rollbacks it heals
any fault of this run still in place, snapshots the nodes until they agree, stops the clients,
runs caplab's checkers on the whole history, writes results.json (so `python -m chaos report
<run-dir>` draws the report), and adds a `caplab` section to the journal: the run folder, the
overall verdict and each checker's verdict. A stack that is not there interrupts the run before
anything is injected.
"""
from __future__ import annotations

import difflib
import json
import re
import time
from datetime import datetime, timezone

from chaoslib.exceptions import InterruptExecution

from chaos.checkers import CHECKERS, run_all
from chaos.experiment.model import WorkloadSpec
from harness.history import read_history
from harness.record import RunRecord
from harness.verdicts import compose

from . import actions, recording
from .probes import default_thresholds, plain
from .target import EXPECTED, target

# Every argument the control takes (each level gets them all): a misspelt one must not pass unseen.
ARGUMENTS = ("clients", "read_ratio", "keys", "think_ms", "services", "name", "seed", "checkers",
             "converge_within_s", "report")
_started: dict = {}


def before_experiment_control(context: dict, configuration: dict = None, clients: int = 2,
                              read_ratio: float = 0.5, keys: int = 8, think_ms: float = 10.0,
                              services: list = None, name: str = None, seed: int = None, checkers: dict = None,
                              **_ignored) -> None:
    """Open the run folder and start recording: client threads on `services` and the sampler."""
    try:
        _check_arguments(_ignored, clients, read_ratio, keys, think_ms)
        stack = target(configuration)
        services = list(services or ("cp", "ap"))
        unknown = sorted(set(services) - set(stack.urls))
        if unknown:
            raise ValueError(f"unknown services {unknown}; use some of {list(stack.urls)}")
        if checkers is not None and (not isinstance(checkers, dict) or set(checkers) - set(CHECKERS)):
            raise ValueError(f"checkers must map some of {sorted(CHECKERS)} to thresholds, got {checkers!r}")
        spec = WorkloadSpec(clients=int(clients), read_ratio=float(read_ratio), keys=int(keys),
                            think_ms=float(think_ms), duration_s=24 * 3600.0)
        runs_dir = (configuration or {}).get("caplab_runs_dir", "runs")
        rec = recording.Recording(stack, runs_dir, name or slug(context.get("title", "")), spec, services,
                                  seed if seed is not None else int(time.time()))
        recording.begin(rec)
    except Exception as err:  # the run must not go on unrecorded: say why, inject nothing
        raise InterruptExecution(f"caplab control: cannot record this run: {err}") from err
    _started.update(at=datetime.now(timezone.utc).isoformat(timespec="seconds"), t0=time.monotonic())
    (rec.run_dir / "experiment.json").write_text(json.dumps(
        {"name": rec.run_dir.parent.name, "title": context.get("title", ""),
         "hypothesis": (context.get("steady-state-hypothesis") or {}).get("title", ""),
         "services": services, "nodes": len(stack.nodes), "schedule": [], "source": "chaos toolkit"}, indent=2))


def _check_arguments(extra: dict, clients, read_ratio, keys, think_ms) -> None:
    unknown = sorted(set(extra) - set(ARGUMENTS))
    if unknown:
        close = {u: difflib.get_close_matches(u, ARGUMENTS, n=1) for u in unknown}
        hints = ", ".join(f"{u!r}" + (f" (did you mean {c[0]!r}?)" if c else "") for u, c in close.items())
        raise ValueError(f"unknown control arguments {hints}; it takes {', '.join(ARGUMENTS)}")
    for what, value, lo, hi in (("clients", clients, 0, 64), ("read_ratio", read_ratio, 0, 1),
                                ("keys", keys, 1, 10000), ("think_ms", think_ms, 0, 60000)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
            raise ValueError(f"{what} must be a number between {lo} and {hi}, got {value!r}")


def after_experiment_control(context: dict, state: dict = None, configuration: dict = None,
                             checkers: dict = None, converge_within_s: float = 10.0, report: bool = False,
                             **_ignored) -> None:
    """Heal what is left, snapshot, stop recording, judge the history, and tell the journal."""
    rec = recording.current(required=False)
    if rec is None:
        return
    try:
        _finish(rec, context, state, configuration, checkers, converge_within_s, report)
    except Exception as err:  # Chaos Toolkit only logs a failing control: put it in the journal too
        recording.end()
        if isinstance(state, dict):
            state["caplab"] = {"run_dir": str(rec.run_dir), "overall": "unknown",
                               "error": f"{type(err).__name__}: {err}"}
        raise


def _finish(rec, context, state, configuration, checkers, converge_within_s, report) -> None:
    notes = []
    heal_report = _heal_leftovers(configuration, notes)
    if "ap" in rec.services and rec.workload is not None:
        snap = rec.snapshot(["ap"], 0.5, float(converge_within_s))
        notes.append(f"nodes {'converged' if snap.converged else 'NOT converged'} after {snap.rounds} snapshot rounds")
    recording.end()
    config = checker_config(checkers, rec)
    verdicts = run_all(read_history(rec.rec.path), config)
    aborted = _gate_not_met(state, notes)
    overall = "unknown" if aborted else compose(verdicts).valid
    RunRecord(overall=overall, aborted=aborted, experiment=rec.run_dir.parent.name, title=context.get("title", ""),
              hypothesis=(context.get("steady-state-hypothesis") or {}).get("title", ""), verdicts=verdicts,
              started_at=_started.get("at", ""), duration_s=round(time.monotonic() - _started.get("t0", 0), 2),
              run_id=rec.run_id, seed=rec.seed, notes=notes, ops=rec.ops(), checkers=config, heal=heal_report,
              stack={"run_dir": str(rec.target.stack.run_dir), "nodes": rec.target.nodes, "services": rec.urls,
                     "ctk_status": (state or {}).get("status")}).write(rec.run_dir)
    if report:
        notes.append(_report(rec.run_dir))
    if isinstance(state, dict):
        state["caplab"] = plain({
            "run_dir": str(rec.run_dir), "overall": overall, "ops": rec.ops(), "notes": notes,
            "marks": [m.to_dict() for m in rec.marks],
            "verdicts": [{"checker": v.checker, "valid": v.valid, "summary": v.summary} for v in verdicts]})


def _gate_not_met(state, notes: list) -> str | None:
    """Chaos Toolkit 1.44 ends a run whose steady state before the method was not met as
    "completed" (exit 0) although the method never ran. Nothing was tested: mark it failed."""
    before = ((state or {}).get("steady_states") or {}).get("before") or {}
    if before.get("steady_state_met") is not False:
        return None
    missed = [p["activity"]["name"] for p in before.get("probes", []) if not p.get("tolerance_met")]
    reason = f"steady state before the method not met ({', '.join(missed)}): the method never ran"
    if state.get("status") == "completed":
        state["status"] = "failed"
        notes.append(f"{reason}; the caplab control marked the run failed")
    return reason


def checker_config(checkers, rec) -> dict:
    """The checkers to run at the end: those given, else the promises of the recorded services."""
    if checkers is not None:
        wanted = list(checkers)
    else:
        wanted = (["linearizable"] if "cp" in rec.services else []) + \
                 (["lost_writes", "staleness", "convergence"] if "ap" in rec.services else [])
    return {name: {**default_thresholds(name, rec.target), **((checkers or {}).get(name) or {})}
            for name in wanted}


def _heal_leftovers(configuration, notes: list) -> dict | None:
    """Faults this run injected and no rollback removed: heal them, and say so."""
    if not actions.ACTIVE:
        return None
    left = [fault.name for fault, _ in actions.ACTIVE]
    try:
        report = actions.heal(configuration=configuration)
        notes.append(f"the caplab control healed faults still in place at the end: {left}")
        return report
    except Exception as err:
        notes.append(f"faults still in place at the end could not be healed ({err}): run `python -m chaos heal`")
        return {"ok": False, "errors": [str(err)]}


def _report(run_dir) -> str:
    from chaos.report.build import build_report  # matplotlib: only when a report is asked for
    try:
        md, html = build_report(run_dir)
        return f"report: {html}"
    except (EXPECTED + (RuntimeError,)) as err:
        return f"report failed: {type(err).__name__}: {err}"


def slug(title: str) -> str:
    """A run folder name from the experiment's title."""
    text = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60].strip("-")
    return f"ctk-{text}" if text else "ctk-experiment"
