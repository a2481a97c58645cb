"""Actions: every fault of caplab's catalogue, `heal`, and `mark`.

There is one action per fault of `chaos.nemesis.fault_types.FAULTS`, built from that table, so an
action takes exactly the parameters an experiment file's schedule entry takes (same names,
defaults, ranges and checks) and cannot drift from it: `cut_node(node="g2", mode="blackhole")` is
`{fault: cut_node, params: {node: g2, mode: blackhole}}`.

Each fault is scoped and always undoable:

- with `duration_s`, the action holds the fault that long and undoes it before it returns;
- without, the fault stays in place after the action and `heal` (a rollback) removes it. Network
  faults live in Toxiproxy and process faults in caplab's fault ledger, so `heal`, or
  `python -m chaos heal`, removes them from any process, also after this one was killed.
"""
from __future__ import annotations

import inspect
import time

from chaos.experiment.validation import fault_params
from chaos.faults import Topology
from chaos.faults.heal import heal_stack
from chaos.nemesis.fault_types import FAULTS, NATIVE_FAULTS, REQUIRED, FaultContext, build_fault
from chaoslib.exceptions import ActivityFailed
from stack.config import SERVICES

from . import recording
from .target import activity, settings, target

# Faults this process injected and has not undone yet, with the Toxiproxy client each one uses.
ACTIVE: list = []
HOLD_MAX_S = 3600.0
INSTANCE_FAULTS = ("kill_instance", "rolling_restart", "cut_instance")  # they need ctx.stack's balancer
KIND_DOCS = {"node": "one node name (g1, g2, ...)", "nodes": "a node name (g1) or a list of names",
             "service": "one service: cp or ap", "services": "a list of services (cp, ap)",
             "links": "proxy names, <service>_<node>, e.g. [cp_g2, ap_g2]", "int": "an integer",
             "float": "a number"}
ANNOTATIONS = {"nodes": object, "node": str, "services": list, "service": str, "links": list,
               "choice": str, "int": int, "float": float}


def inject(fault_type: str, raw: dict, duration_s, configuration) -> dict:
    """Validate, build and start one fault; hold it for `duration_s` or leave it for `heal`."""
    cfg = settings(configuration)
    nodes = [f"g{i}" for i in range(1, cfg["caplab_nodes"] + 1)]  # as stack_config names them
    params, problems = fault_params(fault_type, raw, list(SERVICES), nodes, path="arguments")
    if fault_type in INSTANCE_FAULTS and cfg["caplab_instances"] < 2:
        problems.append("it acts on one of several instances behind HAProxy: set the configuration key "
                        "caplab_instances to the stack's number of instances")
    if fault_type in NATIVE_FAULTS and not cfg["caplab_native"]:
        problems.append("it acts on the native side: set the configuration key caplab_native to true, "
                        "for a stack started with `make up NATIVE=1`")
    if duration_s is not None and (isinstance(duration_s, bool) or not isinstance(duration_s, (int, float))
                                   or not 0 < duration_s <= HOLD_MAX_S):
        problems.append(f"arguments.duration_s: {duration_s!r} is not a number of seconds in (0, {HOLD_MAX_S:g}]; "
                        "leave it out to keep the fault until heal")
    if problems:
        raise ActivityFailed(f"{fault_type}: " + "; ".join(problems))
    stack = target(configuration)
    tp = stack.toxiproxy()
    ctx = FaultContext(tp, Topology(services=list(SERVICES), nodes=stack.nodes), list(SERVICES),
                       nodes=stack.stack.nodes, state_dir=stack.state_dir,
                       native=stack.stack.native if cfg["caplab_native"] else None, stack=stack.stack)
    fault, label = build_fault(ctx, fault_type, params)
    rec = recording.current(required=False)
    if rec is not None:
        fault.on_event = rec.on_fault(fault_type, params, label)
        if hasattr(fault, "on_flap"):
            fault.on_flap = rec.on_flap(fault.name)
    ACTIVE.append((fault, tp))  # before it lands: an interruption at any point leaves it to heal
    try:
        fault.start()  # on failure it undoes what it did, then raises
    except BaseException:
        _forget(fault, tp)
        raise
    out = {"fault": fault_type, "name": fault.name, "target": label, "params": params,
           "applied": fault.describe(), "started_at": fault.started_at}
    if duration_s is None:
        return {**out, "active": True}
    try:
        time.sleep(duration_s)
    finally:
        try:
            fault.stop()
        finally:
            _forget(fault, tp)
    return {**out, "active": False, "held_s": duration_s}


def _forget(fault, tp) -> None:
    if (fault, tp) in ACTIVE:
        ACTIVE.remove((fault, tp))
    tp.close()


def _action(fault_type: str):
    """The action for one fault of the catalogue, its signature and docs taken from FAULTS."""
    spec = FAULTS[fault_type]

    def run(*, configuration: dict = None, duration_s: float = None, **params) -> dict:
        return inject(fault_type, params, duration_s, configuration)

    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    required = [inspect.Parameter(k, keyword, annotation=ANNOTATIONS[p.kind])
                for k, p in spec.params.items() if p.default is REQUIRED]
    optional = [inspect.Parameter(k, keyword, default=p.default, annotation=ANNOTATIONS[p.kind])
                for k, p in spec.params.items() if p.default is not REQUIRED]
    hold = inspect.Parameter("duration_s", keyword, default=None, annotation=float)
    config = inspect.Parameter("configuration", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=dict)
    run.__signature__ = inspect.Signature([*required, *optional, hold, config], return_annotation=dict)
    run.__name__ = run.__qualname__ = fault_type
    run.__module__ = __name__
    run.__doc__ = _doc(fault_type)
    return activity(run)


def _doc(fault_type: str) -> str:
    spec = FAULTS[fault_type]
    lines = [f"{spec.doc[0].upper()}{spec.doc[1:]} (the `{fault_type}` fault of caplab's schedule).", "",
             "The fault stays in place until `heal`; with duration_s it is held that long and undone "
             "before the action returns. Returns the fault's name, target, parameters and what was applied.",
             "", "Arguments:"]
    for name, p in spec.params.items():
        default = " (required)" if p.default is REQUIRED else f" (default {p.default!r})"
        choices = f": one of {', '.join(p.choices)}" if p.choices else ""
        bounds = f", {p.lo:g}..{p.hi:g}" if p.lo is not None and p.hi is not None else ""
        doc = p.doc or KIND_DOCS.get(p.kind, p.kind)
        if p.kind == "services":  # an action has no experiment: both services
            doc = "the services whose links are affected (default: cp and ap)"
        lines.append(f"- {name}{default}: {doc}{choices}{bounds}")
    lines.append(f"- duration_s (default None): hold the fault this long (0..{HOLD_MAX_S:g} s), then undo it")
    return "\n".join(lines)


FAULT_ACTIONS = [name for name in FAULTS if name != "none"]
globals().update({name: _action(name) for name in FAULT_ACTIONS})


@activity
def heal(*, configuration: dict = None) -> dict:
    """Remove every fault caplab knows about: stop the faults this run injected, reset Toxiproxy
    (every toxic gone, every proxy enabled), resume paused nodes and restart killed ones, from the
    fault ledger, so it also clears what a killed run left behind. Raises if anything remains."""
    stack = target(configuration)
    stopped, errors = [], []
    while ACTIVE:
        fault, tp = ACTIVE.pop()
        try:
            fault.stop()
            stopped.append(fault.name)
        except Exception as err:  # heal() below still resets everything
            errors.append(f"{fault.name}: {err}")
        finally:
            tp.close()
    with stack.toxiproxy() as tp:
        report = heal_stack(stack.stack, tp)
    report.errors += errors
    if not report.ok:
        raise ActivityFailed("heal did not finish: " + "; ".join(report.errors))
    return {**report.to_dict(), "stopped": stopped}


@activity
def mark(name: str) -> dict:
    """Start a new stretch of the recorded history named `name`: the client threads start over on
    fresh keys, so the `check` probe with since=name judges only what happened from here on.
    Needs the caplab control. Returns the mark's name, time (s since the recording began) and key space."""
    if not isinstance(name, str) or not name.strip():
        raise ActivityFailed(f"mark: name must be a non-empty string, got {name!r}")
    return recording.current().mark(name).to_dict()


__all__ = [*FAULT_ACTIONS, "heal", "mark"]
