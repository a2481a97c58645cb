"""The local stack: redis nodes, toxiproxy with one proxy per (service, node), both services.

The same code backs ``make up/down/status`` and the tests' fixtures. It starts only what is not
running, waits until everything is ready, and stops only what it started (tracked by pid files).
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import requests

from . import balancer
from .config import SERVICES, StackConfig
from .native import NativeSide
from .standby import StandbyRegion
from .nodes import RedisNode
from .process import ManagedProcess, StackError, wait_until
from .toxiproxy import Toxiproxy

ROOT = Path(__file__).resolve().parent.parent


def toxiproxy_binary() -> str:
    local = ROOT / ".tools" / "bin" / "toxiproxy-server"
    if local.exists():
        return str(local)
    path = shutil.which("toxiproxy-server")
    if not path:
        raise StackError("toxiproxy-server is not installed. Run `make setup` (it builds Toxiproxy "
                         "2.12.0 with `go install`), or put toxiproxy-server on PATH.")
    return path


def http_ok(url: str) -> bool:
    return requests.get(url, timeout=1).status_code == 200


def each(procs: list, fn) -> list:
    """Run ``fn`` on every process at once (starting or stopping several instances); raise the first error."""
    if len(procs) <= 1:
        return [fn(p) for p in procs]
    with ThreadPoolExecutor(max_workers=len(procs)) as pool:
        return list(pool.map(fn, procs))


class Stack:
    """Everything caplab runs locally, for one StackConfig."""

    def __init__(self, config: StackConfig | None = None):
        self.config = cfg = config or StackConfig()
        self.run_dir = Path(cfg.run_dir).resolve()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        password = cfg.secrets()["REDIS_PASSWORD"]
        self.nodes = {n: RedisNode(n, cfg.redis_port(n), self.run_dir, password, cfg.redis_maxmemory)
                      for n in cfg.nodes}
        self.toxiproxy = ManagedProcess(
            "toxiproxy", [toxiproxy_binary(), "-host", "127.0.0.1", "-port", str(cfg.toxiproxy_port),
                          "-proxy-metrics", "-runtime-metrics"],
            self.run_dir, port=cfg.toxiproxy_port, ready=lambda: http_ok(cfg.toxiproxy_url + "/version"))
        # The native side (stack/native.py) is built always, so that down stops one an earlier
        # `make up NATIVE=1` left running; it is started only when the config asks for it.
        self.native = NativeSide(cfg, self.run_dir, password)
        self.standby = StandbyRegion(cfg, self.run_dir, password)  # started by the region drill only
        try:
            cfg.ensure_valid()
        except ValueError as exc:
            raise StackError(f"bad stack config: {exc}") from None
        # With INSTANCES > 1 (or HAProxy asked for), CP and AP each run as instances app-<s>-<k>
        # behind HAProxy, which takes the service port; `services` names each one's first instance.
        self.instances = {s: ([self._service(s, k) for k in range(1, cfg.instances + 1)]
                              if cfg.balanced and s in SERVICES else [self._service(s)]) for s in cfg.services}
        self.services = {s: procs[0] for s, procs in self.instances.items()}
        self.balancer = balancer.balancer_process(cfg, self.run_dir) if cfg.balanced else None
        # Processes attached from above (alerts/monitoring.py attaches Prometheus, Alertmanager and a
        # webhook receiver): started after the services, stopped before them. The stack knows them
        # only as processes; the names are for callers that look one up.
        self.prometheus = self.alertmanager = self.webhook = None
        self.attached: dict[str, ManagedProcess] = {}

    def attach(self, proc: ManagedProcess, as_name: str = "") -> ManagedProcess:
        """Run ``proc`` with the stack (``init_app`` style): up starts it last, down stops it first.

        With ``as_name`` (prometheus, alertmanager, webhook), ``stack.<as_name>`` is that process."""
        self.attached[as_name or proc.name] = proc
        if as_name:
            setattr(self, as_name, proc)
        return proc

    @property
    def notifications(self) -> Path:
        """Where a webhook receiver attached to the stack appends Alertmanager's notifications."""
        return self.run_dir / "alerts" / "notifications.jsonl"

    def _service(self, mode: str, instance: int = 0) -> ManagedProcess:
        cfg = self.config
        env = cfg.service_env(mode, instance) if instance else cfg.service_env(mode)
        suffix = f"-{instance}" if instance else ""
        env["PROMETHEUS_MULTIPROC_DIR"] = str(self.run_dir / "metrics" / f"{mode}{suffix}")
        env["PYTHONPATH"] = str(ROOT)
        # `python -m app serve` validates the settings, then execs gunicorn in the same process.
        argv = [sys.executable, "-m", "app", "serve", "--mode", mode]
        url = f"http://127.0.0.1:{env['PORT']}"
        return ManagedProcess(f"app-{mode}{suffix}", argv, self.run_dir, port=int(env["PORT"]), env=env,
                              ready=lambda: http_ok(url + "/health"), ready_timeout=30)

    def app_processes(self) -> list[ManagedProcess]:
        """Every instance of every service."""
        return [p for procs in self.instances.values() for p in procs]

    def balancer_view(self) -> list[dict]:
        """HAProxy's view of each instance (state, last check, sessions), or [] without HAProxy."""
        if self.balancer is None or not self.balancer.running():
            return []
        return balancer.servers(self.config)

    def client(self):
        return Toxiproxy(self.config.toxiproxy_url)

    def up(self, progress=print) -> "Stack":
        """Start whatever is not running, create the proxies, and wait until both services are ready."""
        t0, cfg = time.monotonic(), self.config
        for node in [*self.nodes.values(), *self._native_nodes()]:
            self._start(node, progress)
        self._start(self.toxiproxy, progress)
        self.ensure_proxies()
        if self.config.native:
            for sentinel in self.native.sentinels:
                self._start(sentinel, progress)
            self.native.wait_ready()
        for svc in self.app_processes():
            if not svc.running():
                metrics_dir = Path(svc.env["PROMETHEUS_MULTIPROC_DIR"])
                shutil.rmtree(metrics_dir, ignore_errors=True)  # stale worker files would lie
                metrics_dir.mkdir(parents=True)
        each(self.app_processes(), lambda svc: self._start(svc, progress))
        if self.balancer is not None:
            if not self.balancer.running():
                balancer.write_config(self.config, self.run_dir)
            self._start(self.balancer, progress)
        for mode in self.services:
            wait_until(lambda m=mode: http_ok(self.config.service_url(m) + "/ready"), 20,
                       f"{mode} /ready")
        self._record_attached()
        (self.run_dir / "shape.json").write_text(json.dumps({
            "instances": cfg.instances, "balance": cfg.balance, "haproxy": cfg.haproxy,
            "local_reads": cfg.local_reads, "haproxy_stats_port": cfg.haproxy_stats_port}))
        for proc in self.attached.values():
            self._start(proc, progress)
        progress(f"stack ready in {time.monotonic() - t0:.1f}s")
        return self

    def _start(self, proc, progress):
        started = proc.start()
        progress(f"  {proc.name:<12} {'started' if started else 'already running'} "
                 f"(pid {proc.pid}, port {proc.port})")

    def ensure_proxies(self):
        """Create or update every proxy, enabled and without toxics."""
        cfg = self.config
        with self.client() as tp:
            for s in SERVICES:
                for n in cfg.nodes:
                    tp.ensure_proxy(cfg.proxy_name(s, n), f"127.0.0.1:{cfg.proxy_port(s, n)}",
                                    f"127.0.0.1:{cfg.redis_port(n)}")
                    for k in range(1, cfg.instances + 1) if cfg.balanced and cfg.instance_links else ():
                        # chained before the shared proxy: a cut of s_n still cuts every instance
                        tp.ensure_proxy(cfg.proxy_name(f"{s}{k}", n), f"127.0.0.1:{cfg.instance_proxy_port(s, k, n)}",
                                        f"127.0.0.1:{cfg.proxy_port(s, n)}")
            for name, listen, upstream in (self.native.proxies() if cfg.native else ()):
                tp.ensure_proxy(name, f"127.0.0.1:{listen}", f"127.0.0.1:{upstream}")

    def _native_nodes(self) -> list:
        return list(self.native.nodes.values()) if self.config.native else []

    def _native_all(self) -> list:
        """Every native process, to stop and show: also those an earlier native stack left running."""
        procs = [*self.native.sentinels, *self.native.nodes.values()]
        procs = procs if self.config.native else [p for p in procs if p.running()]
        return procs + [self.standby.node] if self.standby.node.running() else procs

    @contextmanager
    def running(self, progress=lambda _msg: None):
        """Bring the stack up for a block and down after it, whatever happens (test fixtures)."""
        try:
            yield self.up(progress=progress)
        finally:
            self.down(progress=progress)

    def down(self, progress=print):
        """Stop what this stack started, services first."""
        def stop(proc):
            if proc.stop():
                progress(f"  {proc.name:<12} stopped")
        for proc in [*self._extras(), *self._front(), *self._leftover_native_service()]:
            stop(proc)
        each(self.app_processes(), stop)  # instances at once: each waits out its own graceful stop
        for proc in [*self._native_all(), self.toxiproxy, *self.nodes.values()]:
            stop(proc)

    def _front(self) -> list[ManagedProcess]:
        return [self.balancer] if self.balancer is not None else []

    def down_native(self, progress=print):
        """Stop the native side only (its service, Sentinels, nodes): CP and AP keep running."""
        procs = [*(self.services[s] for s in ("native",) if s in self.services), *self._leftover_native_service(),
                 *self.native.sentinels, *self.native.nodes.values(), self.standby.node]
        for proc in procs:
            if proc.stop():
                progress(f"  {proc.name:<12} stopped")

    def repoint_native(self, node: str, host: str, port: int, progress=print) -> None:
        """Restart the native service on one node and no Sentinel (a promoted standby): the DR runbook."""
        old = self.services["native"]
        env = {**old.env, "REDIS_NODES": f"{node}={host}:{port}", "NATIVE_SENTINELS": "", "NATIVE_PEERS": ""}
        self._restart_native(ManagedProcess(old.name, old.argv, self.run_dir, port=old.port, env=env,
                                            ready=old.ready, ready_timeout=old.ready_timeout), progress)

    def restore_native(self, progress=print) -> None:
        """Restart the native service as configured: through the Sentinels, on the native nodes."""
        self._restart_native(self._service("native"), progress)

    def _restart_native(self, new: ManagedProcess, progress) -> None:
        self.services["native"].stop()
        metrics_dir = Path(new.env["PROMETHEUS_MULTIPROC_DIR"])
        shutil.rmtree(metrics_dir, ignore_errors=True)  # the old workers' files would lie
        metrics_dir.mkdir(parents=True)
        self.services["native"], self.instances["native"] = new, [new]
        self._start(new, progress)
        wait_until(lambda: http_ok(self.config.service_url("native") + "/ready"), 20, "native /ready")

    def status(self) -> list[dict]:
        """What runs where: one row per process."""
        rows = []
        for proc in [*self.nodes.values(), *self._native_all(), self.toxiproxy, *self.app_processes(),
                     *self._front(), *self._leftover_native_service(), *self._extras()]:
            rows.append({"name": proc.name, "pid": proc.pid, "port": proc.port,
                         "running": proc.running(), "log": str(proc.logfile)})
        return rows

    def _leftover_native_service(self) -> list[ManagedProcess]:
        """The native service an earlier `make up NATIVE=1` started, when this handle is not native."""
        if "native" in self.services:
            return []
        proc = ManagedProcess("app-native", [sys.executable], self.run_dir, port=self.config.service_ports.get("native"))
        return [proc] if proc.running() else []

    def _extras(self) -> list[ManagedProcess]:
        """The attached processes, and those an earlier handle attached and left running (a
        ``make down`` after ``make up ALERTS=1``): attached.json names them and their executable."""
        names = {p.name for p in self.attached.values()}
        try:
            recorded = json.loads((self.run_dir / "attached.json").read_text())
        except (OSError, ValueError):
            recorded = []
        left = [ManagedProcess(name, [exe], self.run_dir) for name, exe in recorded if name not in names]
        return [*self.attached.values(), *(p for p in left if p.running())]  # stopped leftovers are gone

    def _record_attached(self):
        if self.config.alerts and not self.attached:
            raise StackError("this stack's config asks for alerts, but no monitoring is attached; "
                             "call alerts.monitoring.init_stack(stack) after building it")
        if self.attached:
            (self.run_dir / "attached.json").write_text(json.dumps([[p.name, p.argv[0]] for p in self.attached.values()]))

    def flush(self):
        """Empty every node (between tests); on the native side, the primary (replicas follow it)."""
        for node in [*self.nodes.values(), *(n for n in self._native_nodes()
                                              if self.native.replication(n.node).get("role") == "master")]:
            with node.client() as c:
                c.flushall()
