"""Each bad setting stops start-up with a message naming the variable and the accepted values."""
from __future__ import annotations

import subprocess
import sys

import pytest

from app.config import ConfigError, load_settings
from stack import ROOT

GOOD = {"APP_MODE": "cp", "SECRET_KEY": "0123456789abcdef" * 2, "REDIS_NODES": "g1=127.0.0.1:1,g2=127.0.0.1:2"}


def test_good_settings_and_defaults():
    s = load_settings(GOOD)
    assert s.mode == "cp" and s.node_names == ["g1", "g2"] and s.quorum == 2
    assert s.network_timeout_sec == 0.5 and s.max_staleness_ms == 5000 and s.ap_read_node == "g1"
    assert load_settings({**GOOD, "REDIS_NODES": "a=h:1,b=h:2,c=h:3"}).quorum == 2


NATIVE = {**GOOD, "APP_MODE": "native", "REDIS_NODES": "n1=127.0.0.1:1,n2=127.0.0.1:2",
          "NATIVE_SENTINELS": "127.0.0.1:26381,127.0.0.1:26382"}


def test_native_settings_and_what_native_needs():
    s = load_settings(NATIVE)
    assert s.native_sentinels == (("127.0.0.1", 26381), ("127.0.0.1", 26382))
    assert s.native_replication == "async" and s.native_replicas == 1 and s.native_read_from == "primary"
    with pytest.raises(ConfigError, match="NATIVE_SENTINELS is empty but REDIS_NODES names 2 nodes"):
        load_settings({**NATIVE, "NATIVE_SENTINELS": ""})
    alone = load_settings({**NATIVE, "NATIVE_SENTINELS": "", "REDIS_NODES": "dr1=127.0.0.1:9"})
    assert alone.native_sentinels == () and alone.node_names == ["dr1"]  # a promoted standby, no Sentinel
    with pytest.raises(ConfigError, match="exactly one peer address"):
        load_settings({**NATIVE, "NATIVE_PEERS": "n1=127.0.0.1:9"})
    with pytest.raises(ConfigError, match="NATIVE_MASTER_NAME='My Master' is invalid"):
        load_settings({**NATIVE, "NATIVE_MASTER_NAME": "My Master"})
    assert load_settings({**GOOD, "NATIVE_SENTINELS": ""}).mode == "cp"  # only native needs them


@pytest.mark.parametrize("var,value,words", [
    ("APP_MODE", "ca", "accepted: cp, ap, native"),
    ("REDIS_NODES", "g1:6379", "expected name=host:port"),
    ("REDIS_NODES", "g1=h:1,g1=h:2", "twice"),
    ("REDIS_NODES", "G 1=h:1", "node name"),
    ("REDIS_NODES", "g1=h:70000", "out of range"),
    ("REDIS_NODES", "", "empty"),
    ("SECRET_KEY", "short", "at least 16"),
    ("SECRET_KEY", "change-me", "weak"),
    ("NETWORK_TIMEOUT_SEC", "fast", "not a number"),
    ("NETWORK_TIMEOUT_SEC", "0", "0.01..30"),
    ("MAX_STALENESS_MS", "-1", "out of range"),
    ("MAX_STALENESS_MS", "1.5", "not an integer"),
    ("BREAKER_FAIL_MAX", "0", "1..1000"),
    ("BREAKER_RESET_TIMEOUT_SEC", "x", "not a number"),
    ("RATE_LIMIT", "lots", "per minute"),
    ("LOG_LEVEL", "LOUD", "DEBUG, INFO"),
    ("MAX_KEY_LENGTH", "5000", "1..1024"),
    ("MAX_VALUE_BYTES", "0", "out of range"),
    ("REDIS_RETRIES", "10", "0..3"),
    ("AP_READ_NODE", "g9", "not one of REDIS_NODES"),
    ("MAINTENANCE_INTERVAL_SEC", "0", "out of range"),
    ("CAPLAB_TEST_UNSAFE_CP_READ", "yes", "accepted: 0 or 1"),
    ("CAPLAB_TEST_UNSAFE_CP_CROSSED_ACK", "2", "accepted: 0 or 1"),
    ("NATIVE_REPLICATION", "sync", "async, wait, min-replicas"),
    ("NATIVE_REPLICAS", "0", "1..8"),
    ("NATIVE_SENTINELS", "127.0.0.1", "not host:port"),
    ("NATIVE_READ_FROM", "any", "'primary' or 'replica'"),
])
def test_each_bad_value_is_named(var, value, words):
    with pytest.raises(ConfigError) as err:
        load_settings({**GOOD, var: value})
    text = str(err.value)
    assert var in text and words in text


def test_all_problems_reported_at_once():
    with pytest.raises(ConfigError) as err:
        load_settings({"APP_MODE": "x", "NETWORK_TIMEOUT_SEC": "y"})
    assert len(err.value.problems) == 3  # mode, secret, timeout


def test_secret_from_unreadable_file():
    with pytest.raises(ConfigError, match="SECRET_KEY_FILE"):
        load_settings({**GOOD, "SECRET_KEY_FILE": "/nonexistent/secret"})


@pytest.mark.parametrize("argv", [["-m", "app", "check-config"], ["-m", "app", "serve"]])
def test_bad_config_exits_2_with_a_message_and_no_traceback(argv):
    env = {"APP_MODE": "cp", "SECRET_KEY": "x", "NETWORK_TIMEOUT_SEC": "soon", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, *argv], env=env, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert "NETWORK_TIMEOUT_SEC='soon' is not a number" in out.stderr and "SECRET_KEY" in out.stderr
    assert "Traceback" not in out.stderr


def test_gunicorn_with_bad_config_exits_with_the_message():
    gunicorn = str(ROOT / ".venv" / "bin" / "gunicorn")
    env = {"APP_MODE": "ap", "SECRET_KEY": "0123456789abcdef" * 2, "REDIS_NODES": "nope", "PATH": "/usr/bin:/bin",
           "PORT": "15999", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, gunicorn, "-c", "app/gunicorn_conf.py", "app.wsgi:create()"],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "REDIS_NODES='nope' entry 'nope' is malformed" in out.stderr
    assert "Traceback" not in out.stderr
