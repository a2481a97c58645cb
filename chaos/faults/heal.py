"""Heal: remove every fault caplab knows about, including those left behind by a killed run.

Network faults live only in Toxiproxy, so `/reset` removes them all (every toxic gone, every
proxy enabled). Process faults are read from the ledger in the state dir: paused Redis servers
are resumed; killed ones are reported so the stack can restart them.
The future CLI entry is `python -m chaos heal`.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from chaos.faults import ledger
from chaos.faults.base import FaultError
from chaos.faults.process import resume_pid
from stack.target import node_of, state_dir
from stack.toxiproxy import Toxiproxy, ToxiproxyError

REDIS_PROCESS_NAME = "redis-server"


@dataclass
class HealReport:
    """What heal() did, as plain data."""

    proxies_reset: list[str] = field(default_factory=list)  # proxies confirmed clean after /reset
    resumed: list[str] = field(default_factory=list)         # "g2 (pid 1234)" sent SIGCONT
    nodes_to_restart: list[str] = field(default_factory=list)  # killed nodes: the stack restarts them
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


class HealError(FaultError):
    """heal() could not remove every fault; `.report` says what it did and what failed."""

    def __init__(self, report: HealReport):
        super().__init__("heal did not finish: " + "; ".join(report.errors))
        self.report = report


def heal(toxiproxy: Toxiproxy | None, state_dir: str | os.PathLike[str] | None,
         *, raise_on_error: bool = True) -> HealReport:
    """Reset Toxiproxy, resume paused nodes, list killed ones; raise HealError if anything failed."""
    report = HealReport()
    if toxiproxy is not None:
        _heal_network(toxiproxy, report)
    if state_dir is not None:
        _heal_processes(state_dir, report)
    if raise_on_error and not report.ok:
        raise HealError(report)
    return report


def heal_stack(stack, toxiproxy: Toxiproxy | None) -> HealReport:
    """heal() for one stack, then restart the nodes a kill left down; never raises.

    The one place a heal restarts nodes: the run's nemesis, `python -m chaos heal` and the Chaos
    Toolkit extension's `heal` all call it. ``toxiproxy`` None skips the network (nothing runs)."""
    report = heal(toxiproxy, state_dir(stack), raise_on_error=False)
    for name in report.nodes_to_restart:
        try:
            node_of(stack, name).start()
            report.notes.append(f"restarted node {name}")
        except Exception as err:  # noqa: BLE001 - a node that cannot start is reported, the heal goes on
            report.errors.append(f"could not restart node {name}: {err}")
    return report


def _heal_network(toxiproxy: Toxiproxy, report: HealReport) -> None:
    try:
        toxiproxy.reset()
        for name, proxy in sorted(toxiproxy.proxies().items()):
            if not proxy.enabled:  # /reset enables proxies; make sure, and say so if not
                toxiproxy.set_enabled(name, True)
            if proxy.toxics:
                report.errors.append(f"proxy {name} still has toxics after /reset: "
                                     f"{[t.name for t in proxy.toxics]}")
                continue
            report.proxies_reset.append(name)
    except ToxiproxyError as err:
        report.errors.append(f"network faults not healed: {err}")


def _heal_processes(state_dir: str | os.PathLike[str], report: HealReport) -> None:
    for path, entry in ledger.read_entries(state_dir):
        if entry is None:
            report.errors.append(f"unreadable ledger entry {path}; inspect it and delete it")
            continue
        node, pid, kind = entry.get("node"), entry.get("pid"), entry.get("kind")
        if kind == "kill":
            report.nodes_to_restart.append(node)
        elif kind == "pause" and entry.get("container"):
            _unpause(node, entry["container"], report)
        elif kind == "pause":
            _resume(node, pid, entry.get("pid_start_time"), report)
        else:
            report.errors.append(f"ledger entry {path} has an unknown kind {kind!r}")
            continue
        ledger.remove_entry(path)


def _resume(node: str, pid: int, start_time: int | None, report: HealReport) -> None:
    name = ledger.process_name(pid)
    if name is None:
        report.notes.append(f"paused node {node} (pid {pid}) is gone; nothing to resume")
    elif name != REDIS_PROCESS_NAME or (start_time is not None
                                        and ledger.process_start_time(pid) != start_time):
        report.notes.append(f"pid {pid} of paused node {node} now belongs to another process "
                            f"({name}); left alone")
    else:
        try:
            resume_pid(pid)
            report.resumed.append(f"{node} (pid {pid})")
        except OSError as err:
            report.errors.append(f"could not resume node {node} (pid {pid}): {err}")


def _unpause(node: str, container: str, report: HealReport) -> None:
    """Unpause a node's container (the compose target); one that is not paused is left as it is."""
    from stack.compose import podman
    state = podman("inspect", "--format", "{{.State.Status}}", container, check=False)
    if state.returncode != 0:
        report.notes.append(f"container {container} of paused node {node} is gone; nothing to unpause")
    elif state.stdout.strip() != "paused":
        report.notes.append(f"container {container} of node {node} is {state.stdout.strip()}, not paused")
    else:
        proc = podman("unpause", container, check=False)
        if proc.returncode == 0:
            report.resumed.append(f"{node} (container {container})")
        else:
            report.errors.append(f"could not unpause {container} of node {node}: {proc.stderr.strip()}")
