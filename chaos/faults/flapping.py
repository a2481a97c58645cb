"""A flapping link: proxies cut and healed on a period by a background thread."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterable

from chaos.faults.base import EventCallback, Fault, FaultError, as_proxies
from chaos.faults.network import partition
from stack.toxiproxy import Toxiproxy

FlapCallback = Callable[[str, dict[str, Any]], None]  # on_flap(phase, detail), phase "cut"/"heal"


class FlappingLink(Fault):
    """Cut the link for `down_sec` at the start of every `period_sec`, heal it for the rest.

    `on_flap(phase, detail)` is called from the background thread after each cut and heal.
    `start()` returns once the first cut is confirmed in place, so the fault's start completes
    when the link is first cut; `stop()` joins the thread and leaves the link healed.
    """

    kind = "flapping"

    def __init__(self, toxiproxy: Toxiproxy, proxies: str | Iterable[str], period_sec: float = 1.0,
                 down_sec: float | None = None, mode: str = "refuse", name: str | None = None,
                 on_event: EventCallback | None = None, on_flap: FlapCallback | None = None):
        self.proxies = as_proxies(proxies)
        self.period_sec = float(period_sec)
        self.down_sec = self.period_sec / 2 if down_sec is None else float(down_sec)
        if not 0 < self.down_sec < self.period_sec:
            raise ValueError(f"down_sec must be in (0, period_sec={self.period_sec}), "
                             f"got {self.down_sec}")
        self.mode = mode
        self.on_flap = on_flap
        super().__init__(name or f"flapping_{'-'.join(self.proxies)}_{mode}", on_event)
        self._link = partition(toxiproxy, self.proxies, mode, name=f"{self.name}_cut")
        self._halt = threading.Event()
        self._first_cut = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.flaps = 0
        # Worst case to finish one step: a few bounded Toxiproxy calls per proxy.
        self._join_timeout = self.period_sec + 4 * len(self.proxies) * sum(toxiproxy.timeout) + 1

    def _apply(self) -> None:
        self._halt.clear()
        self._first_cut.clear()
        self._error = None
        self._on_undo("stop the flapping thread and heal the link", self._halt_and_heal)
        self._thread = threading.Thread(target=self._run, name=f"fault-{self.name}", daemon=True)
        self._thread.start()
        confirmed = self._first_cut.wait(self._join_timeout)
        error, self._error = self._error, None  # reported here, so the undo does not report it again
        if error is not None or not confirmed:
            raise FaultError(f"flapping link {self.name!r} could not make its first cut: "
                             f"{error or f'not confirmed within {self._join_timeout:.1f} s'}") from error

    def _run(self) -> None:
        try:
            while not self._halt.is_set():
                self._link.start()
                self._first_cut.set()
                self.flaps += 1
                self._flap("cut")
                if self._halt.wait(self.down_sec):
                    break
                self._link.stop()
                self._flap("heal")
                self._halt.wait(self.period_sec - self.down_sec)
        except BaseException as err:  # stop() reports it
            self._error = err
            self._first_cut.set()  # wake a start() still waiting for the first cut
        finally:
            try:
                self._link.stop()
            except BaseException as err:
                self._error = self._error or err

    def _flap(self, phase: str) -> None:
        if self.on_flap is not None:
            self.on_flap(phase, {"fault": self.name, "proxies": list(self.proxies),
                                 "flap": self.flaps, "at": time.time()})

    def _halt_and_heal(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join(self._join_timeout)
            if self._thread.is_alive():
                raise FaultError(f"flapping thread of {self.name!r} did not finish within "
                                 f"{self._join_timeout:.1f} s")
        self._link.stop()  # idempotent; heals even if the thread died early
        error, self._error = self._error, None
        if error is not None:
            raise FaultError(f"flapping link {self.name!r} failed while running: {error}") from error

    def _details(self) -> dict[str, Any]:
        return {"proxies": list(self.proxies), "mode": self.mode, "period_sec": self.period_sec,
                "down_sec": self.down_sec}
