"""Faults on the service instances behind HAProxy: one crashes (kill -9), or all restart in turn.

``KillInstance`` kills an instance's whole process group (its gunicorn master and workers, as a
container dying would) and starts it again when the fault stops. ``RollingRestart`` restarts every
instance one at a time, the way the spec's zero-downtime deploy does: take it out of HAProxy
(``maint``: no new request reaches it), wait for its requests in flight to finish, stop it
gracefully, start it, wait until it is ready, put it back, wait until HAProxy sees it up, next.
With ``drain: false`` it skips the HAProxy steps and relies on the health checks and retries alone
(what a restart without the balancer's help costs).
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

import requests

from chaos.faults.base import EventCallback, Fault, FaultError

STEP_TIMEOUT_S = 20.0  # one instance's stop, start or readiness; a stuck one fails the fault


class KillInstance(Fault):
    """SIGKILL one instance and its workers; start it again on stop."""

    kind = "kill_instance"

    def __init__(self, proc, name: str | None = None, on_event: EventCallback | None = None):
        self.proc, self.pid = proc, None
        super().__init__(name or f"kill_{proc.name}", on_event)

    def _apply(self) -> None:
        self.pid = self.proc.pid
        if self.pid is None:
            raise FaultError(f"instance {self.proc.name} is not running; start the stack (make up) first")
        self._on_undo(f"restart instance {self.proc.name}", self.proc.start)
        self.proc.kill(group=True)
        if self.proc.running():
            raise FaultError(f"instance {self.proc.name} (pid {self.pid}) still runs after kill -9")

    def _details(self) -> dict[str, Any]:
        return {"instance": self.proc.name, "pid": self.pid}


class RollingRestart(Fault):
    """Restart every instance in ``procs`` one at a time, in a thread; stop waits for the last one."""

    kind = "rolling_restart"

    def __init__(self, procs: list, command: Callable[[str], str], view: Callable[[], list],
                 drain: bool = True, name: str = "rolling_restart", on_event: EventCallback | None = None):
        """``procs`` are (HAProxy server name, process) pairs; ``command`` sends one line to HAProxy's
        runtime API and ``view`` returns its view of the servers (stack/balancer.py)."""
        self.procs, self.command, self.view, self.drain = procs, command, view, drain
        self.steps: list[dict] = []
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        super().__init__(name, on_event)

    def _apply(self) -> None:
        if not all(p.running() for _, p in self.procs):
            raise FaultError("an instance is not running; start the stack (make up) before a rolling restart")
        self._on_undo("finish the rolling restart", self._finish)
        self._thread = threading.Thread(target=self._run, name="rolling-restart", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for server, proc in self.procs:
                self._restart(server, proc)
        except BaseException as err:  # reported by stop(), which makes every instance whole
            self.error = err

    def _restart(self, server: str, proc) -> None:
        t0 = time.monotonic()
        backend = server.rstrip("0123456789")
        if self.drain:
            self.command(f"set server {backend}/{server} state maint")
            self._wait(lambda: self._row(server)["current"] == 0, f"{server}'s requests in flight to finish")
        proc.stop(timeout=STEP_TIMEOUT_S)
        proc.start()
        url = f"http://127.0.0.1:{proc.port}/ready"
        self._wait(lambda: requests.get(url, timeout=1).status_code == 200, f"{server} ready")
        if self.drain:
            self.command(f"set server {backend}/{server} state ready")
        self._wait(lambda: self._row(server)["status"].startswith("UP"), f"HAProxy seeing {server} up")
        self.steps.append({"server": server, "seconds": round(time.monotonic() - t0, 2)})

    def _row(self, server: str) -> dict:
        return next(r for r in self.view() if r["server"] == server)

    @staticmethod
    def _wait(check, what: str) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except Exception:  # not answering yet is "not yet"
                pass
            time.sleep(0.05)
        raise FaultError(f"rolling restart: {what} took more than {STEP_TIMEOUT_S:.0f} s")

    def _finish(self) -> None:
        """Wait for the restart to end, then make sure every instance runs and HAProxy may use it."""
        if self._thread is not None:
            self._thread.join(timeout=STEP_TIMEOUT_S * 3 * len(self.procs))
        for server, proc in self.procs:
            if not proc.running():
                proc.start()
            if self.drain:
                self.command(f"set server {server.rstrip('0123456789')}/{server} state ready")
        if self.error is not None:
            raise FaultError(f"rolling restart failed: {self.error}")
        if self._thread is not None and self._thread.is_alive():
            raise FaultError("rolling restart still running after its time; instances were started by hand")

    def _details(self) -> dict[str, Any]:
        return {"instances": [s for s, _ in self.procs], "drain": self.drain}
