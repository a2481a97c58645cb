"""Which workload, nemesis and observers a run is made of: the one place that names concrete types.

The runner (chaos/run/runner.py) is given a parts factory and calls it once the history is open;
it never names a workload, nemesis or observer itself. ``for_experiment`` is the factory of the
catalogue's experiments; a DR drill has its own (chaos/drills/recovery.py), and extra observers
(a dashboard, a guard) are appended by ``run_experiment(..., observers=[...])``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from chaos import workloads
from chaos.nemesis.scheduled import ScheduledFaults
from chaos.observers.alerting import AlertProbe
from chaos.observers.balancer import BalancerObserver
from chaos.observers.guard import GuardObserver
from chaos.observers.live import LiveRun
from chaos.observers.failover import NativeSnapshots, SentinelObserver
from chaos.observers.samplers import MetricsObserver, SnapshotObserver
from chaos.run.context import RunContext
from chaos.run.protocols import Nemesis, Observer, Workload


@dataclass
class Parts:
    """What one run drives: a workload, a nemesis, and observers (started in this order, stopped in reverse)."""

    workload: Workload
    nemesis: Nemesis
    observers: list = field(default_factory=list)  # [Observer]

    def __post_init__(self):
        for what, proto in (("workload", Workload), ("nemesis", Nemesis)):
            if not isinstance(getattr(self, what), proto):
                raise TypeError(f"{type(getattr(self, what)).__name__} is not a {proto.__name__}: see chaos/run/protocols.py")
        bad = [type(o).__name__ for o in self.observers if not isinstance(o, Observer)]
        if bad:
            raise TypeError(f"not Observers: {', '.join(bad)}; subclass chaos.run.protocols.Observer")


def for_experiment(run: RunContext) -> Parts:
    """A catalogue experiment: its workload engine, its fault schedule, the sampler, the snapshots after
    the faults, the alert probe when it declares alerts, its guards when it declares some, and the
    live-run pointer a dashboard follows (and its halt button)."""
    exp = run.exp
    observers: list = [MetricsObserver(exp.expect_metrics), SnapshotObserver(exp.after_heal), LiveRun()]
    if exp.alerts:
        observers.append(AlertProbe(exp))
    if getattr(run.stack, "balancer", None) is not None:  # instances behind HAProxy: its view of them
        observers.append(BalancerObserver())
    if exp.guards:
        observers.append(GuardObserver(exp.guards))
    if "native" in exp.services:  # the Sentinels' events, and the native nodes' own snapshots
        observers += [SentinelObserver(), NativeSnapshots(exp.after_heal)]
    return Parts(workloads.for_experiment(exp, run.urls, run.run_id, run.rec, run.run_dir, run.seed),
                 ScheduledFaults(exp.schedule), observers)
