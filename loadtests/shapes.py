"""Load shapes: steady, step, spike and soak, as plain schedules of plateaus.

A schedule is a list of plateaus (users, spawn rate, seconds). ``tick(t)`` gives Locust the plateau
for run time ``t``; ``steady_windows()`` gives the parts of the run that the thresholds judge: each
plateau once its ramp has finished and the service has had ``settle_s`` to settle. The ramps and
the shutdown are never judged.

Locust sees a single shape class, ``SelectedShape`` in the locustfile, which reads ``--shape``,
``--users``, ``--spawn-rate`` and ``--run-time`` and delegates to the schedule of that name. This
module does not import Locust, so plain Python (tests, the runner) can use the schedules.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Plateau:
    users: int
    spawn_rate: float
    seconds: float


class Schedule:
    """Plateaus one after the other; the run ends after the last one."""

    name = "schedule"

    def __init__(self, users: int, spawn_rate: float, duration_s: float, settle_s: float = 1.0):
        if users < 1 or spawn_rate <= 0 or duration_s <= 0:
            raise ValueError(f"{self.name}: need users >= 1, spawn rate > 0 and a duration > 0 "
                             f"(got users={users}, spawn_rate={spawn_rate}, duration={duration_s}s)")
        self.users, self.spawn_rate, self.duration_s, self.settle_s = users, spawn_rate, duration_s, settle_s
        self.plateaus = self.build()

    def build(self) -> list[Plateau]:
        raise NotImplementedError

    def tick(self, t: float) -> tuple[int, float] | None:
        """Return (users, spawn rate) for run time t, or None when the run is over."""
        end = 0.0
        for p in self.plateaus:
            end += p.seconds
            if t < end:
                return p.users, p.spawn_rate
        return None

    def steady_windows(self) -> list[tuple[float, float]]:
        """[(from_s, to_s)] since run start: every plateau after its ramp and settle time."""
        windows, start, before = [], 0.0, 0
        for p in self.plateaus:
            ramp = abs(p.users - before) / p.spawn_rate
            lo, hi = start + ramp + self.settle_s, start + p.seconds
            if hi > lo:
                windows.append((round(lo, 3), round(hi, 3)))
            start, before = hi, p.users
        return windows


class Steady(Schedule):
    """Ramp up to `users` and hold them for the whole run."""

    name = "steady"

    def build(self):
        return [Plateau(self.users, self.spawn_rate, self.duration_s)]


class Soak(Steady):
    """Steady load for a long time (default 30 min in docs/load.md): finds leaks, drift and slow growth."""

    name = "soak"


class Step(Schedule):
    """Four equal steps up to `users` (a quarter, half, three quarters, all), each a quarter of the run."""

    name = "step"
    steps = 4

    def build(self):
        each = self.duration_s / self.steps
        return [Plateau(max(1, math.ceil(self.users * i / self.steps)), self.spawn_rate, each)
                for i in range(1, self.steps + 1)]


class Spike(Schedule):
    """A base load of a third of `users`, a sudden spike to all of them, and back to the base.

    The spike spawns at `users` per second (at least the given rate): it is meant to be abrupt. Use it
    with `users` at 2–3 × the expected peak, as the production checklist asks.
    """

    name = "spike"

    def build(self):
        base = max(1, self.users // 3)
        fast = max(self.spawn_rate, float(self.users))
        d = self.duration_s
        return [Plateau(base, self.spawn_rate, 0.4 * d), Plateau(self.users, fast, 0.2 * d),
                Plateau(base, fast, 0.4 * d)]


SCHEDULES = {cls.name: cls for cls in (Steady, Step, Spike, Soak)}


def make_schedule(name: str, users: int, spawn_rate: float, duration_s: float, settle_s: float = 1.0) -> Schedule:
    """Build the schedule called `name`; raise ValueError naming the choices when there is none."""
    try:
        cls = SCHEDULES[name]
    except KeyError:
        raise ValueError(f"unknown shape {name!r}; choose one of {', '.join(SCHEDULES)}") from None
    return cls(users, spawn_rate, duration_s, settle_s)


def schedule_from_options(options) -> Schedule:
    """The schedule that Locust's parsed options ask for (--shape, -u, -r, -t, --settle-s)."""
    if not options.run_time:
        raise ValueError("a caplab load shape needs --run-time (e.g. -t 30s), so that the run ends")
    return make_schedule(options.shape, int(options.num_users or 1), float(options.spawn_rate or 1),
                         float(options.run_time), float(options.settle_s))
