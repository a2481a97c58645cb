"""Thresholds: p95 latency and error rate per service, judged over the steady-state windows only.

Locust's own stats cover the whole run, ramps included. The thresholds need the steady state, so
every process keeps a ``Tally``: per service and per wall-clock second, a latency histogram and the
counts of answers, errors and refusals. Workers ship their tally to the master with each report;
the master (or a single local process) judges the merged tally over the shape's steady windows.

A refusal is a 503 that carries an ``outcome``: the service says on purpose that it cannot serve
(CP without a quorum). Refusals are counted on their own. Whether they also count as errors is a
setting; by default they do, because a refusal in the steady state is a failure of the steady state.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

KINDS = ("ok", "error", "refusal")


def bucket(ms: float) -> int:
    """Round a latency like Locust does: 1 ms below 100, 10 ms below 1000, 100 ms above."""
    if ms < 100:
        return int(round(ms))
    if ms < 1000:
        return int(round(ms, -1))
    return int(round(ms, -2))


class Tally:
    """Latencies and outcomes per (service, wall second): small enough to ship every few seconds."""

    def __init__(self):
        self.data: dict[str, dict[int, dict]] = {}

    def add(self, service: str, wall_s: float, ms: float, kind: str) -> None:
        sec = self.data.setdefault(service, {}).setdefault(int(wall_s), _empty())
        sec[kind] += 1
        b = bucket(ms)
        sec["rt"][b] = sec["rt"].get(b, 0) + 1

    def merge(self, other: dict) -> None:
        """Add a tally received as plain data (keys may have become strings on the way)."""
        for service, secs in other.items():
            for s, d in secs.items():
                mine = self.data.setdefault(service, {}).setdefault(int(s), _empty())
                for k in KINDS:
                    mine[k] += d[k]
                for b, n in d["rt"].items():
                    b = int(float(b))
                    mine["rt"][b] = mine["rt"].get(b, 0) + n

    def take(self) -> dict:
        """Return the plain data collected so far and start afresh (what a worker sends)."""
        data, self.data = self.data, {}
        return data

    def empty(self) -> bool:
        return not self.data


def _empty() -> dict:
    return {"ok": 0, "error": 0, "refusal": 0, "rt": {}}


@dataclass(frozen=True)
class Limits:
    p95_ms: float = 500.0
    max_error_rate: float = 0.001
    refusals_are_errors: bool = True

    def __post_init__(self):
        if not self.p95_ms > 0:
            raise ValueError(f"p95 threshold must be > 0 ms, not {self.p95_ms}")
        if not 0 <= self.max_error_rate <= 1:
            raise ValueError(f"max error rate must be a fraction in [0, 1] (0.001 = 0.1%), not {self.max_error_rate}")


@dataclass
class ServiceResult:
    service: str
    requests: int
    errors: int
    refusals: int
    error_rate: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    rps: float
    seconds: int


@dataclass
class Judgement:
    """The verdict of one run: passed or not, the numbers, and one line per broken threshold."""

    passed: bool
    limits: dict
    windows: list
    services: list = field(default_factory=list)
    broken: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"passed": self.passed, "limits": self.limits, "windows": self.windows,
                "services": [asdict(s) for s in self.services], "broken": self.broken}


def percentile(rt: dict, q: float) -> float | None:
    """The q-quantile (0..1) of a {bucket_ms: count} histogram, as Locust computes it."""
    total = sum(rt.values())
    if not total:
        return None
    need = math.ceil(total * q)
    seen = 0
    for ms in sorted(rt):
        seen += rt[ms]
        if seen >= need:
            return float(ms)
    return float(max(rt))


def judge(tally: dict, start_wall_s: float, windows: list, limits: Limits) -> Judgement:
    """Judge each service over the whole seconds that fall inside the steady windows.

    `windows` are (from_s, to_s) since `start_wall_s`. A service with no request in the steady
    state breaks the run: the thresholds cannot vouch for what was never measured.
    """
    j = Judgement(passed=True, limits=asdict(limits), windows=[list(w) for w in windows])
    for service in sorted(tally):
        merged, n_secs = _empty(), 0
        for s, d in tally[service].items():
            rel = int(s) - start_wall_s
            if any(lo <= rel and rel + 1 <= hi for lo, hi in windows):
                n_secs += 1
                for k in KINDS:
                    merged[k] += d[k]
                for b, n in d["rt"].items():
                    b = float(b)
                    merged["rt"][b] = merged["rt"].get(b, 0) + n
        n = merged["ok"] + merged["error"] + merged["refusal"]
        errors = merged["error"] + (merged["refusal"] if limits.refusals_are_errors else 0)
        r = ServiceResult(service, n, errors, merged["refusal"], errors / n if n else 0.0,
                          percentile(merged["rt"], 0.50), percentile(merged["rt"], 0.95),
                          percentile(merged["rt"], 0.99), round(n / n_secs, 1) if n_secs else 0.0, n_secs)
        j.services.append(r)
        if n == 0:
            j.broken.append(f"{service}: no requests in the steady state (windows {windows}); "
                            "run longer or lower --settle-s")
            continue
        if r.p95_ms > limits.p95_ms:
            j.broken.append(f"{service}: p95 {r.p95_ms:g} ms > {limits.p95_ms:g} ms")
        if r.error_rate > limits.max_error_rate:
            what = "errors incl. refusals" if limits.refusals_are_errors and r.refusals else "errors"
            j.broken.append(f"{service}: error rate {r.error_rate:.3%} ({errors}/{n} {what}) "
                            f"> {limits.max_error_rate:.3%}")
    if not j.services:
        j.broken.append("no requests at all: is the service up, and were any users spawned?")
    j.passed = not j.broken
    return j
