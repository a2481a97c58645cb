"""Real toxiproxy-server and redis-server processes for the chaos tests, always cleaned up.

Import the fixtures by name into a test module: `from tests.integration.toxi_fixtures import ...`.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

from stack.toxiproxy import Toxiproxy, ToxiproxyError

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_binary(env_var: str, *candidates: str) -> str | None:
    for candidate in (os.environ.get(env_var), *candidates):
        if candidate and (Path(candidate).is_file() or shutil.which(candidate)):
            return str(Path(candidate)) if Path(candidate).is_file() else shutil.which(candidate)
    return None


def _stop_process(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, signal.SIGCONT)  # a paused process cannot act on SIGTERM
        proc.terminate()
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=3)
    except ProcessLookupError:
        pass


class LocalRedis:
    """A throw-away redis-server on a free port; follows the Node protocol of chaos.faults."""

    def __init__(self, name: str, workdir: Path, binary: str):
        self.name = name
        self.port = free_port()
        self.workdir = workdir
        self.binary = binary
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def start(self) -> None:
        if self.proc is not None:
            _stop_process(self.proc)  # also reaps a killed process
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir), "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while True:
            try:
                if self.client(timeout=0.2).ping():
                    return
            except redis.RedisError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server {self.name} on port {self.port} did not start")
                time.sleep(0.02)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=3)

    def stop(self) -> None:
        _stop_process(self.proc)

    def client(self, timeout: float = 0.3) -> redis.Redis:
        return redis_client(self.port, timeout)


def redis_client(port: int, timeout: float = 0.3) -> redis.Redis:
    """A client that fails fast: explicit timeouts and no retries (see semantics.md)."""
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=timeout,
                       socket_connect_timeout=timeout, retry_on_timeout=False, retry=None)


class ToxiproxyServer:
    def __init__(self, binary: str, workdir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "toxiproxy.log"
        self.proc = subprocess.Popen([binary, "-host", "127.0.0.1", "-port", str(self.port)],
                                     stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        client = Toxiproxy(self.url, connect_timeout=0.2, read_timeout=1)
        deadline = time.monotonic() + 5
        while True:
            try:
                client.version()
                return
            except ToxiproxyError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"toxiproxy-server did not start; see {self.log}")
                time.sleep(0.02)

    def stop(self) -> None:
        _stop_process(self.proc)


@pytest.fixture(scope="module")
def toxiproxy_server(tmp_path_factory):
    binary = find_binary("TOXIPROXY_SERVER", str(ROOT / ".tools/bin/toxiproxy-server"),
                         "toxiproxy-server")
    if binary is None:
        pytest.skip("toxiproxy-server not found; install it with 'scripts/setup.sh toxiproxy'")
    server = ToxiproxyServer(binary, tmp_path_factory.mktemp("toxiproxy"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def toxiproxy(toxiproxy_server):
    """A client with short timeouts; every proxy is deleted after the test."""
    client = Toxiproxy(toxiproxy_server.url, connect_timeout=0.5, read_timeout=1.0)
    try:
        yield client
    finally:
        try:
            for name in client.proxies():
                client.delete_proxy(name)
        finally:
            client.close()


@pytest.fixture
def make_redis(tmp_path):
    """Factory: start a real redis-server named `name` on a free port."""
    binary = find_binary("REDIS_SERVER", "/usr/bin/redis-server", "redis-server")
    if binary is None:
        pytest.skip("redis-server not found; install it with 'scripts/setup.sh redis'")
    nodes: list[LocalRedis] = []

    def make(name: str = "g1") -> LocalRedis:
        node = LocalRedis(name, tmp_path / name, binary)
        nodes.append(node)
        node.start()
        return node

    try:
        yield make
    finally:
        for node in nodes:
            node.stop()


@pytest.fixture
def redis_node(make_redis):
    return make_redis("g1")


def proxy_port(toxiproxy: Toxiproxy, name: str) -> int:
    return int(toxiproxy.get_proxy(name).listen.rsplit(":", 1)[1])


@pytest.fixture
def proxied(toxiproxy, redis_node):
    """Proxies cp_g1 and ap_g1 in front of one redis node; returns {proxy name: port}."""
    ports = {}
    for name in ("cp_g1", "ap_g1"):
        toxiproxy.ensure_proxy(name, "127.0.0.1:0", f"127.0.0.1:{redis_node.port}")
        ports[name] = proxy_port(toxiproxy, name)
    return ports
