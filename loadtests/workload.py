"""Locust as a workload: start it headless in its own processes, wait, and collect what it wrote.

`run_locust` is what `make load` and a chaos experiment call. Locust runs in a subprocess (a master
and N workers in distributed mode), never in the caller's process: its gevent monkey-patching
would break the caller's `requests` and `redis` clients.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .history import merge_histories, worker_path

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"
CONF = ROOT / "loadtests" / "locust.conf"
USER_CLASSES = {"cp": "CPUser", "ap": "APUser"}
STOP_TIMEOUT_S = 2


class LoadError(RuntimeError):
    """Locust could not run, or crashed: the message names the log to read."""


@dataclass
class LocustResult:
    """What one Locust run left behind."""

    exit_code: int  # the master's (or the single process's): 0 passed, 1 thresholds broken
    out_dir: Path
    verdict: dict | None  # thresholds.json
    history_path: Path | None
    worker_exit_codes: list = field(default_factory=list)  # logged, never decisive
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and bool(self.verdict and self.verdict["passed"])

    @property
    def broken(self) -> list:
        return list(self.verdict["broken"]) if self.verdict else ["no verdict: see locust.log"]


def service_urls(stack_config_or_urls, services) -> dict:
    """{service: base URL} from a stack.config.StackConfig or a dict of URLs."""
    if isinstance(stack_config_or_urls, dict):
        urls = dict(stack_config_or_urls)
    else:
        urls = {s: stack_config_or_urls.service_url(s) for s in ("cp", "ap")}
    unknown = [s for s in services if s not in USER_CLASSES]
    if unknown or not services:
        raise ValueError(f"services must be some of {list(USER_CLASSES)}, not {list(services)}")
    missing = [s for s in services if s not in urls]
    if missing:
        raise ValueError(f"no URL for {missing}; pass a StackConfig or {{'cp': url, 'ap': url}}")
    return urls


class LocustRun:
    """Locust processes started for one run; `wait()` collects them, `stop()` ends them early."""

    def __init__(self, argv: list, env: dict, out_dir: Path, history_path: Path | None, workers: int,
                 timeout_s: float, port: int | None):
        self.out_dir, self.history_path, self.workers, self.timeout_s = out_dir, history_path, workers, timeout_s
        self.t0 = time.monotonic()
        self.procs: list[subprocess.Popen] = []
        self._logs = []
        try:
            self.master = self._spawn(argv, env, "locust.log")
            for i in range(workers):
                wargv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker",
                         "--master-host", "127.0.0.1", "--master-port", str(port)]
                self._spawn(wargv, env, f"locust-worker{i}.log")
        except BaseException:
            self.stop()
            raise

    def _spawn(self, argv, env, log_name) -> subprocess.Popen:
        log = open(self.out_dir / log_name, "wb")
        self._logs.append(log)
        p = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs.append(p)
        return p

    def wait(self) -> LocustResult:
        """Wait for the master (bounded), then the workers; stop whatever is left in every case."""
        try:
            try:
                code = self.master.wait(timeout=max(1.0, self.timeout_s - (time.monotonic() - self.t0)))
            except subprocess.TimeoutExpired:
                raise LoadError(f"Locust did not finish within {self.timeout_s:.0f}s; "
                                f"see {self.out_dir / 'locust.log'}") from None
            worker_codes = []
            for p in self.procs[1:]:
                try:
                    worker_codes.append(p.wait(timeout=10))
                except subprocess.TimeoutExpired:
                    worker_codes.append(None)
        finally:
            self.stop()
        return self._collect(code, worker_codes)

    def stop(self) -> None:
        """Terminate every process still running (SIGTERM, then SIGKILL), and close the logs."""
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        for log in self._logs:
            log.close()

    def _collect(self, code: int, worker_codes: list) -> LocustResult:
        if self.history_path is not None and self.workers:
            parts = [worker_path(str(self.history_path), i) for i in range(self.workers)]
            merge_histories(parts, self.history_path)
            for part in parts:
                Path(part).unlink(missing_ok=True)
        verdict_file = self.out_dir / "thresholds.json"
        verdict = json.loads(verdict_file.read_text()) if verdict_file.exists() else None
        result = LocustResult(code, self.out_dir, verdict, self.history_path, worker_codes,
                              round(time.monotonic() - self.t0, 1))
        if code not in (0, 1) or verdict is None:
            tail = (self.out_dir / "locust.log").read_text(errors="replace")[-1500:]
            raise LoadError(f"Locust exited with {code} and {'no' if verdict is None else 'a'} verdict; "
                            f"see {self.out_dir / 'locust.log'}:\n{tail}")
        return result


def start_locust(stack_config_or_urls, services, users: int, duration_s: float, history_path=None,
                 t0_wall_ms: float | None = None, extra_args=(), *, out_dir, shape: str = "steady",
                 spawn_rate: float | None = None, p95_ms: float = 500.0, max_error_rate: float = 0.001,
                 refusals_are_errors: bool = True, process_base: int = 0, run_id: str = "",
                 workers: int = 0, env: dict | None = None, t0_monotonic: float | None = None) -> LocustRun:
    """Start Locust headless against `services` and return at once; call `.wait()` on the result."""
    services = list(services)
    urls = service_urls(stack_config_or_urls, services)
    if users < len(services):
        raise ValueError(f"{users} user(s) cannot cover {len(services)} services; use at least {len(services)}")
    out_dir = Path(out_dir).resolve()  # Locust runs in the repository root, the caller may not
    out_dir.mkdir(parents=True, exist_ok=True)
    history_path = Path(history_path).resolve() if history_path else None
    port = _free_port() if workers else None
    argv = [sys.executable, "-m", "locust", "--config", str(CONF), "-f", str(LOCUSTFILE), "--headless",
            "-u", str(users), "-r", str(spawn_rate or users), "-t", f"{int(round(duration_s))}s",
            "--stop-timeout", str(STOP_TIMEOUT_S), "--csv", str(out_dir / "locust"), "--html",
            str(out_dir / "report.html"), "--json-file", str(out_dir / "stats"), "--shape", shape,
            "--p95-ms", str(p95_ms), "--max-error-rate", str(max_error_rate),
            "--refusals-are-errors", "yes" if refusals_are_errors else "no", "--out-dir", str(out_dir),
            "--process-base", str(process_base)]
    if history_path:
        argv += ["--history", str(history_path)]
    if t0_wall_ms:
        argv += ["--t0-wall-ms", repr(float(t0_wall_ms))]
    if t0_monotonic:  # the caller's monotonic time zero: Locust runs on this machine, on the same clock
        argv += ["--t0-monotonic", repr(float(t0_monotonic))]
    if run_id:
        argv += ["--run-id", run_id]
    if workers:
        argv += ["--master", "--expect-workers", str(workers), "--expect-workers-max-wait", "30",
                 "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)]
    argv += [*extra_args, *(USER_CLASSES[s] for s in services)]
    penv = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT), "CAPLAB_CP_URL": urls.get("cp", ""),
            "CAPLAB_AP_URL": urls.get("ap", "")}
    (out_dir / "command.json").write_text(json.dumps({"argv": argv, "workers": workers, "urls": urls}, indent=2))
    timeout_s = duration_s + STOP_TIMEOUT_S + (60 if workers else 30)
    return LocustRun(argv, penv, out_dir, history_path, workers, timeout_s, port)


def run_locust(stack_config_or_urls, services, users: int, duration_s: float, history_path=None,
               t0_wall_ms: float | None = None, extra_args=(), **kw) -> LocustResult:
    """Run Locust headless to the end and return its result; raise LoadError when Locust crashed.

    Broken thresholds do not raise: the result says so (`passed`, `broken`), and a chaos experiment
    judges its own history anyway. History times count from `t0_wall_ms` (wall-clock ms, e.g. the
    chaos run's start), so the file merges with the run's own history (`merge_histories`).
    """
    return start_locust(stack_config_or_urls, services, users, duration_s, history_path, t0_wall_ms,
                        extra_args, **kw).wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
