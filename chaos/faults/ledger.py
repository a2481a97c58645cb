"""A ledger of active process faults on disk, so a later `heal()` can undo a killed run's faults.

One JSON file per active fault under `<state_dir>/active-faults/`: written before the fault is
injected, removed once it is undone. One file each keeps concurrent writers from racing.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

LEDGER_DIR = "active-faults"


def ledger_dir(state_dir: str | os.PathLike[str]) -> Path:
    return Path(state_dir) / LEDGER_DIR


def write_entry(state_dir: str | os.PathLike[str], key: str, entry: dict[str, Any]) -> Path:
    """Record an active fault atomically; return the entry's path."""
    folder = ledger_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key}.json"
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(entry, sort_keys=True))
    os.replace(tmp, path)
    return path


def remove_entry(path: Path) -> None:
    path.unlink(missing_ok=True)


def read_entries(state_dir: str | os.PathLike[str]) -> list[tuple[Path, dict[str, Any] | None]]:
    """Every recorded fault as (path, entry); entry is None when the file is not valid JSON."""
    folder = ledger_dir(state_dir)
    if not folder.is_dir():
        return []
    entries = []
    for path in sorted(folder.glob("*.json")):
        try:
            entries.append((path, json.loads(path.read_text())))
        except (OSError, ValueError):
            entries.append((path, None))
    return entries


def process_start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (tells a reused pid apart), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def process_state(pid: int) -> str | None:
    """The process's one-letter state from /proc ('T' when stopped), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def process_name(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None
