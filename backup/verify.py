"""Verify a backup: its checksum, then a real load into a scratch redis-server, its key count and records.

``check_backup`` answers with a verdict (valid or invalid) and the evidence; ``ensure_verified``
raises BackupInvalid instead. A backup that fails any check must never be restored.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .catalog import Backup
from .errors import BackupInvalid
from .files import sha256_file
from .scratch import inspect_rdb
from .steps import Steps


@dataclass(frozen=True)
class Check:
    """One verification check: what was compared, whether it held, and the figures."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class VerifyReport:
    """The verdict on one backup ("valid" or "invalid"), its checks, and the steps with durations."""

    backup: Backup
    valid: str
    checks: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.valid == "valid"

    @property
    def reason(self) -> str:
        """Why the backup is invalid: the first failed check, or '' when it is valid."""
        return next((f"{c.name}: {c.detail}" for c in self.checks if not c.ok), "")


def check_checksum(path, manifest) -> Check:
    """Compare a file's size and sha256 with its manifest."""
    try:
        size, sha = sha256_file(path)
    except OSError as exc:
        return Check("checksum", False, f"cannot read {path}: {exc.strerror}")
    if size != manifest.size:
        return Check("checksum", False, f"{size} bytes, the manifest says {manifest.size} (truncated or altered)")
    if sha != manifest.sha256:
        return Check("checksum", False, f"sha256 {sha[:16]}... differs from the manifest's "
                                        f"{manifest.sha256[:16]}... (the file was altered or corrupted)")
    return Check("checksum", True, f"{size} bytes, sha256 {sha[:16]}...")


def check_backup(backup: Backup, *, progress=print, load_timeout: float = 120.0) -> VerifyReport:
    """Verify ``backup``: manifest, checksum, load into a scratch server, key count, sampled records."""
    steps = Steps(f"verify {backup.name}", progress)
    checks = []

    def verdict():
        valid = "valid" if checks and all(c.ok for c in checks) else "invalid"
        report = VerifyReport(backup, valid, checks, steps.done, steps.seconds)
        progress(f"[verify {backup.name}] {valid.upper()}" + (f": {report.reason}" if report.reason else ""))
        return report

    with steps.step("read the manifest and checksum the file") as note:
        try:
            manifest = backup.read_manifest()
        except BackupInvalid as exc:
            checks.append(Check("manifest", False, str(exc)))
            return verdict()
        checks.append(check_checksum(backup.rdb, manifest))
        note[0] = checks[-1].detail
    if not checks[-1].ok:
        return verdict()
    with steps.step("load into a scratch redis-server") as note:
        try:
            contents = inspect_rdb(backup.rdb, keys=sorted(manifest.sample), load_timeout=load_timeout)
        except BackupInvalid as exc:
            checks.append(Check("load", False, str(exc)))
            return verdict()
        checks.append(Check("load", True, f"redis-server {contents.redis_version} loaded it"))
        note[0] = f"{contents.keys} keys"
    checks.append(Check("key count", contents.keys == manifest.keys,
                        f"{contents.keys} keys loaded, the manifest says {manifest.keys}"))
    wrong = {k: (v, contents.sample.get(k)) for k, v in manifest.sample.items() if contents.sample.get(k) != v}
    checks.append(Check("sampled records", not wrong,
                        f"{len(manifest.sample)} records at their snapshot versions" if not wrong else
                        f"{len(wrong)} of {len(manifest.sample)} records differ, e.g. "
                        + ", ".join(f"{k}: {got or 'missing'} instead of {want}"
                                    for k, (want, got) in list(wrong.items())[:3])))
    return verdict()


def ensure_verified(backup: Backup, **kwargs) -> VerifyReport:
    """Verify ``backup``; raise BackupInvalid with the reason when it fails."""
    report = check_backup(backup, **kwargs)
    if not report.ok:
        raise BackupInvalid(f"backup {backup.name} failed verification ({report.reason}); "
                            f"it will not be restored. Pick another with `python -m backup list`.")
    return report
