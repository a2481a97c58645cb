"""Backups of the Redis nodes: snapshot, verify, retention, a second region, restore, schedule.

The public API, for the CLI (``python -m backup``) and the DR drill:

    take_snapshot(node, root) -> SnapshotReport        backup/snapshot.py  (adopt_rdb: a copied RDB)
    check_backup(backup) -> VerifyReport               backup/verify.py  (ensure_verified raises)
    restore_snapshot(node, backup, force=, repair=)    backup/restore.py -> RestoreReport
    list_backups(root, node), resolve(root, node, name or "latest")   backup/catalog.py
    keep(backups, keep_last, keep_daily_days, now), prune(root, node, Policy)   backup/retention.py
    copy_backup(backup, dest_root), sync_region(src, dest, node)      backup/region.py
    backup_round(nodes, root, ...), run_schedule(job, every, ...)     backup/schedule.py

Every operation takes ``progress`` (a callable taking one line; ``steps.quiet`` drops them) and
reports its steps as ``Step(name, seconds, ok, detail)``.
"""
from .catalog import LATEST, Backup, Manifest, latest, list_backups, resolve
from .errors import BackupError, BackupInvalid, BackupNotFound, DiskFull, NodeRunning, UnsafeName
from .region import RegionReport, copy_backup, sync_region
from .restore import RestoreReport, restore_snapshot, stack_repair
from .retention import Policy, PruneReport, keep, prune
from .schedule import RoundReport, backup_round, run_schedule
from .snapshot import SnapshotReport, adopt_rdb, take_snapshot
from .steps import Step, Steps, quiet
from .verify import Check, VerifyReport, check_backup, ensure_verified

__all__ = ["LATEST", "Backup", "Manifest", "latest", "list_backups", "resolve", "BackupError",
           "BackupInvalid", "BackupNotFound", "DiskFull", "NodeRunning", "UnsafeName", "RegionReport",
           "copy_backup", "sync_region", "RestoreReport", "restore_snapshot", "stack_repair", "Policy",
           "PruneReport", "keep", "prune", "RoundReport", "backup_round", "run_schedule",
           "SnapshotReport", "adopt_rdb", "take_snapshot", "Step", "Steps", "quiet", "Check", "VerifyReport",
           "check_backup", "ensure_verified"]
