"""The linearizability checker accepts linearizable register histories and catches the rest."""
import dataclasses
import time

import pytest

from chaos.checkers import linearizable
from harness.history import Op
from tests.unit.histories import H, random_register_history


def verdict(h):
    return linearizable.check(h.build() if isinstance(h, H) else h)


def test_valid_sequential():
    h = H().read(1, "k", None, 0, 1).write(1, "k", "a", 2, 3).read(2, "k", "a", 4, 5).write(2, "k", "b", 6, 7)
    assert verdict(h.read(1, "k", "b", 8, 9)).valid == "valid"


def test_concurrent_overlapping_writes_read_either_way():
    base = lambda: H().write(1, "k", "a", 0, 10).write(2, "k", "b", 1, 11)
    assert verdict(base().read(3, "k", "a", 12, 13)).valid == "valid"
    assert verdict(base().read(3, "k", "b", 12, 13)).valid == "valid"
    assert verdict(base().read(3, "k", "a", 2, 3).read(3, "k", "b", 4, 5)).valid == "valid"


def test_stale_read_after_completed_write_is_invalid():
    h = H().write(1, "k", "a", 0, 1).write(1, "k", "b", 2, 3).read(2, "k", "a", 4, 5)
    v = verdict(h)
    assert v.valid == "invalid"
    assert "'a'" in v.summary and "'b'" in v.summary
    assert any(e.get("role") == "blocked" and e["value"] == "a" for e in v.evidence)


def test_new_then_old_read_inversion_is_invalid():
    # The write of b is concurrent with both reads, but once a read saw b, a later read cannot see a.
    h = H().write(1, "k", "a", 0, 1).write(1, "k", "b", 2, 20).read(2, "k", "b", 3, 4).read(2, "k", "a", 5, 6)
    assert verdict(h).valid == "invalid"


def test_lost_write_is_invalid():
    assert verdict(H().write(1, "k", "a", 0, 1).read(2, "k", None, 2, 3)).valid == "invalid"
    h = H().write(1, "k", "a", 0, 1).write(1, "k", "b", 2, 3).read(1, "k", "a", 4, 5)
    assert verdict(h).valid == "invalid"


def test_info_write_later_observed_is_valid():
    h = H().write(1, "k", "a", 0, 1).write(2, "k", "b", 2, 3, type="info").read(3, "k", "b", 50, 51)
    assert verdict(h).valid == "valid"


def test_info_write_may_take_effect_long_after_it_timed_out():
    h = H().write(2, "k", "b", 0, 1, type="info").read(3, "k", None, 5, 6).read(3, "k", "b", 7, 8)
    assert verdict(h).valid == "valid"


def test_info_write_never_observed_is_valid():
    h = H().write(1, "k", "a", 0, 1).write(2, "k", "b", 2, 3, type="info").read(3, "k", "a", 4, 5)
    assert verdict(h).valid == "valid"


def test_info_write_cannot_be_observed_before_its_invoke():
    h = H().read(3, "k", "b", 0, 1).write(2, "k", "b", 2, 3, type="info")
    assert verdict(h).valid == "invalid"


def test_failed_write_did_not_happen():
    h = H().write(1, "k", "a", 0, 1).write(2, "k", "b", 2, 3, type="fail").read(3, "k", "b", 4, 5)
    assert verdict(h).valid == "invalid"
    h = H().write(1, "k", "a", 0, 1).write(2, "k", "b", 2, 3, type="fail").read(3, "k", "a", 4, 5)
    assert verdict(h).valid == "valid"


def test_read_of_value_never_written_is_invalid():
    assert verdict(H().write(1, "k", "a", 0, 1).read(2, "k", "zz", 0.5, 2)).valid == "invalid"


def test_keys_are_independent():
    h = H().write(1, "x", "a", 0, 1).write(2, "y", "b", 0, 1).read(1, "x", "a", 2, 3).read(2, "y", "b", 2, 3)
    v = verdict(h)
    assert v.valid == "valid" and v.figures["keys"] == 2
    v = verdict(h.read(3, "y", "a", 4, 5))
    assert v.valid == "invalid" and v.figures["invalid_keys"] == ["y"]


def test_non_unique_values_are_handled():
    h = H().write(1, "k", "a", 0, 1).write(1, "k", "b", 2, 3).write(1, "k", "a", 4, 5).read(2, "k", "a", 6, 7)
    assert verdict(h).valid == "valid"
    h = H().write(1, "k", "a", 0, 1).write(1, "k", "b", 2, 3).write(1, "k", "a", 4, 5).read(2, "k", "b", 6, 7)
    assert verdict(h).valid == "invalid"


def test_keys_also_written_through_ap_are_skipped_and_make_the_verdict_unknown():
    h = H().write(1, "k", "a", 0, 1, service="ap").read(2, "k", "a", 2, 3).write(3, "j", "x", 0, 1).read(4, "j", "x", 2, 3)
    v = verdict(h)
    assert v.valid == "unknown" and v.figures["skipped_mixed_keys"] == ["k"] and v.figures["keys"] == 1
    assert "allow_mixed_keys" in v.summary
    allowed = linearizable.check(h.build(), allow_mixed_keys=True)
    assert allowed.valid == "valid" and "skipped" in allowed.summary


def test_every_key_skipped_is_unknown_even_when_mixed_keys_are_expected():
    h = H().write(1, "k", "a", 0, 1, service="ap").read(2, "k", "a", 2, 3)
    v = linearizable.check(h.build(), allow_mixed_keys=True)
    assert v.valid == "unknown" and v.figures["keys"] == 0 and "none could be checked" in v.summary


def test_a_bad_allow_mixed_keys_is_refused():
    with pytest.raises(ValueError, match="allow_mixed_keys"):
        linearizable.check([], allow_mixed_keys="yes")


def test_nothing_to_check_is_unknown():
    assert linearizable.check([]).valid == "unknown"
    only_ap = H().write(1, "k", "a", 0, 1, service="ap").read(2, "k", "a", 2, 3, service="ap").build()
    v = linearizable.check(only_ap)
    assert v.valid == "unknown" and "no cp operations" in v.summary
    refused = H().write(1, "k", "a", 0, 1, type="fail").read(2, "k", None, 2, 3, type="fail").build()
    assert linearizable.check(refused).valid == "unknown"
    writes_only = H().write(1, "k", "a", 0, 1).write(2, "k", "b", 0.5, 2).build()
    v = linearizable.check(writes_only)
    assert v.valid == "unknown" and "no ok cp read" in v.summary


def test_a_malformed_ap_record_does_not_break_the_cp_checker():
    h = H().write(1, "k", "a", 0, 1).read(2, "k", "a", 2, 3).build()
    h.insert(0, Op("ok", 7, "write", "j", "z", "ap", 0.5, 0))  # an AP completion without its invoke
    assert linearizable.check(h).valid == "valid"


def test_exhausted_budget_answers_unknown():
    events = random_register_history(n_ops=400, seed=3)
    v = linearizable.check(events, max_steps=50)
    assert v.valid == "unknown" and v.figures["unknown_keys"] == ["k"]


def test_random_valid_history_of_5000_ops_is_linearizable_and_fast():
    events = random_register_history(n_ops=5000, processes=10, seed=7)
    started = time.monotonic()
    v = linearizable.check(events)
    elapsed = time.monotonic() - started
    assert v.valid == "valid", v.summary
    assert v.figures["ops"] == 5000
    assert elapsed < 5.0, f"took {elapsed:.2f} s"


def test_random_history_with_one_stale_read_is_invalid():
    events = random_register_history(n_ops=2000, processes=10, seed=11)
    # Make a late read return the value of the first write: stale by hundreds of writes.
    first = next(e.value for e in events if e.f == "write" and e.type == "invoke")
    idx = max(i for i, e in enumerate(events) if e.f == "read" and e.type == "ok" and e.value != first)
    events[idx] = dataclasses.replace(events[idx], value=first)
    v = linearizable.check(events)
    assert v.valid == "invalid", v.summary
    assert 0 < len(v.evidence) <= 21


def _brute_force(events):
    """Decide linearizability of a tiny one-key history by trying every order (the definition)."""
    from itertools import permutations

    from harness.pairs import pair_ops
    ops = [c for c in pair_ops(events) if c.type != "fail" and not (c.f == "read" and c.type != "ok")]
    infos = [c for c in ops if c.type == "info"]
    sure = [c for c in ops if c.type != "info"]
    for mask in range(1 << len(infos)):  # each info write happened or not
        chosen = sure + [c for k, c in enumerate(infos) if mask >> k & 1]
        for order in permutations(chosen):
            if any(b.end < a.start for x, a in enumerate(order) for b in order[x + 1:]):
                continue  # b finished before a began, so b cannot come after a
            state, ok = None, True
            for c in order:
                if c.f == "write":
                    state = c.value
                elif c.value != state:
                    ok = False
                    break
            if ok:
                return "valid"
    return "invalid"


def test_agrees_with_brute_force_on_random_tiny_histories():
    import random
    rng = random.Random(5)
    verdicts = set()
    for _ in range(400):
        h = H()
        for p in range(3):
            t = rng.uniform(0, 2)
            for _ in range(rng.randint(1, 2)):
                end = t + rng.uniform(0.1, 2)
                kind = rng.choice(["ok", "ok", "ok", "info", "fail"])
                if rng.random() < 0.5:
                    h.write(p, "k", rng.choice("abc"), t, end, type=kind)
                else:
                    h.read(p, "k", rng.choice(["a", "b", "c", None]), t, end, type=kind)
                t = end + rng.uniform(0, 0.5)
        events = h.build()
        expected = _brute_force(events)
        if not any(e.type == "ok" and e.f == "read" for e in events):
            expected = "unknown"  # no observed value: nothing to judge
        assert linearizable.check(events).valid == expected, events
        verdicts.add(expected)
    assert verdicts >= {"valid", "invalid"}
