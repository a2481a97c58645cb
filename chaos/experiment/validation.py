"""Validation: plain data (a parsed YAML document) field by field into chaos.experiment.model's values.

Every problem in a file is collected, each naming the field path and the fix, so one run of the
validator lists them all. Unknown fields are errors (with a "did you mean"), so a typo cannot
silently drop a fault or a threshold.
"""
from __future__ import annotations

import difflib

from chaos.experiment.model import (ENGINES, GUARD_METRICS, KEY_CHARS, METRICS, NAME, STEADY_CHECKS, WINDOWS, AfterHeal,
                                   FaultSpec, Guard, MetricExpectation, SteadyCheck, WorkloadSpec)
from chaos.nemesis.fault_types import FAULTS, NATIVE_FAULTS, REQUIRED, Param
from stack.config import proxy_name


def _schema(cls, skip=()) -> dict:
    return {f.name: f.default for f in cls.__dataclass_fields__.values() if f.name not in skip}


TOP_FIELDS = ("name", "title", "hypothesis", "question", "services", "nodes", "profile", "workload",
              "schedule", "checkers", "steady_state", "after_heal", "expect_metrics", "alerts", "alert_profile",
              "service_settings", "stack", "guards")
ENTRY_FIELDS = ("at", "duration", "fault", "params", "name")
METRIC_FIELDS = ("service", "metric", "node", "window", "at_least", "at_most")
GUARD_FIELDS = ("service", "metric", "below", "for_s", "min_ops")
DEFAULT_BEFORE = ("proxies_clean", "ready", "breakers_closed", "write_read")
DEFAULT_AFTER = ("ready", "breakers_closed", "write_read", "proxies_clean")


class _Checker:
    """Collects problems while reading plain data; every read returns a usable value."""

    def __init__(self, source: str):
        self.source, self.problems = source, []

    def bad(self, path: str, problem: str, fix: str) -> None:
        self.problems.append(f"{path}: {problem}; {fix}")

    def mapping(self, path: str, value, allowed) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.bad(path, f"must be a mapping, got {type(value).__name__}",
                     f"write it as key: value lines under {path.rsplit('.', 1)[-1] or 'the file'}")
            return {}
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"allowed: {', '.join(allowed)}"
                self.bad(f"{path}.{key}" if path else str(key), "unknown field", hint)
        return value

    def number(self, path, value, lo, hi, integer=False, default=REQUIRED):
        if value is None and default is not REQUIRED:
            return default
        kind = "an integer" if integer else "a number"
        if value is None:
            self.bad(path, "is missing", f"add {path.rsplit('.', 1)[-1]}: <{kind} between {lo} and {hi}>")
            return lo
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            self.bad(path, f"must be {kind}, got {value!r}", f"give {kind} between {lo} and {hi}")
            return lo if default in (REQUIRED, None) else default
        if not lo <= value <= hi:
            self.bad(path, f"{value} is out of range", f"give {kind} between {lo} and {hi}")
        return value

    def text(self, path, value, required=True, pattern=None, what="") -> str:
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            self.bad(path, "is missing" if value is None else f"must be text, got {value!r}",
                     f"add {path}: <{what or 'text'}>")
            return ""
        if pattern is not None and not pattern.fullmatch(value):
            self.bad(path, f"{value!r} is not allowed", f"use {what}")
        return value

    def choice(self, path, value, choices, default=REQUIRED):
        if value is None and default is not REQUIRED:
            return default
        if value not in choices:
            close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
            self.bad(path, f"{value!r} is not one of {list(choices)}",
                     f"did you mean '{close[0]}'?" if close else f"use one of {list(choices)}")
            return choices[0]
        return value

    def names(self, path, value, choices, single=False, allow_empty=False) -> list:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or (not items and not allow_empty):
            self.bad(path, f"must be {'a name' if single else 'a name or a list of names'}, got {value!r}",
                     f"use {'one of' if single else 'some of'} {list(choices)}")
            return [choices[0]]
        if single and len(items) != 1:
            self.bad(path, "takes exactly one name", f"use one of {list(choices)}")
        for i, item in enumerate(items):
            self.choice(f"{path}[{i}]" if len(items) > 1 else path, item, choices)
        if len(set(map(str, items))) != len(items):
            self.bad(path, "lists a name twice", "list each name once")
        # Only valid names go on (the problems are recorded), so nothing downstream meets a list or null.
        return list(dict.fromkeys(x for x in items if isinstance(x, str) and x in choices)) or [choices[0]]


def _workload(v: _Checker, raw, services=("cp",)) -> WorkloadSpec:
    d = v.mapping("workload", raw, tuple(_schema(WorkloadSpec)))
    w = WorkloadSpec()
    engine = v.choice("workload.engine", d.get("engine"), ENGINES, default=w.engine)
    out = WorkloadSpec(
        clients=v.number("workload.clients", d.get("clients"), 1, 32, True, w.clients),
        duration_s=v.number("workload.duration_s", d.get("duration_s"), 1, 600, default=w.duration_s),
        read_ratio=v.number("workload.read_ratio", d.get("read_ratio"), 0, 1, default=w.read_ratio),
        keys=v.number("workload.keys", d.get("keys"), 1, 10000, True, w.keys),
        key_prefix=v.text("workload.key_prefix", d.get("key_prefix", w.key_prefix), required=False,
                          pattern=KEY_CHARS, what="letters, digits and . _ : -"),
        think_ms=v.number("workload.think_ms", d.get("think_ms"), 0, 10000, default=w.think_ms),
        max_ops=v.number("workload.max_ops", d.get("max_ops"), 1, 10**7, True, w.max_ops),
        timeout_s=v.number("workload.timeout_s", d.get("timeout_s"), 0.1, 30, default=w.timeout_s),
        engine=engine,
        users=v.number("workload.users", d.get("users"), 0, 1000, True, w.users),
        spawn_rate=v.number("workload.spawn_rate", d.get("spawn_rate"), 0, 1000, default=w.spawn_rate))
    if engine != "locust":
        for key in ("users", "spawn_rate"):
            if d.get(key) is not None:
                v.bad(f"workload.{key}", "only applies to engine: locust", "remove it, or add engine: locust")
    elif isinstance(out.users, int) and 0 < out.users < len(services):
        v.bad("workload.users", f"{out.users} user(s) cannot cover {len(services)} services",
              f"use at least {len(services)}")
    return out


def _schedule(v: _Checker, raw, workload: WorkloadSpec, services, node_names) -> list[FaultSpec]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        v.bad("schedule", f"must be a list of faults, got {type(raw).__name__}",
              "write each fault as '- {at: 10, duration: 15, fault: cut_node, params: {node: g2}}'")
        return []
    out, seen = [], {}
    for i, item in enumerate(raw):
        path = f"schedule[{i}]"
        d = v.mapping(path, item, ENTRY_FIELDS)
        if not isinstance(item, dict):
            continue
        fault = v.choice(f"{path}.fault", d.get("fault"), tuple(FAULTS))
        at = v.number(f"{path}.at", d.get("at"), 0, workload.duration_s)
        duration = v.number(f"{path}.duration", d.get("duration"), 0.1, workload.duration_s)
        if isinstance(at, (int, float)) and isinstance(duration, (int, float)) and at + duration > workload.duration_s:
            v.bad(f"{path}.duration", f"the fault would end at {at + duration:g} s, after the workload "
                  f"({workload.duration_s:g} s)", "shorten it, or lengthen workload.duration_s")
        params = _params(v, f"{path}.params", d.get("params"), FAULTS[fault].params, services, node_names)
        _cross_check(v, f"{path}.params", fault, params)
        _native_check(v, path, fault, params, services)
        label = v.text(f"{path}.name", d.get("name", fault), pattern=NAME, what="a short label such as cut-g2")
        if label in seen:
            v.bad(f"{path}.name", f"{label!r} is already the name of schedule[{seen[label]}]",
                  "give each fault its own name")
        seen[label] = i
        out.append(FaultSpec(at=at, duration=duration, fault=fault, params=params, name=label))
    return out


def _native_check(v: _Checker, path, fault: str, params: dict, services) -> None:
    """The native side's faults need the native service; the g nodes' faults must not default to it."""
    if fault in NATIVE_FAULTS and "native" not in services:
        v.bad(f"{path}.fault", f"{fault} acts on the native side, which runs only with the native service",
              "add native to the experiment's services")
    if "native" in services and "services" in FAULTS[fault].params and not params.get("services"):
        v.bad(f"{path}.params.services", "the native service has no proxy to the g nodes",
              "name the services this fault cuts, e.g. services: [cp, ap]")


def _cross_check(v: _Checker, path, fault: str, params: dict) -> None:
    """Constraints between one fault's parameters."""
    period, down = params.get("period_sec"), params.get("down_sec")
    if fault == "flapping" and all(isinstance(x, (int, float)) for x in (period, down)) and down >= period:
        v.bad(f"{path}.down_sec", f"{down:g} s is not shorter than period_sec ({period:g} s), so the link "
              "would never come back", "make down_sec shorter than period_sec (or leave it out: half the period)")


def fault_params(fault: str, raw, services, node_names, path: str = "params") -> tuple[dict, list[str]]:
    """One fault's parameters checked as a schedule entry's are: (params with defaults, problems).

    For tools that inject one fault outside an experiment file (the Chaos Toolkit extension)."""
    v = _Checker(path)
    if fault not in FAULTS:
        v.choice("fault", fault, tuple(FAULTS))
        return {}, v.problems
    params = _params(v, path, raw, FAULTS[fault].params, services, node_names)
    _cross_check(v, path, fault, params)
    return params, v.problems


def _params(v: _Checker, path, raw, spec: dict, services, node_names) -> dict:
    d = v.mapping(path, raw, tuple(spec))
    out = {}
    for key, p in spec.items():
        value, where = d.get(key), f"{path}.{key}"
        if value is None:
            if p.default is REQUIRED:
                what = p.doc or (f"{'an integer' if p.kind == 'int' else 'a number'} between {p.lo:g} and {p.hi:g}"
                                 if p.kind in ("int", "float") else " | ".join(p.choices) or p.kind)
                v.bad(where, "is missing", f"add {key}: <{what}>")
            out[key] = None if p.default is REQUIRED else p.default
            continue
        out[key] = _param(v, where, value, p, services, node_names)
    return out


def _param(v: _Checker, where, value, p: Param, services, node_names):
    if p.kind == "nodes":
        return v.names(where, value, node_names)
    if p.kind == "node":
        return v.names(where, value, node_names, single=True)[0]
    if p.kind == "services":
        return v.names(where, value, services)
    if p.kind == "service":
        return v.names(where, value, services, single=True)[0]
    if p.kind == "links":
        links = tuple(proxy_name(s, n) for s in services for n in node_names)
        return v.names(where, value, links)
    if p.kind == "choice":
        return v.choice(where, value, p.choices)
    return v.number(where, value, p.lo, p.hi, integer=p.kind == "int")


def _steady(v: _Checker, path, raw) -> tuple:
    if not isinstance(raw, list):
        v.bad(path, "must be a list of checks", f"use some of {list(STEADY_CHECKS)}")
        return ()
    out = []
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        if isinstance(item, dict):
            d = v.mapping(where, item, ("check", "within_s"))
            out.append(SteadyCheck(v.choice(f"{where}.check", d.get("check"), STEADY_CHECKS),
                                   v.number(f"{where}.within_s", d.get("within_s"), 0, 300, default=None)))
        else:
            out.append(SteadyCheck(v.choice(where, item, STEADY_CHECKS)))
    return tuple(out)


def _after_heal(v: _Checker, raw, services) -> AfterHeal:
    d = v.mapping("after_heal", raw, tuple(_schema(AfterHeal)))
    a = AfterHeal()
    default = ["ap"] if "ap" in services else []
    return AfterHeal(
        snapshot_every_s=v.number("after_heal.snapshot_every_s", d.get("snapshot_every_s"), 0.05, 10,
                                  default=a.snapshot_every_s),
        within_s=v.number("after_heal.within_s", d.get("within_s"), 0, 300, default=a.within_s),
        services=tuple(v.names("after_heal.services", d.get("services", default), services, allow_empty=True)))


def _metrics(v: _Checker, raw, services, node_names) -> list:
    if raw is None:
        return []
    if not isinstance(raw, list):
        v.bad("expect_metrics", "must be a list", "write '- {service: ap, metric: data_staleness_ms, "
              "node: g2, at_least: 1}'")
        return []
    out = []
    for i, item in enumerate(raw):
        path = f"expect_metrics[{i}]"
        d = v.mapping(path, item, METRIC_FIELDS)
        m = MetricExpectation(
            service=v.choice(f"{path}.service", d.get("service"), services),
            metric=v.choice(f"{path}.metric", d.get("metric"), METRICS),
            node=v.choice(f"{path}.node", d.get("node"), node_names),
            window=v.choice(f"{path}.window", d.get("window"), WINDOWS, default="fault"),
            at_least=v.number(f"{path}.at_least", d.get("at_least"), -1e12, 1e12, default=None),
            at_most=v.number(f"{path}.at_most", d.get("at_most"), -1e12, 1e12, default=None))
        if m.at_least is None and m.at_most is None:
            v.bad(path, "sets no bound", "add at_least or at_most (bounds on the peak value in the window)")
        out.append(m)
    return out


def _guards(v: _Checker, raw, services, workload: WorkloadSpec) -> list:
    """guards: [{service: ap, metric: availability, below: 0.9, for_s: 5}]: live aborts."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        v.bad("guards", f"must be a list, got {type(raw).__name__}", "write '- {service: ap, below: 0.9, for_s: 5}'")
        return []
    out = []
    for i, item in enumerate(raw):
        path, d = f"guards[{i}]", v.mapping(f"guards[{i}]", item, GUARD_FIELDS)
        if not isinstance(item, dict):
            continue
        g = Guard(service=v.choice(f"{path}.service", d.get("service"), services),
                  metric=v.choice(f"{path}.metric", d.get("metric"), GUARD_METRICS, default="availability"),
                  below=v.number(f"{path}.below", d.get("below"), 0.01, 1),
                  for_s=v.number(f"{path}.for_s", d.get("for_s"), 0.5, 600),
                  min_ops=v.number(f"{path}.min_ops", d.get("min_ops"), 1, 10**6, True, default=10))
        if isinstance(g.for_s, (int, float)) and g.for_s > workload.duration_s:
            v.bad(f"{path}.for_s", f"{g.for_s:g} s is longer than the workload ({workload.duration_s:g} s), "
                  "so the guard could never trip", "shorten for_s, or lengthen workload.duration_s")
        out.append(g)
    return out
