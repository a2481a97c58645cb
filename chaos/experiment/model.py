"""What an experiment is: one declarative value (plain frozen dataclasses), and its one error.

chaos.experiment.validation builds these from plain data, field by field; chaos.experiment.files reads the YAML files.
See docs/runner.md for the schema.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from stack.target import OVERRIDABLE

EXPERIMENTS_DIR = Path(__file__).resolve().parent / "catalogue"
SERVICES = ("cp", "ap", "native")  # native: Redis replication with Sentinel (docs/native.md)
PROFILES = ("local", "test")
ENGINES = ("threads", "locust")
ALERT_PROFILES = ("fast", "spec")
SETTINGS = OVERRIDABLE  # service settings an experiment may override (stack/target.py)
STEADY_CHECKS = ("proxies_clean", "ready", "breakers_closed", "write_read")
METRICS = ("data_staleness_ms", "caplab_hints_pending", "circuit_breaker_state")
WINDOWS = ("steady", "fault", "between", "after-heal", "any")
GUARD_METRICS = ("availability",)
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
KEY_CHARS = re.compile(r"^[A-Za-z0-9._:-]*$")


class ExperimentError(Exception):
    """An experiment file is invalid; `problems` lists each one with its field path and fix."""

    def __init__(self, source: str, problems: list[str]):
        self.source, self.problems = source, problems
        super().__init__(f"{source}: {len(problems)} problem{'s' * (len(problems) != 1)}:\n"
                         + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class WorkloadSpec:
    clients: int = 4  # per service
    duration_s: float | None = 30.0  # None (a DR drill): until the nemesis is done
    read_ratio: float = 0.5
    keys: int = 10
    key_prefix: str = "k"
    think_ms: float = 10.0
    max_ops: int = 100_000  # per client
    timeout_s: float = 2.0
    engine: str = "threads"  # threads (chaos.workloads.threads) | locust (loadtests, in its own processes)
    users: int = 0  # locust: users over every service (0: clients per service)
    spawn_rate: float = 0.0  # locust: users started per second (0: all at once)


@dataclass(frozen=True)
class FaultSpec:
    at: float
    duration: float
    fault: str
    params: dict
    name: str

    @property
    def end(self) -> float:
        return self.at + self.duration


@dataclass(frozen=True)
class SteadyCheck:
    check: str
    within_s: float | None = None  # poll until it passes, at most this long (None: the runner's default)


@dataclass(frozen=True)
class AfterHeal:
    snapshot_every_s: float = 0.5
    within_s: float = 30.0
    services: tuple = ()  # whose keys are snapshotted; their clients only read once the faults are healed


@dataclass(frozen=True)
class MetricExpectation:
    service: str
    metric: str
    node: str
    window: str = "fault"
    at_least: float | None = None
    at_most: float | None = None



@dataclass(frozen=True)
class Guard:
    """Abort the run, live, once `metric` of `service` stays below `below` for `for_s` seconds.

    availability: the share of the service's operations completed in the last `for_s` seconds that
    ended ok (fail and info count against it), judged only once `for_s` seconds of the workload have
    passed and at least `min_ops` operations completed in them."""

    service: str
    below: float
    for_s: float
    metric: str = "availability"
    min_ops: int = 10

    @property
    def label(self) -> str:
        return f"{self.service.upper()} {self.metric} below {self.below:.0%} for {self.for_s:g} s"


@dataclass(frozen=True)
class AlertExpectation:
    """One alert by name, with the labels it must carry (any value for the labels not given)."""

    name: str
    labels: dict

    @property
    def selector(self) -> str:
        inner = ",".join(f'{k}="{v}"' for k, v in sorted(self.labels.items()))
        return f"{self.name}{{{inner}}}" if inner else self.name


@dataclass(frozen=True)
class Alerts:
    """The alerts a run expects to fire (timed from fault start and heal) and to stay quiet."""

    expect_firing: tuple = ()
    expect_quiet: tuple = ()
    detect_within_s: float | None = None
    resolve_within_s: float = 30.0  # also how long the runner waits after the heal for them to resolve

    def __bool__(self) -> bool:
        return bool(self.expect_firing or self.expect_quiet)

@dataclass(frozen=True)
class StackShape:
    """How many instances of each service, behind HAProxy with which policy (docs/scaling.md)."""

    instances: int = 1
    balance: str = "roundrobin"  # roundrobin | cookie | header
    local_reads: bool = False  # AP instance k reads node k (mod N) first


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    hypothesis: str
    services: tuple
    nodes: int
    profile: str
    workload: WorkloadSpec
    schedule: tuple
    checkers: dict
    steady_before: tuple
    steady_after: tuple
    after_heal: AfterHeal
    expect_metrics: tuple = ()
    alerts: Alerts = Alerts()
    alert_profile: str = ""  # fast | spec; empty when the experiment declares no alerts
    service_settings: dict = field(default_factory=dict)  # overrides of the stack profile's settings
    stack: StackShape = StackShape()
    question: str = ""
    guards: tuple = ()  # Guard: abort the run live when one trips (chaos/observers/guard.py)
    source: str = "<dict>"
    nemesis: dict = field(default_factory=dict)  # a nemesis other than the schedule, as data (a DR drill's disaster)

    @property
    def node_names(self) -> list[str]:
        return [f"g{i}" for i in range(1, self.nodes + 1)]

    def to_dict(self) -> dict:
        """The validated experiment as plain data (experiment.json)."""
        return asdict(self)
