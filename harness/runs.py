"""Run folders: runs/<experiment>/<YYYYmmddTHHMMSS>/, one per run, never reused."""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

STAMP = "%Y%m%dT%H%M%S"
_NAME = re.compile(r"^(\d{8}T\d{6})(?:-(\d+))?$")


def new_run_dir(root, experiment: str, now: datetime | None = None) -> Path:
    """Create and return a fresh run folder; a second run in the same second gets a -1, -2... suffix."""
    if not experiment or "/" in experiment or experiment.startswith("."):
        raise ValueError(f"bad experiment name {experiment!r}: use a plain folder name such as 'partition-cp'")
    parent = Path(root) / experiment
    parent.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now()).strftime(STAMP)
    n = 0
    while True:
        path = parent / (stamp if n == 0 else f"{stamp}-{n}")
        try:
            path.mkdir()  # atomic: two concurrent callers can never get the same folder
            return path
        except FileExistsError:
            n += 1


def latest_run(root, experiment: str) -> Path | None:
    """Return the most recent run folder of an experiment, or None when it has none."""
    parent = Path(root) / experiment
    if not parent.is_dir():
        return None
    runs = []
    for p in parent.iterdir():
        m = _NAME.match(p.name)
        if m and p.is_dir():
            runs.append(((m.group(1), int(m.group(2) or 0)), p))
    return max(runs)[1] if runs else None
