"""caplab's own Locust options: each one a command-line flag, a CAPLAB_* variable and a locust.conf key.

Locust sends these options from the master to its workers with every spawn, so in distributed mode
only the master needs them.
"""
from __future__ import annotations

import argparse


class NotYesNo(argparse.ArgumentTypeError, ValueError):
    """A yes/no option given something else; argparse prints the message as it is."""


def _bool(text) -> bool:
    if isinstance(text, bool):
        return text
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise NotYesNo(f"{text!r} is not a yes/no value; give yes or no")


def add_arguments(parser) -> None:
    g = parser.add_argument_group("caplab", "The services under load, the load shape, thresholds and history")
    add = g.add_argument
    add("--cp-url", env_var="CAPLAB_CP_URL", default="http://127.0.0.1:5001", help="CP service base URL")
    add("--ap-url", env_var="CAPLAB_AP_URL", default="http://127.0.0.1:5002", help="AP service base URL")
    add("--shape", env_var="CAPLAB_SHAPE", default="steady", choices=["steady", "step", "spike", "soak"],
        help="load shape, sized by -u, -r and -t")
    add("--settle-s", env_var="CAPLAB_SETTLE_S", type=float, default=1.0,
        help="seconds after each ramp before the steady state is judged")
    add("--p95-ms", env_var="CAPLAB_P95_MS", type=float, default=500.0, help="p95 latency threshold (ms)")
    add("--max-error-rate", env_var="CAPLAB_MAX_ERROR_RATE", type=float, default=0.001,
        help="error-rate threshold as a fraction (0.001 = 0.1%%)")
    add("--refusals-are-errors", env_var="CAPLAB_REFUSALS_ARE_ERRORS", type=_bool, default=True,
        help="count CP 503 refusals as errors in the thresholds (yes/no)")
    add("--out-dir", env_var="CAPLAB_OUT", default="", help="folder for thresholds.json (master only)")
    add("--history", env_var="CAPLAB_HISTORY", default="", help="write the invoke/complete history here")
    add("--t0-wall-ms", env_var="CAPLAB_T0_WALL_MS", type=float, default=0.0,
        help="wall-clock ms that history times count from (default: when the master starts)")
    add("--t0-monotonic", env_var="CAPLAB_T0_MONOTONIC", type=float, default=0.0,
        help="the run's time zero on this machine's monotonic clock (seconds), e.g. a chaos runner's; "
             "default: the wall-clock reference, followed on the monotonic clock")
    add("--process-base", env_var="CAPLAB_PROCESS_BASE", type=int, default=0,
        help="first process id in the history, to stay clear of other clients of the same run")
    add("--run-id", env_var="CAPLAB_RUN_ID", default="", help="key prefix unique to the run (default: a timestamp)")
    add("--hot-keys", env_var="CAPLAB_HOT_KEYS", type=int, default=5, help="keys that get most traffic")
    add("--cold-keys", env_var="CAPLAB_COLD_KEYS", type=int, default=1000, help="keys that get the rest")
    add("--hot-ratio", env_var="CAPLAB_HOT_RATIO", type=float, default=0.8, help="share of ops on hot keys")
    add("--wait-ms", env_var="CAPLAB_WAIT_MS", default="10:50", help="think time between ops, MIN:MAX ms")
    add("--timeout-s", env_var="CAPLAB_TIMEOUT_S", type=float, default=5.0, help="per-request timeout")
    add("--writes-until-s", env_var="CAPLAB_WRITES_UNTIL_S", type=float, default=0.0,
        help="after this many seconds since t0 only read (0 = write all along), for a quiet convergence phase")


def check(options) -> None:
    """Validate the options at start-up; raise ValueError naming the flag and a fix."""
    lo, _, hi = str(options.wait_ms).partition(":")
    try:
        lo_ms, hi_ms = float(lo), float(hi or lo)
    except ValueError:
        raise ValueError(f"--wait-ms must be MIN:MAX in ms, e.g. 10:50, not {options.wait_ms!r}") from None
    if not 0 <= lo_ms <= hi_ms:
        raise ValueError(f"--wait-ms needs 0 <= MIN <= MAX, not {options.wait_ms!r}")
    if options.hot_keys < 1 or options.cold_keys < 0:
        raise ValueError("--hot-keys must be >= 1 and --cold-keys >= 0")
    if not 0 <= options.hot_ratio <= 1:
        raise ValueError(f"--hot-ratio is a fraction in [0, 1], not {options.hot_ratio}")
    if not 0 < options.p95_ms < float("inf") or not 0 <= options.max_error_rate <= 1:
        raise ValueError("--p95-ms must be > 0 and --max-error-rate a fraction in [0, 1] (0.001 = 0.1%)")


def wait_range(options) -> tuple[float, float]:
    lo, _, hi = str(options.wait_ms).partition(":")
    return float(lo) / 1000, float(hi or lo) / 1000
