"""The fault protocol: a named, scoped change to the system under test that always undoes itself.

A fault is started and stopped (or used as `with fault:`); `stop()` is idempotent. Each change a
fault makes is recorded as an undo step as soon as it is made, so a start that fails half-way, or
a stop that fails on one proxy, leaves exactly the remaining steps for the next `stop()`.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol

from stack.config import proxy_name  # the naming contract, defined once

# on_event(fault, phase): "starting" as the change begins, "start" once it is confirmed in place;
# "stopping" as the undo begins, "stop" once it is confirmed undone (Jepsen's invoke and completion).
EventCallback = Callable[["Fault", str], None]


class FaultError(Exception):
    """A fault could not be injected, confirmed or undone."""



def as_proxies(proxies: str | Iterable[str]) -> tuple[str, ...]:
    names = (proxies,) if isinstance(proxies, str) else tuple(proxies)
    if not names:
        raise ValueError("a network fault needs at least one proxy name")
    return names


@dataclass
class Topology:
    """Which services reach which nodes; each (service, node) pair has its own proxy."""

    services: list[str] = field(default_factory=lambda: ["cp", "ap"])
    nodes: list[str] = field(default_factory=lambda: ["g1", "g2"])

    def link(self, service: str, node: str) -> str:
        self._check(service=service, node=node)
        return proxy_name(service, node)

    def links_to_node(self, node: str, services: Iterable[str] | None = None) -> list[str]:
        return [self.link(s, node) for s in (self.services if services is None else services)]

    def links_from_service(self, service: str) -> list[str]:
        return [self.link(service, n) for n in self.nodes]

    def all_links(self) -> list[str]:
        return [proxy_name(s, n) for s in self.services for n in self.nodes]

    def _check(self, service: str, node: str) -> None:
        if service not in self.services:
            raise ValueError(f"unknown service {service!r}; the topology has {self.services}")
        if node not in self.nodes:
            raise ValueError(f"unknown node {node!r}; the topology has {self.nodes}")


class Fault:
    """Base for every fault: subclasses implement `_apply()` and register undo steps in it."""

    kind = "fault"
    on_flap = None  # on_flap(phase, detail): a fault that changes while active (a flapping link) calls it

    def __init__(self, name: str, on_event: EventCallback | None = None):
        self.name = name
        self.on_event = on_event
        self.started_at: float | None = None
        self._active = False
        self._undo_steps: list[tuple[str, Callable[[], Any]]] = []
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {'active' if self._active else 'idle'}>"

    @property
    def active(self) -> bool:
        return self._active

    def start(self) -> "Fault":
        """Inject the fault and confirm it took; on any failure undo what was done and raise."""
        with self._lock:
            if self._active:
                raise FaultError(f"fault {self.name!r} is already active; stop it before restarting")
            self._emit("starting")
            self._active = True  # stop() must see a half-applied fault
            try:
                self._apply()
            except BaseException as err:
                try:
                    self._undo()
                    self._active = False
                except BaseException as undo_err:  # leave the rest for the next stop() or heal()
                    err.add_note(f"undoing the half-applied fault {self.name!r} failed: {undo_err}")
                raise
            self.started_at = time.time()
        try:
            self._emit("start")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Undo the fault; doing nothing if it is not active. Raise FaultError if any step fails."""
        with self._lock:
            if not self._active:
                return
            try:
                self._emit("stopping")
            except Exception as err:  # a recorder that fails must not keep the fault in place
                unrecorded = err
            else:
                unrecorded = None
            self._undo()
            self._active = False
        self._emit("stop")
        if unrecorded is not None:
            raise unrecorded

    def __enter__(self) -> "Fault":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def describe(self) -> dict[str, Any]:
        """Plain data for the history: name, kind and the fault's own parameters."""
        return {"name": self.name, "kind": self.kind, **self._details()}

    # -- for subclasses ------------------------------------------------------------------------
    def _apply(self) -> None:
        """Make the change; call `_on_undo` right after each step that must be undone."""

    def _details(self) -> dict[str, Any]:
        return {}

    def _on_undo(self, description: str, step: Callable[[], Any]) -> None:
        self._undo_steps.append((description, step))

    def _undo(self) -> None:
        failures = []
        for description, step in reversed(list(self._undo_steps)):
            try:
                step()
            except Exception as err:  # keep going: undo as much as possible, report the rest
                failures.append(f"{description}: {err}")
            else:
                self._undo_steps.remove((description, step))
        if failures:
            raise FaultError(f"fault {self.name!r} is not fully undone; "
                             f"run heal() to clear it ({'; '.join(failures)})")

    def _emit(self, phase: str) -> None:
        if self.on_event is not None:
            self.on_event(self, phase)


class NoFault(Fault):
    """The null fault: starts, stops and reports events, and changes nothing."""

    kind = "none"

    def __init__(self, name: str = "no_fault", on_event: EventCallback | None = None):
        super().__init__(name, on_event)


class Node(Protocol):
    """What process faults need from a node (the stack provides it)."""

    name: str

    @property
    def pid(self) -> int | None: ...

    def kill(self) -> None: ...   # SIGKILL, no clean-up

    def start(self) -> None: ...  # start again and wait until it answers PING
