"""Build hand-written histories concisely for checker tests."""
from __future__ import annotations

import random

import json

from harness.history import BreakerSample, FaultEvent, NodeSnapshot, Op, read_history, to_dict

T0_MS = 1_700_000_000_000  # wall clock at run start, so wall_ms = T0_MS + time * 1000


def wall(t: float) -> int:
    return T0_MS + int(round(t * 1000))


class H:
    """A history under construction; every method appends events and returns self for chaining."""

    def __init__(self, service: str = "cp"):
        self.service = service
        self.events: list = []

    def _op(self, type_, p, f, key, value, t, service, **extra):
        self.events.append(Op(type_, p, f, key, value, service or self.service, t, wall(t), **extra))

    def write(self, p, key, value, start, end, type="ok", service=None, version=None, session=None, **extra):
        """Add a write of value to key by process p, invoked at start and completed at end."""
        if session is not None:  # a session names both events, as the workloads record it
            extra["session"] = session
        self._op("invoke", p, "write", key, value, start, service, session=session)
        if end is not None:
            self._op(type, p, "write", key, value, end, service, version=version,
                     latency_ms=(end - start) * 1000, **extra)
        return self

    def read(self, p, key, value, start, end, type="ok", service=None, version=None, session=None, **extra):
        """Add a read of key by process p that returned value (None = absent)."""
        if session is not None:
            extra["session"] = session
        self._op("invoke", p, "read", key, None, start, service, session=session)
        if end is not None:
            self._op(type, p, "read", key, value if type == "ok" else None, end, service,
                     version=version, latency_ms=(end - start) * 1000, **extra)
        return self

    def fault(self, start, stop, name="partition", target="cp->g2"):
        self.events.append(FaultEvent("start", name, target, start, wall(start), {}))
        if stop is not None:
            self.events.append(FaultEvent("stop", name, target, stop, wall(stop), {}))
        return self

    def staged_fault(self, si, sc, ti, tc, name="partition", target="cp->g2"):
        """Add a fault with both stamps of its start and of its stop: invoked at si, confirmed at sc..."""
        for phase, stage, t in (("start", "invoke", si), ("start", "complete", sc), ("stop", "invoke", ti),
                                ("stop", "complete", tc)):
            if t is not None:
                self.events.append(FaultEvent(phase, name, target, t, wall(t), {}, stage=stage))
        return self

    def breaker(self, t, node, state, service=None):
        self.events.append(BreakerSample(service or self.service, node, state, t, wall(t)))
        return self

    def snapshot(self, t, node, records, phase="after-heal"):
        """Add a snapshot; records maps key -> (value, version) for brevity."""
        recs = {k: {"value": v, "version": ver} for k, (v, ver) in records.items()}
        self.events.append(NodeSnapshot(node, t, wall(t), recs, phase))
        return self

    def build(self) -> list:
        """Return the events in time order (stable, so an invoke stays before its completion)."""
        return sorted(self.events, key=lambda e: e.time)


def through_file(events, path, raw_lines=()):
    """Write events to a history file (then any raw JSON lines), and read it back with its line numbers."""
    lines = [json.dumps(to_dict(e)) for e in events] + [json.dumps(d) for d in raw_lines]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return read_history(path)


def random_register_history(n_ops=5000, processes=10, key="k", seed=1, service="cp"):
    """Simulate a linearizable register: each op takes effect at a random instant inside its interval."""
    rng = random.Random(seed)
    ops = []  # (start, end, lin, process, f, value)
    per_process = n_ops // processes
    for p in range(processes):
        t = rng.uniform(0, 0.01)
        for _ in range(per_process):
            dur = rng.uniform(0.001, 0.02)
            f = "write" if rng.random() < 0.4 else "read"
            ops.append([t, t + dur, rng.uniform(t, t + dur), p, f, None])
            t += dur + rng.uniform(0.0, 0.003)
    state, n = None, 0
    for op in sorted(ops, key=lambda o: o[2]):
        if op[4] == "write":
            n += 1
            state = op[5] = f"v{n}"
        else:
            op[5] = state
    h = H(service)
    for start, end, _, p, f, value in ops:
        (h.write if f == "write" else h.read)(p, key, value, start, end)
    return h.build()
