"""Alert thresholds, for: durations and scrape timing, per profile, validated once.

"spec" keeps the deployment guide's numbers (breaker OPEN > 1 min, staleness > MAX_STALENESS_MS
for 30 s, errors > 5 % for 1 min, p99 > 500 ms for 2 min, connection failures > 10 % for 30 s).
"fast" keeps the thresholds but shortens every duration, for live tests against the "test" stack.
MAX_STALENESS_MS is never typed here: it comes from the same place the services read it, so the
staleness alert and the services agree.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from stack.config import PROFILES as STACK_PROFILES

MAX_SECONDS = 7 * 86400  # a for: duration or a window longer than a week watches nothing useful
MAX_COUNT = 10**9


class AlertSettingsError(Exception):
    """One or more alert settings are invalid; the message lists each with its fix."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid alert settings:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class AlertSettings:
    profile: str
    max_staleness_ms: int
    # Timing: how often Prometheus scrapes and evaluates, and the window of every rate().
    scrape_interval_s: int = 15
    evaluation_interval_s: int = 15
    rate_window_s: int = 60
    # Thresholds.
    error_ratio: float = 0.05
    p99_latency_s: float = 0.5
    connection_failure_ratio: float = 0.10
    hint_backlog: int = 1000
    # for: durations, seconds.
    breaker_open_for_s: int = 60
    staleness_for_s: int = 30
    error_rate_for_s: int = 60
    latency_for_s: int = 120
    connection_failures_for_s: int = 30
    node_unreachable_for_s: int = 60
    hint_backlog_for_s: int = 120
    # Where annotations point; docs/runbooks.md has one section per alert, anchored by its name.
    runbook_base: str = "docs/runbooks.md"


# What `--set NAME=VALUE` may change: every setting but the profile, which is chosen by name.
SETTABLE = tuple(sorted(f.name for f in fields(AlertSettings) if f.name != "profile"))


def _stack_staleness_ms(stack_profile: str) -> int:
    return int(STACK_PROFILES[stack_profile]["MAX_STALENESS_MS"])


# profile -> (stack profile whose services it watches, overrides of the spec numbers)
PROFILES = {
    "spec": ("local", {}),
    "fast": ("test", dict(
        scrape_interval_s=1, evaluation_interval_s=1, rate_window_s=5, hint_backlog=20,
        breaker_open_for_s=3, staleness_for_s=2, error_rate_for_s=3, latency_for_s=4,
        connection_failures_for_s=2, node_unreachable_for_s=3, hint_backlog_for_s=3)),
}


def load_alert_settings(profile: str = "spec", env: dict | None = None, **overrides) -> AlertSettings:
    """Build settings for ``profile``; MAX_STALENESS_MS in ``env`` wins over the stack profile's."""
    if profile not in PROFILES:
        raise AlertSettingsError([f"profile {profile!r} is unknown; accepted: {', '.join(PROFILES)}"])
    stack_profile, changes = PROFILES[profile]
    staleness = _stack_staleness_ms(stack_profile)
    if env and env.get("MAX_STALENESS_MS"):
        staleness = env["MAX_STALENESS_MS"]
    names = {f.name: f.type for f in fields(AlertSettings)}
    problems = [f"{k} is not an alert setting; known: {', '.join(SETTABLE)}" for k in overrides if k not in SETTABLE]
    if problems:
        raise AlertSettingsError(problems)
    raw = {"max_staleness_ms": staleness, **changes, **overrides}
    values = {}
    for name, value in raw.items():
        kind = float if names[name] == "float" else (str if names[name] == "str" else int)
        try:
            values[name] = kind(value)
        except (TypeError, ValueError):
            problems.append(f"{name}={value!r} is not a{'n integer' if kind is int else ' number'}; "
                            f"give e.g. {name}={getattr(AlertSettings, name, 1)}")
            continue
        if kind is float and not math.isfinite(values[name]):
            problems.append(f"{name}={value!r} is not a finite number; give e.g. {name}={getattr(AlertSettings, name)}")
            values.pop(name)
    settings = replace(AlertSettings(profile=profile, max_staleness_ms=0), **values)
    problems += _check(settings)
    if problems:
        raise AlertSettingsError(problems)
    return settings


def _check(s: AlertSettings) -> list[str]:
    problems = []
    for name in ("error_ratio", "connection_failure_ratio"):
        if not 0 < getattr(s, name) < 1:
            problems.append(f"{name}={getattr(s, name)} is out of range; accepted: a ratio in (0, 1)")
    if s.p99_latency_s <= 0:
        problems.append(f"p99_latency_s={s.p99_latency_s} must be above 0 (seconds)")
    if s.p99_latency_s > MAX_SECONDS:
        problems.append(f"p99_latency_s={s.p99_latency_s} is above {MAX_SECONDS} s; give seconds, e.g. 0.5")
    for name in ("max_staleness_ms", "hint_backlog"):
        if not 0 <= getattr(s, name) <= MAX_COUNT:
            problems.append(f"{name}={getattr(s, name)} is out of range; accepted: 0 to {MAX_COUNT}")
    for f in fields(s):
        if f.name.endswith("_s") and f.name != "p99_latency_s" and not 1 <= getattr(s, f.name) <= MAX_SECONDS:
            problems.append(f"{f.name}={getattr(s, f.name)} is out of range; accepted: 1 to {MAX_SECONDS} (seconds)")
    if not s.runbook_base.strip() or any(c in s.runbook_base for c in "\n\r\0"):
        problems.append(f"runbook_base={s.runbook_base!r} must be one line of text, e.g. docs/runbooks.md")
    if s.rate_window_s < 2 * s.scrape_interval_s:
        problems.append(f"rate_window_s={s.rate_window_s} holds fewer than two scrapes "
                        f"(scrape_interval_s={s.scrape_interval_s}); make it at least twice as long")
    return problems


def duration(seconds: float) -> str:
    """Seconds as a Prometheus duration: 60 -> '1m', 90 -> '90s'."""
    seconds = int(seconds)
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"
