"""A second region: copies of the backups in another folder, each checked by checksum.

The folder stands for storage in another region (``backups-dr/`` by default; in production a
mount of remote storage). A copy is checked against its manifest's sha256 after it is written,
and ``sync_region`` re-checks every copy already there, so silent corruption is noticed.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from .catalog import Backup, list_backups, node_folder, resolve
from .errors import BackupError, BackupInvalid, BackupNotFound
from .files import publish, stage_copy, stage_text
from .steps import quiet
from .verify import check_checksum


@dataclass(frozen=True)
class RegionReport:
    """What one sync did for a node: names copied, names already there and sound, bad copies."""

    node: str
    copied: list = field(default_factory=list)
    present: list = field(default_factory=list)
    bad: list = field(default_factory=list)  # [(name, reason)]

    @property
    def ok(self) -> bool:
        return not self.bad


def copy_backup(backup: Backup, dest_root, write=os.write) -> Backup:
    """Copy one backup (RDB and manifest) to ``dest_root/<node>/``; check the copy by checksum."""
    manifest = backup.read_manifest()
    folder = node_folder(dest_root, backup.node)
    folder.mkdir(parents=True, exist_ok=True)
    dest_rdb = folder / backup.rdb.name
    tmp, _size, sha = stage_copy(backup.rdb, dest_rdb, write=write)
    try:
        if sha != manifest.sha256:
            raise BackupInvalid(f"backup {backup.name} in {backup.folder} does not match its manifest "
                                f"(sha256 {sha[:16]}...); it was not copied. Verify it.")
        publish(tmp, dest_rdb)
    finally:
        tmp.unlink(missing_ok=True)
    dest_manifest = folder / backup.manifest_path.name
    try:
        publish(stage_text(json.dumps(manifest.to_json(), indent=2) + "\n", dest_manifest, write=write),
                dest_manifest)
    except BaseException:
        dest_rdb.unlink(missing_ok=True)
        raise
    copy = resolve(dest_root, backup.node, backup.name)
    check = check_checksum(copy.rdb, copy.read_manifest())
    if not check.ok:
        raise BackupInvalid(f"the copy of {backup.name} in {folder} is wrong after writing: {check.detail}")
    return copy


def sync_region(src_root, dest_root, node: str, progress=quiet, write=os.write) -> RegionReport:
    """Copy every backup of ``node`` missing from ``dest_root``, and checksum the copies already there."""
    report = RegionReport(node)
    for backup in list_backups(src_root, node):
        try:
            copy = resolve(dest_root, node, backup.name)
        except BackupNotFound:
            try:
                copy_backup(backup, dest_root, write=write)
            except BackupInvalid as exc:
                report.bad.append((backup.name, str(exc)))
                progress(f"[copy {node}] {backup.name}: {exc}")
                continue
            report.copied.append(backup.name)
            progress(f"[copy {node}] {backup.name} copied to {node_folder(dest_root, node)} and checked")
            continue
        try:
            check = check_checksum(copy.rdb, backup.read_manifest())
        except BackupError as exc:
            report.bad.append((backup.name, str(exc)))
            continue
        if check.ok:
            report.present.append(backup.name)
        else:
            report.bad.append((backup.name, f"the copy in {copy.folder} is corrupted: {check.detail}; "
                                            f"delete it and run the copy again"))
            progress(f"[copy {node}] {backup.name}: BAD COPY: {check.detail}")
    return report
