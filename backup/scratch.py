"""A scratch redis-server: loads one RDB file on a free port, answers questions, and is always stopped.

It runs with the file's folder as ``dir``, no AOF and no save points, on 127.0.0.1 with a random
password, so it never writes and nothing else can reach it.
"""
from __future__ import annotations

import re
import secrets
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis

from stack.nodes import redis_binary

from .errors import BackupError, BackupInvalid
from .files import link_or_copy

RECORDS = "caplab:r:*"

# What redis-server logs when the file itself is bad (checksum, truncation, unknown format).
BAD_FILE = re.compile(r"(Bad file format|Wrong RDB checksum|Short read|RDB CRC error|Internal error in RDB"
                      r"|Can't handle RDB format|Unexpected EOF|Fatal error loading)", re.I)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def scratch_server(folder: Path, dbfilename: str = "dump.rdb", load_timeout: float = 120.0):
    """Start a scratch server on ``folder/dbfilename``; yield a client; stop it on the way out.

    Raise BackupInvalid when redis-server refuses the file, BackupError when it cannot start at all.
    """
    folder = Path(folder).resolve()
    password = secrets.token_hex(12)
    for _attempt in range(3):
        port = free_port()
        # The password goes in on stdin ("-"), never on the command line, where `ps` shows it.
        argv = [redis_binary(), "--port", str(port), "--bind", "127.0.0.1",
                "--dir", str(folder), "--dbfilename", dbfilename, "--appendonly", "no", "--save", "",
                "--maxmemory", "0", "--daemonize", "no", "--logfile", "", "-"]
        log = folder / "scratch.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.PIPE,
                                    start_new_session=True, umask=0o077)
        try:
            proc.stdin.write(f"requirepass {password}\n".encode())
            proc.stdin.close()
        except OSError:
            pass  # it exited at once; its log says why
        client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=30,
                             socket_connect_timeout=1)
        try:
            if _wait_ready(proc, client, load_timeout):
                break
        except BaseException:
            _stop(proc)
            raise
        text = log.read_text(errors="replace")
        if "Address already in use" in text:
            continue  # another process took the free port first: try another
        bad = [line for line in text.splitlines() if BAD_FILE.search(line)]
        if bad:
            raise BackupInvalid("redis-server refused to load the file: " + _message(bad[0]))
        tail = "\n".join(text.splitlines()[-15:])
        raise BackupError(f"the scratch redis-server did not start; its log says:\n{tail}")
    else:
        raise BackupError("could not find a free port for the scratch redis-server after 3 tries")
    try:
        yield client
    finally:
        client.close()
        _stop(proc)


def _wait_ready(proc, client, timeout: float) -> bool:
    """True once the server answers PING (loading is over); False when it exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if client.ping():
                return True
        except redis.RedisError:  # not listening yet, or still loading
            pass
        time.sleep(0.02)
    _stop(proc)
    raise BackupError(f"the scratch redis-server did not finish loading in {timeout:.0f}s; "
                      f"raise the load timeout for a large backup")


def _stop(proc) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _message(line: str) -> str:
    """Drop redis's log prefix (pid, role, date) from a log line."""
    return re.sub(r"^\d+:[A-Z] [^*#.-]*[*#.-] ", "", line).strip()


@dataclass(frozen=True)
class Contents:
    """What a scratch server loaded from one RDB file."""

    keys: int
    sample: dict = field(default_factory=dict)  # record key -> version text ("" when absent)
    redis_version: str = ""


def inspect_rdb(rdb: Path, sample: int = 20, keys=None, load_timeout: float = 120.0) -> Contents:
    """Load ``rdb`` into a scratch server: count its keys and read record versions, then stop it.

    ``keys`` lists the record keys to read; without it, up to ``sample`` record keys are picked.
    The file is hard-linked into a hidden scratch folder beside it, so the original is never opened
    for writing and no space is used.
    """
    rdb = Path(rdb)
    folder = rdb.parent / f".scratch-{secrets.token_hex(4)}"
    folder.mkdir()
    try:
        link_or_copy(rdb, folder / "dump.rdb")
        with scratch_server(folder, load_timeout=load_timeout) as c:
            count = c.dbsize()
            version = c.info("server").get("redis_version", "")
            if keys is None:
                keys = _pick(c, sample)
            pipe = c.pipeline(transaction=False)
            for k in keys:
                pipe.hmget(k, "ms", "c", "w")
            versions = {k: (".".join(x.decode() for x in f) if f[0] is not None else "")
                        for k, f in zip(keys, pipe.execute())}
        return Contents(count, versions, version)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _pick(client, n: int) -> list:
    picked, cursor = [], 0
    while len(picked) < n:
        cursor, raw = client.scan(cursor, match=RECORDS, count=200)
        picked.extend(k.decode() for k in raw)
        if cursor == 0:
            break
    return sorted(picked[:n])
