"""Degraded links: one Toxiproxy toxic (latency, bandwidth, ...) on each of a set of proxies.

Each toxic acts on one stream: "downstream" is Redis -> service (replies), "upstream" is
service -> Redis (requests). `toxicity` is the fraction of connections the toxic applies to.
"""
from __future__ import annotations

import functools
from typing import Any, Iterable

from chaos.faults.base import EventCallback, Fault, FaultError, as_proxies
from chaos.faults.network import remove_toxic_if_present
from stack.toxiproxy import Toxiproxy


class ToxicFault(Fault):
    """Add one toxic, named after the fault, to each proxy; remove it on stop."""

    def __init__(self, toxiproxy: Toxiproxy, proxies: str | Iterable[str], toxic_type: str,
                 attributes: dict[str, Any], stream: str = "downstream", toxicity: float = 1.0,
                 name: str | None = None, on_event: EventCallback | None = None):
        self.toxiproxy = toxiproxy
        self.proxies = as_proxies(proxies)
        self.toxic_type = toxic_type
        self.attributes = dict(attributes)
        self.stream = stream
        self.toxicity = toxicity
        self.kind = toxic_type
        super().__init__(name or f"{toxic_type}_{stream}_{'-'.join(self.proxies)}", on_event)

    def _apply(self) -> None:
        for proxy in self.proxies:
            self._on_undo(f"remove toxic {self.name} from {proxy}",
                          functools.partial(remove_toxic_if_present, self.toxiproxy, proxy, self.name))
            self.toxiproxy.add_toxic(proxy, self.toxic_type, self.attributes, stream=self.stream,
                                     toxicity=self.toxicity, name=self.name)

    def update(self, attributes: dict[str, Any] | None = None, toxicity: float | None = None) -> None:
        """Change the toxic in place while the fault is active (e.g. ramp latency up)."""
        with self._lock:
            if not self.active:
                raise FaultError(f"fault {self.name!r} is not active; start it before updating it")
            for proxy in self.proxies:
                self.toxiproxy.update_toxic(proxy, self.name, attributes, toxicity)
            if attributes is not None:
                self.attributes.update(attributes)
            if toxicity is not None:
                self.toxicity = toxicity
        self._emit("update")

    def _details(self) -> dict[str, Any]:
        return {"proxies": list(self.proxies), "toxic": self.toxic_type, "stream": self.stream,
                "toxicity": self.toxicity, "attributes": dict(self.attributes)}


def latency(toxiproxy: Toxiproxy, proxies: str | Iterable[str], ms: int, jitter_ms: int = 0,
            stream: str = "downstream", toxicity: float = 1.0, **kw: Any) -> ToxicFault:
    """Delay data by `ms` +/- `jitter_ms` milliseconds."""
    return ToxicFault(toxiproxy, proxies, "latency", {"latency": int(ms), "jitter": int(jitter_ms)},
                      stream, toxicity, **kw)


def bandwidth(toxiproxy: Toxiproxy, proxies: str | Iterable[str], rate_kb_per_s: int,
              stream: str = "downstream", toxicity: float = 1.0, **kw: Any) -> ToxicFault:
    """Limit the link to `rate_kb_per_s` kilobytes per second."""
    return ToxicFault(toxiproxy, proxies, "bandwidth", {"rate": int(rate_kb_per_s)}, stream,
                      toxicity, **kw)


def reset_peer(toxiproxy: Toxiproxy, proxies: str | Iterable[str], timeout_ms: int = 0,
               stream: str = "downstream", toxicity: float = 1.0, **kw: Any) -> ToxicFault:
    """Reset connections (TCP RST) after `timeout_ms`, or at once with 0."""
    return ToxicFault(toxiproxy, proxies, "reset_peer", {"timeout": int(timeout_ms)}, stream,
                      toxicity, **kw)


def slicer(toxiproxy: Toxiproxy, proxies: str | Iterable[str], average_size: int,
           size_variation: int = 0, delay_us: int = 0, stream: str = "downstream",
           toxicity: float = 1.0, **kw: Any) -> ToxicFault:
    """Slice data into packets of about `average_size` bytes, `delay_us` microseconds apart."""
    attrs = {"average_size": int(average_size), "size_variation": int(size_variation),
             "delay": int(delay_us)}
    return ToxicFault(toxiproxy, proxies, "slicer", attrs, stream, toxicity, **kw)


def limit_data(toxiproxy: Toxiproxy, proxies: str | Iterable[str], max_bytes: int,
               stream: str = "downstream", toxicity: float = 1.0, **kw: Any) -> ToxicFault:
    """Close each connection after `max_bytes` bytes have passed."""
    return ToxicFault(toxiproxy, proxies, "limit_data", {"bytes": int(max_bytes)}, stream,
                      toxicity, **kw)


def slow_close(toxiproxy: Toxiproxy, proxies: str | Iterable[str], delay_ms: int,
               stream: str = "downstream", toxicity: float = 1.0, **kw: Any) -> ToxicFault:
    """Delay the closing of each connection by `delay_ms` milliseconds."""
    return ToxicFault(toxiproxy, proxies, "slow_close", {"delay": int(delay_ms)}, stream,
                      toxicity, **kw)
