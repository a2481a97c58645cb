"""The fault protocol, the scope's signal handling, the ledger and heal, without any server."""
from __future__ import annotations

import os
import signal

import pytest

from chaos.faults import (Fault, FaultError, FaultScope, HealError, NoFault, Terminated, Topology,
                          heal, partition, proxy_name)
from chaos.faults import ledger
from stack.toxiproxy import Toxiproxy


class Steps(Fault):
    """A fault whose steps only write to a shared log; `fail_undo` makes named undo steps fail."""

    def __init__(self, log, steps=("a", "b"), fail_apply_at=None, fail_undo=(), **kw):
        self.log, self.steps, self.fail_apply_at, self.fail_undo = log, steps, fail_apply_at, set(fail_undo)
        super().__init__("steps", **kw)

    def _apply(self):
        for step in self.steps:
            if step == self.fail_apply_at:
                raise RuntimeError(f"cannot {step}")
            self.log.append(f"do {step}")
            self._on_undo(step, lambda s=step: self._undo_one(s))

    def _undo_one(self, step):
        if step in self.fail_undo:
            raise RuntimeError(f"cannot undo {step}")
        self.log.append(f"undo {step}")


def test_topology_names_one_proxy_per_service_and_node():
    topo = Topology(services=["cp", "ap"], nodes=["g1", "g2", "g3"])
    assert proxy_name("cp", "g1") == topo.link("cp", "g1") == "cp_g1"
    assert topo.links_to_node("g2") == ["cp_g2", "ap_g2"]
    assert topo.links_from_service("ap") == ["ap_g1", "ap_g2", "ap_g3"]
    assert len(topo.all_links()) == 6
    with pytest.raises(ValueError, match="unknown node 'g9'"):
        topo.link("cp", "g9")
    assert Topology().all_links() == ["cp_g1", "cp_g2", "ap_g1", "ap_g2"]


def test_undo_runs_in_reverse_and_stop_is_idempotent():
    log, events = [], []
    fault = Steps(log, on_event=lambda f, phase: events.append(phase))
    with fault:
        assert fault.active
    fault.stop()
    assert log == ["do a", "do b", "undo b", "undo a"]
    assert events == ["starting", "start", "stopping", "stop"]


def test_failed_start_undoes_what_was_done():
    log = []
    fault = Steps(log, steps=("a", "b", "c"), fail_apply_at="c")
    with pytest.raises(RuntimeError, match="cannot c"):
        fault.start()
    assert log == ["do a", "do b", "undo b", "undo a"] and not fault.active


def test_failed_undo_keeps_the_remaining_steps_for_the_next_stop():
    log = []
    fault = Steps(log, fail_undo={"b"})
    fault.start()
    with pytest.raises(FaultError, match="not fully undone.*cannot undo b"):
        fault.stop()
    assert fault.active and log[-1] == "undo a"
    fault.fail_undo.clear()
    fault.stop()
    assert not fault.active and log[-1] == "undo b"


def test_a_recorder_that_fails_on_stopping_still_undoes_the_fault():
    def broken(fault, phase):
        if phase == "stopping":
            raise OSError("disk full")
    log = []
    fault = Steps(log, on_event=broken).start()
    with pytest.raises(OSError):
        fault.stop()
    assert not fault.active and log[-1] == "undo a"


def test_a_failed_start_reports_its_invoke_and_no_completion():
    events = []
    fault = Steps([], steps=("a", "b"), fail_apply_at="b", on_event=lambda f, phase: events.append(phase))
    with pytest.raises(RuntimeError):
        fault.start()
    assert events == ["starting"] and not fault.active


def test_double_start_is_refused():
    fault = NoFault()
    with fault:
        with pytest.raises(FaultError, match="already active"):
            fault.start()


def test_a_recorder_that_fails_on_start_does_not_leave_the_fault_active():
    def broken(fault, phase):
        if phase == "start":
            raise OSError("disk full")
    log = []
    fault = Steps(log, on_event=broken)
    with pytest.raises(OSError):
        fault.start()
    assert not fault.active and log[-1] == "undo a"


@pytest.mark.parametrize("signum, raised", [(signal.SIGTERM, Terminated),
                                            (signal.SIGINT, KeyboardInterrupt)])
def test_signals_inside_a_scope_stop_the_faults_and_restore_handlers(signum, raised):
    log = []
    before = signal.getsignal(signum)
    with pytest.raises(raised):
        with FaultScope(Steps(log)):
            os.kill(os.getpid(), signum)
            pytest.fail("the signal should have interrupted the block")
    assert log == ["do a", "do b", "undo b", "undo a"]
    assert signal.getsignal(signum) is before


def test_a_signal_during_stop_waits_until_faults_are_undone():
    log = []

    class SignalledWhileUndoing(Steps):
        def _undo_one(self, step):
            if step == "b":
                os.kill(os.getpid(), signal.SIGTERM)
            super()._undo_one(step)

    with pytest.raises(Terminated) as info:
        with FaultScope(SignalledWhileUndoing(log)):
            pass
    assert log[-2:] == ["undo b", "undo a"] and info.value.code == 143


def test_scope_stops_faults_started_later_in_reverse_order():
    log = []
    with FaultScope() as scope:
        scope.start(Steps(log, steps=("x",)))
        scope.start(Steps(log, steps=("y",)))
    assert log == ["do x", "do y", "undo y", "undo x"]


def test_partition_and_flapping_reject_bad_arguments():
    from chaos.faults import FlappingLink
    tp = Toxiproxy("http://127.0.0.1:1")
    with pytest.raises(ValueError, match="mode must be one of"):
        partition(tp, "cp_g1", mode="sideways")
    with pytest.raises(ValueError, match="down_sec"):
        FlappingLink(tp, "cp_g1", period_sec=0.3, down_sec=0.5)
    with pytest.raises(ValueError, match="at least one proxy"):
        partition(tp, [], mode="refuse")


def test_heal_reads_the_ledger(tmp_path):
    dead_pid = 2 ** 22 + 17  # above the default pid_max: never a live process
    ledger.write_entry(tmp_path, "kill-g2-1", {"kind": "kill", "node": "g2", "pid": 1})
    ledger.write_entry(tmp_path, "pause-g1-x", {"kind": "pause", "node": "g1", "pid": dead_pid})
    report = heal(None, tmp_path)
    assert report.nodes_to_restart == ["g2"] and report.resumed == []
    assert report.notes == [f"paused node g1 (pid {dead_pid}) is gone; nothing to resume"]
    assert ledger.read_entries(tmp_path) == []


def test_heal_leaves_a_foreign_pid_alone(tmp_path):
    # Our own pid is alive but is not a redis-server: it must not get SIGCONT from heal.
    ledger.write_entry(tmp_path, "p", {"kind": "pause", "node": "g1", "pid": os.getpid()})
    report = heal(None, tmp_path)
    assert report.resumed == [] and "belongs to another process" in report.notes[0]


def test_heal_raises_on_an_unreadable_entry(tmp_path):
    ledger.ledger_dir(tmp_path).mkdir(parents=True)
    (ledger.ledger_dir(tmp_path) / "bad.json").write_text("{not json")
    with pytest.raises(HealError, match="unreadable ledger entry"):
        heal(None, tmp_path)
    assert not heal(None, tmp_path, raise_on_error=False).ok


def test_flapping_start_completes_only_once_the_first_cut_is_in_place():
    from chaos.faults import FlappingLink
    events = []
    fault = FlappingLink(Toxiproxy("http://127.0.0.1:1"), "cp_g1", period_sec=0.4,
                         on_event=lambda f, phase: events.append(phase))
    with pytest.raises(FaultError, match="could not make its first cut"):
        fault.start()  # nothing listens on port 1: the first cut cannot be made
    assert not fault.active and events == ["starting"]
