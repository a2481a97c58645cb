"""The CP policy: a linearizable register per key over a majority quorum.

Write: store the record with "store if newer" on the nodes (sent to all at once, app/fanout.py),
and answer once a quorum has it. The
version comes from the hybrid clock; a node that holds a newer version rejects it and tells us
that version, and we retry above it. A quorum of accepts therefore proves the new version is above
every version a quorum held when the write began (quorums intersect), which is what the
two-round "read versions, then write" of ABD proves, in one round trip in the common case.

Crossed writes: two writes to one key reach the nodes in different orders, so this one is stored
on some nodes and rejected by others that already hold the concurrent newer one. It is still
acknowledged (``superseded: true``) when the nodes that stored it meet every quorum and, with the
nodes holding a newer version, form a quorum: with 2 nodes that is every crossing. Elsewhere
(3 nodes, one store) it answers ``unknown``; docs/semantics.md has the proof.

Read: read a quorum, take the newest record, and write it back to quorum members that are behind
before answering, so that a write that only partly applied can never be seen and then unseen.

When a quorum is out of reach, answer 503 with an outcome: ``not_applied`` when no node was
touched, ``unknown`` when some node may have stored the write.
"""
from __future__ import annotations

import time

from .errors import NotFound, Unavailable
from .fanout import hmget_on, run_script_on
from .metrics import CP_REFUSALS
from .nodes import NodeUnavailable
from .records import RECORD_FIELDS, ZERO, Record, Version, record_args, record_from_fields, record_key

MAX_ATTEMPTS = 3  # rounds of "store if newer" when a node holds a newer version


class CPStore:
    mode = "cp"

    def __init__(self, settings, nodes, clock, writer_name):
        self.settings, self.nodes, self.clock, self.writer_name = settings, nodes, clock, writer_name
        self.quorum = settings.quorum

    def _reachable(self, operation):
        """Return the nodes whose breakers let calls through; refuse at once without a quorum."""
        nodes = [n for n in self.nodes if n.allows_call()]
        if len(nodes) < self.quorum:
            down = [n.name for n in self.nodes if n not in nodes]
            self._refuse(operation, "not_applied",
                         f"no quorum: circuit breaker open for {', '.join(down)}; "
                         f"need {self.quorum} of {len(self.nodes)} nodes", nodes=down)
        return nodes

    def _refuse(self, operation, outcome, message, nodes=()):
        CP_REFUSALS.labels(operation=operation, outcome=outcome).inc()
        raise Unavailable(message, outcome=outcome, mode=self.mode, nodes=list(nodes),
                          retry_after=self._retry_after())

    def _retry_after(self) -> int:
        """Seconds until the first open breaker may let a trial call through (at least 1)."""
        waits = [n.listener.opened_at_mono + n.breaker.reset_timeout - time.monotonic()
                 for n in self.nodes if n.state == "open" and n.listener.opened_at_mono]
        return max(1, int(min(waits, default=1) + 0.999))

    def write(self, key: str, value: str) -> dict:
        nodes = self._reachable("write")
        rk = record_key(key)
        above, touched, failed = ZERO, False, []
        for _attempt in range(MAX_ATTEMPTS):
            rec = Record(value, self.clock.tick(above), time.time_ns() // 1_000_000, self.writer_name)
            acked, rejected, failed = [], [], []
            replies = run_script_on([(node, [rk], record_args(rec)) for node in nodes])
            for node in nodes:
                res = replies[node]
                if isinstance(res, NodeUnavailable):
                    failed.append(node.name)
                    touched = touched or res.touched
                    continue
                touched = True
                if int(res[0]) == 0:
                    rejected.append(Version(*(int(x) for x in res[1:4])))
                else:
                    acked.append(node.name)
            if len(acked) >= self.quorum:
                return self._written(key, value, rec, acked)
            if self._crossing_is_safe(rec.version, acked, rejected):
                # Stored where it bounds every later quorum, superseded elsewhere by a concurrent
                # write: it took effect, just before that newer write (docs/semantics.md).
                return self._written(key, value, rec, acked, superseded=True)
            if failed or not rejected or acked:
                # Retry at a new version only if no node stored this one. Once a node has it, a read
                # may already have shown it; storing the same write again above a concurrent newer
                # one would make it take effect twice (W, then X, then W again). Answer unknown.
                break
            above = max(rejected)  # someone wrote a newer version concurrently: go above it
        outcome = "unknown" if touched else "not_applied"
        self._refuse("write", outcome, f"no quorum: could not store on {', '.join(failed) or 'a quorum'}"
                     f"; need {self.quorum} of {len(self.nodes)} nodes", nodes=failed)

    def _written(self, key, value, rec, acked, superseded=False) -> dict:
        body = {"key": key, "value": value, "version": str(rec.version), "mode": self.mode,
                "nodes": acked, "staleness_ms": 0, "stale": False}
        if superseded:
            body["superseded"] = True
        return body

    def _crossing_is_safe(self, version: Version, acked: list, rejected: list) -> bool:
        """Say whether a write stored on some nodes and rejected by others may be acknowledged.

        Safe when the nodes that stored it meet every quorum (so it is above every operation
        that finished before it began) and, with the nodes that hold a newer version, form a
        quorum (so every later operation sees it or something newer). The proof is in
        docs/semantics.md, "Crossed writes".
        """
        if not acked or not rejected or any(v <= version for v in rejected):
            return False
        if self.settings.unsafe_cp_crossed_ack:
            return True  # test-only: a store that acknowledges crossings where it must not
        n = len(self.nodes)
        return len(acked) >= n - self.quorum + 1 and len(acked) + len(rejected) >= self.quorum

    def read(self, key: str) -> dict:
        nodes = self._reachable("read")
        if self.settings.unsafe_cp_single_node_read:
            nodes = nodes[-1:]  # test-only: deliberately not a quorum
        rk = record_key(key)
        seen, failed = {}, []
        for node, reply in hmget_on(nodes, rk, RECORD_FIELDS).items():
            if isinstance(reply, NodeUnavailable):
                failed.append(node.name)
            else:
                seen[node] = record_from_fields(reply)
        if len(seen) < self._read_quorum():
            self._refuse("read", "not_applied", f"no quorum: could not read {', '.join(failed)}; "
                         f"need {self.quorum} of {len(self.nodes)} nodes", nodes=failed)
        newest = max((r for r in seen.values() if r), key=lambda r: r.version, default=None)
        if newest is None:
            raise NotFound(f"key {key!r} not found", key=key, value=None, version=None, mode=self.mode,
                           nodes=[n.name for n in seen], staleness_ms=0, stale=False)
        self.clock.observe(newest.version)
        holders = [n.name for n, r in seen.items() if r and r.version == newest.version]
        for node, rec in seen.items():
            if rec is not None and rec.version == newest.version:
                continue
            try:  # write-back: make the newest record durable on a quorum before showing it
                node.call(node.store_script, keys=[rk], args=record_args(newest))
                holders.append(node.name)
            except NodeUnavailable:
                pass
        if len(holders) < self._read_quorum():
            self._refuse("read", "not_applied", "no quorum for write-back of the newest record",
                         nodes=[n.name for n in seen if n.name not in holders])
        return {"key": key, "value": newest.value, "version": str(newest.version), "mode": self.mode,
                "nodes": holders, "node": holders[0], "written_at": newest.written_at,
                "writer": newest.writer, "staleness_ms": 0, "stale": False}

    def _read_quorum(self):
        return 1 if self.settings.unsafe_cp_single_node_read else self.quorum

    def maintain(self):
        """CP keeps no hints; staleness is always 0."""
        return {n.name: 0 for n in self.nodes}
