"""The stack an experiment runs against: which one, bringing it up, its real settings, one run at a time.

A 2-node experiment uses the default local stack (run/, ports 5001/5002, Toxiproxy 8474). Other
sizes get their own folder (run/3nodes) and ports shifted by 30 per size, so both stacks can run
side by side. An experiment that declares alerts gets a stack of its own (run/alerts, ports shifted
by 60 more) with Prometheus and Alertmanager, so the alert rules never mix with a stack started
without them. `port_offset` shifts everything further (several checkouts on one machine).
"""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from . import Stack
from .compose import ComposeStack
from .config import PROFILES, StackConfig

# Service settings an experiment may override, e.g. a timeout above a latency toxic, or the node AP
# reads from first (AP_READ_NODE, a node name; the others are numbers). Their ranges and defaults
# are app/config.py's TABLE.
OVERRIDABLE = ("NETWORK_TIMEOUT_SEC", "BREAKER_FAIL_MAX", "BREAKER_RESET_TIMEOUT_SEC", "MAX_STALENESS_MS",
               "MAINTENANCE_INTERVAL_SEC", "AP_READ_NODE", "NATIVE_REPLICATION", "NATIVE_REPLICAS",
               "NATIVE_WAIT_TIMEOUT_MS", "NATIVE_MAX_LAG_SEC", "NATIVE_READ_FROM")
# The settings a run reads back from the running services (and records in its results).
SETTINGS = (*OVERRIDABLE, "CAPLAB_TEST_UNSAFE_CP_READ", "CAPLAB_TEST_UNSAFE_CP_CROSSED_ACK", "WEB_WORKERS")


class RunnerError(Exception):
    """The runner cannot go on; the message says why and what to do."""


ALERTS_SHIFT = 60
# A stack of several instances behind HAProxy: its own folder, and its ports shifted by 300 per node
# beyond the first (300 for 2 nodes, 600 more than the 3-node shift for 3): each spans about 200
# ports (its per-instance proxies), so it stays clear of every other experiment stack's.
INSTANCES_SHIFT = 300
WEBHOOK_PORT = 9095


def stack_config(nodes: int, profile: str = "local", run_dir="run", port_offset: int = 0,
                 alerts: bool = False, alert_profile: str = "", native: bool = False, instances: int = 1,
                 balance: str = "roundrobin", local_reads: bool = False) -> StackConfig:
    """The StackConfig for an experiment of `nodes` nodes (with Prometheus and Alertmanager if `alerts`,
    with the native side if `native`: it joins the same folder and ports, as `make up NATIVE=1`).

    With `instances` > 1, CP and AP run that many instances behind HAProxy, each with its own
    proxies in front of the shared ones (so a fault can cut one instance off a node)."""
    many = instances > 1
    shift = (port_offset + (0 if nodes == 2 else 30 * nodes) + (ALERTS_SHIFT if alerts else 0)
             + (INSTANCES_SHIFT * (nodes - 1) if many else 0))
    folder = Path(run_dir) if nodes == 2 else Path(run_dir) / f"{nodes}nodes"
    folder = folder / "instances" if many else folder
    base = StackConfig()
    return StackConfig(
        instances=instances, balance=balance, instance_links=many, local_reads=local_reads,
        instance_base_port=base.instance_base_port + shift, haproxy_stats_port=base.haproxy_stats_port + shift,
        run_dir=folder / "alerts" if alerts else folder,
        nodes=tuple(f"g{i}" for i in range(1, nodes + 1)), profile=profile,
        redis_base_port=base.redis_base_port + shift, toxiproxy_port=base.toxiproxy_port + shift,
        proxy_base_port=base.proxy_base_port + shift,
        service_ports={s: p + shift for s, p in base.service_ports.items()},
        alerts=alerts, alert_profile=alert_profile, prometheus_port=base.prometheus_port + shift,
        alertmanager_port=base.alertmanager_port + shift, webhook_port=WEBHOOK_PORT + shift if alerts else 0,
        native=native, native_base_port=base.native_base_port + shift,
        sentinel_base_port=base.sentinel_base_port + shift)


def compose_stack(exp, env_file):
    """The compose stack under podman (stack/compose.py) as the target of `exp`.

    It runs 2 nodes with the settings of its file, and no Prometheus of the runner's, so
    experiments that need other sizes, settings or alerts run on the local stack only."""
    wants = [what for what, needed in (("3 nodes", exp.nodes != 2), ("alerts", bool(exp.alerts)),
                                       ("the native service", "native" in getattr(exp, "services", ())),
                                       ("service settings", bool(exp.service_settings)),
                                       ("several instances", getattr(getattr(exp, "stack", None), "instances", 1) > 1)) if needed]
    if wants:
        raise RunnerError(f"{exp.name} needs {', '.join(wants)}: the compose target runs 2 nodes with the "
                          f"settings of {env_file}; run it on the local stack (without --target compose)")
    return ComposeStack(env_file)


def ensure_up(stack, say=print) -> bool:
    """Start whatever part of the stack is not running; return True if something was started."""
    if all(row["running"] for row in stack.status()):
        return False
    say(f"starting the stack in {stack.run_dir} ({len(stack.nodes)} nodes, profile {stack.config.profile})")
    stack.up(progress=say)
    return True


def ensure_settings(stack, overrides: dict, say=print):
    """Return a stack whose services run with the profile's settings plus `overrides`.

    Services running with other settings (another profile, or an earlier experiment's overrides)
    are restarted; nodes, Toxiproxy and Prometheus keep running."""
    want = {k: str(v) for k, v in {**PROFILES[stack.config.profile], **overrides}.items() if k in SETTINGS}
    # An overridable setting that neither the profile nor this run sets must be unset again
    # (e.g. AP_READ_NODE after a run that set it), so an override never leaks into the next run.
    want.update({k: "None" for k in OVERRIDABLE if k not in want})
    if stack.config.local_reads and "AP_READ_NODE" not in overrides:
        want.pop("AP_READ_NODE", None)  # each AP instance reads its own replica first
    running = service_settings(stack)
    if all(str(running[m].get(k)) == v for m in running for k, v in want.items()):
        return stack
    changed = {k: v for k, v in want.items() if any(str(running[m].get(k)) != v for m in running)}
    say(f"restarting the services with {changed or overrides}")
    for proc in stack.app_processes():
        proc.stop()
    new = Stack(stack.config.with_(extra_env={k: str(v) for k, v in overrides.items()}))
    for name, proc in stack.attached.items():  # Prometheus and the like keep running, as they are
        new.attach(proc, name)
    new.up(progress=lambda _m: None)
    return new


def ensure_shape(stack, balance: str, local_reads: bool, say=print):
    """Return a stack whose HAProxy balances by `balance` and whose AP instances read as `local_reads` asks.

    A running HAProxy with another policy is restarted with the new config (instances keep
    running); instances reading otherwise are restarted. `shape.json` says what runs."""
    from .balancer import write_config
    running = _running_shape(stack)
    new = Stack(stack.config.with_(balance=balance, local_reads=local_reads))
    for name, proc in stack.attached.items():
        new.attach(proc, name)
    if new.balancer is None or (running.get("balance"), bool(running.get("local_reads"))) == (balance, local_reads):
        return new
    if running.get("balance") != balance:
        say(f"restarting HAProxy with balance {balance}")
        new.balancer.stop()
        write_config(new.config, new.run_dir)
    if bool(running.get("local_reads")) != local_reads:
        say(f"restarting the AP instances with local_reads={local_reads}")
        for proc in new.instances["ap"]:
            proc.stop()
    new.up(progress=lambda _m: None)
    return new


def _running_shape(stack) -> dict:
    """How the running stack was started (shape.json: balance, local_reads), or {}."""
    import json
    try:
        shape = json.loads((Path(stack.run_dir) / "shape.json").read_text())
    except (OSError, ValueError):
        return {}
    return shape if isinstance(shape, dict) else {}


def service_settings(stack) -> dict:
    """The settings the running services really use (read from their environment), else the config's."""
    cfg = stack.config
    out = {}
    for mode, proc in stack.services.items():
        env = dict(cfg.service_env(mode))
        pid = proc.pid
        if pid is not None:
            try:
                raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                env = dict(x.decode(errors="replace").split("=", 1) for x in raw if b"=" in x)
            except OSError:
                pass
        out[mode] = {k: env.get(k, PROFILES[cfg.profile].get(k)) for k in SETTINGS}
    return out


def number(settings: dict, name: str, default: float) -> float:
    """One numeric setting, the largest over the services (the slowest breaker decides)."""
    values = []
    for per_service in settings.values():
        try:
            values.append(float(per_service.get(name)))
        except (TypeError, ValueError):
            continue
    return max(values) if values else default


@contextmanager
def exclusive(stack):
    """Hold the stack's run lock: two experiments on one stack would corrupt each other's results."""
    path = Path(stack.run_dir) / "chaos.lock"
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            raise RunnerError(f"another experiment is running on the stack in {stack.run_dir} "
                              f"({f.read().strip() or 'unknown pid'}); wait for it, or stop it") from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}")
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def node_of(stack, name: str):
    """A node of the stack by name: g1.. or, on the native side, n1.. (a killed node's ledger names it)."""
    native = getattr(stack, "native", None)
    return stack.nodes[name] if name in stack.nodes or native is None else native.nodes[name]


def state_dir(stack) -> Path:
    """Where process faults keep their ledger, so `heal` finds faults a killed run left."""
    return Path(stack.run_dir) / "chaos-state"
