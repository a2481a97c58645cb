"""How the rolling update sorts the answers of its run (loadtests/rolling_update.py), on written histories."""
import json

from loadtests.rolling_update import category, tally


def op(service, type_, status, outcome=None, wall_ms=10_000, f="write"):
    return {"type": type_, "service": service, "f": f, "status": status, "outcome": outcome, "wall_ms": wall_ms,
            "process": 1, "key": "k", "time": 0.0}


def test_only_a_503_that_states_its_outcome_is_a_refusal():
    assert category(op("cp", "ok", 200)) == "ok"
    assert category(op("cp", "fail", 404, f="read")) == "ok"  # an absent key is an answer
    assert category(op("cp", "fail", 503, "not_applied")) == "refusal"
    assert category(op("cp", "info", 503, "unknown")) == "refusal"
    assert category(op("cp", "info", None)) == "no_answer"  # connection refused, reset, timeout
    stopped = {**op("cp", "info", None), "error": "stopped by Locust before an answer arrived"}
    assert category(stopped) == "stopped", "cut off by the end of the load: not the update's doing"
    assert category(op("cp", "fail", 503)) == "error"       # a 503 without an outcome says nothing
    assert category(op("cp", "fail", 500)) == "error"


def test_tally_counts_per_service_and_times_the_non_ok_answers_from_the_update(tmp_path):
    history = tmp_path / "history.jsonl"
    rows = [op("ap", "ok", 200, wall_ms=9_000), op("cp", "ok", 200, wall_ms=9_000),
            {**op("cp", "info", None, wall_ms=12_500), "error": "ConnectionRefusedError: [Errno 111] Connection refused"},
            op("cp", "fail", 503, "not_applied", wall_ms=11_000),
            {"type": "invoke", "service": "cp", "f": "write", "wall_ms": 11_000},
            {"type": "fault", "phase": "start", "wall_ms": 10_000}]
    history.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    got = tally(history, update_start_ms=10_000)
    assert got["ap"] == {"ok": 1, "refusal": 0, "no_answer": 0, "error": 0, "stopped": 0, "no_answer_at_connect": 0, "requests": 1,
                         "non_ok_from_s": None, "non_ok_until_s": None}
    assert got["cp"] == {"ok": 1, "refusal": 1, "no_answer": 1, "error": 0, "stopped": 0, "no_answer_at_connect": 1, "requests": 3,
                         "non_ok_from_s": 1.0, "non_ok_until_s": 2.5}
