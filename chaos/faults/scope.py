"""A scope that undoes every fault it started: on leaving the block, on Ctrl-C and on SIGTERM."""
from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from chaos.faults.base import Fault, FaultError

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Terminated(SystemExit):
    """SIGTERM arrived inside a fault scope; the process exits with 128 + the signal number."""

    def __init__(self, signum: int):
        super().__init__(128 + signum)
        self.signum = signum


class FaultScope:
    """Start faults inside a block and stop every active one when the block ends, however it ends.

    While the scope is open (in the main thread), SIGINT raises KeyboardInterrupt and SIGTERM
    raises `Terminated`, so the block unwinds and the faults are stopped; a signal that arrives
    while faults are being stopped waits until they are. The previous handlers are restored.
    """

    def __init__(self, *faults: Fault):
        self._initial = list(faults)
        self._faults: list[Fault] = []
        self._previous: dict[int, Any] = {}
        self._stopping = False
        self._deferred: int | None = None

    @property
    def faults(self) -> list[Fault]:
        return list(self._faults)

    def start(self, fault: Fault) -> Fault:
        """Start a fault and take charge of stopping it."""
        self._faults.append(fault)  # first, so a signal right after start() still finds it
        return fault.start()

    def stop(self, fault: Fault) -> None:
        fault.stop()
        self._faults.remove(fault)

    def stop_all(self) -> None:
        """Stop every fault, last started first; raise FaultError if any could not be undone."""
        self._stopping = True
        failures = []
        try:
            for fault in reversed(list(self._faults)):
                try:
                    fault.stop()
                    self._faults.remove(fault)
                except Exception as err:
                    failures.append(f"{fault.name}: {err}")
        finally:
            self._stopping = False
        if failures:
            raise FaultError("faults left active; run heal(): " + "; ".join(failures))

    def __enter__(self) -> "FaultScope":
        self._install_handlers()
        try:
            for fault in self._initial:
                self.start(fault)
        except BaseException:
            self._exit()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._exit()

    def _exit(self) -> None:
        try:
            self.stop_all()
        finally:
            self._restore_handlers()
        if self._deferred is not None:
            signum, self._deferred = self._deferred, None
            _raise_for(signum)

    def _install_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # Python only runs signal handlers in the main thread; the block still cleans up
        for signum in HANDLED_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._on_signal)

    def _restore_handlers(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, signal.SIG_DFL if previous is None else previous)
        self._previous.clear()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._stopping:
            self._deferred = signum
            return
        _raise_for(signum)


def _raise_for(signum: int) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)
