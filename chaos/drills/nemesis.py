"""A DR drill's disaster and its runbook as a nemesis (chaos/run/protocols.Nemesis).

Under load, backups are taken every ``backup_every_s`` (when the disaster has backups). At
``warmup_s`` the schedule stops, the clients move to fresh keys (so no later write can hide a lost
one), and the disaster strikes: a ``disaster:<type>`` window in the history. A probe of /ready and
the clients' failures detect it (a ``detect`` window), the runbook recovers (``restore:<step>``
windows, chaos/drills/disasters.py), and the load goes on until every service served again
(RTO found) or ``serve_timeout_s`` passed: then the nemesis is done. ``heal`` snapshots every node
(phase ``after-recovery``) and starts what the runbook left down. ``verdicts`` are RPO and RTO
(chaos/checkers/objectives.py), each labelled with what the disaster expects, the write success
per phase, and whether the outcome is the declared one.
"""
from __future__ import annotations

import time

import requests

from backup.schedule import BackupSchedule
from chaos.checkers import objectives
from chaos.faults import FaultScope
from chaos.observers.samplers import take_snapshot
from harness.history import FaultEvent, NodeSnapshot, read_history
from harness.verdicts import Verdict

from .disasters import DrillContext

SERVE_POLL_S = 1.0


class DisasterNemesis:
    def __init__(self, disaster, opts):
        self.disaster, self.opts = disaster, opts
        self.phase = "warmup"  # warmup -> serving -> done
        self.run = self.ctx = self.schedule = self.scope = None
        self.facts: dict = {}
        self.remarks: list[str] = []
        self.measured: dict = {}
        self._polled = self._serve_deadline = 0.0

    @property
    def active(self) -> list[str]:
        return [f"disaster:{self.disaster.name}"] if self.phase == "serving" else []

    @property
    def done(self) -> bool:
        return self.phase == "done"

    def start(self, run) -> None:
        self.run = run
        self.scope = FaultScope()  # no fault of its own: SIGTERM unwinds the run as Ctrl-C does
        self.scope.__enter__()
        self.ctx = ctx = DrillContext(run.stack, run.run_dir / "backups", run.rec, run.say)
        self.schedule = BackupSchedule(list(run.stack.nodes.values()), ctx.backups_root, self.opts.backup_every_s,
                                       run.rec, run.say)
        self.facts = {"backup_rounds": self.schedule.rounds, "steps": ctx.steps, "restored": ctx.restored,
                      "rejected_backups": ctx.rejected, "moved_aside": ctx.moved, "restore_inner_steps": ctx.inner,
                      "aof_torn": ctx.torn, "region": ctx.region}
        if self.disaster.backups:
            self.schedule.start()
        else:
            self.remarks.append("no backups exist in this drill: the schedule never ran")

    def step(self, elapsed: float) -> None:
        if self.phase == "warmup" and elapsed >= self.opts.warmup_s:
            self.strike()
            self.phase = "serving"
        elif self.phase == "serving" and time.monotonic() - self._polled >= SERVE_POLL_S:
            self._polled = time.monotonic()
            if self.served() or self._polled >= self._serve_deadline:
                self.phase = "done"

    def strike(self) -> None:
        """The disaster, its detection and the runbook, one after another (the runbook blocks)."""
        d, ctx, rec, run = self.disaster, self.ctx, self.run.rec, self.run
        self.schedule.stop()  # a real schedule fails against dead nodes; the drill stops it cleanly instead
        d.prepare(ctx)
        run.workload.use_fresh_keys("after-")
        t, wall = rec.now()
        target = d.inject(ctx)
        rec.write(FaultEvent("start", f"disaster:{d.name}", target, t, wall, d.to_dict()))
        rec.write(FaultEvent("start", "detect", "probes", t, wall))
        ctx.say(f"  disaster {d.name} on {target} at {t:.1f}s")
        self.facts.update(disaster_at_s=round(t, 3), disaster_wall_ms=wall, target=target)
        seen = detect(run.urls, run.workload, self.opts.detect_timeout_s)
        t2, wall2 = rec.now()
        rec.write(FaultEvent("stop", "detect", "probes", t2, wall2, {"seen": seen}))
        self.remarks.append(f"detected {t2 - t:.2f} s after the disaster: {seen}")
        try:
            d.recover(ctx)
        except Exception as err:  # the runbook failed: measure what the service does anyway
            self.remarks.append(f"the runbook failed: {type(err).__name__}: {err}")
            ctx.say(f"  runbook FAILED: {err}")
        t3, wall3 = rec.now()
        rec.write(FaultEvent("stop", f"disaster:{d.name}", target, t3, wall3))
        self._polled = time.monotonic()
        self._serve_deadline = self._polled + self.opts.serve_timeout_s

    def served(self) -> bool:
        """Every service served >= min_ok for window_s since the disaster (the RTO is found)."""
        o = self.opts
        rto = objectives.check_rto(read_history(self.run.run_dir / "history.jsonl"), o.rto_target_s, o.window_s,
                                   o.min_ok)
        return rto.figures.get("rto_s") is not None

    def stop(self) -> None:
        if self.schedule is not None:
            self.schedule.stop()
        if self.scope is not None:
            scope, self.scope = self.scope, None
            scope.__exit__(None, None, None)

    def heal(self, run) -> list[Verdict]:
        """Snapshot every node (what survived), then start what the runbook left down and resume
        what it left frozen, for the steady state after and the next drill."""
        if "disaster_at_s" in self.facts:
            self.snapshot(run)
        if self.ctx is not None:  # the disaster's own undo, e.g. a region brought back
            try:
                self.remarks += self.disaster.heal(self.ctx)
            except Exception as err:
                self.remarks.append(f"heal: {self.disaster.name} could not be undone: {err}")
                run.say(f"  heal: {err}")
        for name, node in run.stack.nodes.items():
            node.resume()
            if not node.running():
                try:
                    node.start()
                    self.remarks.append(f"heal: started {name}, which the runbook left down")
                except Exception as err:
                    self.remarks.append(f"heal: could not start {name}: {err}")
                    run.say(f"  heal: could not start {name}: {err}")
        return []

    def snapshot(self, run) -> None:
        prefixes = [f"{run.run_id}:{s}:" for s in run.exp.services]
        for name, node in self.disaster.survivors(self.ctx).items():
            try:
                records = take_snapshot(node, prefixes)
            except Exception as err:
                self.remarks.append(f"{name} could not be snapshotted after recovery: {err}")
                continue
            t, wall = run.rec.now()
            run.rec.write(NodeSnapshot(name, t, wall, records, objectives.PHASE))

    def verdicts(self, history) -> list[Verdict]:
        if "disaster_at_s" not in self.facts:
            return []
        o, d = self.opts, self.disaster
        rpo = objectives.check_rpo(history, o.rpo_target_s, d.mechanism, backup_age(self.facts))
        rto = objectives.check_rto(history, o.rto_target_s, o.window_s, o.min_ok)
        out = []
        for v in (rpo, rto):
            got = self.measured[v.checker] = {"valid": "pass", "invalid": "fail"}.get(v.valid, "unknown")
            want = d.expect.get(v.checker, "pass")
            label = f"{got.upper()} ({'as expected' if got == want else f'EXPECTED {want.upper()}'})"
            out.append(Verdict(v.checker, v.valid, f"{label}: {v.summary}", v.evidence, v.figures))
        self.facts["write_success"] = ws = objectives.write_success(history, rto.figures.get("per_service"))
        out.append(Verdict("write_success", "valid", "; ".join(
            f"{s}: " + ", ".join(f"{'no writes' if r is None else f'{r:.0%}'} {p}" for p, r in rows.items())
            for s, rows in ws.items()), figures={f"{s}.{p}": r for s, rows in ws.items() for p, r in rows.items()}))
        out.append(Verdict("expectation", "valid" if self.as_expected else "invalid", ", ".join(
            f"{k} {m} (expected {d.expect.get(k, 'pass')})" for k, m in self.measured.items()) or "nothing measured",
            figures={"measured": self.measured, "expected": dict(d.expect)}))
        return out

    @property
    def as_expected(self) -> bool:
        m = self.measured
        return bool(m) and all(m[k] == self.disaster.expect.get(k, "pass") for k in m)

    def record(self, verdicts) -> dict:
        steady_ok = all(v.valid == "valid" for v in verdicts if v.checker.startswith("steady_state"))
        passed = drill_passed(self.measured, self.disaster.expect, steady_ok, self.opts.strict)
        return {"drill": "pass" if passed else "fail", "as_expected": self.as_expected, "facts": self.facts,
                "notes": self.remarks + [f"drill {'PASSED' if passed else 'FAILED'}: the measured outcome "
                                         f"{'matches' if self.as_expected else 'does not match'} what this "
                                         "disaster declares"]}


def detect(urls, workload, timeout: float) -> str:
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


def backup_age(facts) -> float | None:
    """Seconds between the newest backup the recovery used and the disaster (what the interval allows)."""
    used = [(r["at_s"], n) for r in facts.get("backup_rounds", []) for n in r["backups"].values()
            if n in facts.get("restored", {}).values()]
    if not used or "disaster_at_s" not in facts:
        return None
    return round(facts["disaster_at_s"] - max(at for at, _ in used), 3)


def drill_passed(measured: dict, expect: dict, steady_ok: bool, strict: bool = False) -> bool:
    """A drill passes when each objective came out as the disaster declares (strict: every one met)."""
    want = (lambda k: "pass") if strict else (lambda k: expect.get(k, "pass"))
    return bool(measured) and steady_ok and all(m == want(k) for k, m in measured.items())
