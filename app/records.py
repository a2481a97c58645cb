"""Versions, the stored record, and the one script that writes a record to a node.

A version is a hybrid-logical-clock value ``(wall_ms, counter, writer)``, all integers, ordered as a
tuple. Writer ids are integers so that Lua on the server and Python agree on the order without
string collation (Redis sets LC_COLLATE from the environment, so Lua's ``<`` on strings is
locale-dependent). Its text form is ``"<wall_ms>.<counter>.<writer>"``.
"""
from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import NamedTuple


class Version(NamedTuple):
    """A totally ordered version: wall-clock ms, a counter, and the writer id as tie-break."""

    wall_ms: int
    counter: int
    writer: int

    def __str__(self) -> str:
        return f"{self.wall_ms}.{self.counter}.{self.writer}"

    @classmethod
    def parse(cls, text: str) -> "Version":
        """Parse ``"<wall_ms>.<counter>.<writer>"``; raise ValueError on anything else."""
        parts = str(text).split(".")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise ValueError(f"not a version: {text!r} (expected '<wall_ms>.<counter>.<writer>')")
        return cls(int(parts[0]), int(parts[1]), int(parts[2]))


ZERO = Version(0, 0, 0)


class HybridClock:
    """A hybrid logical clock: never goes backwards, and always moves past versions it has seen."""

    def __init__(self, writer: int, now_ms=lambda: time.time_ns() // 1_000_000):
        self.writer = writer
        self._now_ms = now_ms
        self._last = Version(0, 0, writer)
        self._lock = threading.Lock()

    def tick(self, above: Version = ZERO) -> Version:
        """Return a fresh version greater than every version issued or observed so far, and ``above``."""
        with self._lock:
            floor = max(self._last, above)
            wall = self._now_ms()
            if wall > floor.wall_ms:
                nxt = Version(wall, 0, self.writer)
            else:
                nxt = Version(floor.wall_ms, floor.counter + 1, self.writer)
            self._last = nxt
            return nxt

    def observe(self, seen: Version) -> None:
        """Move the clock past a version seen elsewhere, so the next tick is above it."""
        with self._lock:
            if seen > self._last:
                self._last = seen


@dataclass(frozen=True)
class Record:
    """What a node stores for one key."""

    value: str
    version: Version
    written_at: int  # wall ms when the write was accepted by the service
    writer: str  # human-readable writer name, e.g. "ap-1234"

    def to_json(self) -> dict:
        d = asdict(self)
        d["version"] = str(self.version)
        return d


RECORD_PREFIX = "caplab:r:"  # record hashes: caplab:r:<key>
HINTS_PREFIX = "caplab:hints:"  # AP hints: sorted set per target node, member = key, score = first miss ms


def record_key(key: str) -> str:
    return RECORD_PREFIX + key


def hints_key(target_node: str) -> str:
    return HINTS_PREFIX + target_node


# KEYS[1] = record hash, KEYS[2..] = hint sets of nodes that missed this write (AP only);
# ARGV = wall_ms, counter, writer, value, written_at, writer_name[, hint_ms, user_key].
# Returns {1} stored, {2} the same version was already there (idempotent replay),
# or {0, wall_ms, counter, writer} when the node already holds a newer version.
# Numbers compare as Lua doubles: wall_ms (< 2^43) and writer ids (< 2^48) are exact.
# A hint is added with NX so it keeps the time of the *first* missed write: lag is measured from it.
STORE_IF_NEWER = """
local cur = redis.call('HMGET', KEYS[1], 'ms', 'c', 'w')
local status = 1
if cur[1] then
  local cms, cc, cw = tonumber(cur[1]), tonumber(cur[2]), tonumber(cur[3])
  local ms, c, w = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
  if ms == cms and c == cc and w == cw then
    status = 2
  elseif ms < cms or (ms == cms and (c < cc or (c == cc and w < cw))) then
    return {0, cur[1], cur[2], cur[3]}
  end
end
if status == 1 then
  redis.call('HSET', KEYS[1], 'ms', ARGV[1], 'c', ARGV[2], 'w', ARGV[3], 'v', ARGV[4], 'at', ARGV[5], 'wn', ARGV[6])
end
for i = 2, #KEYS do redis.call('ZADD', KEYS[i], 'NX', ARGV[7], ARGV[8]) end
return {status}
"""

# Remove a hint only if the holder still has the version that was replayed: a newer write that
# missed the same node after the replay read keeps its hint.
# KEYS[1] = hint set, KEYS[2] = record hash; ARGV = user_key, wall_ms, counter, writer
DROP_HINT_IF_CURRENT = """
local cur = redis.call('HMGET', KEYS[2], 'ms', 'c', 'w')
if (not cur[1]) or (cur[1] == ARGV[2] and cur[2] == ARGV[3] and cur[3] == ARGV[4]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
"""

RECORD_FIELDS = ("v", "ms", "c", "w", "at", "wn")


def record_args(rec: Record, hint_ms: int | None = None, key: str | None = None) -> list:
    """The ARGV of STORE_IF_NEWER for ``rec`` (with the hint time and user key when hinting)."""
    v = rec.version
    args = [v.wall_ms, v.counter, v.writer, rec.value, rec.written_at, rec.writer]
    return args + [hint_ms, key] if hint_ms is not None else args


def record_from_fields(fields) -> Record | None:
    """Build a Record from an HMGET of RECORD_FIELDS (bytes or str), or None when the key is absent."""
    if not fields or fields[0] is None:
        return None
    f = [x.decode() if isinstance(x, bytes) else x for x in fields]
    return Record(value=f[0], version=Version(int(f[1]), int(f[2]), int(f[3])),
                  written_at=int(f[4]), writer=f[5] or "")
