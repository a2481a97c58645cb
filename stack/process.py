"""A local process the stack starts, tracks by pid file, and stops: only ever its own."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path


class StackError(Exception):
    """The stack cannot do what was asked; the message says why and what to do."""


def require_binary(*names: str, package: str, step: str, error=None) -> str:
    """Return the path of the first of ``names`` on PATH; raise ``error`` saying how to install it."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise (error or StackError)(
        f"{names[0]} is not installed. Run `make setup-all` or `scripts/setup.sh {step}` "
        f"(Debian's `{package}` package: `apt-get install -y {package}`).")


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600), never briefly world-readable."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its old mode through O_CREAT
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def wait_until(check, timeout: float, what: str, interval: float = 0.05):
    """Poll ``check()`` until it is truthy; raise StackError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except StackError:
            raise  # the check knows it will never pass (e.g. the process exited)
        except Exception as exc:  # a check that raises is "not yet"
            last = exc
        time.sleep(interval)
    raise StackError(f"{what} not ready after {timeout:.0f}s" + (f" (last error: {last})" if last else ""))


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


class ManagedProcess:
    """One child process: started detached, remembered in ``<run_dir>/<name>.pid``, logs in logs/."""

    def __init__(self, name: str, argv: list[str], run_dir: Path, port: int | None = None,
                 env: dict | None = None, ready=None, ready_timeout: float = 15.0,
                 stdin_data: bytes | None = None, umask: int = -1):
        """``stdin_data`` is written to the process's stdin and closed (a way to hand it a secret
        that no file or command line shows); ``umask`` applies to the files it creates."""
        self.name, self.argv, self.port = name, argv, port
        self.stdin_data, self.umask = stdin_data, umask
        self.run_dir = Path(run_dir)
        self.env, self.ready, self.ready_timeout = env, ready, ready_timeout
        self.pidfile = self.run_dir / f"{name}.pid"
        self.logfile = self.run_dir / "logs" / f"{name}.log"

    @property
    def pid(self) -> int | None:
        """The pid of our running process, or None (a stale pid file is ignored)."""
        try:
            pid = int(self.pidfile.read_text())
        except (OSError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        if stat.split(")")[-1].split()[0] == "Z":
            return None
        exe = os.path.basename(self.argv[0]).encode()
        return pid if any(exe in part for part in cmdline[:3]) else None

    def running(self) -> bool:
        return self.pid is not None

    def start(self) -> bool:
        """Start unless already running; return True if started. Waits until ready."""
        if self.running():
            return False
        if self.port is not None and port_in_use(self.port):
            raise StackError(f"{self.name}: port {self.port} on 127.0.0.1 is already in use by another "
                             f"process. Stop it (e.g. `ss -ltnp 'sport = :{self.port}'` shows which), "
                             f"or run the stack with other ports.")
        self.logfile.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, **(self.env or {}))
        with open(self.logfile, "ab") as log:
            proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                                    stdin=subprocess.DEVNULL if self.stdin_data is None else subprocess.PIPE,
                                    start_new_session=True, umask=self.umask)
        if self.stdin_data is not None:
            try:
                proc.stdin.write(self.stdin_data)
                proc.stdin.close()
            except OSError:
                pass  # it exited at once; wait_ready reports its log
        self.pidfile.write_text(str(proc.pid))
        self._proc = proc
        try:
            self.wait_ready()
        except StackError:
            self.stop()
            raise StackError(f"{self.name} did not become ready; its log says:\n{self.tail()}") from None
        return True

    def wait_ready(self, timeout: float | None = None):
        def check():
            if getattr(self, "_proc", None) is not None and self._proc.poll() is not None:
                raise StackError(f"{self.name} exited with code {self._proc.returncode}")
            return self.ready() if self.ready else True
        wait_until(check, timeout or self.ready_timeout, self.name)

    def stop(self, timeout: float = 10.0) -> bool:
        """SIGTERM, then SIGKILL after ``timeout``; return True if something was stopped."""
        pid = self.pid
        if pid is None:
            self.pidfile.unlink(missing_ok=True)
            return False
        self._signal(pid, signal.SIGCONT)  # a paused process cannot act on SIGTERM
        self._signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._alive(pid):
            time.sleep(0.05)
        if self._alive(pid):
            self._signal(pid, signal.SIGKILL)
            while self._alive(pid):
                time.sleep(0.02)
        self._stop_group(pid, deadline)
        self.pidfile.unlink(missing_ok=True)
        self._wait_port_free(timeout=5.0)
        return True

    def _stop_group(self, pgid: int, deadline: float) -> None:
        """Wait for the rest of the process group (gunicorn's workers) to go, SIGKILL it at ``deadline``.

        The process was started in its own session, so its group id is its pid. A gunicorn master
        can exit before its workers do, and a worker still holds the listening socket: returning
        then let a restart on the same port fail with "already in use"."""
        while self._group_alive(pgid):
            if time.monotonic() >= deadline:
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                deadline = float("inf")
            time.sleep(0.02)

    @staticmethod
    def _group_alive(pgid: int) -> bool:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # not ours: someone else's group, leave it
            return False
        try:  # a group of zombies only (nobody reaped them yet) holds no socket
            return any(ManagedProcess._state(int(p.name)) not in (None, "Z")
                       for p in Path("/proc").iterdir() if p.name.isdigit() and _pgid(int(p.name)) == pgid)
        except OSError:
            return True

    def _wait_port_free(self, timeout: float) -> None:
        """Return once nothing listens on our port any more (or after ``timeout``)."""
        if self.port is None:
            return
        deadline = time.monotonic() + timeout
        while port_in_use(self.port) and time.monotonic() < deadline:
            time.sleep(0.02)

    def freeze(self, timeout: float = 2.0):
        """SIGSTOP: the process stops where it is, mid-request, as on a power cut.

        Signals are delivered asynchronously, so this returns only once the kernel reports the
        process stopped (or after ``timeout``): callers may then rely on it answering nothing."""
        pid = self.pid
        if pid is None:
            return
        self._signal(pid, signal.SIGSTOP)
        deadline = time.monotonic() + timeout
        while self._state(pid) not in ("T", "t", None) and time.monotonic() < deadline:
            time.sleep(0.002)

    def resume(self):
        """SIGCONT: undo a freeze; harmless on a process that runs."""
        if self.pid is not None:
            self._signal(self.pid, signal.SIGCONT)

    def kill(self, group: bool = False):
        """SIGKILL with no clean-up: a crash. With ``group``, its children too (a gunicorn's workers
        would otherwise go on serving on the inherited socket until they notice their master gone)."""
        pid = self.pid
        if pid is not None:
            if group:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            self._signal(pid, signal.SIGKILL)
            while self._alive(pid):
                time.sleep(0.01)
            if group:
                self._stop_group(pid, time.monotonic())

    @staticmethod
    def _state(pid: int) -> str | None:
        """The process's state letter from /proc (R, S, T, Z, ...), or None if it is gone."""
        try:
            return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except OSError:
            return None

    def _alive(self, pid: int) -> bool:
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.pid == pid:
            return proc.poll() is None
        return self._state(pid) not in (None, "Z")

    @staticmethod
    def _signal(pid, sig):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
