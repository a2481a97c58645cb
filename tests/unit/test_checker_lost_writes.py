"""The lost-writes checker finds acknowledged writes missing from the final state."""
from chaos.checkers import lost_writes
from tests.unit.histories import H


def base():
    return (H("ap").write(1, "a", "x", 0, 1, version="1000.0.1").write(1, "b", "y", 2, 3, version="3000.0.1")
            .write(2, "a", "z", 4, 5, version="5000.0.2"))


def test_present_and_superseded_writes_are_valid():
    h = base().snapshot(10, "g1", {"a": ("z", "5000.0.2"), "b": ("y", "3000.0.1")})
    h.snapshot(10, "g2", {"a": ("z", "5000.0.2"), "b": ("y", "3000.0.1")})
    v = lost_writes.check(h.build())
    assert v.valid == "valid"
    assert (v.figures["acknowledged"], v.figures["present"], v.figures["superseded"], v.figures["lost"]) == (3, 2, 1, 0)


def test_missing_acknowledged_write_is_lost():
    h = base().snapshot(10, "g1", {"a": ("z", "5000.0.2")}).snapshot(10, "g2", {"a": ("x", "1000.0.1")})
    v = lost_writes.check(h.build())
    assert v.valid == "invalid" and v.figures["lost"] == 1
    assert v.evidence[0]["key"] == "b" and v.evidence[0]["final"] == {"g1": None, "g2": None}


def test_older_version_in_final_state_is_lost():
    h = base().snapshot(10, "g1", {"a": ("x", "1000.0.1"), "b": ("y", "3000.0.1")})
    v = lost_writes.check(h.build())
    assert v.valid == "invalid" and [e["value"] for e in v.evidence] == ["z"]


def test_any_node_suffices_unless_all_are_required():
    h = base().snapshot(10, "g1", {"a": ("z", "5000.0.2"), "b": ("y", "3000.0.1")})
    h.snapshot(10, "g2", {"a": ("z", "5000.0.2")})
    assert lost_writes.check(h.build()).valid == "valid"
    assert lost_writes.check(h.build(), nodes="all").valid == "invalid"


def test_only_the_last_round_counts():
    h = base().snapshot(8, "g1", {"a": ("z", "5000.0.2"), "b": ("y", "3000.0.1")})
    h.snapshot(10, "g1", {"a": ("z", "5000.0.2")})
    assert lost_writes.check(h.build()).valid == "invalid"


def test_info_and_failed_writes_are_not_owed():
    h = (H("ap").write(1, "a", "x", 0, 1, type="info").write(2, "b", "y", 0, 1, type="fail")
         .write(3, "c", "z", 0, 1, version="1000.0.1").snapshot(10, "g1", {"c": ("z", "1000.0.1")}))
    v = lost_writes.check(h.build())
    assert v.valid == "valid" and v.figures["acknowledged"] == 1


def test_no_acknowledged_write_is_unknown():
    h = (H("ap").write(1, "a", "x", 0, 1, type="info").write(2, "b", "y", 0, 1, type="fail")
         .snapshot(10, "g1", {}))
    v = lost_writes.check(h.build())
    assert v.valid == "unknown" and v.figures["acknowledged"] == 0 and "nothing could be lost" in v.summary


def test_same_version_with_another_value_is_lost():
    h = H("ap").write(1, "a", "x", 0, 1, version="1000.0.1").snapshot(10, "g1", {"a": ("q", "1000.0.1")})
    assert lost_writes.check(h.build()).valid == "invalid"


def test_unversioned_acks_and_missing_snapshots_are_unknown():
    assert lost_writes.check(base().build()).valid == "unknown"
    h = H("ap").write(1, "a", "x", 0, 1).snapshot(10, "g1", {"a": ("x", "1000.0.1")})
    assert lost_writes.check(h.build()).valid == "unknown"


def test_lost_writes_are_counted_per_service():
    h = base().snapshot(10, "g1", {"a": ("z", "5000.0.2")})
    v = lost_writes.check(h.build())
    assert v.figures["by_service"] == {"ap": {"acknowledged": 3, "lost": 1}}
