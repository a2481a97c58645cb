"""Redis nodes of the local stack: AOF with fsync every second, a password, a memory limit.

The password reaches redis-server on its standard input (``redis-server <conf> -``), so it is in no
file and on no command line; redis-server runs with umask 077, so its AOF and RDB files are 0600,
in a data folder of mode 0700.
"""
from __future__ import annotations

from pathlib import Path

import redis

from .process import ManagedProcess, require_binary, write_private

REDIS_CONF = """\
bind 127.0.0.1
port {port}
protected-mode yes
dir {data_dir}
dbfilename dump.rdb
appendonly yes
appendfsync everysec
# RDB snapshots are taken on demand (BGSAVE) by backups; none on a timer.
save ""
maxmemory {maxmemory}
# A store must refuse writes when full, not evict acknowledged data.
maxmemory-policy noeviction
daemonize no
logfile ""
"""


def redis_binary() -> str:
    return require_binary("redis-server", package="redis-server", step="redis")


class RedisNode(ManagedProcess):
    """One redis-server; offers the process-fault protocol (pid, kill, start) chaos expects."""

    def __init__(self, name: str, port: int, run_dir: Path, password: str, maxmemory: str = "256mb"):
        self.data_dir = Path(run_dir).resolve() / "data" / name
        self.conf = Path(run_dir).resolve() / f"redis-{name}.conf"
        self.password = password
        self.maxmemory = maxmemory
        super().__init__(f"redis-{name}", [redis_binary(), str(self.conf)], run_dir, port=port,
                         ready=self._answers, stdin_data=f"requirepass {password}\n".encode(),
                         umask=0o077)
        self.node = name

    def client(self, **kwargs) -> redis.Redis:
        """A direct client (no proxy), for set-up, checks and snapshots."""
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password,
                           socket_timeout=kwargs.pop("socket_timeout", 1.0),
                           socket_connect_timeout=1.0, **kwargs)

    keep_conf = False  # True: a conf file from an earlier start (maybe rewritten by Redis) is kept

    def config_text(self) -> str:
        return REDIS_CONF.format(port=self.port, data_dir=self.data_dir, maxmemory=self.maxmemory)

    def _answers(self) -> bool:
        with self.client() as c:
            return c.ping()

    def start(self) -> bool:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        for existing in self.data_dir.rglob("*"):  # files from before this rule, or copied in
            existing.chmod(0o700 if existing.is_dir() else 0o600)
        if not (self.keep_conf and self.conf.exists()):
            write_private(self.conf, self.config_text())
        argv = self.argv
        self.argv = [*argv, "-"]  # "-" must come last: read the rest of the config from stdin
        try:
            return super().start()
        finally:
            self.argv = argv
