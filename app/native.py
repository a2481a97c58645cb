"""The native policy: Redis's own asynchronous replication, the primary found through Sentinel.

Write: "store if newer" on the primary only (the same record and script as CP and AP), then, with
``NATIVE_REPLICATION=wait``, ``WAIT n timeout`` sent as its own command on the same connection in
the same round trip (inside a script WAIT returns at once). Redis replicates to the replicas
afterwards, asynchronously; a write acknowledged here can still be lost when Sentinel promotes a
replica that never received it. That loss is what this mode is for (docs/experiments.md).

Answers, as CP's: ``200``, or ``503`` with an outcome.
- WAIT reached fewer than n replicas: ``unknown``. The write stays on the primary and may survive;
  it is not rolled back.
- ``NOREPLICAS`` (min-replicas refused it) or ``READONLY`` (the node was demoted): ``not_applied``.
- Network trouble: ``unknown`` if the command may have reached the primary, else ``not_applied``.

Finding the primary follows redis-py's Sentinel client: ask the Sentinels once, keep using that
node while it answers, and ask again after a network error or READONLY. The Sentinels name nodes by
their peer address (the one they announce); ``NATIVE_PEERS`` maps it to the node's name in
``REDIS_NODES``, whose address is the one this service uses (its client proxy).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace

import redis
from redis.sentinel import Sentinel

from .errors import NotFound, Unavailable
from .metrics import NATIVE_PRIMARY, NATIVE_REFUSALS, STALENESS
from .nodes import NodeUnavailable
from .records import RECORD_FIELDS, ZERO, Record, Version, record_args, record_from_fields, record_key

log = logging.getLogger("caplab.native")
MAX_ATTEMPTS = 3  # rounds of "store if newer" when the primary holds a newer version


def node_settings(settings):
    """The settings the native nodes' clients use: a WAIT may block for its timeout on top."""
    if settings.native_replication != "wait":
        return settings
    return replace(settings, network_timeout_sec=settings.network_timeout_sec
                   + settings.native_wait_timeout_ms / 1000)


class NativeStore:
    mode = "native"

    def __init__(self, settings, nodes, clock, writer_name):
        self.settings, self.nodes, self.clock, self.writer_name = settings, nodes, clock, writer_name
        self._by_name = {n.name: n for n in nodes}
        peers = settings.native_peers or settings.nodes
        self._peer_names = {(a.host, a.port): a.name for a in peers}
        timeout = settings.network_timeout_sec
        # Without Sentinels the one node is the primary: a promoted standby (docs/disaster-recovery.md).
        self.sentinel = Sentinel(list(settings.native_sentinels), socket_timeout=timeout,
                                 sentinel_kwargs={"socket_timeout": timeout, "socket_connect_timeout": timeout}
                                 ) if settings.native_sentinels else None
        self._primary = None
        self._configured: set = set()
        self._lag_ms: dict = {n.name: 0 for n in nodes}
        self._lock = threading.Lock()

    # -- the primary -------------------------------------------------------------------------------
    def _named(self, address) -> str | None:
        return self._peer_names.get((str(address[0]), int(address[1])))

    def primary(self, operation: str = "write"):
        """The node the Sentinels last named primary; ask them if there is none."""
        with self._lock:
            if self._primary is not None:
                return self._primary
        name = self._ask(operation)
        node = self._by_name[name]
        self._configure(node)
        with self._lock:
            if self._primary is not node:
                log.info("primary is %s", name, extra={"event": "NATIVE_PRIMARY", "node": name})
            self._primary = node
        for n in self.nodes:
            NATIVE_PRIMARY.labels(node=n.name).set(1 if n is node else 0)
        return node

    def _ask(self, operation: str) -> str:
        """The primary's name: the Sentinels' answer, mapped by peer address; without them, the one node."""
        if self.sentinel is None:
            return self.nodes[0].name
        try:
            address = self.sentinel.discover_master(self.settings.native_master_name)
        except (redis.sentinel.MasterNotFoundError, redis.RedisError) as exc:
            self._refuse(operation, "not_applied", f"no primary: the Sentinels did not name one ({exc})")
        name = self._named(address)
        if name is None:
            self._refuse(operation, "not_applied", f"the Sentinels name {address[0]}:{address[1]} as primary, "
                         f"which is none of NATIVE_PEERS; set NATIVE_PEERS to the nodes' announced addresses")
        return name

    def forget(self, node) -> None:
        """Ask the Sentinels again on the next call: ``node`` failed or is no longer primary."""
        with self._lock:
            if self._primary is node:
                self._primary = None
            self._configured.discard(node.name)  # a restarted node forgot its CONFIG SET

    def _configure(self, node) -> None:
        """Make the primary enforce NATIVE_REPLICATION=min-replicas (or not) before it takes writes."""
        s = self.settings
        want = s.native_replicas if s.native_replication == "min-replicas" else 0
        if node.name in self._configured:
            return
        try:
            node.call(node.client.config_set, "min-replicas-to-write", want)
            node.call(node.client.config_set, "min-replicas-max-lag", s.native_max_lag_sec)
            self._configured.add(node.name)
        except NodeUnavailable as exc:
            self._refuse("write", "not_applied", f"primary {node.name} unreachable: {exc.reason}", [node.name])

    def _refuse(self, operation, outcome, message, nodes=()):
        NATIVE_REFUSALS.labels(operation=operation, outcome=outcome).inc()
        raise Unavailable(message, outcome=outcome, mode=self.mode, nodes=list(nodes), retry_after=1)

    # -- writes ----------------------------------------------------------------------------------
    def write(self, key: str, value: str) -> dict:
        primary = self.primary("write")
        rk, above = record_key(key), ZERO
        for _attempt in range(MAX_ATTEMPTS):
            rec = Record(value, self.clock.tick(above), time.time_ns() // 1_000_000, self.writer_name)
            stored, reached = self._store(primary, rk, rec)
            if int(stored[0]) != 0:
                break
            above = Version(*(int(x) for x in stored[1:4]))  # a newer version is there: go above it
        else:
            self._refuse("write", "not_applied", f"primary {primary.name} kept a newer version "
                         f"after {MAX_ATTEMPTS} attempts", [primary.name])
        body = {"key": key, "value": value, "version": str(rec.version), "mode": self.mode,
                "nodes": [primary.name], "primary": primary.name, "staleness_ms": 0, "stale": False}
        if reached is not None:
            if reached < self.settings.native_replicas:
                self._refuse("write", "unknown", f"WAIT reached {reached} of {self.settings.native_replicas} "
                             f"replicas in {self.settings.native_wait_timeout_ms} ms: the write is on "
                             f"primary {primary.name} and may or may not survive a failover", [primary.name])
            body["replicated_to"] = reached
        return body

    def _store(self, primary, rk, rec):
        """Run the script on the primary (and WAIT on the same connection); return (reply, reached)."""
        s = self.settings
        pipe = primary.client.pipeline(transaction=False)
        primary.store_script(keys=[rk], args=record_args(rec), client=pipe)
        if s.native_replication == "wait":
            pipe.execute_command("WAIT", s.native_replicas, s.native_wait_timeout_ms)
        try:
            replies = primary.call(pipe.execute, raise_on_error=False)
        except NodeUnavailable as exc:
            self.forget(primary)
            self._refuse("write", "unknown" if exc.touched else "not_applied",
                         f"primary {primary.name} unreachable: {exc.reason}", [primary.name])
        stored = replies[0]
        if isinstance(stored, redis.exceptions.ReadOnlyError):
            self.forget(primary)  # Sentinel demoted it: ask again next time
            self._refuse("write", "not_applied", f"{primary.name} is no longer primary (READONLY)", [primary.name])
        if isinstance(stored, redis.exceptions.ResponseError) and "NOREPLICAS" in str(stored):
            self._refuse("write", "not_applied", f"primary {primary.name} refused the write: not enough "
                         f"replicas within min-replicas-max-lag (NOREPLICAS)", [primary.name])
        if isinstance(stored, Exception):
            raise stored
        return stored, (int(replies[1]) if len(replies) > 1 else None)

    # -- reads -----------------------------------------------------------------------------------
    def read(self, key: str) -> dict:
        node = self._replica() if self.settings.native_read_from == "replica" else self.primary("read")
        try:
            fields = node.call(node.client.hmget, record_key(key), RECORD_FIELDS)
        except NodeUnavailable as exc:
            self.forget(node)
            self._refuse("read", "not_applied", f"{node.name} unreachable: {exc.reason}", [node.name])
        lag = self._lag_ms.get(node.name, 0)
        stale = lag > self.settings.max_staleness_ms
        rec = record_from_fields(fields)
        if rec is None:
            raise NotFound(f"key {key!r} not found", key=key, value=None, version=None, mode=self.mode,
                           node=node.name, nodes=[node.name], staleness_ms=lag, stale=stale)
        self.clock.observe(rec.version)
        return {"key": key, "value": rec.value, "version": str(rec.version), "mode": self.mode,
                "node": node.name, "nodes": [node.name], "written_at": rec.written_at,
                "writer": rec.writer, "staleness_ms": lag, "stale": stale}

    def _replica(self):
        """A replica the Sentinels list and whose breaker lets calls through (stale reads)."""
        if self.sentinel is None:
            self._refuse("read", "not_applied", "no replica: this primary runs without Sentinel (NATIVE_SENTINELS "
                         "is empty); set NATIVE_READ_FROM=primary")
        try:
            replicas = self.sentinel.discover_slaves(self.settings.native_master_name)
        except redis.RedisError as exc:
            self._refuse("read", "not_applied", f"the Sentinels did not list the replicas ({exc})")
        for address in replicas:
            node = self._by_name.get(self._named(address) or "")
            if node is not None and node.allows_call():
                return node
        self._refuse("read", "not_applied", "no replica reachable: NATIVE_READ_FROM=replica reads no primary")

    # -- upkeep ----------------------------------------------------------------------------------
    def ready(self) -> tuple[bool, dict]:
        """Ready when the Sentinels name a primary and it answers."""
        try:
            node = self.primary("ready")
        except Unavailable as exc:
            return False, {"primary": None, "reason": exc.message, "need": 1}
        up = node.ping()
        if not up:
            self.forget(node)
        return up, {"primary": node.name, "nodes": {node.name: up}, "need": 1,
                    "replication": self.settings.native_replication}

    def maintain(self) -> dict:
        """Measure each replica's lag (time since its primary was last heard), for replica reads."""
        for node in self.nodes:
            if node.state != "closed":
                continue
            try:
                info = node.call(node.client.info, "replication")
            except NodeUnavailable:
                continue
            last = info.get("master_last_io_seconds_ago") if info.get("role") == "slave" else 0
            lag = 0 if last is None or int(last) < 0 else int(last) * 1000
            if info.get("master_link_status", "up") != "up":
                lag = max(lag, self.settings.max_staleness_ms + 1)
            self._lag_ms[node.name] = lag
            STALENESS.labels(node=node.name).set(lag)
        return dict(self._lag_ms)
