"""The soak's sharded checking gives the verdicts of the whole history, one shard in memory at a time."""
from __future__ import annotations

from dataclasses import replace

from chaos.checkers import run_all
from chaos.soak.shards import check_sharded, split
from harness.history import HistoryWriter, iter_history
from tests.unit.histories import H, random_register_history

CONFIG = {"availability": {"min_availability": {"cp": {"steady": 0.5}}}, "linearizable": {"service": "cp"}}


def write(path, events):
    with HistoryWriter(path) as w:
        for e in events:
            w.write(e)
    return path


def many_keys(stale_key=None):
    events = []
    for i in range(12):
        events += [replace(e, process=e.process + 10 * i)  # one set of clients per key
                   for e in random_register_history(n_ops=200, processes=4, key=f"k{i}", seed=i)]
    h = H().fault(0.5, 1.0)
    if stale_key:  # a read of a value overwritten long before: not linearizable
        h.write(900, stale_key, "old", 5.0, 5.1).write(900, stale_key, "new", 5.2, 5.3)
        h.read(901, stale_key, "old", 5.5, 5.6)
    return sorted(events + h.events, key=lambda e: e.time)


def test_each_key_lands_in_one_shard_and_other_events_stay_in_memory(tmp_path):
    path = write(tmp_path / "h.jsonl", many_keys())
    (tmp_path / "shards").mkdir()
    shards, others = split([path], tmp_path / "shards", shard_bytes=20_000)
    assert len(shards) > 3
    keys = [{e.key for e in iter_history(s)} for s in shards]
    assert sum(len(k) for k in keys) == len(set().union(*keys)) == 12
    assert [e.phase for e in others] == ["start", "stop"]


def test_sharded_verdicts_match_the_whole_history(tmp_path):
    for stale in (None, "k3"):
        path = write(tmp_path / f"h-{stale}.jsonl", many_keys(stale))
        whole = {v.checker: v for v in run_all(list(iter_history(path)), CONFIG)}
        assert whole["availability"].valid == "valid"
        sharded, n = check_sharded([path], CONFIG, shard_bytes=200_000)
        assert n > 3
        for v in sharded:
            assert v.valid == whole[v.checker].valid, (stale, v.summary, whole[v.checker].summary)
        lin = next(v for v in sharded if v.checker == "linearizable")
        assert lin.figures["ops"] == whole["linearizable"].figures["ops"]
        assert lin.valid == ("invalid" if stale else "valid")
        rows = next(v for v in sharded if v.checker == "availability").figures["windows"]
        whole_rows = whole["availability"].figures["windows"]
        assert sorted((r["window"], r["service"], r["ops"], r["ok"]) for r in rows) == \
            sorted((r["window"], r["service"], r["ops"], r["ok"]) for r in whole_rows)


def test_availability_is_judged_on_the_windows_summed_over_shards():
    """One shard's keys may have no operation in a window the others fill: the sum decides."""
    from chaos.checkers import availability
    from chaos.soak.shards import merge
    bounds = {"min_availability": {"cp": {"steady": 0.9, "fault": 0.0}}}
    only_steady = H().fault(1.0, 2.0).write(1, "a", "1", 0.1, 0.2)
    only_fault = H().fault(1.0, 2.0).write(2, "b", "1", 1.3, 1.4)
    parts = [availability.check(h.build(), **bounds) for h in (only_steady, only_fault)]
    assert [p.valid for p in parts] == ["unknown", "unknown"]
    assert merge("availability", parts, bounds).valid == "valid"
    failing = H().fault(1.0, 2.0).write(3, "c", "1", 0.3, 0.4, type="fail")
    parts.append(availability.check(failing.build(), **bounds))
    assert merge("availability", parts, bounds).valid == "invalid"  # steady: 1 ok of 2


def test_a_shard_of_one_service_keys_is_not_judged_by_the_other_services_checker(tmp_path):
    ap = H(service="ap").write(5000, "ap-only", "1", 0.1, 0.2, version="100.0.1")
    ap.read(5001, "ap-only", "1", 0.3, 0.4, version="100.0.1", staleness_ms=0, stale=False)
    path = write(tmp_path / "h.jsonl", sorted(many_keys() + ap.events, key=lambda e: e.time))
    config = {**CONFIG, "staleness": {"service": "ap"}}
    whole = {v.checker: v.valid for v in run_all(list(iter_history(path)), config)}
    sharded, n = check_sharded([path], config, shard_bytes=50_000)
    assert n > 3  # most shards hold CP keys only, one holds the AP key
    assert {v.checker: v.valid for v in sharded} == whole == {"availability": "valid", "linearizable": "valid",
                                                              "staleness": "valid"}


def test_a_history_still_growing_is_split_as_it_was_when_the_split_began(tmp_path, monkeypatch):
    """The soak checks the history while Locust appends to it: lines written meanwhile wait."""
    import chaos.soak.shards as shards
    path = write(tmp_path / "h.jsonl", many_keys())
    late = H().write(7000, "late-key", "1", 9.0, 9.1).events
    real_lines = shards._lines
    calls = []

    def lines_then_append(p, end):
        calls.append(p)
        if len(calls) == 2:  # between the two passes, the writer appends a new key
            with HistoryWriter(path) as w:
                for e in late:
                    w.write(e)
        return real_lines(p, end)
    monkeypatch.setattr(shards, "_lines", lines_then_append)
    (tmp_path / "s").mkdir()
    found, _ = split([path], tmp_path / "s", shard_bytes=50_000)
    keys = set().union(*({e.key for e in iter_history(s)} for s in found))
    assert "late-key" not in keys and len(keys) == 12
