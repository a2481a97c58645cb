"""Run wrk against one URL and read its numbers: req/s, p50, p99, errors."""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("wrk.lua")
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


class BenchError(Exception):
    """The benchmark cannot run; the message says what to install or fix."""


@dataclass
class WrkResult:
    target: str
    connections: int
    seconds: float
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    def to_dict(self):
        return asdict(self)


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise BenchError(f"cannot read wrk latency {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


def parse(target: str, connections: int, seconds: float, out: str) -> WrkResult:
    """Read wrk --latency output."""
    def grab(pattern, default=None):
        m = re.search(pattern, out, re.M)
        if m is None and default is None:
            raise BenchError(f"wrk output has no {pattern!r}:\n{out}")
        return m.group(1) if m else default
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return WrkResult(
        target=target, connections=connections, seconds=seconds,
        requests=int(grab(r"^\s*(\d+) requests in")),
        rps=float(grab(r"^Requests/sec:\s+([\d.]+)")),
        p50_ms=_ms(grab(r"^\s+50%\s+(\S+)")), p99_ms=_ms(grab(r"^\s+99%\s+(\S+)")),
        non_2xx=int(grab(r"Non-2xx or 3xx responses: (\d+)", "0")),
        socket_errors=sum(int(x) for x in errors.groups()) if errors else 0)


def run(target: str, url: str, mode: str, connections: int, seconds: float, threads: int = 2,
        keys: int = 1000) -> WrkResult:
    """Drive ``url`` with a closed loop of ``connections`` for ``seconds``; ``mode`` is read or write."""
    wrk = shutil.which("wrk")
    if not wrk:
        raise BenchError("wrk is not installed: run `scripts/setup.sh wrk` (apt-get install -y wrk)")
    argv = [wrk, f"-t{min(threads, connections)}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
            "--timeout", "5s", "-s", str(SCRIPT), url, "--", mode, str(keys)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
    if proc.returncode != 0:
        raise BenchError(f"wrk failed ({proc.returncode}): {proc.stderr or proc.stdout}")
    return parse(target, connections, seconds, proc.stdout)
