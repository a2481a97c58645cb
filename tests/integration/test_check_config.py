"""`python -m app check-config` as a real process: every bad setting, gunicorn's included, is caught
before start with exit 2 and a line naming the variable and what it accepts; no traceback, and a
secret's value is never echoed."""
from __future__ import annotations

import subprocess
import sys

import pytest

from stack import ROOT

pytestmark = pytest.mark.integration
GOOD = {"APP_MODE": "cp", "SECRET_KEY": "0123456789abcdef" * 2, "REDIS_NODES": "g1=127.0.0.1:6381,g2=127.0.0.1:6382",
        "PATH": "/usr/bin:/bin", "HOME": "/tmp"}
UNSET = None

# (name, variable, value or UNSET, words the message must hold)
CASES = [
    ("app-mode-unset", "APP_MODE", UNSET, "APP_MODE is not set"),
    ("app-mode-empty", "APP_MODE", "", "accepted: cp, ap, native"),
    ("app-mode-typo", "APP_MODE", "ca", "accepted: cp, ap, native"),
    ("app-mode-both", "APP_MODE", "cp,ap", "accepted: cp, ap, native"),
    ("web-workers-letters", "WEB_WORKERS", "abc", "not an integer; accepted: 1..64"),
    ("web-workers-zero", "WEB_WORKERS", "0", "out of range; accepted: 1..64"),
    ("web-workers-negative", "WEB_WORKERS", "-2", "out of range"),
    ("web-workers-too-many", "WEB_WORKERS", "65", "out of range"),
    ("web-workers-fraction", "WEB_WORKERS", "2.5", "not an integer"),
    ("web-workers-underscore", "WEB_WORKERS", "1_0", "not an integer"),
    ("web-workers-fullwidth-digit", "WEB_WORKERS", "\uff12", "not an integer"),
    ("web-workers-empty", "WEB_WORKERS", "", "not an integer"),
    ("web-timeout-letters", "WEB_TIMEOUT_SEC", "soon", "not an integer; accepted: 1..3600"),
    ("web-timeout-zero", "WEB_TIMEOUT_SEC", "0", "out of range"),
    ("web-timeout-huge", "WEB_TIMEOUT_SEC", "99999999", "out of range"),
    ("graceful-timeout-negative", "WEB_GRACEFUL_TIMEOUT_SEC", "-1", "out of range; accepted: 0..3600"),
    ("worker-connections-zero", "WEB_WORKER_CONNECTIONS", "0", "out of range; accepted: 50..10000"),
    ("worker-class-unknown", "WEB_WORKER_CLASS", "eventlet", "accepted: 'gevent' or 'sync'"),
    ("port-overflow", "PORT", "99999", "out of range; accepted: 1..65535"),
    ("port-zero", "PORT", "0", "out of range"),
    ("port-letters", "PORT", "http", "not an integer"),
    ("port-with-host", "PORT", "127.0.0.1:5001", "not an integer"),
    ("bind-without-port", "BIND", "127.0.0.1", "host:port"),
    ("bind-port-overflow", "BIND", "127.0.0.1:70000", "host:port"),
    ("bind-space", "BIND", "a b:5001", "host:port"),
    ("control-socket-relative", "GUNICORN_CONTROL_SOCKET", "ctl.sock", "absolute path"),
    ("control-socket-too-long", "GUNICORN_CONTROL_SOCKET", "/tmp/" + "s" * 120, "at most 100"),
    ("metrics-dir-missing", "PROMETHEUS_MULTIPROC_DIR", "/nonexistent/caplab-metrics", "existing writable folder"),
    ("rate-limit-zero", "RATE_LIMIT", "0 per minute", "at least 1 request"),
    ("rate-limit-zero-in-list", "RATE_LIMIT", "10 per minute;0 per hour", "at least 1 request"),
    ("rate-limit-words", "RATE_LIMIT", "lots", "per minute"),
    ("rate-limit-empty", "RATE_LIMIT", "", "per minute"),
    ("secret-spaces", "SECRET_KEY", " " * 32, "no spaces"),
    ("secret-short", "SECRET_KEY", "short", "at least 16"),
    ("secret-one-character", "SECRET_KEY", "a" * 40, "at least 8 different"),
    ("secret-well-known", "SECRET_KEY", "change-me", "weak"),
    ("secret-with-tab", "SECRET_KEY", "0123456789\tabcdefgh", "no spaces"),
    ("secret-unset", "SECRET_KEY", UNSET, "SECRET_KEY is not set"),
    ("secret-file-missing", "SECRET_KEY_FILE", "/nonexistent/secret", "cannot be read"),
    ("password-with-space", "REDIS_PASSWORD", "pass word", "without spaces"),
    ("password-with-newline", "REDIS_PASSWORD", "pass\nrequirepass x", "without spaces"),
    ("nodes-empty", "REDIS_NODES", "", "is empty"),
    ("nodes-no-name", "REDIS_NODES", "127.0.0.1:6379", "expected name=host:port"),
    ("nodes-port-overflow", "REDIS_NODES", "g1=127.0.0.1:99999", "out of range"),
    ("nodes-twice", "REDIS_NODES", "g1=h:1,g1=h:2", "twice"),
    ("nodes-bad-name", "REDIS_NODES", "G 1=h:1", "node name"),
    ("nodes-arabic-digits", "REDIS_NODES", "g1=h:\u0666\u0663\u0667\u0669", "malformed"),
    ("nodes-host-with-space", "REDIS_NODES", "g1=a b:6379", "host"),
    ("timeout-nan", "NETWORK_TIMEOUT_SEC", "nan", "not a number; accepted: 0.01..30"),
    ("timeout-infinity", "NETWORK_TIMEOUT_SEC", "inf", "not a number"),
    ("timeout-exponent", "NETWORK_TIMEOUT_SEC", "1e3", "not a number"),
    ("timeout-zero", "NETWORK_TIMEOUT_SEC", "0", "out of range"),
    ("staleness-fraction", "MAX_STALENESS_MS", "1.5", "not an integer"),
    ("breaker-fail-max-zero", "BREAKER_FAIL_MAX", "0", "1..1000"),
    ("breaker-reset-letters", "BREAKER_RESET_TIMEOUT_SEC", "x", "not a number"),
    ("log-level-unknown", "LOG_LEVEL", "LOUD", "DEBUG, INFO"),
    ("key-length-too-long", "MAX_KEY_LENGTH", "5000", "1..1024"),
    ("value-bytes-zero", "MAX_VALUE_BYTES", "0", "out of range"),
    ("retries-too-many", "REDIS_RETRIES", "10", "0..3"),
    ("read-node-unknown", "AP_READ_NODE", "g9", "not one of REDIS_NODES"),
    ("maintenance-zero", "MAINTENANCE_INTERVAL_SEC", "0", "out of range"),
    ("unsafe-flag-maybe", "CAPLAB_TEST_UNSAFE_CP_READ", "maybe", "0 or 1"),
]


def check_config(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", "check-config"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("name,var,value,words", CASES, ids=[c[0] for c in CASES])
def test_check_config_refuses_with_the_variable_and_what_it_accepts(name, var, value, words):
    env = dict(GOOD)
    if value is UNSET:
        env.pop(var, None)
    else:
        env[var] = value
    out = check_config(env)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stdout == "" and "Traceback" not in out.stderr
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("  - ")]
    assert len(lines) == 1, out.stderr  # only the one bad setting is reported
    assert var.removesuffix("_FILE") in lines[0] and words in lines[0], lines[0]
    if var in ("SECRET_KEY", "REDIS_PASSWORD") and value:
        assert value not in out.stderr, "a secret was echoed"


def test_good_settings_pass_and_say_what_will_run():
    out = check_config({**GOOD, "WEB_WORKERS": "3", "PORT": "5101"})
    assert out.returncode == 0, out.stderr
    assert "configuration OK: cp over g1=127.0.0.1:6381, g2=127.0.0.1:6382" in out.stdout
    assert "127.0.0.1:5101 with 3 gevent workers" in out.stdout


def test_case_names_are_unique():
    assert len({c[0] for c in CASES}) == len(CASES)
