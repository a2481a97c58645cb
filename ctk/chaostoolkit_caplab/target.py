"""Which caplab stack an activity acts on, read from the Chaos Toolkit `configuration`, and how a
failure reaches the journal: always `ActivityFailed` with the cause, never `None`.

Configuration keys (all optional; the defaults name the stack `make up` starts):

- `caplab_stack_dir`: the stack's folder (`run`, as `make up RUN_DIR=...`);
- `caplab_port_offset`: the shift of every port (`python -m chaos run --port-offset`), 0 by default;
- `caplab_nodes`: 2 or 3 nodes (a 3-node stack lives in `<dir>/3nodes`, ports shifted by 90);
- `caplab_native`: true for a stack that runs the native side (`make up NATIVE=1`), which the
  native faults (isolate_primary, kill_primary) act on;
- `caplab_instances`: the CP and AP instances behind HAProxy of an experiment's stack
  (`stack: {instances: 3}`, in `<dir>/instances`), which the instance faults act on.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import requests
from chaoslib.exceptions import ActivityFailed, InterruptExecution

from chaos.faults import FaultError
from stack import Stack
from stack.config import MAX_INSTANCES, SERVICES
from stack.process import StackError
from stack.target import stack_config, state_dir
from stack.toxiproxy import ToxiproxyError

DEFAULTS = {"caplab_stack_dir": "run", "caplab_port_offset": 0, "caplab_nodes": 2, "caplab_native": False,
            "caplab_instances": 1}
# What an activity may raise that says something about the system or the input: the message is
# the cause. Anything else is a bug in the extension and keeps its traceback.
EXPECTED = (FaultError, ToxiproxyError, StackError, requests.RequestException, ValueError, OSError)


@dataclass(frozen=True)
class Target:
    """One running caplab stack: its processes, Toxiproxy, services and fault ledger."""

    stack: Stack

    @property
    def nodes(self) -> list[str]:
        return list(self.stack.config.nodes)

    @property
    def urls(self) -> dict[str, str]:
        cfg = self.stack.config
        return {s: cfg.service_url(s) for s in SERVICES}  # CP and AP: the promises the probes judge

    @property
    def state_dir(self) -> Path:
        return state_dir(self.stack)

    def toxiproxy(self):
        return self.stack.client()


def settings(configuration: dict | None) -> dict:
    """The caplab keys of a Chaos Toolkit configuration, with their defaults, checked."""
    cfg = {**DEFAULTS, **{k: v for k, v in (configuration or {}).items() if k in DEFAULTS}}
    try:
        offset, nodes, instances = (int(cfg[k]) for k in ("caplab_port_offset", "caplab_nodes", "caplab_instances"))
    except (TypeError, ValueError):
        raise ActivityFailed(f"caplab_port_offset, caplab_nodes and caplab_instances must be integers, got "
                             f"{cfg['caplab_port_offset']!r}, {cfg['caplab_nodes']!r} and "
                             f"{cfg['caplab_instances']!r}") from None
    if nodes not in (2, 3) or not 0 <= offset <= 50000 or not 1 <= instances <= MAX_INSTANCES:
        raise ActivityFailed(f"caplab_nodes must be 2 or 3 (got {nodes}), caplab_port_offset between 0 and "
                             f"50000 (got {offset}), caplab_instances 1..{MAX_INSTANCES} (got {instances})")
    native = cfg["caplab_native"]
    if isinstance(native, str):  # from an environment variable
        native = native.strip().lower() in ("1", "true", "yes")
    return {"caplab_stack_dir": str(cfg["caplab_stack_dir"]), "caplab_port_offset": offset,
            "caplab_nodes": nodes, "caplab_native": bool(native), "caplab_instances": instances}


def target(configuration: dict | None) -> Target:
    """The stack the configuration names; ActivityFailed if no stack was ever started there."""
    cfg = settings(configuration)
    config = stack_config(cfg["caplab_nodes"], "local", cfg["caplab_stack_dir"], cfg["caplab_port_offset"],
                          native=cfg["caplab_native"], instances=cfg["caplab_instances"])
    if not (Path(config.run_dir) / "secrets.json").exists():
        # Stack() would create the folder and new secrets: a typo must not start a second stack.
        raise ActivityFailed(f"no caplab stack in {Path(config.run_dir).resolve()}: start one with "
                             f"`make up` (or `python -m stack up --run-dir DIR`), or set the configuration "
                             f"keys caplab_stack_dir / caplab_port_offset / caplab_nodes to the running stack")
    return Target(Stack(config))


def activity(fn):
    """Turn an expected failure of `fn` into ActivityFailed naming the activity and the cause."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
        except ActivityFailed:
            raise
        except InterruptExecution as err:
            # Chaos Toolkit's SIGTERM handler raises this; its python provider would turn it into
            # one failed activity and carry on. Whatever the activity did is undone or left to
            # heal (actions.ACTIVE); the run must stop, as it does when no activity is running.
            raise SystemExit(f"{fn.__name__} interrupted: {err}") from err
        except EXPECTED as err:
            raise ActivityFailed(f"{fn.__name__}: {server_message(err)}") from err
        if result is None:  # the contract: every activity answers plain data
            raise ActivityFailed(f"{fn.__name__} returned nothing (a bug in chaostoolkit_caplab)")
        return result
    return run


def server_message(err: BaseException) -> str:
    """The most specific message an error carries: the server's own words when it sent some."""
    said = getattr(err, "server_message", None)
    return f"{err} (server said: {said})" if said and said not in str(err) else str(err)


def answer(resp: requests.Response) -> dict:
    """A caplab service's JSON answer; ActivityFailed with its error message if it sent none."""
    try:
        body = resp.json()
    except ValueError:
        raise ActivityFailed(f"{resp.request.method} {resp.url} answered {resp.status_code} "
                             f"without JSON: {resp.text[:200]!r}") from None
    if not isinstance(body, dict):
        raise ActivityFailed(f"{resp.url} answered {resp.status_code} with {type(body).__name__}, not an object")
    return body
