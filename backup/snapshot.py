"""Take a snapshot of one node: BGSAVE, wait for it, copy the RDB durably, describe it in a manifest.

A backup only appears once it is complete: the RDB is copied to a hidden temp file (checksummed
while copying, fsynced), loaded into a scratch server to count its keys and sample its records,
then published under a name that is never reused, and its manifest is written last.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import redis

from .catalog import Backup, Manifest, backup_name, node_folder, parse_name
from .errors import BackupError
from .files import publish, stage_copy, stage_text
from .scratch import inspect_rdb
from .steps import Steps

SAMPLE = 20


@dataclass(frozen=True)
class SnapshotReport:
    """A snapshot that was taken: the backup, its manifest, and the steps with their durations."""

    backup: Backup
    manifest: Manifest
    steps: list = field(default_factory=list)
    seconds: float = 0.0


def take_snapshot(node, root, *, progress=print, save_timeout: float = 60.0, sample: int = SAMPLE,
                  write=os.write, clock=lambda: datetime.now(timezone.utc)) -> SnapshotReport:
    """Back up ``node`` (a stack RedisNode: ``.node``, ``.port``, ``.client()``) into ``root/<node>/``.

    Raise BackupError when the save fails or times out, DiskFull when the destination is full;
    either way no partial backup is left and earlier backups are untouched.
    """
    name = node.node
    steps = Steps(f"snapshot {name}", progress)
    folder = node_folder(root, name)
    folder.mkdir(parents=True, exist_ok=True)
    client = node.client(socket_timeout=10)
    try:
        with steps.step("BGSAVE"):
            created = clock()  # the data is at least this recent: the fork comes after it
            bgsave(client, name, save_timeout)
            src = Path(client.config_get("dir")["dir"]) / client.config_get("dbfilename")["dbfilename"]
            version = client.info("server")["redis_version"]
    except redis.RedisError as exc:
        raise BackupError(f"node {name} on 127.0.0.1:{node.port} did not answer ({exc}); is it "
                          f"running? `make status` shows, `make up` starts it") from None
    finally:
        client.close()
    return store_rdb(src, folder, name, created, steps, version=version, source=f"127.0.0.1:{node.port}",
                     sample=sample, write=write)


def adopt_rdb(rdb, root, node: str, *, created: datetime | None = None, progress=print,
              write=os.write) -> SnapshotReport:
    """Make a backup of an RDB file saved by other means (e.g. ``docker compose cp`` from a container).

    ``created`` defaults to the file's modification time: when redis-server finished writing it.
    """
    rdb = Path(rdb)
    if not rdb.is_file():
        raise BackupError(f"{rdb} is not a file; copy the node's dump.rdb out first (docs/disaster-recovery.md)")
    created = created or datetime.fromtimestamp(rdb.stat().st_mtime, timezone.utc)
    folder = node_folder(root, node)
    folder.mkdir(parents=True, exist_ok=True)
    return store_rdb(rdb, folder, node, created, Steps(f"adopt {node}", progress), source=str(rdb),
                     write=write)


def store_rdb(src: Path, folder: Path, node: str, created: datetime, steps: Steps, *, version: str = "",
              source: str = "", sample: int = SAMPLE, write=os.write) -> SnapshotReport:
    """Copy ``src`` into ``folder`` as a new backup with its manifest; nothing appears until complete."""
    tmp = None
    try:
        with steps.step(f"copy {src.name}") as note:
            tmp, size, sha = stage_copy(src, folder / "incoming.rdb", write=write)
            note[0] = f"{size} bytes, sha256 {sha[:12]}"
        with steps.step("count keys in a scratch server") as note:
            contents = inspect_rdb(tmp, sample=sample)
            note[0] = f"{contents.keys} keys, {len(contents.sample)} records sampled"
        with steps.step("publish") as note:
            backup = _publish(tmp, folder, node, created)
            manifest = Manifest(node=node, name=backup.name, created_at=created.isoformat().replace("+00:00", "Z"),
                                size=size, sha256=sha, keys=contents.keys,
                                redis_version=version or contents.redis_version,
                                rdb_version=_rdb_version(backup.rdb), source=source,
                                sample=contents.sample, seconds=steps.seconds)
            try:
                publish(stage_text(json.dumps(manifest.to_json(), indent=2) + "\n", backup.manifest_path,
                                   write=write), backup.manifest_path)
            except BaseException:
                backup.rdb.unlink(missing_ok=True)  # ours, and useless without its manifest
                raise
            note[0] = str(backup.rdb)
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    return SnapshotReport(backup, manifest, steps.done, steps.seconds)


def bgsave(client, name: str, timeout: float) -> dict:
    """Start a BGSAVE that begins after this call and wait until it has finished; return INFO persistence.

    Completion is read from ``rdb_saves`` and ``rdb_bgsave_in_progress`` rather than LASTSAVE, which
    only has one-second resolution (two snapshots in the same second would look alike).
    """
    deadline = time.monotonic() + timeout
    before = client.info("persistence")
    while True:
        try:
            client.execute_command("BGSAVE", "SCHEDULE")  # SCHEDULE: waits out an AOF rewrite
            break
        except redis.ResponseError as exc:
            if "already in progress" not in str(exc):
                raise BackupError(f"BGSAVE on {name} was refused: {exc}") from None
            # Someone else's save started before us: wait for it, then start ours.
            _wait(lambda: not client.info("persistence")["rdb_bgsave_in_progress"], deadline, name)
            before = client.info("persistence")

    def finished():
        # rdb_saves counts saves when they *start* (the fork); the save is over once none runs.
        info = client.info("persistence")
        if info["rdb_saves"] <= before["rdb_saves"] or info["rdb_bgsave_in_progress"]:
            return None
        if info["rdb_last_bgsave_status"] != "ok":
            raise BackupError(f"BGSAVE on {name} failed (rdb_last_bgsave_status: err); its log says "
                              f"why, often a full disk on the node. No backup was written.")
        return info
    return _wait(finished, deadline, name)


def _wait(check, deadline: float, name: str):
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.02)
    raise BackupError(f"BGSAVE on {name} did not finish in time (LASTSAVE did not move); check the "
                      f"node's log and free disk space, or raise --save-timeout. No backup was written.")


def _publish(tmp: Path, folder: Path, node: str, created: datetime) -> Backup:
    """Give the RDB the first free name for its second: g1-<stamp>, then g1-<stamp>-1, ..."""
    for seq in range(1000):
        name = backup_name(node, created, seq)
        try:
            publish(tmp, folder / f"{name}.rdb")
        except FileExistsError:
            continue
        _, when, seq = parse_name(name)
        return Backup(node, name, when, seq, folder)
    raise BackupError(f"more than 1000 backups of {node} in one second in {folder}")


def _rdb_version(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(9)
    return head[5:].decode(errors="replace") if head[:5] == b"REDIS" else ""
