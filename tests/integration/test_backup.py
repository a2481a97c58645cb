"""Backups against real redis-server processes: snapshot, verify, restore, retention, second region.

The module runs its own two nodes (g1, g2) in a temporary run folder on free ports, so the shared
session stack is never stopped. Every test starts with both nodes running and empty.
"""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from backup import (BackupInvalid, DiskFull, NodeRunning, Policy, check_backup, copy_backup,
                    list_backups, prune, quiet, restore_snapshot, stack_repair, sync_region,
                    take_snapshot)
from backup.__main__ import main as backup_cli
from backup.scratch import free_port, inspect_rdb
from stack.config import StackConfig
from stack.nodes import RedisNode
from stack.process import StackError, port_in_use

ROOT = Path(__file__).resolve().parents[2]


def _base_port() -> int:
    for _ in range(50):
        base = free_port() - 1
        if not port_in_use(base + 1) and not port_in_use(base + 2):
            return base
    raise RuntimeError("no two free ports in a row")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    run = tmp_path_factory.mktemp("backup-run")
    for attempt in range(5):  # other test runs pick free ports too: retry on a clash
        cfg = StackConfig(run_dir=run, redis_base_port=_base_port())
        password = cfg.secrets()["REDIS_PASSWORD"]
        nodes = {n: RedisNode(n, cfg.redis_port(n), run, password) for n in cfg.nodes}
        try:
            for node in nodes.values():
                node.start()
            break
        except StackError:
            for node in nodes.values():
                node.stop()
            if attempt == 4:
                raise
    try:
        yield cfg, nodes
    finally:
        for node in nodes.values():
            node.stop()


@pytest.fixture
def nodes(cluster):
    cfg, nodes = cluster
    for node in nodes.values():
        node.start()  # a test may have left it stopped
        with node.client() as c:
            c.flushall()
    return nodes


@pytest.fixture
def root(tmp_path):
    return tmp_path / "backups"


def put(node, key: str, ms: int, value: str = "v"):
    with node.client() as c:
        c.hset(f"caplab:r:{key}", mapping={"v": value, "ms": ms, "c": 0, "w": 1, "at": ms, "wn": "test"})


def versions(node) -> dict:
    with node.client() as c:
        return {k.decode(): c.hget(k, "ms").decode() for k in c.scan_iter("caplab:r:*")}


def snap(node, root, **kw):
    return take_snapshot(node, root, progress=quiet, **kw)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(cluster, root, capsys):
    """Run the CLI (in process; one test also runs it as a subprocess) on this module's nodes and folders."""
    cfg, _ = cluster

    def run(*args) -> Result:
        capsys.readouterr()
        code = backup_cli([*args, "--run-dir", str(cfg.run_dir), "--base-port", str(cfg.redis_base_port),
                           "--root", str(root), "--dr-root", f"{root}-dr"])
        out = capsys.readouterr()
        return Result(code, out.out, out.err)
    return run


def test_snapshot_writes_the_rdb_and_its_manifest(nodes, root):
    for i in range(30):
        put(nodes["g1"], f"k{i}", 1000 + i)
    report = snap(nodes["g1"], root)
    b, m = report.backup, report.manifest
    assert b.rdb.exists() and b.manifest_path.exists()
    assert json.loads(b.manifest_path.read_text()) == m.to_json()
    assert (m.node, m.keys, m.size, m.redis_version) == ("g1", 30, b.rdb.stat().st_size, "7.0.15")
    assert len(m.sha256) == 64 and m.created_at.endswith("Z") and m.rdb_version
    assert len(m.sample) == 20 and all(v.startswith("10") for v in m.sample.values())
    assert [s.name for s in report.steps][0] == "BGSAVE" and report.seconds > 0
    assert not [p for p in b.folder.iterdir() if p.name.startswith(".")]  # no temp files left
    second = snap(nodes["g1"], root)  # same second: a new name, nothing overwritten
    assert second.backup.name != b.name and len(list_backups(root, "g1")) == 2


def test_verify_accepts_a_good_backup(nodes, root):
    put(nodes["g1"], "a", 1)
    report = check_backup(snap(nodes["g1"], root).backup, progress=quiet)
    assert report.ok, report.reason
    assert [c.name for c in report.checks] == ["checksum", "load", "key count", "sampled records"]


def test_verify_rejects_corrupted_and_truncated_files(nodes, root):
    for i in range(50):
        put(nodes["g1"], f"k{i}", 1000 + i, "x" * 50)
    b = snap(nodes["g1"], root).backup
    data = b.rdb.read_bytes()
    os.chmod(b.rdb, 0o600)
    b.rdb.write_bytes(data[:100] + bytes(x ^ 0xFF for x in data[100:110]) + data[110:])
    report = check_backup(b, progress=quiet)
    assert not report.ok and "sha256" in report.reason
    b.rdb.write_bytes(data[: len(data) // 2])
    report = check_backup(b, progress=quiet)
    assert not report.ok and "truncated" in report.reason


def test_redis_itself_refuses_a_corrupted_file(nodes, root, tmp_path):
    # Past the checksum: a file whose manifest was rewritten to match still fails to load.
    for i in range(20):
        put(nodes["g1"], f"k{i}", 1000 + i)
    data = snap(nodes["g1"], root).backup.rdb.read_bytes()
    bad = tmp_path / "bad.rdb"
    bad.write_bytes(data[:-20] + bytes(x ^ 0xFF for x in data[-20:-10]) + data[-10:])
    with pytest.raises(BackupInvalid, match="refused to load"):
        inspect_rdb(bad)
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(BackupInvalid, match="refused to load"):
        inspect_rdb(bad)


def test_restore_brings_back_the_backup_and_keeps_the_old_data(nodes, root):
    g1 = nodes["g1"]
    for i in range(10):
        put(g1, f"k{i}", 100)
    b = snap(g1, root).backup
    for i in range(5, 15):
        put(g1, f"k{i}", 200)
    report = restore_snapshot(g1, b, force=True, progress=quiet)
    assert versions(g1) == {f"caplab:r:k{i}": "100" for i in range(10)}
    assert report.keys == 10 and Path(report.moved_aside).is_dir()
    assert (Path(report.moved_aside) / "appendonlydir").is_dir()  # the old data, untouched
    assert [s.name for s in report.steps][-1].startswith("turn AOF back on")
    g1.stop()  # AOF is back on and holds the restored data: a restart loads the same
    g1.start()
    assert versions(g1) == {f"caplab:r:k{i}": "100" for i in range(10)}
    with g1.client() as c:
        assert c.config_get("appendonly") == {"appendonly": "yes"}


def test_restore_refuses_a_running_node_without_force(nodes, root):
    put(nodes["g1"], "a", 1)
    b = snap(nodes["g1"], root).backup
    put(nodes["g1"], "b", 2)
    with pytest.raises(NodeRunning, match="--force"):
        restore_snapshot(nodes["g1"], b, progress=quiet)
    assert len(versions(nodes["g1"])) == 2  # untouched


def test_a_corrupted_backup_is_never_restored(nodes, root):
    g1 = nodes["g1"]
    put(g1, "a", 1)
    b = snap(g1, root).backup
    b.rdb.write_bytes(b.rdb.read_bytes()[:-5])
    put(g1, "b", 2)
    with pytest.raises(BackupInvalid, match="will not be restored"):
        restore_snapshot(g1, b, force=True, progress=quiet)
    assert g1.running() and len(versions(g1)) == 2


def test_restore_then_ap_repair_copies_newer_records_from_the_survivor(cluster, nodes, root):
    cfg, _ = cluster
    g1, g2 = nodes["g1"], nodes["g2"]
    for n in (g1, g2):
        put(n, "old", 100)
    b = snap(g1, root).backup
    for n in (g1, g2):
        put(n, "old", 200)
        put(n, "new", 300)
    g1.kill()  # the disaster
    report = restore_snapshot(g1, b, repair=stack_repair(cfg), progress=quiet)
    assert report.ok, report.repair
    assert report.repair["copied"]["g1"] == 2
    assert versions(g1) == versions(g2) == {"caplab:r:old": "200", "caplab:r:new": "300"}


def test_cli_restore_latest(nodes, cli):
    put(nodes["g1"], "a", 1)
    assert cli("snapshot", "--node", "g1").returncode == 0
    for n in ("g1", "g2"):
        put(nodes[n], "b", 2)  # newer than the backup: repair brings it back from g2
    out = cli("restore", "--node", "g1", "--backup", "latest", "--force")
    assert out.returncode == 0, out.stderr
    assert "repair" in out.stdout and "done in" in out.stdout
    assert versions(nodes["g1"]) == versions(nodes["g2"]) == {"caplab:r:a": "1", "caplab:r:b": "2"}


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "g1-20250112T020000Z/../../x",
                                  "g2-20250112T020000Z"])
def test_cli_refuses_path_traversal(nodes, cli, name):
    for cmd in (["restore", "--force"], ["verify"]):
        out = cli(*cmd, "--node", "g1", "--backup", name)
        assert out.returncode == 2 and "refused" in out.stderr


def test_cli_errors_are_one_line_without_traceback(cluster, root):
    cfg, _ = cluster
    out = subprocess.run([sys.executable, "-m", "backup", "restore", "--node", "g1", "--backup",
                          "../../etc/passwd", "--run-dir", str(cfg.run_dir), "--root", str(root)],
                         capture_output=True, text=True, timeout=60, cwd=str(ROOT))
    assert out.returncode == 2 and out.stderr.startswith("backup: refused: refusing backup name")
    assert "Traceback" not in out.stderr and len(out.stderr.splitlines()) == 1


def test_cli_errors_are_clear(nodes, root, cli, capsys):
    out = cli("restore", "--node", "g1", "--backup", "latest")
    assert out.returncode == 2 and "no backup of g1" in out.stderr
    put(nodes["g1"], "a", 1)
    snap(nodes["g1"], root)
    out = cli("restore", "--node", "g1", "--no-repair")
    assert out.returncode == 2 and "--force" in out.stderr and "Traceback" not in out.stderr
    out = cli("verify", "--node", "g7")
    assert out.returncode == 2 and "unknown node" in out.stderr
    assert backup_cli(["snapshot", "--run-dir", str(root / "nowhere")]) == 2
    assert "no local stack" in capsys.readouterr().err and not (root / "nowhere").exists()


def test_retention_prunes_a_real_folder(nodes, root):
    put(nodes["g1"], "a", 1)
    made = [snap(nodes["g1"], root).backup.name for _ in range(4)]
    report = prune(root, "g1", Policy(keep_last=2, keep_daily_days=0))
    assert report.kept == made[::-1][:2] and sorted(report.deleted) == sorted(made[:2])
    assert [b.name for b in list_backups(root, "g1")] == made[::-1][:2]
    assert sorted(p.name for p in (root / "g1").iterdir()) == sorted(
        f"{n}.{ext}" for n in made[2:] for ext in ("rdb", "json"))


def test_second_region_copies_are_checked(nodes, root, tmp_path):
    put(nodes["g1"], "a", 1)
    dr = tmp_path / "dr"
    first = snap(nodes["g1"], root).backup
    snap(nodes["g1"], root)
    report = sync_region(root, dr, "g1")
    assert len(report.copied) == 2 and report.ok
    copy = list_backups(dr, "g1")[-1]
    assert copy.rdb.read_bytes() == first.rdb.read_bytes() and check_backup(copy, progress=quiet).ok
    again = sync_region(root, dr, "g1")
    assert again.copied == [] and len(again.present) == 2
    data = copy.rdb.read_bytes()
    copy.rdb.write_bytes(data[:50] + bytes([data[50] ^ 0xFF]) + data[51:])  # bit rot: always a changed byte
    bad = sync_region(root, dr, "g1")
    assert not bad.ok and bad.bad[0][0] == first.name and "corrupted" in bad.bad[0][1]


def test_a_corrupted_source_is_not_copied(nodes, root, tmp_path):
    put(nodes["g1"], "a", 1)
    b = snap(nodes["g1"], root).backup
    data = b.rdb.read_bytes()
    b.rdb.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))  # flip the last byte: never a no-op
    with pytest.raises(BackupInvalid, match="not copied"):
        copy_backup(b, tmp_path / "dr")
    assert list_backups(tmp_path / "dr", "g1") == []


def _enospc(fd, data):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_fails_clearly_and_keeps_earlier_backups(nodes, root):
    put(nodes["g1"], "a", 1)
    first = snap(nodes["g1"], root).backup
    before = sorted(p.name for p in (root / "g1").iterdir())
    with pytest.raises(DiskFull, match="disk full.*earlier backups are intact"):
        snap(nodes["g1"], root, write=_enospc)
    assert sorted(p.name for p in (root / "g1").iterdir()) == before
    assert check_backup(first, progress=quiet).ok


@pytest.fixture
def tiny_disk(tmp_path):
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def test_a_really_full_disk(nodes, tiny_disk):
    put(nodes["g1"], "a", 1)
    first = snap(nodes["g1"], tiny_disk).backup
    for i in range(400):
        put(nodes["g1"], f"big{i}", i, os.urandom(250).hex())  # ~200 kB: more than the 64 kB disk
    with pytest.raises(DiskFull):
        snap(nodes["g1"], tiny_disk)
    assert [b.name for b in list_backups(tiny_disk, "g1")] == [first.name]
    assert not [p for p in (tiny_disk / "g1").iterdir() if p.name.startswith(".")]
    assert check_backup(first, progress=quiet).ok


def test_schedule_runs_rounds_with_copy_and_retention(nodes, root, cli):
    put(nodes["g1"], "a", 1)
    out = cli("schedule", "--every", "0.2s", "--count", "3", "--keep-last", "2", "--keep-days", "0")
    assert out.returncode == 0, out.stderr
    assert "3 rounds, 0 failed" in out.stdout
    for folder in (root, Path(str(root) + "-dr")):
        for node in ("g1", "g2"):
            assert len(list_backups(folder, node)) == 2
    out = cli("verify", "--backup", "all", "--region")
    assert out.returncode == 0, out.stdout + out.stderr


def test_adopt_makes_a_backup_of_a_hand_copied_rdb(nodes, root, cli, tmp_path):
    # The compose path: BGSAVE in the container, `docker compose cp` the dump.rdb out, adopt it.
    for i in range(5):
        put(nodes["g2"], f"k{i}", 7)
    with nodes["g2"].client() as c:
        c.save()
    copied = tmp_path / "dump.rdb"
    copied.write_bytes((nodes["g2"].data_dir / "dump.rdb").read_bytes())
    out = cli("adopt", "--node", "g2", str(copied))
    assert out.returncode == 0, out.stderr
    b = list_backups(root, "g2")[0]
    assert b.read_manifest().keys == 5 and check_backup(b, progress=quiet).ok
