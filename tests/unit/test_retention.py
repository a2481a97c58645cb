"""Retention on hand-written lists: the newest N, the newest of each of the last D days, never the future."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from backup.retention import Policy, keep

NOW = datetime(2025, 1, 12, 12, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class B:
    name: str
    created: datetime
    seq: int = 0


def at(text: str, seq: int = 0) -> B:
    """B('01-12 02:00') is a backup taken on 2025-01-12 at 02:00 UTC."""
    return B(f"{text}#{seq}", datetime.strptime(f"2025-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc), seq)


def names(items) -> list:
    return [b.name for b in items]


def test_keeps_the_newest_n_and_deletes_the_rest_newest_first():
    bs = [at("01-12 01:00"), at("01-12 03:00"), at("01-12 02:00"), at("01-11 23:00")]
    kept, deleted = keep(bs, keep_last=2, keep_daily_days=0, now=NOW)
    assert names(kept) == ["01-12 03:00#0", "01-12 02:00#0"]
    assert names(deleted) == ["01-12 01:00#0", "01-11 23:00#0"]


def test_keeps_the_newest_of_each_of_the_last_d_days():
    bs = [at("01-12 09:00"), at("01-12 08:00"), at("01-11 22:00"), at("01-11 04:00"),
          at("01-10 10:00"), at("01-09 10:00")]
    kept, deleted = keep(bs, keep_last=1, keep_daily_days=3, now=NOW)
    assert names(kept) == ["01-12 09:00#0", "01-11 22:00#0", "01-10 10:00#0"]
    assert names(deleted) == ["01-12 08:00#0", "01-11 04:00#0", "01-09 10:00#0"]


def test_both_rules_are_a_union():
    bs = [at("01-12 09:00"), at("01-12 08:00"), at("01-11 22:00"), at("01-05 10:00")]
    kept, deleted = keep(bs, keep_last=2, keep_daily_days=2, now=NOW)
    assert names(kept) == ["01-12 09:00#0", "01-12 08:00#0", "01-11 22:00#0"]
    assert names(deleted) == ["01-05 10:00#0"]


def test_ties_in_the_same_second_are_ordered_by_sequence():
    bs = [at("01-12 02:00", 0), at("01-12 02:00", 2), at("01-12 02:00", 1)]
    kept, deleted = keep(bs, keep_last=1, keep_daily_days=1, now=NOW)
    assert names(kept) == ["01-12 02:00#2"]
    assert names(deleted) == ["01-12 02:00#1", "01-12 02:00#0"]


def test_zero_and_zero_still_keeps_the_newest():
    bs = [at("01-01 00:00"), at("01-02 00:00")]
    kept, deleted = keep(bs, keep_last=0, keep_daily_days=0, now=NOW)
    assert names(kept) == ["01-02 00:00#0"]
    assert names(deleted) == ["01-01 00:00#0"]


def test_n_zero_relies_on_the_daily_rule_only():
    bs = [at("01-12 09:00"), at("01-12 08:00"), at("01-11 08:00")]
    kept, _ = keep(bs, keep_last=0, keep_daily_days=2, now=NOW)
    assert names(kept) == ["01-12 09:00#0", "01-11 08:00#0"]


def test_days_are_utc_calendar_days_counted_from_today():
    # D=1 means today only: yesterday 23:59 is not kept by the daily rule.
    bs = [at("01-12 00:01"), at("01-11 23:59")]
    kept, deleted = keep(bs, keep_last=1, keep_daily_days=1, now=NOW)
    assert names(kept) == ["01-12 00:01#0"] and names(deleted) == ["01-11 23:59#0"]


def test_future_backups_are_kept_and_do_not_count():
    future = B("future", NOW + timedelta(days=3))
    bs = [future, at("01-12 09:00"), at("01-12 08:00")]
    kept, deleted = keep(bs, keep_last=1, keep_daily_days=0, now=NOW)
    assert names(kept) == ["future", "01-12 09:00#0"]
    assert names(deleted) == ["01-12 08:00#0"]


def test_empty_list():
    assert keep([], keep_last=3, keep_daily_days=3, now=NOW) == ([], [])


@pytest.mark.parametrize("n,d", [(-1, 0), (0, -2), (1.5, 1), ("3", 1)])
def test_bad_policy_is_refused(n, d):
    with pytest.raises(ValueError, match="whole number"):
        Policy(n, d)
