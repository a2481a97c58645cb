"""A failover as the Sentinels announced it: ClusterEvents in a history, read back, deduplicated."""
from harness.history import ClusterEvent, HistoryWriter, read_history
from chaos.report.cluster_events import failovers, marks, milestones

SWITCH = "caplab 127.0.0.1 16394 127.0.0.1 16395"
CONVERT = "slave 127.0.0.1:16394 127.0.0.1 16394 @ caplab 127.0.0.1 16395"


def events():
    e = lambda src, ev, detail, t: ClusterEvent(src, ev, detail, t, int(t * 1000))  # noqa: E731
    return [e("sentinel-1", "+sdown", "master caplab 127.0.0.1 16394", 10.1),
            e("sentinel-2", "+sdown", "master caplab 127.0.0.1 16394", 10.2),
            e("sentinel-2", "+switch-master", SWITCH, 12.5), e("sentinel-1", "+switch-master", SWITCH, 12.6),
            e("sentinel-3", "+switch-master", SWITCH, 12.7), e("sentinel-1", "+new-epoch", "3", 11.0),
            e("sentinel-3", "+convert-to-slave", CONVERT, 21.0)]


def test_cluster_events_round_trip_through_a_history(tmp_path):
    with HistoryWriter(tmp_path / "h.jsonl") as rec:
        for ev in events():
            rec.write(ev)
    assert read_history(tmp_path / "h.jsonl") == events()


def test_one_failover_however_many_sentinels_announce_it():
    assert failovers(events()) == [{"at_s": 12.5, "from": "127.0.0.1:16394", "to": "127.0.0.1:16395",
                                    "source": "sentinel-2"}]
    assert failovers([]) == []


def test_milestones_once_each_and_marks_for_the_plots():
    got = [(m["event"], m["source"]) for m in milestones(events())]
    assert got == [("+sdown", "sentinel-1"), ("+switch-master", "sentinel-2"), ("+convert-to-slave", "sentinel-3")]
    assert [(t, label) for t, label, _c in marks(events())] == [
        (12.5, "+switch-master -> :16395"), (21.0, "+convert-to-slave 127.0.0.1:16394")]
