"""FairGate: at most N holders, waiters served in arrival order, a killed waiter loses no slot."""
from __future__ import annotations

import threading
import time

import pytest

from app.gate import FairGate


def wait_until(check, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.001)


def test_waiters_get_the_slot_in_arrival_order():
    gate, order = FairGate(1), []
    gate.acquire()

    def waiter(i):
        with gate.held():
            order.append(i)

    threads = []
    for i in range(5):
        t = threading.Thread(target=waiter, args=(i,))
        t.start()
        wait_until(lambda n=i + 1: len(gate._waiters) == n)  # queued before the next one asks
        threads.append(t)
    gate.release()
    for t in threads:
        t.join(5)
    assert order == [0, 1, 2, 3, 4]
    assert gate._free == 1 and not gate._waiters


def test_no_more_than_n_holders():
    gate, inside, peak, lock = FairGate(3), [0], [0], threading.Lock()

    def work():
        with gate.held():
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.005)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert peak[0] == 3 and gate._free == 3


def test_a_waiter_killed_while_waiting_leaves_the_queue(monkeypatch):
    gate = FairGate(1)
    gate.acquire()

    class Killed(Exception):
        pass

    def die(self, timeout=None):
        raise Killed()

    monkeypatch.setattr(threading.Event, "wait", die)
    with pytest.raises(Killed):
        gate.acquire()
    assert not gate._waiters
    gate.release()
    assert gate._free == 1
