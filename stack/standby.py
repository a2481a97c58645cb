"""The standby region: one redis-server in a "second region", a replica of the native primary.

It replicates asynchronously through a Toxiproxy "WAN link" (``wan_dr1``) that adds latency each
way (40 ms +/- 10 ms by default), as a DR site in another region would. It is hidden from the
Sentinels (``replica-announced no``) and can never be promoted by them (``replica-priority 0``):
only the DR runbook promotes it (``REPLICAOF NO ONE``), after the primary region is lost
(docs/disaster-recovery.md, "Region failover"). Services reach it through its client proxy
(``native_dr1``).
"""
from __future__ import annotations

import redis

from .native import NativeNode
from .process import wait_until

NAME = "dr1"
LINK = f"wan_{NAME}"
STANDBY_EXTRA = """\
# the standby region: never promoted by Sentinel, and invisible to it
replica-priority 0
replica-announced no
"""


class StandbyNode(NativeNode):
    """The standby's redis-server: replicaof the WAN link, which leads to the primary region."""

    keep_conf = False  # a new drill starts a new standby: replica of the link again

    def __init__(self, cfg, run_dir, password):
        super().__init__(NAME, cfg.standby_port("redis"), run_dir, password, cfg.standby_port("client"),
                         primary_peer=cfg.standby_port("link"))
        self.name = f"redis-{NAME}"
        self.pidfile = self.run_dir / f"{self.name}.pid"
        self.logfile = self.run_dir / "logs" / f"{self.name}.log"

    def config_text(self) -> str:
        return super().config_text() + STANDBY_EXTRA


class StandbyRegion:
    """The standby node, its WAN link and its client proxy; started by whoever needs a DR site."""

    def __init__(self, cfg, run_dir, password):
        self.cfg = cfg
        self.node = StandbyNode(cfg, run_dir, password)

    def proxies(self, primary: str) -> list[tuple[str, int, int]]:
        """(name, listen, upstream): the WAN link to ``primary``, and the standby's client proxy."""
        cfg = self.cfg
        return [(LINK, cfg.standby_port("link"), cfg.native_port(primary)),
                (cfg.proxy_name("native", NAME), cfg.standby_port("client"), cfg.standby_port("redis"))]

    def start(self, toxiproxy, primary: str, latency_ms: int = 40, jitter_ms: int = 10,
              timeout: float = 30.0) -> None:
        """Link the standby to ``primary`` over the WAN, start it, and wait until it is in sync."""
        for name, listen, upstream in self.proxies(primary):
            toxiproxy.ensure_proxy(name, f"127.0.0.1:{listen}", f"127.0.0.1:{upstream}")
        self.add_latency(toxiproxy, latency_ms, jitter_ms)
        self.node.start()
        wait_until(lambda: self.replication().get("master_link_status") == "up", timeout,
                   f"standby {NAME} in sync over the WAN link")

    def add_latency(self, toxiproxy, latency_ms: int, jitter_ms: int) -> None:
        """The WAN: latency_ms +/- jitter_ms each way on the link (replaced if already there)."""
        for stream in ("downstream", "upstream"):
            name = f"wan_latency_{stream}"
            if any(t.name == name for t in toxiproxy.toxics(LINK)):
                toxiproxy.remove_toxic(LINK, name)
            toxiproxy.add_toxic(LINK, "latency", {"latency": latency_ms, "jitter": jitter_ms},
                                stream=stream, name=name)

    def replication(self) -> dict:
        try:
            with self.node.client(decode_responses=True) as c:
                return c.info("replication")
        except redis.RedisError:
            return {}

    def lag(self, primary_offset: int | None) -> dict:
        """How far the standby is behind: bytes of the replication stream, and its link's silence."""
        info = self.replication()
        offset = info.get("slave_repl_offset", info.get("master_repl_offset"))
        behind = None if primary_offset is None or offset is None else max(0, int(primary_offset) - int(offset))
        return {"standby_offset": offset, "primary_offset": primary_offset, "lag_bytes": behind,
                "link": info.get("master_link_status"), "last_io_s": info.get("master_last_io_seconds_ago")}

    def promote(self, timeout: float = 10.0) -> None:
        """REPLICAOF NO ONE: the standby becomes a primary and takes writes."""
        with self.node.client(decode_responses=True) as c:
            c.execute_command("REPLICAOF", "NO", "ONE")
        wait_until(lambda: self.replication().get("role") == "master", timeout, f"standby {NAME} promoted")

    def stop(self) -> bool:
        return self.node.stop()
