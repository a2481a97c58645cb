"""RPO and RTO of a DR drill, measured from its history: checkers, pure functions, no estimates.

The history holds every client operation (the ledger of acknowledged writes), the disaster as a
FaultEvent named ``disaster:<type>``, the runbook's steps as FaultEvents named ``restore:<step>``
(and ``detect``), and one round of NodeSnapshots (phase ``after-recovery``) taken once the service
was back. From those alone:

- **RPO.** An acknowledged write survived when some node holds its key at the acknowledged version
  or newer (a newer version is a later write that superseded it). The drill's clients switch to
  fresh keys at the disaster, so no write made after it can hide a lost one. The *loss window* is
  the time from the oldest lost write's acknowledgement to the disaster: everything acknowledged
  before it survived, so that is the recovery point. It is compared with the target. When even the
  oldest write of the ledger is lost, no recovery point is in sight and the RPO fails: the loss
  reaches back past the start of the ledger.
- **RTO.** From the disaster to the first moment T from which a window of ``window_s`` seconds
  holds at least ``min_ok`` ok operations (and at least ``min_ops`` of them), and so does its first
  second (so the tail of the outage does not count as serving), for each service; the
  slower service decides. Split into time to detect (first failed or unknown operation, or the
  readiness probe), time to restore (the span of the ``restore:`` steps) and time to serve (from the
  last restore step to T). A service never seen back fails when it was watched for longer than
  the target, else the answer is unknown.
"""
from __future__ import annotations

import bisect
import math

from harness.history import FaultEvent, NodeSnapshot, Op
from harness.pairs import pair_ops
from harness.verdicts import Verdict

from .common import fault_windows
from .lost_writes import combine, fate

RPO_TARGET_S = 300.0  # the deployment guide: RPO < 5 min
RTO_TARGET_S = 900.0  # RTO < 15 min
PHASE = "after-recovery"


def disaster_start(history) -> tuple[float, int, str] | None:
    """Return (time, wall_ms, name) of the first ``disaster:*`` start, or None."""
    starts = [e for e in history if isinstance(e, FaultEvent) and e.phase == "start" and e.name.startswith("disaster:")]
    if not starts:
        return None
    first = min(starts, key=lambda e: e.time)
    return first.time, first.wall_ms, first.name.split(":", 1)[1]


def final_state(history, phase: str = PHASE) -> dict:
    """node -> records of the last snapshot of each node in ``phase``."""
    out = {}
    for s in sorted((e for e in history if isinstance(e, NodeSnapshot) and e.phase == phase), key=lambda e: e.time):
        out[s.node] = s.records
    return out


def check_rpo(history, target_s: float = RPO_TARGET_S, mechanism: str = "", backup_age_s: float | None = None,
              phase: str = PHASE) -> Verdict:
    """Compare every acknowledged write with the data after recovery; valid when the loss window <= target."""
    d = disaster_start(history)
    final = final_state(history, phase)
    base = {"target_s": target_s, "mechanism": mechanism, "backup_age_s": backup_age_s}
    if d is None:
        return Verdict("rpo", "unknown", "no disaster in the history", figures=base)
    if not final:
        return Verdict("rpo", "unknown", "no snapshot after recovery: the data after recovery is unknown", figures=base)
    t_d = d[0]
    acked = [c for c in pair_ops(history) if c.f == "write" and c.type == "ok"]
    counts = {"acknowledged": len(acked), "present": 0, "superseded": 0, "lost": 0, "unversioned": 0}
    lost, lost_after, survived = [], [], []
    for c in acked:
        if not c.version:
            counts["unversioned"] += 1
            continue
        f = combine([fate(recs.get(c.key), c.version, c.value) for recs in final.values()], "any")
        counts[f] += 1
        if f != "lost":
            survived.append(c)
        elif c.start < t_d:
            lost.append(c)
        else:
            lost_after.append(c)
    figures = dict(base, **counts, lost_after_disaster=len(lost_after), loss_window_s=0.0,
                   newest_lost_age_s=0.0, oldest_lost_age_s=0.0, recovery_point_s=None, nodes=sorted(final))
    evidence = [dict(c.describe(), age_at_disaster_s=round(t_d - c.end, 3)) for c in sorted(lost + lost_after, key=lambda c: -c.end)]
    if lost_after:
        return Verdict("rpo", "invalid", f"{len(lost_after)} writes acknowledged after the disaster were lost "
                       f"(and {len(lost)} from before it)", evidence=evidence, figures=figures)
    if not acked:
        return Verdict("rpo", "unknown", "no acknowledged write: nothing could be lost", figures=figures)
    if not lost:
        if counts["unversioned"]:
            return Verdict("rpo", "unknown", f"{counts['unversioned']} acknowledged writes carry no version",
                           figures=figures)
        return Verdict("rpo", "valid", f"0 of {len(acked)} acknowledged writes lost: loss window 0 s "
                       f"<= target {target_s:g} s{_by(mechanism)}", figures=figures)
    oldest = min(c.end for c in lost)
    window = max(0.0, t_d - oldest)
    bounded = any(c.end < oldest for c in survived)
    figures.update(loss_window_s=round(window, 3), newest_lost_age_s=round(max(0.0, t_d - max(c.end for c in lost)), 3),
                   oldest_lost_age_s=round(window, 3), recovery_point_s=round(oldest, 3) if bounded else None,
                   bounded=bounded)
    what = f"{len(lost)} of {len(acked)} acknowledged writes lost"
    if not bounded:
        return Verdict("rpo", "invalid", f"{what}, back to the first write of the ledger: no recovery point, the "
                       f"loss is at least {window:.1f} s and unbounded (target {target_s:g} s){_by(mechanism)}",
                       evidence=evidence, figures=figures)
    ok = window <= target_s
    return Verdict("rpo", "valid" if ok else "invalid",
                   f"{what}: loss window {window:.1f} s {'<=' if ok else '>'} target {target_s:g} s{_by(mechanism)}",
                   evidence=evidence, figures=figures)


def _by(mechanism: str) -> str:
    return f"; bounded by {mechanism}" if mechanism else ""


def recovered_at(ops, t_from: float, t_end: float, window_s: float, min_ok: float, min_ops: int) -> float | None:
    """The first T >= t_from whose window [T, T+window_s), and its first second, hold >= min_ok ok ops; or None.

    T is t_from or the completion of an ok operation; the window needs >= min_ops operations and must
    end before t_end (the end of what was observed).
    """
    ops = sorted(ops, key=lambda o: o.time)
    times = [o.time for o in ops]
    oks = [0]
    for o in ops:
        oks.append(oks[-1] + (o.type == "ok"))
    head = min(1.0, window_s)
    for t in [t_from] + [o.time for o in ops if o.time > t_from and o.type == "ok"]:
        if t + window_s > t_end:
            return None
        i, j, h = (bisect.bisect_left(times, x) for x in (t, t + window_s, t + head))
        n = j - i
        # the whole window, and already its first second: the tail of an outage is not "serving"
        if n >= min_ops and (oks[j] - oks[i]) >= min_ok * n and h > i and (oks[h] - oks[i]) >= min_ok * (h - i):
            return t
    return None


def check_rto(history, target_s: float = RTO_TARGET_S, window_s: float = 5.0, min_ok: float = 0.99,
              min_ops: int = 10) -> Verdict:
    """Measure time to detect, restore and serve after the disaster; valid when the RTO <= target."""
    d = disaster_start(history)
    base = {"target_s": target_s, "window_s": window_s, "min_ok": min_ok}
    if d is None:
        return Verdict("rto", "unknown", "no disaster in the history", figures=base)
    t_d = d[0]
    done = [e for e in history if isinstance(e, Op) and e.type != "invoke"]
    t_end = max((e.time for e in history), default=t_d)
    failed = [e.time for e in done if e.type != "ok" and e.time >= t_d]
    probes = [w.end for w in fault_windows(history) if w.name == "detect" and not math.isinf(w.end)]
    detect = min(failed + probes, default=None)
    steps = [w for w in fault_windows(history) if w.name.startswith("restore:")]
    r_start = min((w.start for w in steps), default=None)
    r_end = max((w.end for w in steps), default=None)
    per = {}
    for s in sorted({e.service for e in done}):
        at = recovered_at([e for e in done if e.service == s], t_d, t_end, window_s, min_ok, min_ops)
        per[s] = None if at is None else round(at - t_d, 3)
    never = [s for s, v in per.items() if v is None]
    rto = None if never or not per else max(per.values())
    figures = dict(base, rto_s=rto, per_service=per,
                   detect_s=None if detect is None else round(detect - t_d, 3),
                   restore_s=None if r_start is None or math.isinf(r_end) else round(r_end - r_start, 3),
                   serve_s=None if rto is None or r_end is None or math.isinf(r_end) else round(max(0.0, t_d + rto - r_end), 3),
                   observed_s=round(t_end - t_d, 3))
    parts = (f"detect {_s(figures['detect_s'])}, restore {_s(figures['restore_s'])}, "
             f"serve {_s(figures['serve_s'])}")
    if not per:
        return Verdict("rto", "unknown", f"no operation in the history: nothing shows when service came back; {parts}",
                       figures=figures)
    if never:
        watched = t_end - t_d
        valid = "invalid" if watched >= target_s else "unknown"
        return Verdict("rto", valid, f"{', '.join(never)} never served >= {min_ok:.0%} for {window_s:g} s in the "
                       f"{watched:.1f} s watched (target {target_s:g} s); {parts}", figures=figures)
    ok = rto <= target_s
    return Verdict("rto", "valid" if ok else "invalid", f"RTO {rto:.1f} s {'<=' if ok else '>'} target "
                   f"{target_s:g} s ({parts})", figures=figures)


def write_success(history, rto_per_service: dict) -> dict:
    """Per service: the share of ok writes before the disaster, during the outage (to its RTO) and after."""
    d = disaster_start(history)
    rto = rto_per_service or {}
    out = {}
    for c in pair_ops(history):
        if c.f != "write":
            continue
        t_d = d[0] if d else math.inf
        back = t_d + (rto.get(c.service) if rto.get(c.service) is not None else math.inf)
        phase = "before" if c.start < t_d else ("outage" if c.start < back else "after")
        row = out.setdefault(c.service, {p: [0, 0] for p in ("before", "outage", "after")})[phase]
        row[0] += c.type == "ok"
        row[1] += 1
    return {s: {p: (round(ok / n, 4) if n else None) for p, (ok, n) in rows.items()} for s, rows in out.items()}


def _s(v) -> str:
    return "?" if v is None else f"{v:.1f} s"
