"""Versions are totally ordered; the hybrid clock never goes back and moves past what it sees."""
from __future__ import annotations

import pytest

from app.records import HybridClock, Record, Version, record_from_fields


def test_version_order_and_text():
    assert Version(5, 0, 1) < Version(5, 1, 0) < Version(6, 0, 0)
    assert Version(5, 1, 1) < Version(5, 1, 2)  # writer id breaks ties
    v = Version(1795453006252, 3, 29688206429756)
    assert Version.parse(str(v)) == v


@pytest.mark.parametrize("bad", ["", "1.2", "a.b.c", "1.2.3.4", "-1.2.3", "1.2.x"])
def test_version_parse_refuses_garbage(bad):
    with pytest.raises(ValueError, match="not a version"):
        Version.parse(bad)


def test_clock_is_monotonic_when_the_wall_clock_stalls_or_goes_back():
    walls = iter([100, 100, 99, 101])
    clock = HybridClock(writer=7, now_ms=lambda: next(walls))
    got = [clock.tick() for _ in range(4)]
    assert got == [Version(100, 0, 7), Version(100, 1, 7), Version(100, 2, 7), Version(101, 0, 7)]


def test_clock_moves_past_observed_and_requested_versions():
    clock = HybridClock(writer=1, now_ms=lambda: 10)
    clock.observe(Version(50, 4, 9))
    assert clock.tick() == Version(50, 5, 1)
    assert clock.tick(above=Version(70, 0, 2)) == Version(70, 1, 1)


def test_record_from_fields():
    assert record_from_fields([None] * 6) is None
    rec = record_from_fields([b"v", b"5", b"1", b"9", b"123", b"ap-1"])
    assert rec == Record("v", Version(5, 1, 9), 123, "ap-1")
