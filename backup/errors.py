"""The backup tool's one small exception tree: every message says what went wrong and what to do."""
from __future__ import annotations


class BackupError(Exception):
    """A backup, verify, copy or restore cannot do what was asked; nothing was damaged."""


class UnsafeName(BackupError):
    """A backup name that is not a bare backup file name inside the backup folder."""


class BackupNotFound(BackupError):
    """No backup by that name (or no backup at all) for the node."""


class BackupInvalid(BackupError):
    """A backup failed verification (checksum, load or contents): it must never be restored."""


class DiskFull(BackupError):
    """The destination ran out of space; the partial file was removed, earlier backups are intact."""


class NodeRunning(BackupError):
    """Restoring over a running node needs --force."""
