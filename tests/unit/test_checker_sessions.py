"""The session checkers (read-your-writes, monotonic reads) on hand-written good and bad histories."""
from chaos.checkers import CHECKERS, monotonic_reads, read_your_writes
from tests.unit.histories import H


def ryw_bad():
    # Session s1 writes v2 (acknowledged at t=2), then reads v1 through another instance at t=3.
    return (H("ap").write(1, "k", "v1", 0, 1, version="1000.0.1", session="s1")
            .write(1, "k", "v2", 1.5, 2, version="2000.0.1", session="s1", instance="ap1")
            .read(1, "k", "v1", 3, 3.1, version="1000.0.1", session="s1", instance="ap2"))


def test_ryw_catches_a_read_older_than_the_sessions_own_write():
    v = read_your_writes.check(ryw_bad().build())
    assert v.valid == "invalid" and v.figures["violations"] == 1 and v.figures["judged"] == 1
    assert v.evidence[0]["missed"] == "2000.0.1" and v.evidence[0]["instance"] == "ap2"
    assert v.figures["by_instance"] == {"ap2": 1}


def test_ryw_catches_an_absent_key_after_the_sessions_write():
    h = H("ap").write(1, "k", "v1", 0, 1, version="1000.0.1", session="s1").read(1, "k", None, 2, 2.1, session="s1")
    assert read_your_writes.check(h.build()).valid == "invalid"


def test_ryw_good_history_own_write_or_newer():
    h = (ryw_bad().read(1, "k", "v2", 4, 4.1, version="2000.0.1", session="s1")
         .write(2, "k", "v3", 4.2, 4.3, version="3000.0.1", session="s2")
         .read(1, "k", "v3", 5, 5.1, version="3000.0.1", session="s1"))
    events = [e for e in h.build() if not (e.time in (3, 3.1))]  # drop the stale read
    v = read_your_writes.check(events)
    assert v.valid == "valid" and v.figures["judged"] == 2 and v.figures["violations"] == 0


def test_ryw_other_sessions_writes_do_not_bind_and_unknown_writes_do_not_count():
    h = (H("ap").write(1, "k", "v2", 0, 1, version="2000.0.1", session="s1")
         .read(2, "k", "v1", 2, 2.1, version="1000.0.1", session="s2")  # s2 never wrote k
         .write(3, "j", "x", 0, 1, type="info", session="s3").read(3, "j", None, 2, 2.1, session="s3"))
    v = read_your_writes.check(h.build())
    assert v.valid == "unknown" and v.figures["judged"] == 0


def test_ryw_unknown_without_sessions():
    v = read_your_writes.check(H("ap").write(1, "k", "v1", 0, 1, version="1000.0.1")
                               .read(1, "k", None, 2, 3).build())
    assert v.valid == "unknown" and "no session" in v.summary


def test_ryw_min_violations_predicts_them():
    assert read_your_writes.check(ryw_bad().build(), min_violations=1).valid == "valid"
    assert read_your_writes.check(ryw_bad().build(), min_violations=2).valid == "invalid"
    assert read_your_writes.check(ryw_bad().build(), max_violations=1).valid == "valid"


def mr_bad():
    # Session s1 reads v2, then v1 of the same key: time went backwards.
    return (H("ap").write(9, "k", "v2", 0, 1, version="2000.0.1", session="w")
            .read(1, "k", "v2", 2, 2.1, version="2000.0.1", session="s1", instance="ap1")
            .read(1, "k", "v1", 3, 3.1, version="1000.0.1", session="s1", instance="ap2"))


def test_monotonic_reads_catches_an_older_read():
    v = monotonic_reads.check(mr_bad().build())
    assert v.valid == "invalid" and v.figures["violations"] == 1
    assert v.evidence[0]["older_than"] == "2000.0.1" and v.evidence[0]["earlier_read"]["instance"] == "ap1"


def test_monotonic_reads_catches_absent_after_present():
    h = H("ap").read(1, "k", "v2", 2, 2.1, version="2000.0.1", session="s1").read(1, "k", None, 3, 3.1, session="s1")
    assert monotonic_reads.check(h.build()).valid == "invalid"


def test_monotonic_reads_good_history_and_per_session():
    h = (H("ap").read(1, "k", None, 0, 0.1, session="s1")
         .read(1, "k", "v1", 1, 1.1, version="1000.0.1", session="s1")
         .read(1, "k", "v2", 2, 2.1, version="2000.0.1", session="s1")
         .read(1, "k", "v2", 3, 3.1, version="2000.0.1", session="s1")
         .read(2, "k", "v1", 4, 4.1, version="1000.0.1", session="s2")  # another session: no bind
         .read(1, "j", "v0", 5, 5.1, version="500.0.1", session="s1"))  # another key
    v = monotonic_reads.check(h.build())
    assert v.valid == "valid" and v.figures["judged"] == 2 and v.figures["sessions"] == 2


def test_monotonic_reads_unknown_when_no_key_is_read_twice():
    h = H("ap").read(1, "k", "v1", 0, 0.1, version="1000.0.1", session="s1")
    assert monotonic_reads.check(h.build()).valid == "unknown"
    assert monotonic_reads.check([]).valid == "unknown"


def test_service_filter_and_registry():
    assert monotonic_reads.check(mr_bad().build(), service="cp").valid == "unknown"
    assert CHECKERS["read_your_writes"] is read_your_writes.check
    assert CHECKERS["monotonic_reads"] is monotonic_reads.check
