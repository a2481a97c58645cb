"""The compose stack under rootful podman: docker-compose.yml run by podman-compose, driven from Python.

One ComposeStack is one compose project, described by its settings file (the `.env` compose reads):
secrets, host ports, image names, project name and container prefix. It offers what the local
Stack offers the chaos runner (config, nodes with the process-fault protocol, services with a pid,
a Toxiproxy client, up/down/status), so an experiment runs against containers unchanged: network
faults go through the Toxiproxy container's published API, and node faults become
`podman kill` / `start` / `pause` / `unpause`. docs/compose.md explains the podman path.
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from pathlib import Path

import redis
import requests

from .config import SERVICES, StackConfig
from .process import StackError, wait_until
from .toxiproxy import Toxiproxy

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
# Several instances per service behind HAProxy, on top of COMPOSE_FILE (docs/compose.md).
SCALE_FILE = ROOT / "docker-compose.scale.yml"
CONTAINERS_CONF = ROOT / "docker" / "podman" / "containers.conf"
IMAGES_ENV = ROOT / "docker" / "podman" / "images.env"
PODMAN_COMPOSE = ROOT / ".tools" / "podman-compose" / "bin" / "podman-compose"
PROJECT_LABEL = "io.podman.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
# The compose file's host-port variables and their defaults (the spec's ports).
HOST_PORTS = {"CP_PORT": 5001, "AP_PORT": 5002, "DB_G1_PORT": 6381, "DB_G2_PORT": 6382,
              "TOXIPROXY_PORT": 8474, "CP_G1_PROXY_PORT": 7101, "CP_G2_PROXY_PORT": 7102,
              "AP_G1_PROXY_PORT": 7201, "AP_G2_PROXY_PORT": 7202, "PROMETHEUS_PORT": 9090,
              "ALERTMANAGER_PORT": 9093, "WEBHOOK_PORT": 9095,
              "GRAFANA_PORT": 3000, "HAPROXY_STATS_PORT": 5190}
NODES = ("g1", "g2")


def read_env_file(path: Path) -> dict:
    """KEY=VALUE lines of a compose settings file; comments and blank lines skipped."""
    out = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip().strip("'\"")
    return out


def write_env_file(path: Path, project: str, offset: int = 0, local_images: bool = True) -> Path:
    """A settings file for a compose project of its own: fresh secrets, host ports shifted by
    `offset`, container names prefixed by the project, the local stand-in images if asked."""
    path = Path(path).resolve()
    lines = [f"COMPOSE_PROJECT_NAME={project}", f"CONTAINER_PREFIX={project}_",
             f"CAPLAB_ENV_FILE={path}", f"SECRET_KEY={secrets.token_hex(32)}",
             f"REDIS_PASSWORD={secrets.token_hex(16)}"]
    lines += [f"{var}={port + offset}" for var, port in HOST_PORTS.items()]
    if local_images:
        lines += [ln for ln in IMAGES_ENV.read_text().splitlines() if ln and not ln.startswith("#")]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def podman_env() -> dict:
    """The environment podman runs in: the project's containers.conf, never the machine's, and
    builds in Docker's image format (the OCI one drops the Dockerfile's HEALTHCHECK)."""
    return {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF), "BUILDAH_FORMAT": "docker"}


def podman(*args, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    """Run `podman <args>`; raise StackError with its output if it fails and `check`."""
    proc = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, env=podman_env())
    if check and proc.returncode != 0:
        raise StackError(f"podman {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    return proc


class ComposeNode:
    """A Redis container as a chaos Node: pid, kill, start, pause, resume, and a direct client."""

    def __init__(self, name: str, stack: "ComposeStack"):
        self.name = self.node = name
        self.stack = stack
        self.service = f"db_{name}"
        self.port = stack.ports[f"DB_{name.upper()}_PORT"]

    @property
    def container(self) -> str:
        return self.stack.container(self.service)

    @property
    def pid(self) -> int | None:
        return self.stack.pid(self.service)

    def client(self, **kwargs) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.stack.settings["REDIS_PASSWORD"],
                           socket_timeout=kwargs.pop("socket_timeout", 1.0), socket_connect_timeout=1.0, **kwargs)

    def running(self) -> bool:
        return self.pid is not None

    def kill(self) -> None:
        podman("kill", self.container)

    def start(self) -> bool:
        """Start the container if it is not running; wait until Redis answers PING."""
        started = not self.running()
        if started:
            podman("start", self.container)
        wait_until(self._answers, 30, f"{self.container} PING")
        return started

    def pause(self) -> None:
        podman("pause", self.container)

    def resume(self) -> None:
        podman("unpause", self.container)

    def _answers(self) -> bool:
        with self.client() as c:
            return c.ping()


class ComposeService:
    """An app container: its host pid lets the runner read the settings it really runs with."""

    def __init__(self, mode: str, stack: "ComposeStack"):
        self.name, self.stack, self.service = f"app-{mode}", stack, f"app_{mode}"

    @property
    def pid(self) -> int | None:
        return self.stack.pid(self.service)

    def running(self) -> bool:
        return self.pid is not None


class ComposeStack:
    """One compose project under podman, described by its settings file."""

    def __init__(self, env_file: Path, run_dir: Path | None = None, profiles: tuple = (), files: tuple = ()):
        self.env_file = Path(env_file).resolve()
        if not self.env_file.is_file():
            raise StackError(f"{self.env_file} does not exist: copy .env.example to .env and fill in "
                             "SECRET_KEY and REDIS_PASSWORD (docs/compose.md)")
        self.settings = read_env_file(self.env_file)
        if not self.settings.get("REDIS_PASSWORD"):
            raise StackError(f"{self.env_file} sets no REDIS_PASSWORD; compose refuses to start without it")
        self.project = self.settings.get("COMPOSE_PROJECT_NAME") or "caplab"
        self.profiles = tuple(profiles)
        self.files = (COMPOSE_FILE, *files)  # SCALE_FILE: HAProxy on the service ports, INSTANCES replicas
        self.ports = {var: int(self.settings.get(var) or port) for var, port in HOST_PORTS.items()}
        self.run_dir = Path(run_dir or ROOT / "run" / f"compose-{self.project}").resolve()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        p = self.ports
        self.config = StackConfig(
            run_dir=self.run_dir, nodes=NODES, redis_base_port=p["DB_G1_PORT"] - 1,
            toxiproxy_port=p["TOXIPROXY_PORT"], proxy_base_port=p["CP_G1_PROXY_PORT"] - 101,
            service_ports={"cp": p["CP_PORT"], "ap": p["AP_PORT"]}, prometheus_port=p["PROMETHEUS_PORT"],
            alertmanager_port=p["ALERTMANAGER_PORT"], haproxy_stats_port=p["HAPROXY_STATS_PORT"])
        self._names: dict = {}
        self.nodes = {n: ComposeNode(n, self) for n in NODES}
        self.services = {m: ComposeService(m, self) for m in SERVICES}

    # -- podman-compose ---------------------------------------------------------------------------
    def compose(self, *args, profiles: tuple | None = None, timeout: float = 900,
                check: bool = True) -> subprocess.CompletedProcess:
        """Run podman-compose on this project; raise StackError with its output if it fails."""
        if not PODMAN_COMPOSE.exists():
            raise StackError(f"{PODMAN_COMPOSE} is missing: run `scripts/setup.sh podman podman_compose`")
        chosen = self.profiles if profiles is None else profiles
        argv = [str(PODMAN_COMPOSE), "-p", self.project, "--env-file", str(self.env_file),
                *[a for f in self.files for a in ("-f", str(f))], *[a for p in chosen for a in ("--profile", p)], *args]
        proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=podman_env())
        if check and proc.returncode != 0:
            raise StackError(f"podman-compose {' '.join(args)} failed ({proc.returncode}): "
                             f"{(proc.stdout + proc.stderr).strip()[-1500:]}")
        return proc

    def containers(self, all_states: bool = True) -> dict:
        """{service: container name} of this project's containers (running only unless all_states)."""
        args = ["ps", "--format", "json", "--filter", f"label={PROJECT_LABEL}={self.project}"]
        rows = json.loads(podman(*args, *(["-a"] if all_states else [])).stdout or "[]")
        return {r["Labels"].get(SERVICE_LABEL, r["Names"][0]): r["Names"][0] for r in rows}

    def container(self, service: str) -> str:
        """The service's container name; looked up once (each podman call costs ~0.3 s on a busy
        machine, and a fault's start is confirmed only after them), again after `up`."""
        if service not in self._names:
            self._names = self.containers()
        if service not in self._names:
            raise StackError(f"compose project {self.project} has no container for {service}; is it up?")
        return self._names[service]

    def pid(self, service: str) -> int | None:
        """The host pid of a service's main process, or None when it is not running or paused."""
        try:
            name = self.container(service)
        except StackError:
            return None
        proc = podman("inspect", "--format", "{{.State.Status}} {{.State.Pid}}", name, check=False)
        status, _, pid = proc.stdout.strip().partition(" ")
        return int(pid) if proc.returncode == 0 and status == "running" and pid not in ("", "0") else None

    def client(self):
        return Toxiproxy(self.config.toxiproxy_url)

    # -- lifecycle --------------------------------------------------------------------------------
    def up(self, progress=print, build: bool = True, ready_within: float = 120) -> "ComposeStack":
        """`up -d` (building the app image), then wait until both services answer /ready.

        Podman runs no health checks by itself and only orders the start (no service_healthy),
        so /ready is polled here instead."""
        t0 = time.monotonic()
        progress(f"compose up: project {self.project}, profiles {list(self.profiles) or 'none'}")
        self.compose("up", "-d", *(["--build"] if build else []))
        self._names = {}
        self.wait_ready(ready_within)
        progress(f"compose stack ready in {time.monotonic() - t0:.1f}s")
        return self

    def wait_ready(self, within: float = 120) -> None:
        for mode in SERVICES:
            url = self.config.service_url(mode) + "/ready"
            wait_until(lambda u=url: requests.get(u, timeout=2).status_code == 200, within, f"{mode} /ready")

    def down(self, progress=print, volumes: bool = True) -> None:
        """`down` with every profile (a plain `down` after `--profile monitoring up` fails under podman)."""
        self.compose("--profile", "monitoring", "--profile", "grafana", "down", *(["-v"] if volumes else []), profiles=(), timeout=300)
        self._names = {}
        progress(f"compose down: project {self.project}{' and its volumes' if volumes else ''}")

    def leftovers(self) -> dict:
        """What of this project still exists: containers, volumes, networks, pods (empty after down -v)."""
        label = f"label={PROJECT_LABEL}={self.project}"
        found = {"containers": list(self.containers().values()),
                 "volumes": podman("volume", "ls", "-q", "--filter", label).stdout.split(),
                 "networks": [n for n in podman("network", "ls", "--format", "{{.Name}}").stdout.split()
                              if n.startswith(f"{self.project}_")],
                 "pods": podman("pod", "ps", "-q", "--filter", f"name=pod_{self.project}$").stdout.split()}
        return {k: v for k, v in found.items() if v}

    def status(self) -> list[dict]:
        running = self.containers(all_states=False)
        wanted = [f"db_{n}" for n in NODES] + ["toxiproxy"] + [f"app_{m}" for m in SERVICES]
        return [{"name": s, "container": running.get(s), "running": s in running} for s in wanted]
