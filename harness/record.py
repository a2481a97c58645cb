"""The run record: what one run concluded, typed and frozen, written once to results.json.

Experiments and DR drills write the same record (a drill fills ``drill``, ``as_expected`` and
``facts``; an experiment ``heal``; both ``seed``, ``ops``, ``checkers`` and ``stack``; ``halted``
says who aborted a run mid-way, why and when), and the report
reads it back with ``read_record``. See docs/runner.md, "results.json".
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .verdicts import VALIDITY, Verdict

FILE = "results.json"


class RecordError(ValueError):
    """results.json cannot be read back; the message names the file and what is wrong."""


@dataclass(frozen=True)
class RunRecord:
    overall: str  # valid | invalid | unknown
    experiment: str = ""
    title: str = ""
    hypothesis: str = ""
    verdicts: tuple[Verdict, ...] = ()
    started_at: str = ""
    duration_s: float = 0.0
    run_id: str = ""
    aborted: str | None = None  # why the run did not happen (the steady state before failed, ...)
    halted: dict | None = None  # {"by", "reason", "at", "after_s"}: someone aborted the run mid-way
    notes: tuple[str, ...] = ()
    seed: int | None = None
    ops: dict = field(default_factory=dict)
    checkers: dict = field(default_factory=dict)
    heal: dict | None = None
    stack: dict = field(default_factory=dict)
    drill: str | None = None  # pass | fail, for a DR drill
    as_expected: bool | None = None
    facts: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.overall not in VALIDITY:
            raise RecordError(f"overall must be one of {VALIDITY}, not {self.overall!r}")
        object.__setattr__(self, "verdicts", tuple(self.verdicts))
        object.__setattr__(self, "notes", tuple(self.notes))

    def to_json(self) -> dict:
        out = asdict(self)
        out["verdicts"] = [v.to_json() for v in self.verdicts]
        out["notes"] = list(self.notes)
        return out

    def write(self, run_dir) -> Path:
        """Write results.json into ``run_dir`` (once: a second write of a run is a bug)."""
        path = Path(run_dir) / FILE
        with open(path, "x", encoding="utf-8") as f:
            f.write(json.dumps(self.to_json(), indent=2, default=str))
        return path

    @classmethod
    def from_json(cls, data: dict, source: str = FILE) -> "RunRecord":
        if not isinstance(data, dict):
            raise RecordError(f"{source}: expected a JSON object, found {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        try:
            verdicts = [Verdict(**v) for v in data.get("verdicts") or []]
            return cls(**{**{k: v for k, v in data.items() if k in known}, "verdicts": verdicts})
        except (TypeError, ValueError) as err:
            raise RecordError(f"{source}: not a run record ({err}); rerun the experiment") from None


def read_record(run_dir) -> RunRecord:
    """Read results.json back from a run folder; raise RecordError naming the file and the problem."""
    path = Path(run_dir) / FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise RecordError(f"{path}: cannot be read ({err.strerror})") from None
    except json.JSONDecodeError as e:
        raise RecordError(f"{path}:{e.lineno}: not JSON ({e.msg}); rewrite it, or rerun the experiment") from None
    return RunRecord.from_json(data, str(path))
