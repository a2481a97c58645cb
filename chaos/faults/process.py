"""Process faults on a Redis node: kill -9 and restart; pause with SIGSTOP and resume with SIGCONT.

A SIGSTOPped redis-server still accepts TCP connections (the kernel does), so clients connect and
then time out on reads; a killed one refuses connections until it is restarted.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from chaos.faults import ledger
from chaos.faults.base import EventCallback, Fault, FaultError, Node


class _ProcessFault(Fault):
    def __init__(self, node: Node, state_dir: str | os.PathLike[str] | None, name: str,
                 on_event: EventCallback | None):
        self.node = node
        self.state_dir = state_dir
        self.pid: int | None = None
        super().__init__(name, on_event)

    def _running_pid(self) -> int:
        pid = self.node.pid
        if pid is None or ledger.process_state(pid) in (None, "Z"):
            raise FaultError(f"node {self.node.name!r} is not running (pid {pid}); "
                             f"start it before injecting {self.kind}")
        return pid

    def _record(self, pid: int) -> None:
        """Write the ledger entry (if there is a state dir) and schedule its removal."""
        if self.state_dir is None:
            return
        entry = {"kind": self.kind, "fault": self.name, "node": self.node.name, "pid": pid,
                 "pid_start_time": ledger.process_start_time(pid), "started_at": time.time()}
        if getattr(self.node, "container", None):  # heal unpauses a container, not a pid
            entry["container"] = self.node.container
        path = ledger.write_entry(self.state_dir, f"{self.kind}-{self.node.name}-{pid}", entry)
        self._on_undo(f"remove ledger entry {path}", lambda p=Path(path): ledger.remove_entry(p))

    def _details(self) -> dict[str, Any]:
        return {"node": self.node.name, "pid": self.pid}


class KillNode(_ProcessFault):
    """SIGKILL a node (no clean shutdown); start it again on stop."""

    kind = "kill"

    def __init__(self, node: Node, state_dir: str | os.PathLike[str] | None,
                 name: str | None = None, on_event: EventCallback | None = None):
        super().__init__(node, state_dir, name or f"kill_{node.name}", on_event)

    def _apply(self) -> None:
        self.pid = self._running_pid()
        self._record(self.pid)
        self._on_undo(f"restart node {self.node.name}", self.node.start)
        self.node.kill()
        if ledger.process_state(self.pid) not in (None, "Z"):
            raise FaultError(f"node {self.node.name!r} (pid {self.pid}) is still running after kill()")


class PauseNode(_ProcessFault):
    """Freeze a node with SIGSTOP (a container with `podman pause`); resume it on stop."""

    kind = "pause"

    def __init__(self, node: Node, state_dir: str | os.PathLike[str] | None,
                 name: str | None = None, on_event: EventCallback | None = None,
                 confirm_timeout_sec: float = 1.0):
        self.confirm_timeout_sec = confirm_timeout_sec
        super().__init__(node, state_dir, name or f"pause_{node.name}", on_event)

    def _apply(self) -> None:
        pid = self.pid = self._running_pid()
        self._record(pid)
        if getattr(self.node, "container", None):  # a node in a container: `podman pause` freezes it
            self._on_undo(f"unpause container {self.node.container}", self.node.resume)
            self.node.pause()
            return
        self._on_undo(f"resume pid {pid} of node {self.node.name}", lambda: resume_pid(pid))
        os.kill(pid, signal.SIGSTOP)
        deadline = time.monotonic() + self.confirm_timeout_sec
        while ledger.process_state(pid) != "T":
            if time.monotonic() > deadline:
                raise FaultError(f"node {self.node.name!r} (pid {pid}) is not stopped "
                                 f"{self.confirm_timeout_sec} s after SIGSTOP")
            time.sleep(0.005)


def resume_pid(pid: int) -> None:
    """SIGCONT a pid; one that is already gone counts as resumed."""
    try:
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        pass


class NodeHandle:
    """Adapt a stack RedisNode to the fault Node protocol under its short name (g2, not redis-g2)."""

    def __init__(self, name: str, node):
        self.name, self._node = name, node

    @property
    def pid(self):
        return self._node.pid

    def kill(self) -> None:
        self._node.kill()

    def start(self) -> None:
        self._node.start()

    @property
    def container(self):
        """The node's container (the compose target), else None: pause then freezes the container."""
        return getattr(self._node, "container", None)

    def pause(self) -> None:
        self._node.pause()

    def resume(self) -> None:
        self._node.resume()
