"""The backup catalog: names, the manifest, path safety, and listing what a folder holds.

Layout: ``<root>/<node>/<node>-<YYYYmmddTHHMMSSZ>[-<n>].rdb`` plus a ``.json`` manifest of the same
name. A name given by a user is only ever a bare name that matches this pattern, for the node
asked, and that resolves (symlinks followed) inside ``<root>/<node>``; anything else is refused.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .errors import BackupInvalid, BackupNotFound, UnsafeName

STAMP = "%Y%m%dT%H%M%SZ"
NODE = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
NAME = re.compile(r"^(?P<node>[a-z][a-z0-9_]{0,15})-(?P<stamp>\d{8}T\d{6}Z)(?:-(?P<seq>[1-9]\d{0,3}))?$")
LATEST = "latest"
FORMAT = 1
MANIFEST_MAX_BYTES = 1 << 20  # a manifest is a few hundred bytes, its sample a few KiB


@dataclass(frozen=True)
class Manifest:
    """What a backup holds, written at snapshot time and checked by verify."""

    node: str
    name: str
    created_at: str  # ISO 8601 UTC, just before BGSAVE: the data is at least this recent
    size: int
    sha256: str
    keys: int  # keys in the RDB file, as loaded into a scratch server at snapshot time
    redis_version: str
    rdb_version: str = ""
    source: str = ""  # host:port of the node
    sample: dict = field(default_factory=dict)  # record key -> version text, read from the file
    seconds: float = 0.0  # how long the snapshot took
    format: int = FORMAT

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data, where: str = "manifest") -> "Manifest":
        """Build a manifest from parsed JSON; raise BackupInvalid naming every field that is wrong."""
        if not isinstance(data, dict):
            raise BackupInvalid(f"{where} is not a JSON object (got {type(data).__name__}); "
                                f"the backup cannot be trusted")
        problems = [f"{name} {why}" for name, why in _field_problems(data)]
        if problems:
            raise BackupInvalid(f"{where} is incomplete or wrong ({'; '.join(problems[:4])}); the backup cannot be "
                                f"trusted: verify another one (`python -m backup list`)")
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _iso_utc(x) -> bool:
    try:
        return isinstance(x, str) and datetime.fromisoformat(x.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False


# name -> (required, test, what it must be): every field of a manifest, typed in one place.
MANIFEST_FIELDS = {
    "node": (True, lambda x: isinstance(x, str) and bool(NODE.match(x)), "a node name such as g1"),
    "name": (True, lambda x: isinstance(x, str) and bool(NAME.match(x)), "a backup name such as g1-20250112T020000Z"),
    "created_at": (True, _iso_utc, "an ISO 8601 UTC time such as 2025-01-12T02:00:00Z"),
    "size": (True, lambda x: _is_int(x) and x >= 0, "a whole number of bytes"),
    "sha256": (True, lambda x: isinstance(x, str) and bool(re.fullmatch(r"[0-9a-f]{64}", x)), "64 hex digits"),
    "keys": (True, lambda x: _is_int(x) and x >= 0, "a whole number >= 0"),
    "redis_version": (True, lambda x: isinstance(x, str), "text"),
    "rdb_version": (False, lambda x: isinstance(x, str), "text"),
    "source": (False, lambda x: isinstance(x, str), "text"),
    "sample": (False, lambda x: isinstance(x, dict) and all(isinstance(k, str) and isinstance(v, str)
                                                            for k, v in x.items()), "a map of key to version text"),
    "seconds": (False, lambda x: isinstance(x, (int, float)) and not isinstance(x, bool) and 0 <= x < 1e9,
                "a number of seconds >= 0"),
    "format": (False, lambda x: x == FORMAT, f"{FORMAT} (a format this version reads)"),
}


def _field_problems(data: dict):
    for name, (required, test, what) in MANIFEST_FIELDS.items():
        if name not in data:
            if required:
                yield name, f"is missing (must be {what})"
        elif not test(data[name]):
            yield name, f"is {str(json.dumps(data[name]))[:40]} (must be {what})"


@dataclass(frozen=True)
class Backup:
    """One backup in a folder: the RDB file and its manifest."""

    node: str
    name: str
    created: datetime  # UTC, from the name
    seq: int
    folder: Path

    @property
    def rdb(self) -> Path:
        return self.folder / f"{self.name}.rdb"

    @property
    def manifest_path(self) -> Path:
        return self.folder / f"{self.name}.json"

    def read_manifest(self) -> Manifest:
        """Read and check the manifest; raise BackupInvalid when it is missing or unreadable."""
        try:
            with open(self.manifest_path, "rb") as f:
                raw = f.read(MANIFEST_MAX_BYTES + 1)
            if len(raw) > MANIFEST_MAX_BYTES:
                raise ValueError(f"larger than {MANIFEST_MAX_BYTES // 1024} KiB")
            data = json.loads(raw.decode("utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            raise BackupInvalid(f"manifest {self.manifest_path} is unreadable ({exc}); "
                                f"the backup cannot be trusted") from None
        m = Manifest.from_json(data, str(self.manifest_path))
        if (m.node, m.name) != (self.node, self.name):
            raise BackupInvalid(f"manifest {self.manifest_path} describes {m.name} of {m.node}, not this backup")
        return m

    @property
    def sort_key(self):
        return (self.created, self.seq, self.name)


def backup_name(node: str, created: datetime, seq: int = 0) -> str:
    ensure_node_name(node)
    stamp = created.astimezone(timezone.utc).strftime(STAMP)
    return f"{node}-{stamp}" + (f"-{seq}" if seq else "")


def ensure_node_name(node: str) -> str:
    if not isinstance(node, str) or not NODE.match(node):
        raise UnsafeName(f"bad node name {node!r}: use the stack's node names, e.g. g1 or g2")
    return node


def parse_name(name: str) -> tuple[str, datetime, int]:
    """Return (node, created, seq) of a bare backup name; raise UnsafeName on anything else."""
    m = NAME.match(name or "")
    if not m:
        raise UnsafeName(f"bad backup name {name!r}: expected a bare name like g1-20250112T020000Z "
                         f"(see `python -m backup list`), or 'latest'")
    try:
        created = datetime.strptime(m["stamp"], STAMP).replace(tzinfo=timezone.utc)
    except ValueError:
        raise UnsafeName(f"bad backup name {name!r}: {m['stamp']} is not a valid UTC time") from None
    return m["node"], created, int(m["seq"] or 0)


def node_folder(root, node: str) -> Path:
    """``<root>/<node>``, resolved; refuse a node folder that is a link leading out of the root."""
    root = Path(root).resolve()
    folder = (root / ensure_node_name(node)).resolve()
    if folder.parent != root:
        raise UnsafeName(f"{root / node} leads outside {root}; refusing to use it")
    return folder


def resolve(root, node: str, name: str) -> Backup:
    """Find backup ``name`` (or 'latest') of ``node`` under ``root``; refuse names that escape it."""
    if name == LATEST:
        return latest(root, node)
    raw = str(name)
    if "/" in raw or "\\" in raw or raw.startswith(".") or "\0" in raw:
        raise UnsafeName(f"refusing backup name {raw!r}: give a bare name from `python -m backup list`, "
                         f"not a path")
    for ext in (".rdb", ".json"):
        if raw.endswith(ext):
            raw = raw[: -len(ext)]
    owner, created, seq = parse_name(raw)
    if owner != node:
        raise UnsafeName(f"backup {raw} belongs to node {owner}, not {node}")
    folder = node_folder(root, node)
    backup = Backup(node, raw, created, seq, folder)
    for path in (backup.rdb, backup.manifest_path):
        if not path.exists():
            raise BackupNotFound(f"no backup {raw} for {node} in {folder} ({path.name} is missing); "
                                 f"see `python -m backup list --node {node}`")
        if path.resolve().parent != folder:
            raise UnsafeName(f"{path} is a link leading outside {folder}; refusing to use it")
    return backup


def list_backups(root, node: str) -> list[Backup]:
    """Every complete backup (RDB and manifest) of ``node`` under ``root``, newest first."""
    folder = node_folder(root, node)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob(f"{node}-*.rdb"):
        try:
            found.append(resolve(root, node, path.stem))
        except (UnsafeName, BackupNotFound):
            continue  # not ours, half written, or a link out: never listed, never pruned
    return sorted(found, key=lambda b: b.sort_key, reverse=True)


def latest(root, node: str) -> Backup:
    backups = list_backups(root, node)
    if not backups:
        raise BackupNotFound(f"no backup of {node} in {Path(root) / node}; take one with "
                             f"`make backup` (python -m backup snapshot --node {node})")
    return backups[0]
