"""The history -> Porcupine input conversion, and how the cross-check turns two verdicts into an exit code."""
from __future__ import annotations

import pytest

from chaos.report.crosscheck import (EXIT_AGREE, EXIT_DISAGREE, EXIT_UNKNOWN, Crosscheck, porcupine_ops, render)
from tests.unit.histories import H


def ops_of(history, key=None):
    ops, _ = porcupine_ops(history)
    return [o for o in ops if key is None or o["key"] == key]


def test_ok_ops_become_calls_and_returns_in_nanoseconds():
    h = H().write(1, "k", "a", 0.5, 1.25).read(2, "k", "a", 2.0, 2.000000001).build()
    assert ops_of(h) == [
        {"key": "k", "process": 1, "f": "write", "value": "a", "call": 500_000_000, "return": 1_250_000_000},
        {"key": "k", "process": 2, "f": "read", "value": "a", "call": 2_000_000_000, "return": 2_000_000_001},
    ]


def test_a_read_of_an_absent_key_returns_nothing():
    (op,) = ops_of(H().read(1, "k", None, 0, 1).build())
    assert op["f"] == "read" and op["value"] is None


def test_failed_ops_never_happened():
    h = H().write(1, "k", "a", 0, 1, type="fail").read(2, "k", None, 2, 3, type="fail").read(3, "k", None, 4, 5).build()
    assert [(o["process"], o["f"]) for o in ops_of(h)] == [(3, "read")]


def test_reads_without_an_answer_constrain_nothing():
    h = H().read(1, "k", None, 0, 1, type="info").read(2, "k", None, 2, None).write(3, "k", "a", 4, 5).build()
    assert [o["process"] for o in ops_of(h)] == [3]


def test_an_observed_info_write_may_take_effect_at_any_later_time():
    h = H().write(1, "k", "a", 0, 1, type="info").read(2, "k", "a", 5, 6).build()
    write = ops_of(h)[0]
    assert write["f"] == "write" and write["call"] == 0 and write["return"] is None


def test_an_invoke_without_completion_is_info():
    h = H().write(1, "k", "a", 0, None).read(2, "k", "a", 5, 6).build()
    assert ops_of(h)[0]["return"] is None


def test_an_info_write_nobody_read_is_dropped_as_it_may_never_have_happened():
    h = H().write(1, "k", "a", 0, 1, type="info").write(2, "k", "b", 2, 3).read(3, "k", "b", 4, 5).build()
    assert [o["value"] for o in ops_of(h)] == ["b", "b"]


def test_keys_written_through_another_service_are_skipped_as_caplab_does():
    h = (H().write(1, "k", "a", 0, 1).read(2, "k", "a", 2, 3)
         .write(3, "m", "x", 0, 1).write(1, "m", "y", 2, 3, service="ap").build())
    ops, keys = porcupine_ops(h)
    assert {o["key"] for o in ops} == {"k"}
    assert keys["skipped_mixed_keys"] == ["m"] and keys["keys"] == ["k"]


def test_a_broken_ap_record_does_not_stop_the_cp_check():
    h = H().write(1, "k", "a", 0, 1).read(2, "k", "a", 2, 3).build()
    h += H().read(7, "j", "x", 0.5, 0.7, service="ap").build()[1:]  # an AP completion without its invoke
    assert [o["process"] for o in ops_of(h)] == [1, 2]


def test_ap_ops_are_not_cp_history():
    h = H().write(1, "k", "a", 0, 1).read(1, "k", "zzz", 2, 3, service="ap").build()
    assert [o["f"] for o in ops_of(h)] == ["write"]


def test_a_key_whose_ops_all_failed_is_listed_as_empty():
    h = H().write(1, "k", "a", 0, 1, type="fail").write(2, "j", "b", 0, 1).build()
    ops, keys = porcupine_ops(h)
    assert keys["keys"] == ["j", "k"] and keys["empty_keys"] == ["k"]
    assert {o["key"] for o in ops} == {"j"}


def test_a_completion_before_its_invoke_is_refused():
    h = H().write(1, "k", "a", 2.0, 1.0).events  # in file order: the invoke, then its completion
    with pytest.raises(ValueError, match="invoke"):
        porcupine_ops(h)


def test_values_that_are_not_text_are_written_as_json():
    (op,) = ops_of(H().write(1, "k", 5, 0, 1).build())
    assert op["value"] == "5"


def row(key, caplab, porcupine, agree):
    return {"key": key, "caplab": caplab, "porcupine": porcupine, "ops": 3, "agree": agree, "note": ""}


@pytest.mark.parametrize("rows, code", [
    ([row("a", "valid", "valid", "yes"), row("b", "invalid", "invalid", "yes")], EXIT_AGREE),
    ([row("a", "valid", "valid", "yes"), row("b", "valid", "invalid", "no")], EXIT_DISAGREE),
    ([row("a", "unknown", "invalid", "undecided"), row("b", "invalid", "valid", "no")], EXIT_DISAGREE),
    ([row("a", "valid", "unknown", "undecided")], EXIT_UNKNOWN),
    ([], EXIT_UNKNOWN),  # nothing compared: nothing proven
])
def test_exit_codes(rows, code):
    assert Crosscheck("valid", "valid", rows).exit_code == code


def test_render_names_both_verdicts_the_counts_and_the_disagreeing_key():
    c = Crosscheck("invalid", "valid", [row("a", "valid", "valid", "yes"), row("b", "invalid", "valid", "no")],
                   skipped_mixed_keys=["m"])
    text = render(c, "runs/x/1")
    assert "caplab     invalid       1        1" in text
    assert "porcupine  valid         2        0" in text
    assert "b                        invalid  valid     no" in text
    assert "skipped (written through another service too): m" in text
    assert text.endswith("they DISAGREE on 1 keys (exit 1)")


def test_render_says_when_there_was_nothing_to_compare():
    text = render(Crosscheck("valid", "unknown", []), "runs/ap-only/1")
    assert text.endswith("no CP key to compare: nothing proven either way (exit 4)")
