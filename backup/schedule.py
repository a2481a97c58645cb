"""Scheduled backups: one round snapshots every node, copies to the second region and prunes both;
a schedule repeats rounds at a fixed interval, bounded by a count or a duration.

A failed round is reported and the schedule goes on: one bad night must not stop the backups.
For cron instead of a long-running loop, see docs/backup.md.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from harness.history import FaultEvent

from .errors import BackupError
from .region import sync_region
from .retention import prune
from .snapshot import take_snapshot

@dataclass
class RoundReport:
    """One round: per node, the backup taken (or the error), region copy and pruning results."""

    backups: dict = field(default_factory=dict)  # node -> backup name
    errors: dict = field(default_factory=dict)  # node -> message
    copied: dict = field(default_factory=dict)  # node -> names copied to the second region
    pruned: dict = field(default_factory=dict)  # node -> names deleted

    @property
    def ok(self) -> bool:
        return not self.errors


def backup_round(nodes, root, *, dr_root=None, policy=None, progress=print) -> RoundReport:
    """Snapshot each node; then copy to ``dr_root`` and prune both folders with ``policy`` if given."""
    report = RoundReport()
    for node in nodes:
        name = node.node
        try:
            report.backups[name] = take_snapshot(node, root, progress=progress).backup.name
            pruned = prune(root, name, policy, progress=progress).deleted if policy else []
            if dr_root is not None:
                region = sync_region(root, dr_root, name, progress=progress)
                report.copied[name] = region.copied
                if region.bad:
                    report.errors[name] = "; ".join(f"{n}: {why}" for n, why in region.bad)
                if policy is not None:
                    pruned += prune(dr_root, name, policy, progress=progress).deleted
            report.pruned[name] = pruned
        except BackupError as exc:
            report.errors[name] = str(exc)
            progress(f"[backup {name}] FAILED: {exc}")
    return report


def run_schedule(job, every: float, *, count: int | None = None, for_seconds: float | None = None,
                 progress=print, sleep=time.sleep, clock=time.monotonic) -> list:
    """Run ``job()`` now and then every ``every`` seconds, ``count`` times or for ``for_seconds``."""
    if count is None and for_seconds is None:
        count = 1 << 62  # until stopped (Ctrl-C, SIGTERM)
    start, reports = clock(), []
    n = 0
    while count is None or n < count:
        due = start + n * every
        if for_seconds is not None and due - start >= for_seconds:
            break
        if clock() < due:
            sleep(due - clock())
        n += 1
        progress(f"[schedule] round {n} ...")
        reports.append(job())
    return reports


class BackupSchedule(threading.Thread):
    """backup_round over every node every ``every`` s; each round is a ``backup`` window in the history."""

    def __init__(self, nodes, root, every: float, rec, say):
        super().__init__(name="drill-backups", daemon=True)
        self.nodes, self.root, self.every, self.rec, self.say = nodes, root, every, rec, say
        self.halt, self.rounds = threading.Event(), []

    def run(self):
        while not self.halt.wait(1.0 if not self.rounds else self.every):
            t, wall = self.rec.now()
            report = backup_round(self.nodes, self.root, progress=lambda _m: None)
            t2, wall2 = self.rec.now()
            self.rec.write(FaultEvent("start", "backup", "g1,g2", t, wall))
            self.rec.write(FaultEvent("stop", "backup", "g1,g2", t2, wall2, {"backups": report.backups}))
            self.rounds.append({"at_s": round(t, 2), "backups": report.backups, "errors": report.errors})
            self.say(f"  backup round at {t:.1f}s: {', '.join(report.backups.values()) or report.errors}")

    def stop(self):
        self.halt.set()
        if self.is_alive():
            self.join(30)
