"""Restore a node from a backup: verify, stop, move the data aside, put the RDB in place, start, repair.

The current data is never deleted: it is renamed to ``<data_dir>.before-restore-<stamp>``.

Why the node first starts with ``--appendonly no``: with AOF on, Redis loads the AOF at start and
ignores dump.rdb, and with no AOF present it starts *empty* (checked on 7.0.15). So the node starts
once with AOF off, loads the RDB, and then ``CONFIG SET appendonly yes`` rewrites a fresh AOF from
the loaded data; the restore waits for that rewrite, so every later start loads the same data.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from stack.process import StackError, port_in_use

from .catalog import Backup
from .errors import BackupError, BackupInvalid, NodeRunning
from .files import publish, stage_copy
from .steps import Steps, quiet
from .verify import ensure_verified


@dataclass(frozen=True)
class RestoreReport:
    """A finished restore: which backup, where the old data went, keys loaded, repair, step durations."""

    node: str
    backup: str
    moved_aside: str | None
    keys: int
    repair: dict | None = None  # anti-entropy result, {"error": ...} when it failed, None when not run
    steps: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.repair or {}).get("error")


def _repair(steps: Steps, repair) -> dict:
    """Run the repair as the restore's last step; its error goes into the result, not up."""
    try:
        with steps.step("anti-entropy repair from the other nodes") as note:
            result = repair()
            note[0] = f"{result.get('keys')} keys compared, copied {result.get('copied')}"
            return result
    except Exception as exc:  # the node is restored; the report says the repair is still due
        return {"error": f"{type(exc).__name__}: {exc}. Run it again when every node is up: "
                         f"make repair (python -m app repair)"}


def restore_snapshot(node, backup: Backup, *, force: bool = False, repair=None, progress=print,
                     ready_timeout: float = 120.0, aof_timeout: float = 120.0) -> RestoreReport:
    """Put ``backup`` back on ``node`` (a stack RedisNode) and bring the node up on that data.

    ``repair`` is a callable run last (e.g. ``stack_repair(config)``: AP anti-entropy from the
    surviving node); its result, or its error, goes into the report. Raise NodeRunning when the
    node runs and ``force`` is false, BackupInvalid when the backup fails verification; in both
    cases nothing was touched.
    """
    steps = Steps(f"restore {node.node}", progress)
    running = node.running()
    if running and not force:
        raise NodeRunning(f"node {node.node} is running (pid {node.pid}); restoring replaces its data. "
                          f"Add --force (make restore ... FORCE=1) to stop it and restore.")
    if not running and port_in_use(node.port):
        raise BackupError(f"port {node.port} answers but not with a node this stack started (compose?); "
                          f"stop that server first, see docs/disaster-recovery.md")
    with steps.step(f"verify {backup.name}") as note:
        manifest = ensure_verified(backup, progress=quiet).backup.read_manifest()
        note[0] = f"valid, {manifest.keys} keys"
    if running:
        with steps.step(f"stop {node.node}"):
            node.stop()
    aside = None
    with steps.step("move the current data aside") as note:
        if node.data_dir.exists():
            aside = _aside(node.data_dir)
            node.data_dir.rename(aside)
            note[0] = str(aside)
        else:
            note[0] = "no data folder"
    undo = (f" The previous data is in {aside}: to go back, stop the node and rename it to "
            f"{node.data_dir}." if aside else "")
    try:
        with steps.step("put the backup in place") as note:
            node.data_dir.mkdir(parents=True)
            tmp, size, sha = stage_copy(backup.rdb, node.data_dir / "dump.rdb")
            if sha != manifest.sha256:
                tmp.unlink(missing_ok=True)
                raise BackupInvalid(f"{backup.rdb} changed while it was copied; nothing was started")
            publish(tmp, node.data_dir / "dump.rdb")
            note[0] = f"{size} bytes"
        with steps.step(f"start {node.node} on the RDB (AOF off) and wait until ready"):
            _start_without_aof(node, ready_timeout)
        with steps.step("turn AOF back on (rewrite from the loaded data)") as note:
            keys = _enable_aof(node, aof_timeout)
            if keys < manifest.keys:
                raise BackupError(f"{node.node} holds {keys} keys after the restore, the backup "
                                  f"{manifest.keys}: the RDB was not loaded.")
            note[0] = f"{keys} keys (backup: {manifest.keys})"
    except (BackupError, StackError, OSError) as exc:
        raise BackupError(f"restore of {node.node} failed: {exc}.{undo}") from None
    result = _repair(steps, repair) if repair is not None else None
    report = RestoreReport(node.node, backup.name, str(aside) if aside else None, keys, result,
                           steps.done, steps.seconds)
    progress(f"[restore {node.node}] {'done' if report.ok else 'restored, but repair failed'} "
             f"in {report.seconds:.2f}s")
    return report


def _aside(data_dir: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for n in range(1000):
        path = data_dir.with_name(f"{data_dir.name}.before-restore-{stamp}" + (f"-{n}" if n else ""))
        if not path.exists():
            return path
    raise BackupError(f"too many restores of {data_dir} in one second")


def _start_without_aof(node, ready_timeout: float) -> None:
    argv, timeout = node.argv, node.ready_timeout
    node.argv, node.ready_timeout = [*argv, "--appendonly", "no"], ready_timeout
    try:
        node.start()
    finally:
        node.argv, node.ready_timeout = argv, timeout  # later starts use the config: AOF on


def _enable_aof(node, timeout: float) -> int:
    with node.client(socket_timeout=10) as c:
        c.config_set("appendonly", "yes")
        deadline = time.monotonic() + timeout
        while True:
            info = c.info("persistence")
            if (info["aof_enabled"] and not info["aof_rewrite_in_progress"]
                    and not info["aof_rewrite_scheduled"]):
                if info["aof_last_bgrewrite_status"] != "ok":
                    raise BackupError("the AOF rewrite after loading failed; see the node's log")
                return c.dbsize()
            if time.monotonic() > deadline:
                raise BackupError(f"the AOF rewrite did not finish in {timeout:.0f}s")
            time.sleep(0.02)


def stack_repair(config):
    """Return a callable running AP anti-entropy over every node of ``config``, directly (no proxies)."""
    def run() -> dict:
        from app.config import load_settings
        from app.hints import repair
        from app.nodes import Node
        env = config.service_env("ap")
        env["REDIS_NODES"] = ",".join(f"{n}=127.0.0.1:{config.redis_port(n)}" for n in config.nodes)
        settings = load_settings(env=env, mode="ap")
        return repair([Node(a, settings) for a in settings.nodes])
    return run
