"""AP hinted handoff and anti-entropy repair.

A hint says "node T may lack holder H's record for key K since time t". It lives on H, in the sorted
set ``caplab:hints:T`` (member K, score t = the first missed write), so it is as durable as H's data.
Replaying a hint copies H's current record to T with "store if newer" (idempotent), then drops the
hint only if H still holds the version it copied. A node's lag is the age of its oldest hint.
"""
from __future__ import annotations

import logging
import time

from .metrics import HINTS_REPLAYED, REPAIRED
from .nodes import NodeUnavailable
from .records import (RECORD_FIELDS, RECORD_PREFIX, hints_key, record_args, record_from_fields,
                      record_key)

log = logging.getLogger("caplab.hints")
BATCH = 500


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def hint_status(nodes) -> dict:
    """Return {target: (pending_keys, oldest_hint_ms or None)} from every reachable holder."""
    status = {n.name: [0, None] for n in nodes}
    for holder in nodes:
        if not holder.allows_call():
            continue
        targets = [n.name for n in nodes if n is not holder]
        pipe = holder.client.pipeline(transaction=False)
        for t in targets:
            pipe.zcard(hints_key(t))
            pipe.zrange(hints_key(t), 0, 0, withscores=True)
        try:
            res = holder.call(pipe.execute)
        except NodeUnavailable:
            continue
        for i, t in enumerate(targets):
            count, first = res[2 * i], res[2 * i + 1]
            status[t][0] += count
            if first:
                oldest = int(first[0][1])
                status[t][1] = oldest if status[t][1] is None else min(status[t][1], oldest)
    return {t: (c, o) for t, (c, o) in status.items()}


def replay_hints(nodes, target) -> int:
    """Replay every hint held for ``target`` by reachable holders; return records replayed."""
    replayed = 0
    for holder in nodes:
        if holder is target or not holder.allows_call():
            continue
        hk = hints_key(target.name)
        while True:
            try:
                keys = [k.decode() for k in holder.call(holder.client.zrange, hk, 0, BATCH - 1)]
            except NodeUnavailable:
                break
            if not keys:
                break
            try:
                done = _replay_batch(holder, target, hk, keys)
            except NodeUnavailable as exc:
                log.warning("hint replay %s -> %s stopped: %s", holder.name, target.name, exc,
                            extra={"event": "HINT_REPLAY_FAILED", "node": target.name})
                return replayed
            replayed += done
            if len(keys) < BATCH:
                break
    if replayed:
        HINTS_REPLAYED.labels(node=target.name).inc(replayed)
        log.info("replayed %d hinted records to %s", replayed, target.name,
                 extra={"event": "HINTS_REPLAYED", "node": target.name, "count": replayed})
    return replayed


def _replay_batch(holder, target, hk, keys) -> int:
    """Copy ``keys`` from holder to target and drop their hints; three round trips in all."""
    pipe = holder.client.pipeline(transaction=False)
    for k in keys:
        pipe.hmget(record_key(k), *RECORD_FIELDS)
    records = [record_from_fields(f) for f in holder.call(pipe.execute)]
    tpipe = target.client.pipeline(transaction=False)
    for k, rec in zip(keys, records):
        if rec is not None:
            target.store_script(keys=[record_key(k)], args=record_args(rec), client=tpipe)
    if len(tpipe):
        target.call(tpipe.execute)
    hpipe = holder.client.pipeline(transaction=False)
    for k, rec in zip(keys, records):
        v = rec.version if rec else None
        args = [k, v.wall_ms, v.counter, v.writer] if v else [k, "", "", ""]
        holder.drop_hint_script(keys=[hk, record_key(k)], args=args, client=hpipe)
    holder.call(hpipe.execute)
    return sum(1 for r in records if r is not None)


def repair(nodes) -> dict:
    """Run a full anti-entropy pass: copy the newest record of every key to every node behind.

    Every node must be reachable; raise NodeUnavailable otherwise. Used after a restore from backup.
    """
    copied = {n.name: 0 for n in nodes}
    scanned = set()
    for source in nodes:
        cursor = 0
        while True:
            cursor, raw = source.call(source.client.scan, cursor, match=RECORD_PREFIX + "*", count=BATCH)
            keys = [k.decode()[len(RECORD_PREFIX):] for k in raw]
            keys = [k for k in keys if k not in scanned]
            scanned.update(keys)
            if keys:
                _repair_keys(nodes, keys, copied)
            if cursor == 0:
                break
    for n in nodes:
        if copied[n.name]:
            REPAIRED.labels(node=n.name).inc(copied[n.name])
    log.info("repair done: %d keys, copied %s", len(scanned), copied,
             extra={"event": "REPAIR_DONE", "keys": len(scanned), "copied": copied})
    return {"keys": len(scanned), "copied": copied}


def _repair_keys(nodes, keys, copied):
    views = {}
    for n in nodes:
        pipe = n.client.pipeline(transaction=False)
        for k in keys:
            pipe.hmget(record_key(k), *RECORD_FIELDS)
        views[n] = [record_from_fields(f) for f in n.call(pipe.execute)]
    for n in nodes:
        pipe = n.client.pipeline(transaction=False)
        for i, k in enumerate(keys):
            newest = max((views[m][i] for m in nodes if views[m][i]), key=lambda r: r.version)
            mine = views[n][i]
            if mine is None or mine.version < newest.version:
                n.store_script(keys=[record_key(k)], args=record_args(newest), client=pipe)
                copied[n.name] += 1
        if len(pipe):
            n.call(pipe.execute)
