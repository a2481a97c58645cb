"""Settings: the only reader of the environment, validated once at start-up.

Defaults live here, the environment overrides them, tests pass a dict. Every problem is reported
at once, each naming the variable, what it got, and what it accepts.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

NODE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
WEAK_SECRETS = {"change-me", "changeme", "secret", "dev", "development"}


class ConfigError(Exception):
    """One or more settings are invalid; the message lists each with its fix."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class NodeAddress:
    name: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.name}={self.host}:{self.port}"


@dataclass(frozen=True)
class Settings:
    mode: str
    nodes: tuple[NodeAddress, ...]
    secret_key: str = field(repr=False)
    redis_password: str = field(default="", repr=False)
    network_timeout_sec: float = 0.5
    max_staleness_ms: int = 5000
    breaker_fail_max: int = 5
    breaker_reset_timeout_sec: float = 30.0
    rate_limit: str = "100 per minute;1000 per hour"
    log_level: str = "INFO"
    max_key_length: int = 200
    max_value_bytes: int = 65536
    redis_retries: int = 0
    ap_read_node: str = ""
    maintenance_interval_sec: float = 1.0
    # Test-only: CP reads one node without a quorum, to show the linearizability checker bites.
    unsafe_cp_single_node_read: bool = False
    # Test-only: CP acknowledges every crossed write, even where that is not safe (see app/cp.py).
    unsafe_cp_crossed_ack: bool = False

    @property
    def quorum(self) -> int:
        return len(self.nodes) // 2 + 1

    @property
    def node_names(self) -> list[str]:
        return [n.name for n in self.nodes]


# variable -> (Settings field, default). Defaults for production use; the local stack overrides some.
VARIABLES = {
    "APP_MODE": ("mode", None),
    "REDIS_NODES": ("nodes", "g1=127.0.0.1:6379"),
    "SECRET_KEY": ("secret_key", None),
    "REDIS_PASSWORD": ("redis_password", ""),
    "NETWORK_TIMEOUT_SEC": ("network_timeout_sec", "0.5"),
    "MAX_STALENESS_MS": ("max_staleness_ms", "5000"),
    "BREAKER_FAIL_MAX": ("breaker_fail_max", "5"),
    "BREAKER_RESET_TIMEOUT_SEC": ("breaker_reset_timeout_sec", "30"),
    "RATE_LIMIT": ("rate_limit", "100 per minute;1000 per hour"),
    "LOG_LEVEL": ("log_level", "INFO"),
    "MAX_KEY_LENGTH": ("max_key_length", "200"),
    "MAX_VALUE_BYTES": ("max_value_bytes", "65536"),
    "REDIS_RETRIES": ("redis_retries", "0"),
    "AP_READ_NODE": ("ap_read_node", ""),
    "MAINTENANCE_INTERVAL_SEC": ("maintenance_interval_sec", "1.0"),
    "CAPLAB_TEST_UNSAFE_CP_READ": ("unsafe_cp_single_node_read", "0"),
    "CAPLAB_TEST_UNSAFE_CP_CROSSED_ACK": ("unsafe_cp_crossed_ack", "0"),
}


def _number(problems, var, raw, kind, lo, hi, unit=""):
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        problems.append(f"{var}={raw!r} is not a{'n integer' if kind is int else ' number'}; "
                        f"accepted: {lo}..{hi}{unit}")
        return None
    if not lo <= value <= hi:
        problems.append(f"{var}={raw!r} is out of range; accepted: {lo}..{hi}{unit}")
        return None
    return value


def _nodes(problems, raw):
    nodes, seen = [], set()
    for item in [p.strip() for p in str(raw).split(",") if p.strip()]:
        m = re.fullmatch(r"([^=]+)=([^:]+):(\d+)", item)
        if not m:
            problems.append(f"REDIS_NODES entry {item!r} is malformed; expected name=host:port, "
                            f"e.g. 'g1=127.0.0.1:6379,g2=127.0.0.1:6380'")
            continue
        name, host, port = m.group(1), m.group(2), int(m.group(3))
        if not NODE_NAME.match(name):
            problems.append(f"REDIS_NODES node name {name!r} is invalid; use lowercase letters, "
                            f"digits and '_', starting with a letter, at most 16 characters")
        elif name in seen:
            problems.append(f"REDIS_NODES lists node {name!r} twice; node names must be unique")
        if not 1 <= port <= 65535:
            problems.append(f"REDIS_NODES port {port} for {name!r} is out of range 1..65535")
        seen.add(name)
        nodes.append(NodeAddress(name, host, port))
    if not nodes:
        problems.append("REDIS_NODES is empty; list at least one node as name=host:port")
    return tuple(nodes)


def _read_secret(env, var):
    """Read VAR, or the file named by VAR_FILE (for Docker secrets)."""
    path = env.get(var + "_FILE")
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                return fh.read().strip()
        except OSError as exc:
            raise ConfigError([f"{var}_FILE={path!r} cannot be read ({exc.strerror}); "
                               f"point it at a readable file or set {var} instead"])
    return env.get(var)


def load_settings(env=None, mode: str | None = None, **overrides) -> Settings:
    """Build Settings from ``env`` (default: os.environ) and overrides; raise ConfigError on any problem."""
    env = dict(os.environ if env is None else env)
    for var, value in overrides.items():
        env[var] = str(value)
    if mode is not None:
        env["APP_MODE"] = mode
    problems: list[str] = []
    raw = {var: (_read_secret(env, var) if var in ("SECRET_KEY", "REDIS_PASSWORD") else env.get(var))
           for var in VARIABLES}
    raw = {var: (default if raw[var] is None else raw[var]) for var, (_, default) in VARIABLES.items()}

    app_mode = (raw["APP_MODE"] or "").strip().lower()
    if app_mode not in ("cp", "ap"):
        problems.append(f"APP_MODE={raw['APP_MODE']!r} is invalid; accepted: 'cp' or 'ap'")
    nodes = _nodes(problems, raw["REDIS_NODES"])
    secret = raw["SECRET_KEY"] or ""
    if len(secret) < 16 or secret.lower() in WEAK_SECRETS:
        problems.append("SECRET_KEY is missing or weak; set at least 16 random characters, e.g. "
                        "python3 -c 'import secrets; print(secrets.token_hex(32))'")
    level = str(raw["LOG_LEVEL"]).upper()
    if level not in LOG_LEVELS:
        problems.append(f"LOG_LEVEL={raw['LOG_LEVEL']!r} is invalid; accepted: {', '.join(LOG_LEVELS)}")
    rate_limit = str(raw["RATE_LIMIT"]).strip()
    try:
        from limits import parse_many
        parse_many(rate_limit)
    except ValueError:
        problems.append(f"RATE_LIMIT={rate_limit!r} is invalid; use limits like "
                        f"'100 per minute;1000 per hour' (separated by ';')")
    unsafe = {var: str(raw[var]).strip().lower()
              for var in ("CAPLAB_TEST_UNSAFE_CP_READ", "CAPLAB_TEST_UNSAFE_CP_CROSSED_ACK")}
    for var, flag in unsafe.items():
        if flag not in ("0", "1", "true", "false", ""):
            problems.append(f"{var}={flag!r} is invalid; accepted: 0 or 1")
    names = [n.name for n in nodes]
    read_node = str(raw["AP_READ_NODE"]).strip() or (names[0] if names else "")
    if names and read_node not in names:
        problems.append(f"AP_READ_NODE={read_node!r} is not one of REDIS_NODES ({', '.join(names)})")

    values = dict(
        network_timeout_sec=_number(problems, "NETWORK_TIMEOUT_SEC", raw["NETWORK_TIMEOUT_SEC"], float, 0.01, 30, " s"),
        max_staleness_ms=_number(problems, "MAX_STALENESS_MS", raw["MAX_STALENESS_MS"], int, 0, 86_400_000, " ms"),
        breaker_fail_max=_number(problems, "BREAKER_FAIL_MAX", raw["BREAKER_FAIL_MAX"], int, 1, 1000),
        breaker_reset_timeout_sec=_number(problems, "BREAKER_RESET_TIMEOUT_SEC", raw["BREAKER_RESET_TIMEOUT_SEC"], float, 0.05, 3600, " s"),
        max_key_length=_number(problems, "MAX_KEY_LENGTH", raw["MAX_KEY_LENGTH"], int, 1, 1024),
        max_value_bytes=_number(problems, "MAX_VALUE_BYTES", raw["MAX_VALUE_BYTES"], int, 1, 16 * 1024 * 1024, " bytes"),
        redis_retries=_number(problems, "REDIS_RETRIES", raw["REDIS_RETRIES"], int, 0, 3),
        maintenance_interval_sec=_number(problems, "MAINTENANCE_INTERVAL_SEC", raw["MAINTENANCE_INTERVAL_SEC"], float, 0.05, 60, " s"),
    )
    if problems:
        raise ConfigError(problems)
    return Settings(mode=app_mode, nodes=nodes, secret_key=secret,
                    redis_password=raw["REDIS_PASSWORD"] or "", rate_limit=rate_limit,
                    log_level=level, ap_read_node=read_node,
                    unsafe_cp_single_node_read=unsafe["CAPLAB_TEST_UNSAFE_CP_READ"] in ("1", "true"),
                    unsafe_cp_crossed_ack=unsafe["CAPLAB_TEST_UNSAFE_CP_CROSSED_ACK"] in ("1", "true"),
                    **values)
