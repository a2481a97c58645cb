"""The AP policy: available, eventually consistent, last writer wins.

Write: a fresh hybrid-clock version, stored on every node whose breaker lets the call through.
200 if any node stored it, with ``replicated_to`` and ``pending``. Nodes known to be down get a hint
in the same script call on the first node that stores; nodes that fail during the call get one
in a follow-up call. Read: the preferred node, else any node that answers; the answer says how
stale the serving node is (the age of its oldest pending hint).
"""
from __future__ import annotations

import logging
import threading

from . import hints
from .errors import NotFound, Unavailable
from .fanout import hmget_on, run_script_on
from .metrics import HINTS_PENDING, STALENESS
from .nodes import NodeUnavailable
from .records import RECORD_FIELDS, Record, hints_key, record_args, record_from_fields, record_key

log = logging.getLogger("caplab.ap")


class APStore:
    mode = "ap"

    def __init__(self, settings, nodes, clock, writer_name):
        self.settings, self.nodes, self.clock, self.writer_name = settings, nodes, clock, writer_name
        self._by_name = {n.name: n for n in nodes}
        first = self._by_name[settings.ap_read_node]
        self._read_order = [first] + [n for n in nodes if n is not first]
        # {node: oldest missed-write ms}; refreshed by maintain() and by this worker's own writes.
        self._oldest_hint: dict[str, int | None] = {n.name: None for n in nodes}
        self._lock = threading.Lock()

    def write(self, key: str, value: str) -> dict:
        rk = record_key(key)
        rec = Record(value, self.clock.tick(), hints.now_ms(), self.writer_name)
        down = [n for n in self.nodes if not n.allows_call()]
        up = [n for n in self.nodes if n not in down]
        stored, failed, touched = [], list(down), False
        # The first reachable node carries the hints for nodes already known to be down, in the
        # same script call; every reachable node gets the write at once (app/fanout.py).
        carrier, hinted = (up[0] if up else None), [hints_key(d.name) for d in down]
        replies = run_script_on([(node, [rk] + hinted, record_args(rec, rec.written_at, key))
                                 if node is carrier and hinted else (node, [rk], record_args(rec))
                                 for node in up])
        for node in up:
            if isinstance(replies[node], NodeUnavailable):
                failed.append(node)
                touched = touched or replies[node].touched
            else:
                stored.append(node)
        if hinted and carrier in stored:
            self._note_hint([d.name for d in down], rec.written_at)
        if not stored:
            raise Unavailable("no node reachable: " + ", ".join(n.name for n in failed),
                              outcome="unknown" if touched else "not_applied", mode=self.mode,
                              nodes=[n.name for n in failed], retry_after=1)
        # Hint the nodes that failed during the call, and the down ones too if their carrier failed.
        late = [n for n in failed if n not in down or carrier not in stored]
        if late:
            self._hint_late(stored, late, key, rec.written_at)
        return {"key": key, "value": value, "version": str(rec.version), "mode": self.mode,
                "nodes": [n.name for n in stored], "replicated_to": [n.name for n in stored],
                "pending": [n.name for n in failed], "staleness_ms": 0, "stale": False}

    def _hint_late(self, holders, targets, key, at_ms):
        """Record hints for nodes that failed during the write, on the first holder that answers."""
        for holder in holders:
            pipe = holder.client.pipeline(transaction=False)
            for t in targets:
                pipe.zadd(hints_key(t.name), {key: at_ms}, nx=True)
            try:
                holder.call(pipe.execute)
                self._note_hint([t.name for t in targets], at_ms)
                return
            except NodeUnavailable:
                continue
        # The write is stored but no hint could be: only anti-entropy repair will fix the gap.
        log.error("hint for %s lost on key %r", [t.name for t in targets], key,
                  extra={"event": "HINT_LOST", "key": key, "nodes": [t.name for t in targets]})

    def _note_hint(self, names, at_ms):
        with self._lock:
            for name in names:
                cur = self._oldest_hint.get(name)
                if cur is None or at_ms < cur:
                    self._oldest_hint[name] = at_ms

    def lag_ms(self, name: str, now: int | None = None) -> int:
        oldest = self._oldest_hint.get(name)
        return 0 if oldest is None else max(0, (now or hints.now_ms()) - oldest)

    def read(self, key: str) -> dict:
        rk = record_key(key)
        tried = []
        for node in self._read_order:
            if not node.allows_call():
                continue
            # Through the fan-out, not Node.call: pybreaker's lock is then held only to enter and
            # leave the breaker, not across the network wait, which under gevent would queue every
            # read of this worker behind the one in flight (docs/design.md).
            reply = hmget_on([node], rk, RECORD_FIELDS)[node]
            if isinstance(reply, NodeUnavailable):
                tried.append(node.name)
                continue
            rec = record_from_fields(reply)
            lag = self.lag_ms(node.name)
            stale = lag > self.settings.max_staleness_ms
            if rec is None:
                raise NotFound(f"key {key!r} not found", key=key, value=None, version=None,
                               mode=self.mode, node=node.name, nodes=[node.name],
                               staleness_ms=lag, stale=stale)
            self.clock.observe(rec.version)
            return {"key": key, "value": rec.value, "version": str(rec.version), "mode": self.mode,
                    "node": node.name, "nodes": [node.name], "written_at": rec.written_at,
                    "writer": rec.writer, "staleness_ms": lag, "stale": stale}
        raise Unavailable("no node reachable" + (": " + ", ".join(tried) if tried else ""),
                          outcome="not_applied", mode=self.mode, nodes=tried, retry_after=1)

    def maintain(self) -> dict:
        """Replay hints to nodes whose breakers are closed, then refresh lag; return lag per node."""
        status = hints.hint_status(self.nodes)
        replayed = 0
        for target in self.nodes:
            if status[target.name][0] and target.state == "closed":
                replayed += hints.replay_hints(self.nodes, target)
        return self.refresh_lag(hints.hint_status(self.nodes) if replayed else status)

    def refresh_lag(self, status=None) -> dict:
        """Re-read every node's hint backlog, export it, and return the lag per node."""
        status = status or hints.hint_status(self.nodes)
        now = hints.now_ms()
        with self._lock:
            for name, (_count, oldest) in status.items():
                self._oldest_hint[name] = oldest
        lags = {}
        for name, (count, _oldest) in status.items():
            lags[name] = self.lag_ms(name, now)
            STALENESS.labels(node=name).set(lags[name])
            HINTS_PENDING.labels(node=name).set(count)
        return lags

    def repair(self) -> dict:
        return hints.repair(self.nodes)
