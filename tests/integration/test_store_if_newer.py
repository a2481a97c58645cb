"""An older version never overwrites a newer one, on direct writes, replays and repairs."""
from __future__ import annotations

import pytest

from app import hints
from app.config import load_settings
from app.nodes import Node
from app.records import Record, Version, hints_key, record_args, record_from_fields, record_key, RECORD_FIELDS

pytestmark = pytest.mark.integration


@pytest.fixture
def nodes(live):
    """Direct Node objects (no proxy) on g1 and g2 of the live stack."""
    cfg = live.config
    settings = load_settings({"APP_MODE": "ap", "SECRET_KEY": "0123456789abcdef" * 2,
                              "REDIS_PASSWORD": cfg.secrets()["REDIS_PASSWORD"],
                              "REDIS_NODES": ",".join(f"{n}=127.0.0.1:{cfg.redis_port(n)}" for n in cfg.nodes)})
    made = [Node(a, settings) for a in settings.nodes]
    yield made
    for n in made:
        n.close()


def rec(value, ms, c=0, w=1):
    return Record(value, Version(ms, c, w), ms, f"w{w}")


def store(node, key, r, hinted=()):
    args = record_args(r, r.written_at, key) if hinted else record_args(r)
    return [int(x) for x in node.store_script(keys=[record_key(key)] + [hints_key(h) for h in hinted], args=args)]


def read(node, key):
    return record_from_fields(node.client.hmget(record_key(key), *RECORD_FIELDS))


def test_newer_wins_older_is_refused_equal_is_idempotent(nodes):
    g1 = nodes[0]
    assert store(g1, "k", rec("new", 200)) == [1]
    assert store(g1, "k", rec("old", 100)) == [0, 200, 0, 1]
    assert store(g1, "k", rec("tie-lower-writer", 200, 0, 0))[0] == 0
    assert store(g1, "k", rec("new", 200)) == [2]
    assert read(g1, "k").value == "new"
    assert store(g1, "k", rec("newer", 200, 1)) == [1]
    assert read(g1, "k") == rec("newer", 200, 1)


def test_replay_never_rolls_a_node_back(nodes):
    g1, g2 = nodes
    store(g1, "h", rec("v1", 100), hinted=["g2"])  # g2 missed v1
    store(g2, "h", rec("v2", 300))                  # ...but later got a newer write directly
    assert hints.replay_hints(nodes, g2) == 1
    assert read(g2, "h").value == "v2"             # the replay of v1 did not overwrite v2
    assert g1.client.zcard(hints_key("g2")) == 0     # and the hint is done


def test_hint_survives_a_newer_write_that_lands_during_replay(nodes):
    g1, g2 = nodes
    store(g1, "r", rec("a", 100), hinted=["g2"])
    # Simulate the race: the holder gets a newer write (also missing g2) after the replay read.
    records = [read(g1, "r")]
    store(g1, "r", rec("b", 200), hinted=["g2"])
    v = records[0].version
    g1.drop_hint_script(keys=[hints_key("g2"), record_key("r")], args=["r", v.wall_ms, v.counter, v.writer])
    assert g1.client.zcard(hints_key("g2")) == 1   # b still has to reach g2
    assert hints.replay_hints(nodes, g2) == 1 and read(g2, "r").value == "b"


def test_hint_keeps_the_first_missed_write_time(nodes):
    g1 = nodes[0]
    store(g1, "t", rec("a", 100), hinted=["g2"])
    store(g1, "t", rec("b", 500), hinted=["g2"])
    assert g1.client.zscore(hints_key("g2"), "t") == 100


def test_repair_copies_only_newer(nodes):
    g1, g2 = nodes
    store(g1, "x", rec("g1-newer", 300))
    store(g2, "x", rec("g2-older", 100))
    store(g2, "y", rec("only-g2", 100))
    result = hints.repair(nodes)
    assert result["keys"] == 2 and result["copied"] == {"g1": 1, "g2": 1}
    assert read(g2, "x").value == "g1-newer" and read(g1, "y").value == "only-g2"
    assert hints.repair(nodes)["copied"] == {"g1": 0, "g2": 0}  # idempotent
