"""Run one experiment: the one lifecycle, over the protocols of chaos/run/protocols.py.

1. The parts (workload, nemesis, observers) come from a factory (chaos/run/assembly.py by default);
   the observers prepare, then the steady state is checked; if it fails, nothing is injected (exit 3).
2. The observers start, then the workload; the main thread steps the nemesis every 0.1 s (its fault
   scope undoes everything on Ctrl-C, SIGTERM, an error, or ``RunContext.abort`` from any thread)
   and draws the progress line. Once the nemesis is done the observers hear ``faults_over``.
3. The run ends at the workload's ``duration_s`` (or, without one, once the nemesis is done): the
   nemesis stops, the workload stops, the nemesis heals, the observers settle, the breakers must
   close, the observers stop, and the steady state is checked again.
4. The checkers judge history.jsonl, with the nemesis's and the observers' own verdicts; the run
   record (harness/record.py) is written once to results.json, then the report.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from chaos.observers.progress import Progress
from chaos.observers.samplers import wait_breakers_closed
from chaos.report.build import build_report
from chaos.run import assembly
from chaos.run.context import RunAborted, RunContext
from chaos.run.steady import SteadyContext, run_steady_state
from harness.history import HistoryError, HistoryWriter, read_history
from harness.record import RunRecord
from harness.runs import new_run_dir
from harness.verdicts import Verdict, compose, invalid_history
from stack.config import SERVICES
from stack.target import RunnerError, exclusive, number, service_settings

EXIT = {"valid": 0, "invalid": 1, "unknown": 4}
EXIT_ABORTED = 3
TICK_S = 0.1


@dataclass
class RunOutcome:
    run_dir: Path
    overall: str
    verdicts: list = field(default_factory=list)
    exit_code: int = 0
    aborted: str | None = None
    record: RunRecord | None = None


def run_experiment(exp, stack, runs_dir="runs", say=print, stream=None, seed: int | None = None,
                   parts=assembly.for_experiment, observers=()) -> RunOutcome:
    """Run `exp` against a running `stack`; write everything under runs_dir/<name>/<timestamp>/.

    ``parts(run_context)`` builds the workload, nemesis and observers; ``observers`` are added to them
    (a dashboard, a guard: chaos.run.protocols.Observer)."""
    return Run(exp, stack, runs_dir, say, stream, seed, parts, observers).execute()


class Run:
    def __init__(self, exp, stack, runs_dir, say, stream, seed, parts=assembly.for_experiment, observers=()):
        self.exp, self.stack, self.say, self.stream = exp, stack, say, stream
        run_dir = new_run_dir(runs_dir, exp.name)
        settings = service_settings(stack)
        urls = {s: stack.config.service_url(s) for s in exp.services}
        self.ctx = RunContext(exp, stack, run_dir, f"{exp.name}-{run_dir.name}", urls, settings,
                              seed if seed is not None else int(time.time()), say)
        self.run_dir, self.run_id = run_dir, self.ctx.run_id
        self.reset_s = number(settings, "BREAKER_RESET_TIMEOUT_SEC", 5.0)
        proxies = [stack.config.proxy_name(s, n) for s in SERVICES for n in stack.config.nodes]
        self.steady = SteadyContext(urls, stack.client(), proxies, self.run_id)
        self.started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.notes: list[str] = []
        self.checkers_used: dict = {}
        self.make_parts, self.extra_observers = parts, list(observers)
        self.parts = None
        self.loaded = False  # the workload was started

    def abort(self, reason: str, by: str = "unknown") -> bool:
        """Stop the run from any thread; it heals as after Ctrl-C (chaos.run.context.RunContext.abort)."""
        return self.ctx.abort(reason, by)

    def execute(self) -> RunOutcome:
        run, exp = self.ctx, self.exp
        (self.run_dir / "experiment.json").write_text(json.dumps(exp.to_dict(), indent=2, default=list))
        self.say(f"{exp.name}: {exp.title}\n  hypothesis: {exp.hypothesis}\n  run folder: {self.run_dir}")
        verdicts: list[Verdict] = []
        interrupted = None
        with exclusive(self.stack), HistoryWriter(self.run_dir / "history.jsonl") as rec:
            run.rec = rec
            self.parts = self.make_parts(run)
            self.parts.observers.extend(self.extra_observers)
            run.workload = self.parts.workload
            try:
                for o in self.parts.observers:
                    o.prepare(run)
                run.live.phase = "steady-before"
                before = run_steady_state(self.steady, exp.steady_before, "before", 3.0)
                verdicts.append(before)
                if before.valid == "invalid":  # unknown (no check configured) runs on, and stays unknown
                    self.say(f"steady state before failed, nothing injected: {before.summary}")
                    return self.finish(verdicts, aborted=f"steady state before failed: {before.summary}")
                interrupted = self.under_load(verdicts)
            except RunnerError as err:  # e.g. Prometheus not there, or not scraping: nothing was injected
                self.say(f"not run: {err}")
                return self.finish(verdicts, aborted=str(err))
            finally:
                self.close_observers()
        outcome = self.finish(verdicts + self.judge())
        if interrupted is not None:
            outcome.exit_code = 130 if isinstance(interrupted, KeyboardInterrupt) else 143
        return outcome

    # -- 2. workload under the nemesis -----------------------------------------------------------
    def under_load(self, verdicts: list) -> BaseException | None:
        """Drive the run, then recover, whatever happened; append the verdicts; return an interruption."""
        interrupted = None
        try:
            self.drive()
        except (KeyboardInterrupt, SystemExit) as err:
            interrupted = err
            self.notes.append(f"interrupted by {type(err).__name__}; faults undone, healed")
            # A run cut short tested only part of its hypothesis: it can never be valid.
            verdicts.append(Verdict("interrupted", "unknown", f"{type(err).__name__} after "
                                    f"{time.monotonic() - self.ctx.t0:.1f} s: the schedule did not finish"))
        except RunAborted as err:
            h = self.ctx.halted
            self.notes.append(f"aborted by {h['by']} at {h['at']} ({h['reason']}); faults undone, healed")
            verdicts.append(Verdict("interrupted", "unknown", f"{err} after {h['after_s']:.1f} s: "
                                    "the schedule did not finish"))
        except Exception as err:  # a fault that could not be injected: the run proves nothing
            verdicts.append(Verdict("schedule", "unknown", f"{type(err).__name__}: {err}"))
        finally:
            verdicts += self.recover()
        return interrupted

    def drive(self) -> None:
        run, nemesis, workload = self.ctx, self.parts.nemesis, self.parts.workload
        limit = self.exp.workload.duration_s  # None: until the nemesis is done
        progress = Progress(limit, self.stream)
        for o in self.parts.observers:
            o.start(run)
        start, over = time.monotonic(), False
        run.live.phase = "under-load"
        self.loaded = True
        workload.start()
        try:
            nemesis.start(run)
            try:
                while workload.alive:
                    elapsed = time.monotonic() - start
                    if (elapsed >= limit) if limit is not None else nemesis.done:
                        break
                    run.check_abort()
                    nemesis.step(elapsed)
                    if nemesis.done and not over:
                        over = True
                        for o in self.parts.observers:
                            o.faults_over(run)
                    run.live.elapsed_s, run.live.active = elapsed, nemesis.active
                    progress.update(elapsed, run.live.active, workload.stats, run.live.breakers)
                    time.sleep(TICK_S)
            finally:
                nemesis.stop()
        finally:
            progress.done()
            workload.stop()

    # -- 3. heal and steady state after ----------------------------------------------------------
    def recover(self) -> list[Verdict]:
        """Heal, let the observers settle, wait for the breakers, check the steady state after."""
        run, parts = self.ctx, self.parts
        run.live.phase = "healing"
        verdicts = list(parts.nemesis.heal(run))
        if self.loaded:
            for o in parts.observers:
                o.faults_over(run)
            parts.workload.stop()
        for o in parts.observers:
            o.settle(run)
        closed, waited, states = wait_breakers_closed(run.urls, self.reset_s + 10)
        self.notes.append(f"breakers {'closed' if closed else 'NOT closed'} {waited:.1f} s after the heal: {states}")
        time.sleep(0.5)  # a last round of samples with the breakers closed
        for o in parts.observers:
            o.stop()
        run.live.phase = "steady-after"
        verdicts.append(run_steady_state(self.steady, self.exp.steady_after, "after", self.reset_s + 5))
        return verdicts

    def close_observers(self) -> None:
        for o in reversed(self.parts.observers):
            try:
                o.close()
            except Exception as err:  # one observer's failure must not keep the others open
                self.notes.append(f"{type(o).__name__} could not close: {type(err).__name__}: {err}")
        for o in self.parts.observers:
            self.notes += o.notes()

    # -- 4. verdicts -------------------------------------------------------------------------------
    def judge(self) -> list[Verdict]:
        from chaos.checkers import run_all
        self.ctx.live.phase = "judging"
        self.ctx.rec.close()
        self.notes += self.parts.workload.finish(self.run_dir / "history.jsonl")
        try:
            history = read_history(self.run_dir / "history.jsonl")
        except HistoryError as err:  # a line no checker can read: say which, instead of crashing the run
            return [invalid_history("history", err)]
        verdicts = run_all(history, self.checker_config())
        verdicts += self.parts.nemesis.verdicts(history)
        for o in self.parts.observers:
            verdicts += o.verdicts(history)
        return verdicts

    def checker_config(self) -> dict:
        """The experiment's thresholds, with those that depend on the stack filled from its settings."""
        config = {name: dict(t) for name, t in self.exp.checkers.items()}
        if "breakers" in config:
            config["breakers"].setdefault("close_within_s", self.reset_s + 3)
        if "staleness" in config:
            ap = self.ctx.settings.get("ap", {})
            if ap.get("MAX_STALENESS_MS") is not None:
                config["staleness"].setdefault("max_staleness_ms", int(float(ap["MAX_STALENESS_MS"])))
        if "convergence" in config:
            config["convergence"].setdefault("within_s", self.exp.after_heal.within_s)
        self.checkers_used = config
        return config

    def finish(self, verdicts: list[Verdict], aborted: str | None = None) -> RunOutcome:
        run = self.ctx
        overall = compose(verdicts).valid if not aborted else "unknown"
        stats = self.parts.workload.stats if self.loaded else None
        fields = {"experiment": self.exp.name, "title": self.exp.title, "hypothesis": self.exp.hypothesis,
                  "overall": overall, "aborted": aborted, "halted": run.halted, "verdicts": verdicts,
                  "started_at": self.started_at, "duration_s": round(time.monotonic() - run.t0, 2),
                  "run_id": self.run_id, "seed": run.seed, "checkers": self.checkers_used, "notes": self.notes,
                  "ops": {f"{s}:{k}": n for (s, k), n in sorted(stats.counts.items())} if stats else {},
                  "stack": {"run_dir": str(self.stack.run_dir), "nodes": list(self.stack.config.nodes),
                            "profile": self.stack.config.profile, "services": run.urls,
                            **{k: number(run.settings, k, None) for k in
                               ("NETWORK_TIMEOUT_SEC", "BREAKER_RESET_TIMEOUT_SEC", "BREAKER_FAIL_MAX",
                                "MAX_STALENESS_MS")},
                            "per_service": run.settings}}
        extra = dict(self.parts.nemesis.record(verdicts))
        fields["notes"] = self.notes + list(extra.pop("notes", []))
        record = RunRecord(**{**fields, **extra})
        record.write(self.run_dir)
        run.live.phase = "over"
        code = EXIT_ABORTED if aborted else EXIT[record.overall]
        for v in record.verdicts:
            self.say(f"  {v.valid.upper():8} {v.checker}: {v.summary}")
        self.say(f"overall: {record.overall.upper()}  ({record.duration_s} s)  -> {self.run_dir}")
        if not aborted:
            self.report()
        return RunOutcome(self.run_dir, record.overall, list(record.verdicts), code, aborted, record)

    def report(self) -> None:
        """Build report.md and report.html."""
        try:
            md, html = build_report(self.run_dir)
            for name, text in (("report.md", md), ("report.html", html)):
                if isinstance(text, str):
                    (self.run_dir / name).write_text(text)
            self.say(f"  report: {self.run_dir / 'report.html'}")
        except Exception as err:  # the verdicts stand without the report
            self.say(f"  report failed: {type(err).__name__}: {err}")
