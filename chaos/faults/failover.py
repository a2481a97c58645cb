"""Faults that make Sentinel fail over: the native primary isolated, or killed.

Which node is primary is decided when the fault starts: the node a majority of the Sentinels name.
- ``IsolatePrimary`` cuts the primary's peer proxy, its only link to its replicas and the Sentinels;
  its client proxy stays up, so the native service keeps writing to it (Jepsen's minority primary).
  After ``down-after-milliseconds`` the Sentinels agree it is down and promote a replica; on heal
  they demote it (``+convert-to-slave``) and it resyncs from the new primary, dropping every write
  it acknowledged alone.
- ``KillPrimary`` kill -9s it; it is started again when the fault stops and rejoins as a replica.
"""
from __future__ import annotations

from typing import Any

from chaos.faults.base import EventCallback, Fault, FaultError
from chaos.faults.network import partition
from chaos.faults.process import KillNode, NodeHandle
from stack.native import peer_proxy


class _PrimaryFault(Fault):
    def __init__(self, native, name: str, on_event: EventCallback | None):
        self.native = native
        self.primary: str | None = None
        self.inner: Fault | None = None
        super().__init__(name, on_event)

    def _find_primary(self) -> str:
        primary = self.native.primary()
        if primary is None:
            raise FaultError("the Sentinels do not agree on a primary (a failover under way?); "
                             "start the fault once `make status NATIVE=1` names one")
        return primary

    def _run(self, inner: Fault) -> None:
        self.inner = inner
        self._on_undo(f"undo {inner.name}", inner.stop)
        inner.start()

    def _details(self) -> dict[str, Any]:
        return {"primary": self.primary, **(self.inner.describe() if self.inner else {})}


class IsolatePrimary(_PrimaryFault):
    """Cut the native primary off from its replicas and the Sentinels; clients still reach it."""

    kind = "isolate_primary"

    def __init__(self, toxiproxy, native, mode: str = "blackhole", name: str | None = None,
                 on_event: EventCallback | None = None):
        self.toxiproxy, self.mode = toxiproxy, mode
        super().__init__(native, name or f"isolate_primary_{mode}", on_event)

    def _apply(self) -> None:
        self.primary = self._find_primary()
        self._run(partition(self.toxiproxy, [peer_proxy(self.primary)], self.mode,
                            name=f"isolate_{self.primary}_{self.mode}"))


class KillPrimary(_PrimaryFault):
    """kill -9 the native primary; start it again (it rejoins as a replica) when the fault stops."""

    kind = "kill_primary"

    def __init__(self, native, state_dir, name: str | None = None, on_event: EventCallback | None = None):
        self.state_dir = state_dir
        super().__init__(native, name or "kill_primary", on_event)

    def _apply(self) -> None:
        self.primary = self._find_primary()
        self._run(KillNode(NodeHandle(self.primary, self.native.nodes[self.primary]), self.state_dir))
