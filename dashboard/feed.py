"""The dashboard's series: history events folded into one point per tick, the last few minutes kept.

A Feed is a recorder (``now`` and ``write``, like harness.history.HistoryWriter), so the runner's
Sampler can write into it directly when no run is going; during a run it reads the same events from
the run's history.jsonl. Either way a point is made only of history events, so what the page shows
and what the report plots come from one source.

Each point stamps the end of a tick, in wall-clock seconds. Rates and latency percentiles are over
the trailing second (ops completed in it, by completion time), so a point every 0.25 s stays smooth;
breaker states, staleness and pending hints are the latest sample at the end of the tick.
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque

from harness.history import BreakerSample, FaultEvent, MetricSample, Op, from_dict

BREAKER_LEVEL = {"closed": 0, "half-open": 1, "open": 2}
RATE_S = 1.0  # rates and percentiles are over this trailing span
EXTERNAL_FRESH_S = 2.5  # a Prometheus reading stands for the ticks this close to it


def percentile(values: list, q: float):
    """Nearest-rank q-th percentile (0..100), or None when there are no values."""
    xs = sorted(values)
    return xs[max(1, math.ceil(q / 100 * len(xs))) - 1] if xs else None


class Feed:
    """Fold history events into points; thread-safe (the tail, the sampler and the SSE clients share it)."""

    def __init__(self, services=("cp", "ap"), tick_s: float = 0.25, keep_s: float = 180.0, lag_s: float = 0.5):
        self.services, self.tick_s, self.keep_s, self.lag_s = tuple(services), tick_s, keep_s, lag_s
        self._lock = threading.Lock()
        self._ops: deque = deque()  # (wall s, service, outcome, latency ms), completions only
        self._gauges: dict = {}  # (service, kind, node) -> [(wall s, value)], kind breaker|staleness|hints
        self._faults: dict = {}  # (name, target) -> {"name", "target", "start", "end"}
        self.points: deque = deque()
        self.counts: dict = {}
        self.reset_counts()
        self._external: dict = {}  # service -> (wall s, {"ok", "fail", "p50", "p99"}) from Prometheus
        self._next = None  # wall time the next point stamps
        self.t0 = time.monotonic()

    # -- the recorder interface --------------------------------------------------------------------
    def now(self) -> tuple[float, int]:
        return time.monotonic() - self.t0, time.time_ns() // 1_000_000

    def write(self, event) -> None:
        """Take one typed history event (or its plain dict, as read from history.jsonl)."""
        if isinstance(event, dict):
            try:
                event = from_dict(event)
            except ValueError:
                return  # a line no one can read: the checkers will say so; the page skips it
        wall = event.wall_ms / 1000
        with self._lock:
            if isinstance(event, Op):
                self._op(event, wall)
            elif isinstance(event, BreakerSample):
                self._gauge((event.service, "breaker", event.node), wall, BREAKER_LEVEL.get(event.state, 2))
            elif isinstance(event, MetricSample):
                kind = {"data_staleness_ms": "staleness", "caplab_hints_pending": "hints"}.get(event.name)
                if kind:
                    self._gauge((event.service, kind, str(event.labels.get("node", "?"))), wall, event.value)
            elif isinstance(event, FaultEvent):
                self._fault(event, wall)

    def _op(self, op: Op, wall: float) -> None:
        if op.type == "invoke":
            return
        self._ops.append((wall, op.service, op.type, op.latency_ms))
        c = self.counts.setdefault(op.service, {"ok": 0, "fail": 0, "info": 0, "stale": 0})
        c[op.type] += 1
        c["stale"] += bool(op.stale and op.f == "read" and op.type == "ok")

    def _gauge(self, key, wall: float, value: float) -> None:
        self._gauges.setdefault(key, []).append((wall, value))

    def _fault(self, ev: FaultEvent, wall: float) -> None:
        key = (ev.name, ev.target)
        band = self._faults.get(key)
        if ev.phase == "start" and (band is None or band["end"] is not None):
            self._faults[key] = {"name": ev.name, "target": ev.target, "start": wall, "end": None}
        elif ev.phase == "stop" and band is not None and ev.confirms:
            band["end"] = wall

    def external(self, rates: dict, wall: float | None = None) -> None:
        """Take request rates and latencies measured elsewhere (Prometheus) for ticks with no ops."""
        wall = time.time() if wall is None else wall
        with self._lock:
            for service, values in rates.items():
                clean = {k: v for k, v in values.items() if k in ("ok", "fail", "p50", "p99")
                         and isinstance(v, (int, float)) and math.isfinite(v)}
                self._external[service] = (wall, clean)

    def reset_counts(self) -> None:
        """Start the counts of a new run from zero."""
        self.counts = {s: {"ok": 0, "fail": 0, "info": 0, "stale": 0} for s in self.services}

    # -- points ------------------------------------------------------------------------------------
    def advance(self, wall: float | None = None) -> list[dict]:
        """Make every point whose tick has ended (lag_s ago, for late lines); return the new points."""
        wall = time.time() if wall is None else wall
        out = []
        with self._lock:
            if self._next is None:
                self._next = math.floor((wall - self.lag_s) / self.tick_s) * self.tick_s
            while self._next + self.tick_s <= wall - self.lag_s and len(out) < 4 * self.keep_s / self.tick_s:
                self._next += self.tick_s
                out.append(self._point(self._next))
            self.points.extend(out)
            self._trim(wall)
        return out

    def _point(self, t: float) -> dict:
        services = {}
        recent = [o for o in self._ops if t - RATE_S < o[0] <= t]
        for s in self.services:
            mine = [o for o in recent if o[1] == s]
            lat = [o[3] for o in mine if o[3] is not None]
            services[s] = {k: sum(1 for o in mine if o[2] == k) / RATE_S for k in ("ok", "fail", "info")}
            services[s].update(p50=percentile(lat, 50), p99=percentile(lat, 99))
            seen, ext = self._external.get(s, (None, None))
            if not mine and ext and t - EXTERNAL_FRESH_S <= seen <= t + EXTERNAL_FRESH_S:
                services[s].update(ext)  # no run going: what Prometheus saw of other clients
            for kind in ("breaker", "staleness", "hints"):
                services[s][kind] = {node: self._latest(samples, t) for (svc, k, node), samples
                                     in sorted(self._gauges.items()) if svc == s and k == kind}
        return {"t": round(t, 3), "services": services}

    @staticmethod
    def _latest(samples: list, t: float):
        value = None
        for wall, v in samples:
            if wall > t:
                break
            value = v
        return value

    def _trim(self, wall: float) -> None:
        horizon = wall - self.keep_s
        while self.points and self.points[0]["t"] < horizon:
            self.points.popleft()
        done = self._next - RATE_S  # every point up to _next is made: older ops are counted already
        while self._ops and self._ops[0][0] <= done:
            self._ops.popleft()
        for samples in self._gauges.values():
            # keep the last sample before the next tick: it is still the value then
            while len(samples) > 1 and samples[1][0] <= self._next:
                samples.pop(0)
        for key, band in list(self._faults.items()):
            if band["end"] is not None and band["end"] < horizon:
                del self._faults[key]

    def faults(self) -> list[dict]:
        with self._lock:
            return sorted((dict(b) for b in self._faults.values()), key=lambda b: b["start"])

    def snapshot(self) -> dict:
        """Everything on screen: the points kept, the fault bands, the counts."""
        with self._lock:
            points = list(self.points)
            counts = {s: dict(c) for s, c in self.counts.items()}
        return {"points": points, "faults": self.faults(), "counts": counts}
