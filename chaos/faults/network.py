"""Partitions: cut services off from nodes by refusing connections or by dropping traffic.

Modes, per proxy:
- "refuse": the proxy is disabled (enabled=false). Open connections are closed and new ones
  are refused at once, so clients fail fast.
- "blackhole": a `timeout` toxic with timeout=0 on both streams. Connections stay open and every
  byte is dropped, so clients wait until their own timeout.
- "upstream" / "downstream": a one-way black hole. "upstream" drops requests before they reach
  Redis; "downstream" lets Redis apply a command and drops its reply (the write's outcome is
  unknown to the client).
"""
from __future__ import annotations

import functools
from typing import Any, Iterable

from chaos.faults.base import EventCallback, Fault, Topology, as_proxies
from stack.toxiproxy import STREAMS, Toxiproxy, ToxiproxyError

MODES = ("refuse", "blackhole", "upstream", "downstream")


class ProxiesDown(Fault):
    """Disable proxies so connections through them are refused; re-enable them on stop."""

    kind = "refuse"

    def __init__(self, toxiproxy: Toxiproxy, proxies: str | Iterable[str], name: str | None = None,
                 on_event: EventCallback | None = None):
        self.toxiproxy = toxiproxy
        self.proxies = as_proxies(proxies)
        super().__init__(name or f"refuse_{'-'.join(self.proxies)}", on_event)

    def _apply(self) -> None:
        for proxy in self.proxies:
            # Leave a proxy that something else already disabled as it was, so faults nest.
            if self.toxiproxy.get_proxy(proxy).enabled:
                self._on_undo(f"re-enable proxy {proxy}",
                              functools.partial(_enable, self.toxiproxy, proxy))
                self.toxiproxy.set_enabled(proxy, False)

    def _details(self) -> dict[str, Any]:
        return {"proxies": list(self.proxies), "mechanism": "proxy enabled=false"}


class BlackHole(Fault):
    """Drop all traffic on the given streams of each proxy with a timeout=0 toxic."""

    kind = "blackhole"

    def __init__(self, toxiproxy: Toxiproxy, proxies: str | Iterable[str],
                 streams: Iterable[str] = STREAMS, name: str | None = None,
                 on_event: EventCallback | None = None):
        self.toxiproxy = toxiproxy
        self.proxies = as_proxies(proxies)
        self.streams = tuple(streams)
        bad = [s for s in self.streams if s not in STREAMS]
        if bad or not self.streams:
            raise ValueError(f"streams must be a non-empty subset of {STREAMS}, got {self.streams}")
        if len(self.streams) == 1:
            self.kind = f"one_way_{self.streams[0]}"
        super().__init__(name or f"blackhole_{'-'.join(self.proxies)}", on_event)

    def _apply(self) -> None:
        for proxy in self.proxies:
            for stream in self.streams:
                toxic = f"{self.name}_{stream}"
                self._on_undo(f"remove toxic {toxic} from {proxy}",
                              functools.partial(remove_toxic_if_present, self.toxiproxy, proxy, toxic))
                self.toxiproxy.add_toxic(proxy, "timeout", {"timeout": 0}, stream=stream, name=toxic)

    def _details(self) -> dict[str, Any]:
        return {"proxies": list(self.proxies), "streams": list(self.streams),
                "mechanism": "timeout toxic, timeout=0"}


def remove_toxic_if_present(toxiproxy: Toxiproxy, proxy: str, toxic: str) -> None:
    """Remove a toxic; one already gone (a reset, a deleted proxy) counts as removed."""
    try:
        toxiproxy.remove_toxic(proxy, toxic)
    except ToxiproxyError as err:
        if err.status != 404:
            raise


def _enable(toxiproxy: Toxiproxy, proxy: str) -> None:
    try:
        toxiproxy.set_enabled(proxy, True)
    except ToxiproxyError as err:
        if err.status != 404:  # a deleted proxy carries no traffic to heal
            raise


def partition(toxiproxy: Toxiproxy, proxies: str | Iterable[str], mode: str = "refuse",
              name: str | None = None, on_event: EventCallback | None = None) -> Fault:
    """Cut the given proxies in one of MODES."""
    if mode == "refuse":
        return ProxiesDown(toxiproxy, proxies, name=name, on_event=on_event)
    if mode == "blackhole":
        return BlackHole(toxiproxy, proxies, name=name, on_event=on_event)
    if mode in STREAMS:
        return BlackHole(toxiproxy, proxies, streams=(mode,), name=name, on_event=on_event)
    raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


def cut_service_from_node(toxiproxy: Toxiproxy, topology: Topology, service: str, node: str,
                          mode: str = "refuse", on_event: EventCallback | None = None) -> Fault:
    """Cut one service off from one node; the other services still reach it."""
    return partition(toxiproxy, topology.link(service, node), mode,
                     name=f"cut_{service}_{node}_{mode}", on_event=on_event)


def cut_node_off(toxiproxy: Toxiproxy, topology: Topology, node: str,
                 services: Iterable[str] = ("cp", "ap"), mode: str = "refuse",
                 on_event: EventCallback | None = None) -> Fault:
    """Cut both services (cp and ap by default) off from one node."""
    return partition(toxiproxy, topology.links_to_node(node, services), mode,
                     name=f"cut_off_{node}_{mode}", on_event=on_event)
