"""Backup names and path safety: only bare names of the node's backups, inside its folder."""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import pytest

from backup.catalog import (Manifest, backup_name, latest, list_backups, node_folder, parse_name,
                            resolve)
from backup.errors import BackupInvalid, BackupNotFound, UnsafeName

WHEN = datetime(2025, 1, 12, 2, 0, 0, tzinfo=timezone.utc)
SHA = "ab" * 32


def make(root, name, node="g1"):
    folder = root / node
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.rdb").write_bytes(b"REDIS0010")
    m = Manifest(node=node, name=name, created_at="2025-01-12T02:00:00Z", size=9, sha256=SHA, keys=0,
                 redis_version="7.0.15")
    (folder / f"{name}.json").write_text(json.dumps(m.to_json()))


def test_names_round_trip():
    assert backup_name("g1", WHEN) == "g1-20250112T020000Z"
    assert backup_name("g1", WHEN, 2) == "g1-20250112T020000Z-2"
    assert parse_name("g1-20250112T020000Z-2") == ("g1", WHEN, 2)


@pytest.mark.parametrize("bad", ["", "g1", "g1-20250112T020000", "G1-20250112T020000Z",
                                 "g1-20251312T020000Z", "g1-20250112T020000Z-0", "g1-20250112T020000Z.rdb.x"])
def test_bad_names_are_refused(bad):
    with pytest.raises(UnsafeName):
        parse_name(bad)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "/etc/passwd", "g1/../../x", "..", ".",
                                 "../g2/g2-20250112T020000Z", "g1-20250112T020000Z/..", ".hidden",
                                 "g1-20250112T020000Z\0"])
def test_path_traversal_is_refused(tmp_path, bad):
    make(tmp_path, "g1-20250112T020000Z")
    with pytest.raises(UnsafeName):
        resolve(tmp_path, "g1", bad)


def test_another_nodes_backup_is_refused(tmp_path):
    make(tmp_path, "g2-20250112T020000Z", node="g2")
    with pytest.raises(UnsafeName, match="belongs to node g2"):
        resolve(tmp_path, "g1", "g2-20250112T020000Z")


@pytest.mark.parametrize("node", ["..", "g1/..", "/tmp", "", "G1"])
def test_bad_node_names_are_refused(tmp_path, node):
    with pytest.raises(UnsafeName):
        node_folder(tmp_path, node)


def test_a_symlink_leading_out_is_refused_and_never_listed(tmp_path):
    outside = tmp_path / "outside.rdb"
    outside.write_bytes(b"secret")
    root = tmp_path / "backups"
    make(root, "g1-20250112T020000Z")
    name = "g1-20250113T020000Z"
    os.symlink(outside, root / "g1" / f"{name}.rdb")
    (root / "g1" / f"{name}.json").write_text("{}")
    with pytest.raises(UnsafeName, match="outside"):
        resolve(root, "g1", name)
    assert [b.name for b in list_backups(root, "g1")] == ["g1-20250112T020000Z"]


def test_a_node_folder_linking_out_is_refused(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "backups").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "backups" / "g1")
    with pytest.raises(UnsafeName):
        node_folder(tmp_path / "backups", "g1")


def test_resolve_accepts_the_file_name_and_latest(tmp_path):
    for n in ["g1-20250112T020000Z", "g1-20250112T020000Z-1", "g1-20250111T230000Z"]:
        make(tmp_path, n)
    assert resolve(tmp_path, "g1", "g1-20250112T020000Z.rdb").name == "g1-20250112T020000Z"
    assert resolve(tmp_path, "g1", "latest").name == "g1-20250112T020000Z-1"
    assert [b.name for b in list_backups(tmp_path, "g1")] == [
        "g1-20250112T020000Z-1", "g1-20250112T020000Z", "g1-20250111T230000Z"]


def test_missing_backups_and_half_written_ones(tmp_path):
    with pytest.raises(BackupNotFound, match="make backup"):
        latest(tmp_path, "g1")
    make(tmp_path, "g1-20250112T020000Z")
    (tmp_path / "g1" / "g1-20250113T020000Z.rdb").write_bytes(b"no manifest")
    (tmp_path / "g1" / ".g1-20250114T020000Z.rdb.1234.tmp").write_bytes(b"temp")
    assert [b.name for b in list_backups(tmp_path, "g1")] == ["g1-20250112T020000Z"]
    with pytest.raises(BackupNotFound):
        resolve(tmp_path, "g1", "g1-20250113T020000Z")


def test_a_bad_manifest_makes_the_backup_invalid(tmp_path):
    make(tmp_path, "g1-20250112T020000Z")
    b = resolve(tmp_path, "g1", "g1-20250112T020000Z")
    b.manifest_path.write_text('{"node": "g1"}')
    with pytest.raises(BackupInvalid, match="incomplete"):
        b.read_manifest()
    b.manifest_path.write_text("not json")
    with pytest.raises(BackupInvalid, match="unreadable"):
        b.read_manifest()
