"""Settings: the only reader of the environment, validated once at start-up.

One table, ``TABLE``, names every setting of the services and of their gunicorn: its variable, its
default and what it accepts, once. The environment overrides the defaults, tests pass a dict. Every
problem is reported at once, each naming the variable, what it got, and what it accepts.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from . import setting_types as p

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(Exception):
    """One or more settings are invalid; the message lists each with its fix."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


NodeAddress = p.NodeAddress


@dataclass(frozen=True)
class Var:
    """One setting: its variable, the Settings field, the default (None: required), its parser."""

    name: str
    field: str
    default: str | None
    parse: object  # (raw: str) -> value; raises ValueError whose text says what is accepted
    group: str = "service"  # "service": app/; "gunicorn": app/gunicorn_conf.py


TABLE = (
    Var("APP_MODE", "mode", None, p.choice("cp", "ap", "native", fold=str.lower)),
    Var("REDIS_NODES", "nodes", "g1=127.0.0.1:6379", p.nodes),
    Var("SECRET_KEY", "secret_key", None, p.secret_key),
    Var("REDIS_PASSWORD", "redis_password", "", p.password),
    Var("NETWORK_TIMEOUT_SEC", "network_timeout_sec", "0.5", p.number(0.01, 30, " s")),
    Var("MAX_STALENESS_MS", "max_staleness_ms", "5000", p.integer(0, 86_400_000, " ms")),
    Var("BREAKER_FAIL_MAX", "breaker_fail_max", "5", p.integer(1, 1000)),
    Var("BREAKER_RESET_TIMEOUT_SEC", "breaker_reset_timeout_sec", "30", p.number(0.05, 3600, " s")),
    Var("RATE_LIMIT", "rate_limit", "100 per minute;1000 per hour", p.rate_limit),
    Var("LOG_LEVEL", "log_level", "INFO", p.choice(*LOG_LEVELS, fold=str.upper)),
    Var("MAX_KEY_LENGTH", "max_key_length", "200", p.integer(1, 1024)),
    Var("MAX_VALUE_BYTES", "max_value_bytes", "65536", p.integer(1, 16 * 1024 * 1024, " bytes")),
    Var("REDIS_RETRIES", "redis_retries", "0", p.integer(0, 3)),
    Var("AP_READ_NODE", "ap_read_node", "", p.node_name_or_empty),
    # native: Redis's own replication, the primary found through Sentinel (app/native.py).
    Var("NATIVE_SENTINELS", "native_sentinels", "", p.addresses),
    Var("NATIVE_MASTER_NAME", "native_master_name", "caplab", p.node_name_or_empty),
    Var("NATIVE_PEERS", "native_peers", "", p.nodes_or_empty),
    Var("NATIVE_REPLICATION", "native_replication", "async", p.choice("async", "wait", "min-replicas")),
    Var("NATIVE_REPLICAS", "native_replicas", "1", p.integer(1, 8)),
    Var("NATIVE_WAIT_TIMEOUT_MS", "native_wait_timeout_ms", "100", p.integer(1, 60_000, " ms")),
    Var("NATIVE_MAX_LAG_SEC", "native_max_lag_sec", "2", p.integer(1, 3600, " s")),
    Var("NATIVE_READ_FROM", "native_read_from", "primary", p.choice("primary", "replica")),
    Var("MAINTENANCE_INTERVAL_SEC", "maintenance_interval_sec", "1.0", p.number(0.05, 60, " s")),
    Var("CAPLAB_TEST_UNSAFE_CP_READ", "unsafe_cp_single_node_read", "0", p.boolean),
    Var("CAPLAB_TEST_UNSAFE_CP_CROSSED_ACK", "unsafe_cp_crossed_ack", "0", p.boolean),
    Var("PORT", "port", "5001", p.integer(1, 65535), "gunicorn"),
    Var("BIND", "bind", "", p.bind, "gunicorn"),
    Var("WEB_WORKERS", "web_workers", "2", p.integer(1, 64), "gunicorn"),
    Var("WEB_WORKER_CONNECTIONS", "web_worker_connections", "1000", p.integer(50, 10000), "gunicorn"),
    Var("WEB_TIMEOUT_SEC", "web_timeout_sec", "30", p.integer(1, 3600, " s"), "gunicorn"),
    Var("WEB_GRACEFUL_TIMEOUT_SEC", "web_graceful_timeout_sec", "10", p.integer(0, 3600, " s"), "gunicorn"),
    Var("WEB_WORKER_CLASS", "web_worker_class", "gevent", p.choice("gevent", "sync"), "gunicorn"),
    Var("GUNICORN_CONTROL_SOCKET", "control_socket", "", p.socket_path, "gunicorn"),
    Var("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir", "", p.writable_dir, "gunicorn"),
)
# variable -> (Settings field, default), for the services' own settings (compose and docs read it).
VARIABLES = {v.name: (v.field, v.default) for v in TABLE if v.group == "service"}
GUNICORN_VARIABLES = tuple(v.name for v in TABLE if v.group == "gunicorn")
SECRETS = ("SECRET_KEY", "REDIS_PASSWORD")  # may also come from VAR_FILE


@dataclass(frozen=True)
class Settings:
    mode: str
    nodes: tuple[NodeAddress, ...]
    secret_key: str = field(repr=False)
    redis_password: str = field(repr=False)
    network_timeout_sec: float
    max_staleness_ms: int
    breaker_fail_max: int
    breaker_reset_timeout_sec: float
    rate_limit: str
    log_level: str
    max_key_length: int
    max_value_bytes: int
    redis_retries: int
    ap_read_node: str
    native_sentinels: tuple
    native_master_name: str
    native_peers: tuple
    native_replication: str
    native_replicas: int
    native_wait_timeout_ms: int
    native_max_lag_sec: int
    native_read_from: str
    maintenance_interval_sec: float
    # Test-only: CP reads one node without a quorum, to show the linearizability checker bites.
    unsafe_cp_single_node_read: bool
    # Test-only: CP acknowledges every crossed write, even where that is not safe (see app/cp.py).
    unsafe_cp_crossed_ack: bool
    port: int
    bind: str
    web_workers: int
    web_worker_connections: int
    web_timeout_sec: int
    web_graceful_timeout_sec: int
    web_worker_class: str
    control_socket: str
    prometheus_multiproc_dir: str

    @property
    def quorum(self) -> int:
        return len(self.nodes) // 2 + 1

    @property
    def node_names(self) -> list[str]:
        return [n.name for n in self.nodes]

    @property
    def listen(self) -> str:
        """Where gunicorn listens: BIND, else 127.0.0.1:PORT."""
        return self.bind or f"127.0.0.1:{self.port}"

    def control_socket_path(self) -> str:
        """This instance's own gunicorn control socket (gunicorn's default is one per user)."""
        if self.control_socket:
            return self.control_socket
        base = os.environ.get("XDG_RUNTIME_DIR") or os.path.join(os.path.expanduser("~"), ".gunicorn")
        return os.path.join(base, "caplab-" + re.sub(r"[^A-Za-z0-9.]", "_", self.listen) + ".ctl")


def _read_secret(env, var, problems):
    """Read VAR, or the file named by VAR_FILE (for Docker secrets)."""
    path = env.get(var + "_FILE")
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                return fh.read().strip()
        except (OSError, UnicodeError) as exc:
            problems.append(f"{var}_FILE={path!r} cannot be read ({getattr(exc, 'strerror', None) or exc}); "
                            f"point it at a readable UTF-8 file or set {var} instead")
            return _UNREADABLE
    return env.get(var)


_UNREADABLE = object()  # a secret file that could not be read: reported once, not judged again


def load_settings(env=None, mode: str | None = None, **overrides) -> Settings:
    """Build Settings from ``env`` (default: os.environ) and overrides; raise ConfigError on any problem."""
    env = dict(os.environ if env is None else env)
    env.update({var: str(value) for var, value in overrides.items()})
    if mode is not None:
        env["APP_MODE"] = mode
    problems: list[str] = []
    values = {}
    for var in TABLE:
        raw = _read_secret(env, var.name, problems) if var.name in SECRETS else env.get(var.name)
        if raw is _UNREADABLE:
            continue
        if raw is None:
            raw = var.default
        if raw is None:
            problems.append(f"{var.name} is not set; {p.accepted(var.parse)}")
            continue
        try:
            values[var.field] = var.parse(raw)
        except ValueError as exc:
            shown = "<hidden>" if var.name in SECRETS else repr(raw)
            problems.append(f"{var.name}={shown} {exc}")
    names = [n.name for n in values.get("nodes", ())]
    if names and "ap_read_node" in values:
        values["ap_read_node"] = values["ap_read_node"] or names[0]
        if values["ap_read_node"] not in names:
            problems.append(f"AP_READ_NODE={values['ap_read_node']!r} is not one of REDIS_NODES "
                            f"({', '.join(names)})")
    if values.get("mode") == "native":
        _check_native(values, names, problems)
    if problems:
        raise ConfigError(problems)
    return Settings(**values)


def _check_native(values, names, problems):
    """native without Sentinels has one node, its primary; with them, a peer address per node."""
    if "native_sentinels" in values and not values["native_sentinels"] and len(names) > 1:
        problems.append(f"NATIVE_SENTINELS is empty but REDIS_NODES names {len(names)} nodes; list the "
                        "Sentinels as host:port entries separated by commas, e.g. "
                        "'127.0.0.1:26379,127.0.0.1:26380', or name one node (a primary without Sentinel)")
    peers = [n.name for n in values.get("native_peers", ())]
    if peers and names and sorted(peers) != sorted(names):
        problems.append(f"NATIVE_PEERS names {', '.join(peers)} but REDIS_NODES names {', '.join(names)}; "
                        f"give every node exactly one peer address")
    if "native_master_name" in values and not p.NODE_NAME.fullmatch(values["native_master_name"]):
        problems.append(f"NATIVE_MASTER_NAME={values['native_master_name']!r} is invalid; name the primary "
                        f"as the Sentinels monitor it: lowercase letters, digits and '_', at most 16")
