"""Retention: which backups to keep (the newest N, and the newest of each of the last D days).

The policy, in the words of an operator:
- keep the ``keep_last`` newest backups;
- keep the newest backup of each of the last ``keep_daily_days`` days (UTC), today included;
- always keep the newest backup of all, so pruning never leaves a node without one;
- never delete a backup dated in the future (a clock that was ahead): no clock is trusted to
  delete, and such backups do not count towards either rule.
``keep`` decides on plain values and touches nothing; ``prune`` applies it to a folder.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from .catalog import list_backups
from .steps import quiet


@dataclass(frozen=True)
class Policy:
    keep_last: int = 7
    keep_daily_days: int = 7

    def __post_init__(self):
        for name in ("keep_last", "keep_daily_days"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, not {value!r}")


def _order(b):
    return (b.created, getattr(b, "seq", 0), getattr(b, "name", ""))


def keep(backups, keep_last: int, keep_daily_days: int, now: datetime) -> tuple[list, list]:
    """Split ``backups`` (anything with a UTC ``.created``) into (keep, delete), both newest first."""
    policy = Policy(keep_last, keep_daily_days)
    ordered = sorted(backups, key=_order, reverse=True)
    future = [b for b in ordered if b.created > now]
    past = [b for b in ordered if b.created <= now]
    kept = set(map(id, future))
    kept.update(id(b) for b in past[:max(policy.keep_last, 1)])  # the newest is always kept
    today = now.astimezone(timezone.utc).date()
    days = {today - timedelta(days=i) for i in range(policy.keep_daily_days)}
    seen_days = set()
    for b in past:  # newest first: the first one met on a day is that day's newest
        day = b.created.astimezone(timezone.utc).date()
        if day in days and day not in seen_days:
            seen_days.add(day)
            kept.add(id(b))
    return [b for b in ordered if id(b) in kept], [b for b in ordered if id(b) not in kept]


@dataclass(frozen=True)
class PruneReport:
    node: str
    kept: list = field(default_factory=list)  # backup names, newest first
    deleted: list = field(default_factory=list)
    dry_run: bool = False


def prune(root, node: str, policy: Policy, *, now: datetime | None = None, dry_run: bool = False,
          progress=quiet) -> PruneReport:
    """Delete the backups of ``node`` under ``root`` that ``policy`` does not keep (RDB, then manifest)."""
    now = now or datetime.now(timezone.utc)
    kept, doomed = keep(list_backups(root, node), policy.keep_last, policy.keep_daily_days, now)
    for b in doomed:
        progress(f"[prune {node}] {'would delete' if dry_run else 'delete'} {b.name}")
        if not dry_run:
            b.rdb.unlink(missing_ok=True)
            b.manifest_path.unlink(missing_ok=True)
    return PruneReport(node, [b.name for b in kept], [b.name for b in doomed], dry_run)
