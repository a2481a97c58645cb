"""The DR drill: load through both services, backups on a schedule, a disaster, the automated runbook,
and RPO and RTO measured from the history, in the chaos runner's run folder and report format.

One drill (``run_drill``):
1. Steady state before: both services ready, breakers closed, a probe write reads back.
2. Clients write through CP and AP (chaos.workloads.threads: every operation in history.jsonl, the ledger);
   the breaker sampler runs; backups are taken every ``backup_every_s`` into <run>/backups.
3. After ``warmup_s`` the schedule stops, the clients move to fresh keys, and the disaster strikes
   (a ``disaster:<type>`` window). A probe of /ready and the clients' failures detect it.
4. The runbook recovers (``restore:<step>`` windows); the clients keep going until every service
   served >= 99% for ``window_s``; then every node is snapshotted directly.
5. Checkers: RPO and RTO (chaos/checkers/objectives.py), steady state after, and whether the outcome is the one
   the disaster declares. results.json, experiment.json, then chaos.report.build's report.md/html.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import requests

from backup.schedule import BackupSchedule
from chaos.checkers import objectives
from chaos.observers.samplers import Sampler, take_snapshot
from chaos.report.build import build_report
from chaos.run.steady import SteadyContext, run_steady_state
from chaos.workloads.threads import Workload, key_space
from harness.history import FaultEvent, HistoryWriter, NodeSnapshot, read_history
from harness.record import RunRecord
from harness.runs import new_run_dir
from harness.verdicts import Verdict, compose
from stack.config import SERVICES
from stack.target import exclusive

from .disasters import DrillContext
from .summary import summary_row, write_summary


@dataclass(frozen=True)
class DrillOptions:
    rto_target_s: float = objectives.RTO_TARGET_S
    rpo_target_s: float = objectives.RPO_TARGET_S
    window_s: float = 5.0  # RTO: the sustained window of >= min_ok successful operations
    min_ok: float = 0.99
    warmup_s: float = 14.0  # load (and backups) before the disaster
    backup_every_s: float = 5.0  # drill-scaled; real schedules are hourly or every 5 min
    detect_timeout_s: float = 10.0
    serve_timeout_s: float = 45.0  # after recovery: how long to wait for the service to serve again
    clients: int = 3  # per service
    keys: int = 30
    strict: bool = False  # judge against the targets only, ignoring what each disaster expects


@dataclass(frozen=True)
class DrillLoad:
    """The workload settings chaos.workloads.threads.Workload reads."""

    clients: int = 3
    read_ratio: float = 0.5
    keys: int = 30
    key_prefix: str = "k"
    think_ms: float = 10.0
    max_ops: int = 10**9
    timeout_s: float = 2.0


@dataclass(frozen=True)
class Check:
    check: str
    within_s: float | None = None


STEADY = (Check("proxies_clean"), Check("ready", 15), Check("breakers_closed", 15), Check("write_read", 10))


@dataclass
class DrillOutcome:
    name: str
    run_dir: Path
    passed: bool
    row: dict = field(default_factory=dict)


def run_drill(disaster, stack, runs_dir="runs", opts: DrillOptions = DrillOptions(), say=print) -> DrillOutcome:
    """Run one drill against a running ``stack``; everything goes to runs_dir/<disaster>/<timestamp>/."""
    run_dir = new_run_dir(runs_dir, disaster.name)
    run_id, cfg = f"{disaster.name}-{run_dir.name}", stack.config
    urls = {s: cfg.service_url(s) for s in SERVICES}
    started_at, t0 = datetime.now(timezone.utc).isoformat(timespec="seconds"), time.monotonic()
    (run_dir / "experiment.json").write_text(json.dumps(_experiment(disaster, opts), indent=2))
    say(f"drill {disaster.name}: {disaster.title}\n  expect: {disaster.hypothesis}\n  run folder: {run_dir}")
    verdicts, notes, facts = [], [], {}
    with exclusive(stack), stack.client() as tp, HistoryWriter(run_dir / "history.jsonl") as rec:
        proxies = [cfg.proxy_name(s, n) for s in SERVICES for n in cfg.nodes]
        steady = SteadyContext(urls, tp, proxies, run_id)
        verdicts.append(run_steady_state(steady, STEADY, "before", 5.0))
        if verdicts[0].valid == "valid":
            ctx = DrillContext(stack, run_dir / "backups", rec, say)
            try:
                facts = _drill(disaster, ctx, urls, run_id, opts, notes, run_dir / "history.jsonl")
            finally:
                _heal(stack, notes, say)
            verdicts.append(run_steady_state(steady, STEADY[1:], "after", 10.0))
        else:
            notes.append(f"steady state before failed, no disaster injected: {verdicts[0].summary}")
    return _finish(disaster, opts, run_dir, run_id, verdicts, notes, facts, started_at, t0, say)


def _drill(disaster, ctx, urls, run_id, opts, notes, history_path) -> dict:
    rec, stack = ctx.rec, ctx.stack
    load = DrillLoad(clients=opts.clients, keys=opts.keys)
    sampler = Sampler(urls, rec)
    workload = Workload(load, urls, run_id, rec, seed=int(time.time()))
    schedule = BackupSchedule(list(stack.nodes.values()), ctx.backups_root, opts.backup_every_s, rec, ctx.say)
    facts = {"backup_rounds": schedule.rounds, "steps": ctx.steps, "restored": ctx.restored,
             "rejected_backups": ctx.rejected, "moved_aside": ctx.moved, "restore_inner_steps": ctx.inner,
             "aof_torn": ctx.torn}
    sampler.start()
    try:
        time.sleep(0.3)
        workload.start()
        if disaster.backups:
            schedule.start()
        else:
            notes.append("no backups exist in this drill: the schedule never ran")
        time.sleep(opts.warmup_s)
        schedule.stop()  # a real schedule fails against dead nodes; the drill stops it cleanly instead
        disaster.prepare(ctx)
        for c in workload.clients:  # later writes use fresh keys, so none can hide a lost one
            c.keys = key_space(run_id, c.service, "after-", load.keys)
        t, wall = rec.now()
        target = disaster.inject(ctx)
        rec.write(FaultEvent("start", f"disaster:{disaster.name}", target, t, wall, disaster.to_dict()))
        rec.write(FaultEvent("start", "detect", "probes", t, wall))
        ctx.say(f"  disaster {disaster.name} on {target} at {t:.1f}s")
        facts.update(disaster_at_s=round(t, 3), disaster_wall_ms=wall, target=target)
        seen = _detect(urls, workload, opts.detect_timeout_s)
        t2, wall2 = rec.now()
        rec.write(FaultEvent("stop", "detect", "probes", t2, wall2, {"seen": seen}))
        notes.append(f"detected {t2 - t:.2f} s after the disaster: {seen}")
        try:
            disaster.recover(ctx)
        except Exception as err:  # the runbook failed: measure what the service does anyway
            notes.append(f"the runbook failed: {type(err).__name__}: {err}")
            ctx.say(f"  runbook FAILED: {err}")
        t3, wall3 = rec.now()
        rec.write(FaultEvent("stop", f"disaster:{disaster.name}", target, t3, wall3))
        _wait_served(history_path, opts)
    finally:
        workload.stop()
        schedule.stop()
        sampler.stop()
    prefixes = [f"{run_id}:{s}:" for s in SERVICES]
    for name, node in stack.nodes.items():
        try:
            records = take_snapshot(node, prefixes)
        except Exception as err:
            notes.append(f"{name} could not be snapshotted after recovery: {err}")
            continue
        t, wall = rec.now()
        rec.write(NodeSnapshot(name, t, wall, records, objectives.PHASE))
    return facts


def _detect(urls, workload, timeout: float) -> str:
    """Poll /ready and watch the clients until a failure shows; say what showed it."""
    bad0 = workload.stats.total("fail") + workload.stats.total("info")
    session, deadline = requests.Session(), time.monotonic() + timeout
    session.trust_env = False
    try:
        while time.monotonic() < deadline:
            if workload.stats.total("fail") + workload.stats.total("info") > bad0:
                return "a client operation failed"
            for s, url in urls.items():
                try:
                    code = session.get(url + "/ready", timeout=0.5).status_code
                except requests.RequestException as err:
                    return f"{s} /ready: {type(err).__name__}"
                if code != 200:
                    return f"{s} /ready {code}"
            time.sleep(0.05)
        return f"nothing within {timeout:g} s: the runbook starts anyway"
    finally:
        session.close()


def _wait_served(history_path, opts) -> None:
    """Keep the load on until every service served >= min_ok for window_s, or serve_timeout_s passed."""
    deadline = time.monotonic() + opts.serve_timeout_s
    while time.monotonic() < deadline:
        time.sleep(1.0)
        rto = objectives.check_rto(read_history(history_path), opts.rto_target_s, opts.window_s, opts.min_ok)
        if rto.figures.get("rto_s") is not None:
            return


def _heal(stack, notes, say) -> None:
    """Whatever the runbook left down is started again (empty if its data is gone), and whatever it
    left frozen is resumed, for the next drill."""
    for name, node in stack.nodes.items():
        node.resume()
        if not node.running():
            try:
                node.start()
                notes.append(f"heal: started {name}, which the runbook left down")
            except Exception as err:
                notes.append(f"heal: could not start {name}: {err}")
                say(f"  heal: could not start {name}: {err}")


def _experiment(disaster, opts) -> dict:
    return {"name": disaster.name, "title": f"DR drill: {disaster.title}", "hypothesis": disaster.hypothesis,
            "question": "How long until the service serves again, and which acknowledged writes survive?",
            "services": list(SERVICES), "disaster": disaster.to_dict(), "kind": "dr-drill",
            "backup_schedule": {"every_s": opts.backup_every_s if disaster.backups else None},
            "targets": {"rto_s": opts.rto_target_s, "rpo_s": opts.rpo_target_s},
            "options": opts.__dict__,
            "schedule": [{"at": opts.warmup_s, "fault": f"disaster:{disaster.name}", "duration": None,
                          "params": {"expect": disaster.expect}}]}


def _backup_age(facts, rounds) -> float | None:
    """Seconds between the newest backup the recovery used and the disaster (what the interval allows)."""
    used = [(r["at_s"], n) for r in rounds for n in r["backups"].values() if n in facts.get("restored", {}).values()]
    if not used or "disaster_at_s" not in facts:
        return None
    return round(facts["disaster_at_s"] - max(at for at, _ in used), 3)


def drill_passed(measured: dict, expect: dict, steady_ok: bool, strict: bool = False) -> bool:
    """A drill passes when each objective came out as the disaster declares (strict: every one met)."""
    want = (lambda k: "pass") if strict else (lambda k: expect.get(k, "pass"))
    return bool(measured) and steady_ok and all(m == want(k) for k, m in measured.items())


def _finish(disaster, opts, run_dir, run_id, verdicts, notes, facts, started_at, t0, say) -> DrillOutcome:
    history = read_history(run_dir / "history.jsonl")
    measured = {}
    if facts:
        age = _backup_age(facts, facts.get("backup_rounds", []))
        rpo = objectives.check_rpo(history, opts.rpo_target_s, disaster.mechanism, age)
        rto = objectives.check_rto(history, opts.rto_target_s, opts.window_s, opts.min_ok)
        for v in (rpo, rto):
            measured[v.checker] = {"valid": "pass", "invalid": "fail"}.get(v.valid, "unknown")
            want = disaster.expect.get(v.checker, "pass")
            label = f"{measured[v.checker].upper()} ({'as expected' if measured[v.checker] == want else f'EXPECTED {want.upper()}'})"
            verdicts.append(Verdict(v.checker, v.valid, f"{label}: {v.summary}", v.evidence, v.figures))
        facts["write_success"] = ws = objectives.write_success(history, rto.figures.get("per_service"))
        verdicts.append(Verdict("write_success", "valid", "; ".join(
            f"{s}: " + ", ".join(f"{'no writes' if r is None else f'{r:.0%}'} {p}" for p, r in rows.items())
            for s, rows in ws.items()), figures={f"{s}.{p}": r for s, rows in ws.items() for p, r in rows.items()}))
    as_expected = bool(measured) and all(measured[k] == disaster.expect.get(k, "pass") for k in measured)
    steady_ok = all(v.valid == "valid" for v in verdicts if v.checker.startswith("steady_state"))
    passed = drill_passed(measured, disaster.expect, steady_ok, opts.strict)
    verdicts.append(Verdict("expectation", "valid" if as_expected else "invalid", ", ".join(
        f"{k} {m} (expected {disaster.expect.get(k, 'pass')})" for k, m in measured.items()) or "nothing measured",
        figures={"measured": measured, "expected": dict(disaster.expect)}))
    overall = compose(verdicts).valid
    record = RunRecord(experiment=disaster.name, title=f"DR drill: {disaster.title}", hypothesis=disaster.hypothesis,
                       overall=overall, drill="pass" if passed else "fail", as_expected=as_expected,
                       aborted=None if facts else "steady state before failed", verdicts=verdicts,
                       started_at=started_at, duration_s=round(time.monotonic() - t0, 2), run_id=run_id,
                       notes=notes + [f"drill {'PASSED' if passed else 'FAILED'}: the measured outcome "
                                      f"{'matches' if as_expected else 'does not match'} what this disaster declares"],
                       facts=facts)
    record.write(run_dir)
    results = record.to_json()
    for v in verdicts:
        say(f"  {v.valid.upper():8} {v.checker}: {v.summary}")
    try:
        build_report(run_dir)
    except Exception as err:  # the verdicts stand without the report
        say(f"  report failed: {type(err).__name__}: {err}")
    row = summary_row(disaster, results, run_dir)
    say(f"drill {disaster.name}: {'PASS' if passed else 'FAIL'}  ({results['duration_s']} s) -> {run_dir}")
    return DrillOutcome(disaster.name, run_dir, passed, row)


def run_drills(disasters, stack, runs_dir="runs", opts=None, say=print) -> tuple[list, Path]:
    """Run each disaster's drill in turn on ``stack``; write the summary; return (outcomes, summary folder)."""
    opts = opts or DrillOptions()
    t0, outcomes = time.monotonic(), []
    for d in disasters:
        outcomes.append(run_drill(d, stack, runs_dir, opts, say))
    out = new_run_dir(runs_dir, "drill")
    md = write_summary(outcomes, out, opts, time.monotonic() - t0)
    say("\n" + md)
    say(f"summary: {out / 'summary.md'} and {out / 'summary.html'}")
    return outcomes, out
