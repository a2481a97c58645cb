"""The DR drill: an experiment of the one runner (chaos/run/runner.py) whose nemesis is a disaster
with its automated runbook (chaos/drills/nemesis.py), under load through both services, with RPO
and RTO measured from the history (chaos/checkers/objectives.py).

One drill (``run_drill``), in the runner's lifecycle:
1. Steady state before: both services ready, breakers closed, a probe write reads back.
2. Clients write through CP and AP (chaos.workloads.threads: every operation in history.jsonl, the
   ledger); the breaker sampler runs; backups are taken every ``backup_every_s`` into <run>/backups.
3. After ``warmup_s`` the schedule stops, the clients move to fresh keys, and the disaster strikes
   (a ``disaster:<type>`` window). A probe of /ready and the clients' failures detect it.
4. The runbook recovers (``restore:<step>`` windows); the clients keep going until every service
   served >= 99% for ``window_s``; then every node is snapshotted directly, and what the runbook
   left down is started.
5. Verdicts: steady state after, RPO and RTO, and whether the outcome is the one the disaster
   declares; the run record (``drill``, ``as_expected``, ``facts``), then the report.
``run_drills`` runs several and writes the summary table (chaos/drills/summary.py).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from chaos import workloads
from chaos.checkers import objectives
from chaos.experiment.model import AfterHeal, Experiment, SteadyCheck, WorkloadSpec
from chaos.observers.samplers import MetricsObserver
from chaos.run.assembly import Parts
from chaos.run.runner import run_experiment
from harness.runs import new_run_dir

from .nemesis import DisasterNemesis
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


STEADY = (SteadyCheck("proxies_clean"), SteadyCheck("ready", 15), SteadyCheck("breakers_closed", 15),
          SteadyCheck("write_read", 10))
INTERRUPTED = (130, 143)
QUESTION = "How long until the service serves again, and which acknowledged writes survive?"


@dataclass
class DrillOutcome:
    name: str
    run_dir: Path
    passed: bool
    row: dict = field(default_factory=dict)
    exit_code: int = 0  # the runner's: 130 / 143 when Ctrl-C or SIGTERM cut the drill short


def drill_experiment(disaster, opts: DrillOptions) -> Experiment:
    """The drill as an experiment: both services under load until the disaster's nemesis is done."""
    load = WorkloadSpec(clients=opts.clients, duration_s=None, keys=opts.keys, max_ops=10**9)
    return Experiment(
        name=disaster.name, title=f"DR drill: {disaster.title}", hypothesis=disaster.hypothesis,
        services=disaster.services, nodes=2, profile="local", workload=load, schedule=(), checkers={},
        steady_before=STEADY, steady_after=STEADY[1:], after_heal=AfterHeal(), question=QUESTION,
        source="chaos/drills/disasters.py",
        nemesis={"kind": "dr-drill", "disaster": disaster.to_dict(), "at_s": opts.warmup_s,
                 "backup_schedule": {"every_s": opts.backup_every_s if disaster.backups else None},
                 "targets": {"rto_s": opts.rto_target_s, "rpo_s": opts.rpo_target_s}, "options": asdict(opts)})


def drill_parts(disaster, opts: DrillOptions):
    """The parts factory of a drill: client threads, the disaster's nemesis, the sampler."""
    def parts(run) -> Parts:
        return Parts(workloads.for_experiment(run.exp, run.urls, run.run_id, run.rec, run.run_dir, run.seed),
                     DisasterNemesis(disaster, opts), [MetricsObserver()])
    return parts


def run_drill(disaster, stack, runs_dir="runs", opts: DrillOptions = DrillOptions(), say=print,
              observers=()) -> DrillOutcome:
    """Run one drill against a running ``stack``; everything goes to runs_dir/<disaster>/<timestamp>/."""
    outcome = run_experiment(drill_experiment(disaster, opts), stack, runs_dir, say=say,
                             parts=drill_parts(disaster, opts), observers=observers)
    results = outcome.record.to_json()
    passed = outcome.record.drill == "pass"
    say(f"drill {disaster.name}: {'PASS' if passed else 'FAIL'}  ({results['duration_s']} s) -> {outcome.run_dir}")
    return DrillOutcome(disaster.name, outcome.run_dir, passed, summary_row(disaster, results, outcome.run_dir),
                        outcome.exit_code)


def run_drills(disasters, stack, runs_dir="runs", opts=None, say=print) -> tuple[list, Path]:
    """Run each disaster's drill in turn on ``stack``; write the summary; return (outcomes, summary folder)."""
    opts = opts or DrillOptions()
    t0, outcomes = time.monotonic(), []
    for d in disasters:
        outcomes.append(run_drill(d, stack, runs_dir, opts, say))
        if outcomes[-1].exit_code in INTERRUPTED:  # healed; the drills not yet run are not started
            break
    out = new_run_dir(runs_dir, "drill")
    md = write_summary(outcomes, out, opts, time.monotonic() - t0)
    say("\n" + md)
    say(f"summary: {out / 'summary.md'} and {out / 'summary.html'}")
    return outcomes, out
