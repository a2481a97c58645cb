"""The fault schedule: the experiment's fault names, their parameters, and the faults they build.

Each entry of an experiment's `schedule` names one fault of `FAULTS` and its `params`. The same
table validates the YAML (chaos.experiment.files) and builds the fault objects of chaos.faults here, so
a parameter cannot be accepted by one and unknown to the other.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from chaos import faults as F

REQUIRED = object()
PARTITION_MODES = F.MODES  # refuse | blackhole | upstream | downstream
STREAMS = ("downstream", "upstream")


@dataclass(frozen=True)
class Param:
    """One fault parameter: its kind, default, and accepted values."""

    kind: str  # nodes | node | services | service | links | choice | int | float
    default: Any = REQUIRED
    lo: float | None = None
    hi: float | None = None
    choices: tuple = ()
    doc: str = ""


@dataclass(frozen=True)
class FaultType:
    """A fault an experiment can schedule: its parameters and how to build it."""

    doc: str
    params: dict
    build: Callable[["FaultContext", dict], tuple]  # -> (Fault, target)


@dataclass
class FaultContext:
    """What building a fault needs: the Toxiproxy client, topology, nodes, ledger and recorder."""

    toxiproxy: Any
    topology: F.Topology
    services: list  # the experiment's services: the default for `services` params
    nodes: dict = field(default_factory=dict)  # name -> Node (pid, kill, start)
    state_dir: Any = None
    native: Any = None  # the stack's NativeSide (stack/native.py), when it runs one
    stack: Any = None  # the Stack: its instances and HAProxy, for the instance faults


def _links(ctx: FaultContext, p: dict) -> list[str]:
    services = p.get("services") or ctx.services
    return [F.proxy_name(s, n) for n in p["node"] for s in services]


def _target(p: dict, ctx: FaultContext) -> str:
    return f"{','.join(p.get('services') or ctx.services)}->{','.join(p['node'])}"


def _cut(ctx, p, mode_key="mode"):
    links = _links(ctx, p)
    return F.partition(ctx.toxiproxy, links, p[mode_key], name=f"cut_{'-'.join(links)}_{p[mode_key]}"), \
        _target(p, ctx)


def _isolate(ctx, p):
    links = [F.proxy_name(s, n) for n in p["node"] for s in ctx.topology.services]
    return (F.partition(ctx.toxiproxy, links, p["mode"], name=f"isolate_{'-'.join(p['node'])}_{p['mode']}"),
            f"*->{','.join(p['node'])}")


def _cut_service(ctx, p):
    nodes = p["node"] or list(ctx.topology.nodes)
    links = [F.proxy_name(p["service"], n) for n in nodes]
    return (F.partition(ctx.toxiproxy, links, p["mode"], name=f"cut_{p['service']}_{'-'.join(nodes)}_{p['mode']}"),
            f"{p['service']}->{','.join(nodes)}")


def _partition(ctx, p):
    return F.partition(ctx.toxiproxy, p["links"], p["mode"]), ",".join(p["links"])


def _toxic(factory, **names):
    """Build a toxic fault; `names` maps the factory's argument names to the YAML param names."""
    def build(ctx, p):
        kwargs = {arg: p[key] for arg, key in names.items()}
        return (factory(ctx.toxiproxy, _links(ctx, p), stream=p["stream"], toxicity=p["toxicity"], **kwargs),
                _target(p, ctx))
    return build


def _flapping(ctx, p):
    links = _links(ctx, p)
    return (F.FlappingLink(ctx.toxiproxy, links, period_sec=p["period_sec"], down_sec=p["down_sec"],
                           mode=p["mode"]), _target(p, ctx))


def _process(cls):
    def build(ctx, p):
        name = p["node"]
        return cls(F.NodeHandle(name, ctx.nodes[name]), ctx.state_dir), f"process:{name}"
    return build


def _native(build):
    """Build a fault of the native side; the stack must run one (the experiment lists native)."""
    def wrapped(ctx, p):
        if ctx.native is None:
            raise F.FaultError("this stack runs no native side; list native in the experiment's services")
        return build(ctx, p)
    return wrapped


def _instances(ctx: FaultContext, what: str) -> Any:
    stack = ctx.stack
    if stack is None or getattr(stack, "balancer", None) is None:
        raise F.FaultError(f"{what} needs a stack of several instances behind HAProxy; give the "
                           f"experiment `stack: {{instances: 3}}`")
    return stack


def _instance(ctx, p):
    stack, k = _instances(ctx, "kill_instance"), p["instance"]
    procs = stack.instances[p["service"]]
    if k > len(procs):
        raise F.FaultError(f"kill_instance: {p['service']} has {len(procs)} instances, not {k}")
    return F.KillInstance(procs[k - 1]), f"{p['service']}{k}"


def _rolling(ctx, p):
    from stack import balancer
    stack = _instances(ctx, "rolling_restart")
    services = p.get("services") or ctx.services
    procs = [(balancer.instance_name(s, k), proc) for s in services
             for k, proc in enumerate(stack.instances[s], 1)]
    return (F.RollingRestart(procs, lambda line: balancer.command(stack.run_dir, line), stack.balancer_view,
                             drain=p["mode"] == "drain"), f"{','.join(services)}:*")


def _cut_instance(ctx, p):
    _instances(ctx, "cut_instance")
    links = [F.proxy_name(f"{p['service']}{p['instance']}", n) for n in p["node"]]
    return (F.partition(ctx.toxiproxy, links, p["mode"], name=f"cut_{'-'.join(links)}_{p['mode']}"),
            f"{p['service']}{p['instance']}->{','.join(p['node'])}")


NODE = Param("nodes", doc="a node name (g1) or a list of names")
INSTANCE = Param("int", REQUIRED, 1, 9, doc="an instance number, 1 .. the experiment's instances")
SERVICES = Param("services", None, doc="services whose links to the node are affected (default: the experiment's)")
MODE = Param("choice", "refuse", choices=PARTITION_MODES, doc="how the link is cut")
STREAM = Param("choice", "downstream", choices=STREAMS, doc="downstream = Redis -> service")
TOXICITY = Param("float", 1.0, 0.0, 1.0, doc="share of connections affected")
ONE_NODE = Param("node", doc="one node name")

FAULTS: dict[str, FaultType] = {
    "cut_node": FaultType("cut services off from node(s)", {"node": NODE, "services": SERVICES, "mode": MODE}, _cut),
    "isolate_node": FaultType("cut every service off from node(s)", {"node": NODE, "mode": MODE}, _isolate),
    "cut_service": FaultType("cut one service off from some or all nodes",
                             {"service": Param("service"), "node": Param("nodes", None), "mode": MODE},
                             _cut_service),
    "one_way": FaultType("drop one direction only: upstream (requests) or downstream (replies)",
                         {"node": NODE, "services": SERVICES,
                          "direction": Param("choice", choices=("upstream", "downstream"))},
                         lambda ctx, p: _cut(ctx, p, "direction")),
    "partition": FaultType("cut the named proxies, e.g. [cp_g2, ap_g2]",
                           {"links": Param("links"), "mode": MODE}, _partition),
    "latency": FaultType("delay every chunk by ms +/- jitter_ms",
                         {"node": NODE, "services": SERVICES, "ms": Param("int", REQUIRED, 0, 60000),
                          "jitter_ms": Param("int", 0, 0, 60000), "stream": STREAM, "toxicity": TOXICITY},
                         _toxic(F.latency, ms="ms", jitter_ms="jitter_ms")),
    "bandwidth": FaultType("cap throughput at rate_kb_per_s",
                           {"node": NODE, "services": SERVICES, "rate_kb_per_s": Param("int", REQUIRED, 0, 10**7),
                            "stream": STREAM, "toxicity": TOXICITY},
                           _toxic(F.bandwidth, rate_kb_per_s="rate_kb_per_s")),
    "reset_peer": FaultType("reset connections (TCP RST) after timeout_ms",
                            {"node": NODE, "services": SERVICES, "timeout_ms": Param("int", 0, 0, 600000),
                             "stream": STREAM, "toxicity": TOXICITY},
                            _toxic(F.reset_peer, timeout_ms="timeout_ms")),
    "slicer": FaultType("deliver data in small slices",
                        {"node": NODE, "services": SERVICES, "average_size": Param("int", REQUIRED, 1, 10**6),
                         "size_variation": Param("int", 0, 0, 10**6), "delay_us": Param("int", 0, 0, 10**7),
                         "stream": STREAM, "toxicity": TOXICITY},
                        _toxic(F.slicer, average_size="average_size", size_variation="size_variation",
                               delay_us="delay_us")),
    "limit_data": FaultType("close each connection after max_bytes",
                            {"node": NODE, "services": SERVICES, "max_bytes": Param("int", REQUIRED, 1, 10**9),
                             "stream": STREAM, "toxicity": TOXICITY},
                            _toxic(F.limit_data, max_bytes="max_bytes")),
    "slow_close": FaultType("delay closing connections by delay_ms",
                            {"node": NODE, "services": SERVICES, "delay_ms": Param("int", REQUIRED, 0, 600000),
                             "stream": STREAM, "toxicity": TOXICITY},
                            _toxic(F.slow_close, delay_ms="delay_ms")),
    "flapping": FaultType("cut the link for down_sec at the start of every period_sec",
                          {"node": NODE, "services": SERVICES, "period_sec": Param("float", REQUIRED, 0.1, 600),
                           "down_sec": Param("float", None, 0.05, 600), "mode": MODE}, _flapping),
    "kill_node": FaultType("kill -9 the node's redis-server; restart it when the fault stops",
                           {"node": ONE_NODE}, _process(F.KillNode)),
    "pause_node": FaultType("freeze the node's redis-server (SIGSTOP); resume it when the fault stops",
                            {"node": ONE_NODE}, _process(F.PauseNode)),
    "isolate_primary": FaultType("cut the native primary off from its replicas and the Sentinels (its peer "
                                 "proxy); the native service still reaches it, Sentinel fails over",
                                 {"mode": Param("choice", "blackhole", choices=("blackhole", "refuse"),
                                                doc="how the peer link is cut")},
                                 _native(lambda ctx, p: (F.IsolatePrimary(ctx.toxiproxy, ctx.native, p["mode"]),
                                                         "native:primary"))),
    "kill_primary": FaultType("kill -9 the native primary; Sentinel fails over; restarted when the fault stops",
                              {}, _native(lambda ctx, p: (F.KillPrimary(ctx.native, ctx.state_dir), "native:primary"))),
    "kill_instance": FaultType("kill -9 one service instance (and its workers); start it when the fault stops",
                               {"service": Param("service"), "instance": INSTANCE}, _instance),
    "rolling_restart": FaultType("restart every instance one at a time (drain: out of HAProxy first, as a "
                                 "zero-downtime deploy; abrupt: stop and start only)",
                                 {"services": SERVICES, "mode": Param("choice", "drain", choices=("drain", "abrupt"))},
                                 _rolling),
    "cut_instance": FaultType("cut one service instance off node(s), through its own proxies; the others "
                              "still reach them (a partition that splits the app tier)",
                              {"service": Param("service"), "instance": INSTANCE, "node": NODE, "mode": MODE},
                              _cut_instance),
    "none": FaultType("change nothing (a baseline window)", {},
                      lambda ctx, p: (F.NoFault(), "-")),
}


NATIVE_FAULTS = ("isolate_primary", "kill_primary")


def build_fault(ctx: FaultContext, fault: str, params: dict):
    """Build the fault object and its target label for one validated schedule entry."""
    return FAULTS[fault].build(ctx, params)
