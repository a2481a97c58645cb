"""The run record: typed, frozen, written once, read back as it was written."""
from __future__ import annotations

import dataclasses
import json

import pytest

from harness.record import RecordError, RunRecord, read_record
from harness.verdicts import Verdict


def _record(**changes) -> RunRecord:
    return RunRecord(**{"overall": "invalid", "experiment": "e", "title": "t", "hypothesis": "h",
                        "verdicts": [Verdict("lost_writes", "invalid", "1 lost", [{"key": "k"}], {"lost": 1})],
                        "started_at": "2026-01-01T00:00:00+00:00", "duration_s": 1.5, "run_id": "e-1",
                        "notes": ["a note"], "seed": 7, **changes})


def test_written_once_and_read_back_equal(tmp_path):
    record = _record(facts={"disaster_at_s": 3.0}, drill="fail", as_expected=False)
    record.write(tmp_path)
    assert read_record(tmp_path) == record
    assert json.loads((tmp_path / "results.json").read_text())["verdicts"][0]["figures"] == {"lost": 1}
    with pytest.raises(FileExistsError):
        record.write(tmp_path)


def test_frozen_and_typed():
    record = _record()
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.overall = "valid"  # type: ignore[misc]
    with pytest.raises(RecordError, match="overall must be one of"):
        _record(overall="fine")


def test_a_bad_file_is_a_record_error_naming_it(tmp_path):
    (tmp_path / "results.json").write_text('{"overall": ')
    with pytest.raises(RecordError, match=r"results.json:1: not JSON"):
        read_record(tmp_path)
    (tmp_path / "results.json").write_text('{"overall": "valid", "verdicts": [{"checker": "x", "valid": "maybe", "summary": ""}]}')
    with pytest.raises(RecordError, match="not a run record"):
        read_record(tmp_path)
    (tmp_path / "results.json").write_text("[]")
    with pytest.raises(RecordError, match="expected a JSON object"):
        read_record(tmp_path)
