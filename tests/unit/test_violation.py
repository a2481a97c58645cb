"""The violation timeline: the offending key's ops, lane by lane, and where no order fits."""
from __future__ import annotations

import dataclasses
import json
import re

import pytest

from chaos.checkers import linearizable
from chaos.report.build import build_report
from chaos.report.violation import describe_violation, draw_violation, find_violation, label
from harness.history import HistoryWriter, Op, read_history
from harness.pairs import pair_ops
from tests.unit.histories import H
from tests.unit.test_report import make_run_dir


def results_of(history) -> dict:
    return {"verdicts": [linearizable.check(history).to_json()]}


def make_invalid_run(root):
    """A simulated CP run in which one read returns a value never written; verdicts recomputed."""
    run = make_run_dir(root, "partition-cp", services=("cp",))
    events = read_history(run / "history.jsonl")
    i = [i for i, e in enumerate(events) if isinstance(e, Op) and e.f == "read" and e.type == "ok" and e.value][40]
    events[i] = dataclasses.replace(events[i], value="never-written")
    (run / "history.jsonl").unlink()
    with HistoryWriter(run / "history.jsonl", t0=0.0) as w:
        for e in events:
            w.write(e)
    results = json.loads((run / "results.json").read_text())
    results["verdicts"] = [v for v in results["verdicts"] if v["checker"] != "linearizable"]
    results["verdicts"].insert(0, linearizable.check(events).to_json())
    results["overall"] = "invalid"
    (run / "results.json").write_text(json.dumps(results))
    return run, events[i]


def stale_read_with_neighbours():
    """p1 writes a; p2 writes b (times out: info); p3 writes c and fails; p4 then reads a stale 'x'."""
    return (H().write(1, "k", "x", 0.0, 0.5).write(1, "k", "a", 1.0, 2.0).write(2, "k", "b", 1.5, 2.5, type="info")
            .write(3, "k", "c", 1.8, 2.2, type="fail").read(4, "k", "x", 3.0, 3.5)
            .write(5, "other", "z", 0.0, 1.0).build())


def test_finds_the_blocked_op_its_key_and_what_the_register_could_hold():
    h = stale_read_with_neighbours()
    v = find_violation(results_of(h), h)
    assert v.key == "k"
    assert (v.blocked.process, v.blocked.f, v.blocked.value) == (4, "read", "x")
    assert v.point == 3.5
    assert v.could_hold == ["a"]
    assert "cannot be linearized" in v.explanation


def test_draws_every_op_of_the_key_in_the_window_even_those_the_model_drops():
    h = stale_read_with_neighbours()
    v = find_violation(results_of(h), h)
    # The failed write and the unobserved info write constrain nothing, but the reader sees them.
    # So does the write of the stale value read, so the reader sees where 'x' came from.
    assert [(c.process, c.value, c.type) for c in v.ops] == [
        (1, "x", "ok"), (1, "a", "ok"), (2, "b", "info"), (3, "c", "fail"), (4, "x", "ok")]
    assert v.processes == [1, 2, 3, 4] and v.hidden == 0
    assert v.t0 < 0.0 and v.t1 > 3.5
    assert "other" not in {c.key for c in v.ops}


def test_text_rows_mark_the_op_that_cannot_be_placed_and_open_ended_info():
    h = stale_read_with_neighbours()
    rows = describe_violation(find_violation(results_of(h), h))
    assert rows[2] == {"process": 2, "op": "W 'b' (info)", "invoke": "1.500", "complete": "never (info)", "mark": ""}
    assert rows[3]["op"] == "W 'c' (fail)"
    assert rows[-1] == {"process": 4, "op": "R 'x'", "invoke": "3.000", "complete": "3.500",
                        "mark": "← cannot be placed"}


def test_labels():
    c = H().read(1, "k", None, 0, 1).read(2, "k", None, 2, None).write(3, "k", "v" * 40, 3, 4).build()
    assert [label(x) for x in pair_ops(c)] == ["R absent", "R ? (info)", "W '" + "v" * 22 + "…"]


def test_draws_a_png():
    h = stale_read_with_neighbours()
    png = draw_violation(find_violation(results_of(h), h))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_no_violation_when_linearizable_or_no_verdict():
    h = H().write(1, "k", "a", 0, 1).read(2, "k", "a", 2, 3).build()
    assert find_violation(results_of(h), h) is None
    assert find_violation({}, h) is None


@pytest.fixture(scope="module")
def invalid_report(tmp_path_factory):
    run, bad = make_invalid_run(tmp_path_factory.mktemp("runs"))
    md, html = build_report(run)
    return run, bad, md.read_text(), html.read_text()


def test_markdown_shows_the_timeline_as_text_and_links_the_drawing(invalid_report):
    run, bad, md, _ = invalid_report
    section = md.split("## Why the CP history is not linearizable", 1)[1].split("## Operations")[0]
    assert "read of 'never-written'" in section
    assert "](plots/violation.png)" in section and (run / "plots" / "violation.png").stat().st_size > 5000
    assert re.search(rf"^\| {bad.process} \| R 'never-written' \| [\d.]+ \| [\d.]+ \| ← cannot be placed \|$",
                     section, re.M)


def test_html_embeds_the_timeline_as_one_more_plot(invalid_report):
    run, _, _, html = invalid_report
    n = html.count('src="data:image/png;base64,')
    assert 'id="violation"' in html and 'title="violation.png"' in html
    assert f'data-plots-expected="{n}"' in html and n == len(list((run / "plots").glob("*.png")))


def test_a_valid_run_has_no_timeline_and_loses_an_old_one(invalid_report, tmp_path):
    run = make_run_dir(tmp_path, "partition-cp", services=("cp",))
    (run / "plots").mkdir()
    (run / "plots" / "violation.png").write_bytes(b"old")
    md, html = build_report(run)
    assert "not linearizable" not in md.read_text() and 'id="violation"' not in html.read_text()
    assert not (run / "plots" / "violation.png").exists()
