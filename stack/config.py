"""Where everything in the local stack runs: ports, folders, and the services' settings per profile."""
from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

from .process import write_private

SERVICES = ("cp", "ap")
# How HAProxy spreads requests over several instances of a service (docs/scaling.md): in turn, or
# each client to one instance, by a cookie HAProxy sets or by the session header the client sends.
BALANCE = ("roundrobin", "cookie", "header")
SESSION_HEADER = "X-Caplab-Session"
MAX_INSTANCES = 9

# Settings the services get in each profile. "local" keeps the spec's numbers except where a
# laptop demo would wait minutes; "test" is fast so tests never sleep long.
PROFILES = {
    "local": {"NETWORK_TIMEOUT_SEC": "0.5", "MAX_STALENESS_MS": "5000", "BREAKER_FAIL_MAX": "5",
              "BREAKER_RESET_TIMEOUT_SEC": "5", "RATE_LIMIT": "100000 per minute",
              "LOG_LEVEL": "INFO", "MAINTENANCE_INTERVAL_SEC": "0.5"},
    "test": {"NETWORK_TIMEOUT_SEC": "0.25", "MAX_STALENESS_MS": "500", "BREAKER_FAIL_MAX": "3",
             "BREAKER_RESET_TIMEOUT_SEC": "1", "RATE_LIMIT": "100000 per minute",
             "LOG_LEVEL": "INFO", "MAINTENANCE_INTERVAL_SEC": "0.2"},
}


def proxy_name(service: str, node: str) -> str:
    """Name the proxy that carries ``service``'s traffic to ``node`` (the naming contract: the stack
    creates these proxies, faults and experiment validation name them)."""
    return f"{service}_{node}"


@dataclass(frozen=True)
class StackConfig:
    """Ports follow one rule: node i (1-based) of service s listens on proxy_base + 100*s + i."""

    run_dir: Path = Path("run")
    nodes: tuple[str, ...] = ("g1", "g2")
    profile: str = "local"
    redis_base_port: int = 6380  # g1 = 6381, g2 = 6382, ...
    toxiproxy_port: int = 8474
    proxy_base_port: int = 7000  # cp_g1 = 7101, ap_g1 = 7201
    service_ports: dict = field(default_factory=lambda: {"cp": 5001, "ap": 5002, "native": 5003})
    workers: int = 2
    redis_maxmemory: str = "256mb"
    extra_env: dict = field(default_factory=dict)
    alerts: bool = False  # also run Prometheus (and Alertmanager) with caplab's alert rules
    prometheus_port: int = 9090
    alertmanager_port: int = 9093
    dashboard_port: int = 8080  # make dashboard (dashboard/)
    webhook_port: int = 0  # with alerts: also run Alertmanager, routing to a webhook on this port
    webhook_receiver: bool = False  # with a webhook port: the stack runs the receiver too (make up ALERTS=1)
    alert_profile: str = ""  # fast | spec; empty: fast for the "test" profile, spec otherwise
    # native: Redis's own replication beside CP/AP (stack/native.py). Node i of native_nodes listens
    # on native_base_port + i, its peer proxy on + 3 + i, its client proxy on + 6 + i; Sentinel j on
    # sentinel_base_port + j.
    native: bool = False
    native_nodes: tuple[str, ...] = ("n1", "n2", "n3")
    native_base_port: int = 6390
    sentinel_base_port: int = 26380
    native_replication: str = "async"  # async | wait | min-replicas (NATIVE_REPLICATION)
    # Several instances of CP and AP behind HAProxy (stack/balancer.py); 1: one instance on the
    # service port, no HAProxy. Instance k of service s listens on instance_base_port + 10*(s+1) + k.
    instances: int = 1
    balance: str = "roundrobin"  # one of BALANCE
    instance_base_port: int = 5100  # cp instances 5111.., ap instances 5121..
    haproxy_stats_port: int = 5190  # HAProxy's stats page (/stats) and Prometheus endpoint (/metrics)
    check_interval_ms: int = 500  # HAProxy's /ready check of each instance; 2 failures take it out
    instance_links: bool = False  # each instance reaches each node through a proxy of its own too
    haproxy: bool = False  # HAProxy in front even of a single instance (the balancer's own cost)
    local_reads: bool = False  # AP instance k reads node k (mod N) first: each instance beside "its" replica

    def redis_port(self, node: str) -> int:
        return self.redis_base_port + self.nodes.index(node) + 1

    def proxy_port(self, service: str, node: str) -> int:
        return self.proxy_base_port + 100 * (SERVICES.index(service) + 1) + self.nodes.index(node) + 1

    def proxy_name(self, service: str, node: str) -> str:
        return proxy_name(service, node)

    def instance_port(self, service: str, k: int) -> int:
        """Where instance k (1-based) of a service listens when several run behind HAProxy."""
        return self.instance_base_port + 10 * (SERVICES.index(service) + 1) + k

    def instance_proxy_port(self, service: str, k: int, node: str) -> int:
        """The port of instance k's own proxy to a node (with instance_links): cp1_g1 = 7111."""
        return self.proxy_port(service, node) + 10 * k

    @property
    def balanced(self) -> bool:
        """Say whether HAProxy runs in front of CP and AP (more than one instance each, or asked)."""
        return self.instances > 1 or self.haproxy

    def native_port(self, node: str, kind: str = "redis") -> int:
        """The port of a native node: ``redis`` itself, its ``peer`` proxy or its ``client`` proxy."""
        return self.native_base_port + {"redis": 1, "peer": 4, "client": 7}[kind] + self.native_nodes.index(node)

    def standby_port(self, kind: str = "redis") -> int:
        """The standby region (stack/native.py): its redis-server, the WAN link it replicates through,
        and the client proxy services reach it by, at sentinel_base_port + 4, 5, 6."""
        return self.sentinel_base_port + {"redis": 4, "link": 5, "client": 6}[kind]

    @property
    def sentinel_ports(self) -> list[int]:
        return [self.sentinel_base_port + j for j in (1, 2, 3)]

    @property
    def services(self) -> tuple[str, ...]:
        """The services this stack runs: cp and ap, and native when asked for."""
        return SERVICES + (("native",) if self.native else ())

    @property
    def toxiproxy_url(self) -> str:
        return f"http://127.0.0.1:{self.toxiproxy_port}"

    def service_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.service_ports[service]}"

    def secrets(self) -> dict:
        """The stack's password and secret key: made once per run folder, never in the repo."""
        path = Path(self.run_dir) / "secrets.json"
        if path.exists():
            return json.loads(path.read_text())
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"REDIS_PASSWORD": secrets.token_hex(16), "SECRET_KEY": secrets.token_hex(32)}
        write_private(path, json.dumps(data))
        return data

    def service_env(self, service: str, instance: int = 0) -> dict:
        """Every setting the service reads, for this profile: its nodes are its own proxies.

        ``instance`` k >= 1 is one of several CP or AP instances behind HAProxy: it listens on its
        own port and, with instance_links, reaches each node through its own proxy first."""
        if service == "native":
            nodes = ",".join(f"{n}=127.0.0.1:{self.native_port(n, 'client')}" for n in self.native_nodes)
        else:
            port = {n: self.proxy_port(service, n) for n in self.nodes}
            if instance and self.instance_links:
                port = {n: self.instance_proxy_port(service, instance, n) for n in self.nodes}
            nodes = ",".join(f"{n}=127.0.0.1:{port[n]}" for n in self.nodes)
        listen = self.instance_port(service, instance) if instance else self.service_ports[service]
        env = {"APP_MODE": service, "REDIS_NODES": nodes, **PROFILES[self.profile], **self.secrets(),
               "PORT": str(listen), "WEB_WORKERS": str(self.workers)}
        if service == "native":
            env.update(NATIVE_SENTINELS=",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports),
                       NATIVE_PEERS=",".join(f"{n}=127.0.0.1:{self.native_port(n, 'peer')}" for n in self.native_nodes))
            if self.native_replication != "async":  # unset means the default, as an experiment's overrides expect
                env["NATIVE_REPLICATION"] = self.native_replication
        if service == "ap" and instance and self.local_reads:
            env["AP_READ_NODE"] = self.nodes[(instance - 1) % len(self.nodes)]
        env.update({k: str(v) for k, v in self.extra_env.items()})
        return env

    def ensure_valid(self) -> None:
        """Raise ValueError naming the setting to fix when the stack's shape cannot run."""
        if not 1 <= self.instances <= MAX_INSTANCES:
            raise ValueError(f"instances must be 1..{MAX_INSTANCES}, not {self.instances!r}")
        if self.balance not in BALANCE:
            raise ValueError(f"balance must be one of {list(BALANCE)}, not {self.balance!r}")

    def with_(self, **changes) -> "StackConfig":
        return replace(self, **changes)


def test_config(run_dir: Path, offset: int = 0, **changes) -> StackConfig:
    """A stack on ports away from the defaults, so tests never touch a user's running stack.

    CAPLAB_TEST_PORT_OFFSET shifts every test port, so two test runs can share a machine.
    """
    offset += int(os.environ.get("CAPLAB_TEST_PORT_OFFSET", "0"))
    return StackConfig(run_dir=Path(run_dir), profile="test", redis_base_port=16380 + offset,
                       toxiproxy_port=18474 + offset, proxy_base_port=17000 + offset,
                       service_ports={"cp": 15001 + offset, "ap": 15002 + offset, "native": 15003 + offset},
                       native_base_port=16390 + offset, sentinel_base_port=16480 + offset,
                       prometheus_port=19090 + offset, alertmanager_port=19093 + offset,
                       dashboard_port=15080 + offset,
                       **{"instance_base_port": 15100 + offset, "haproxy_stats_port": 15190 + offset,
                          "check_interval_ms": 200, **changes})


test_config.__test__ = False  # a factory, not a test, though modules that import it are collected
