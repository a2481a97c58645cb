"""The native side of the stack: three redis-servers replicating the Redis way, and three Sentinels.

Node n1 starts as primary, n2 and n3 as its replicas (REPLICAOF). Every node has exactly one
Toxiproxy "peer" proxy: replicas replicate through it, each node announces it
(``replica-announce-ip/port``), and the Sentinels monitor the primary at it. A replica that
replicated through any other address would be rewritten by Sentinel after a few seconds, so cutting
a node's peer proxy cuts it from its replicas and the Sentinels, while its "client" proxy (the
native service's way in) stays up: the isolated primary keeps taking writes.

Sentinel rewrites its configuration file, and reconfigures the nodes with CONFIG REWRITE: both
files are written only on a node's first start and kept afterwards (0600, in the run folder; Redis
writes the password into them when it rewrites them). The Sentinels listen on 127.0.0.1 only, with
no password of their own.
"""
from __future__ import annotations

from pathlib import Path

import redis

from .nodes import RedisNode
from .process import ManagedProcess, wait_until, write_private

MASTER = "caplab"  # the name the Sentinels monitor the primary under (NATIVE_MASTER_NAME)
# Sentinel timings per profile. down-after 2000 ms: 1000 gave a spurious +sdown on a busy 2-core
# machine, and Redis's own Sentinel tests use 2000 (docs/native.md).
SENTINEL_TIMING = {"local": {"down_after_ms": 2000, "failover_timeout_ms": 20000},
                   "test": {"down_after_ms": 2000, "failover_timeout_ms": 10000}}

NATIVE_EXTRA = """\
# native replication (stack/native.py)
replica-announce-ip 127.0.0.1
replica-announce-port {peer_port}
# The default 5 s delays the first full sync, and min-replicas refuses writes until it is done.
repl-diskless-sync-delay 0
repl-timeout 10
{replicaof}"""

SENTINEL_CONF = """\
bind 127.0.0.1
port {port}
protected-mode no
daemonize no
logfile ""
dir {data_dir}
sentinel resolve-hostnames no
sentinel monitor {master} 127.0.0.1 {primary_peer} 2
sentinel auth-pass {master} {password}
sentinel down-after-milliseconds {master} {down_after_ms}
sentinel failover-timeout {master} {failover_timeout_ms}
sentinel parallel-syncs {master} 1
"""


class NativeNode(RedisNode):
    """A redis-server of the native side: replicates through its peer proxy, announces it."""

    keep_conf = True

    def __init__(self, name, port, run_dir, password, peer_port, primary_peer=None):
        super().__init__(f"native-{name}", port, run_dir, password)
        self.node, self.peer_port, self.primary_peer = name, peer_port, primary_peer
        # Replicas authenticate to the primary with the same password, also on standard input.
        self.stdin_data = f"requirepass {password}\nmasterauth {password}\n".encode()

    def config_text(self) -> str:
        replicaof = f"replicaof 127.0.0.1 {self.primary_peer}\n" if self.primary_peer else ""
        return super().config_text() + NATIVE_EXTRA.format(peer_port=self.peer_port, replicaof=replicaof)


class SentinelProcess(ManagedProcess):
    """``redis-server <conf> --sentinel`` with a generated, writable configuration."""

    def __init__(self, index, port, run_dir, password, primary_peer, profile):
        run_dir = Path(run_dir).resolve()
        self.conf = run_dir / f"sentinel-{index}.conf"
        self.data_dir = run_dir / "data" / f"sentinel-{index}"
        self.password, self.primary_peer, self.profile = password, primary_peer, profile
        from .nodes import redis_binary
        super().__init__(f"sentinel-{index}", [redis_binary(), str(self.conf), "--sentinel"], run_dir,
                         port=port, ready=self._answers, umask=0o077)

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1.0,
                           socket_connect_timeout=1.0, decode_responses=True)

    def _answers(self) -> bool:
        with self.client() as c:
            return c.ping()

    def start(self) -> bool:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.conf.exists():
            write_private(self.conf, SENTINEL_CONF.format(
                port=self.port, data_dir=self.data_dir, master=MASTER, primary_peer=self.primary_peer,
                password=self.password, **SENTINEL_TIMING.get(self.profile, SENTINEL_TIMING["local"])))
        return super().start()


class NativeSide:
    """The native nodes and Sentinels of one StackConfig, and what they say about each other."""

    def __init__(self, cfg, run_dir: Path, password: str):
        self.cfg = cfg
        first = cfg.native_nodes[0]
        primary_peer = cfg.native_port(first, "peer")
        self.nodes = {n: NativeNode(n, cfg.native_port(n), run_dir, password, cfg.native_port(n, "peer"),
                                    None if n == first else primary_peer) for n in cfg.native_nodes}
        self.sentinels = [SentinelProcess(j, port, run_dir, password, primary_peer, cfg.profile)
                          for j, port in enumerate(cfg.sentinel_ports, start=1)]

    def proxies(self) -> list[tuple[str, int, int]]:
        """(name, listen port, upstream port): a peer and a client proxy per node."""
        out = []
        for n in self.cfg.native_nodes:
            out.append((peer_proxy(n), self.cfg.native_port(n, "peer"), self.cfg.native_port(n)))
            out.append((self.cfg.proxy_name("native", n), self.cfg.native_port(n, "client"), self.cfg.native_port(n)))
        return out

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until the primary has every replica online and each Sentinel knows the others."""
        replicas, others = len(self.nodes) - 1, len(self.sentinels) - 1

        def settled():
            view = self.sentinel_view()
            return all(v.get("replicas_ok") == replicas and v.get("other_sentinels") == others
                       for v in view) and self.roles().count("master") == 1
        wait_until(settled, timeout, "native replication and Sentinels")

    def roles(self) -> list[str]:
        return [self.replication(n).get("role", "down") for n in self.nodes]

    def replication(self, name: str) -> dict:
        """INFO replication of one node, or {} when it does not answer."""
        try:
            with self.nodes[name].client(decode_responses=True) as c:
                return c.info("replication")
        except redis.RedisError:
            return {}

    def sentinel_view(self) -> list[dict]:
        """What each Sentinel says: the primary's address, its flags, replicas online, other Sentinels."""
        view = []
        for s in self.sentinels:
            try:
                with s.client() as c:
                    m = c.sentinel_master(MASTER)
                    view.append({"sentinel": s.name, "primary": f"{m['ip']}:{m['port']}",
                                 "flags": _flags(m), "replicas_ok": _replicas_ok(c),
                                 "other_sentinels": int(m.get("num-other-sentinels", 0))})
            except redis.RedisError as exc:
                view.append({"sentinel": s.name, "error": str(exc)})
        return view

    def primary(self) -> str | None:
        """The node the Sentinels' majority names primary (by its peer address), or None."""
        peers = {f"127.0.0.1:{self.cfg.native_port(n, 'peer')}": n for n in self.nodes}
        named = [peers.get(v.get("primary")) for v in self.sentinel_view()]
        best = max(set(named), key=named.count, default=None)
        return best if best is not None and named.count(best) >= 2 else None

    def offsets(self) -> dict:
        """Each node's role and replication offset."""
        out = {}
        for n in self.nodes:
            info = self.replication(n)
            offset = info.get("master_repl_offset") if info.get("role") == "master" else info.get("slave_repl_offset")
            out[n] = {"role": info.get("role", "down"), "offset": offset,
                      "link": info.get("master_link_status", "")}
        return out


def _flags(entry: dict) -> str:
    """Sentinel's flags as text (redis-py parses them into a set)."""
    flags = entry.get("flags", "")
    return flags if isinstance(flags, str) else ",".join(sorted(flags))


def _replicas_ok(c) -> int:
    return sum(1 for r in c.sentinel_slaves(MASTER)
               if not {"s_down", "o_down", "disconnected"} & set(_flags(r).split(",")))


def peer_proxy(node: str) -> str:
    """The Toxiproxy proxy between a native node and its replicas and Sentinels."""
    return f"peer_{node}"
