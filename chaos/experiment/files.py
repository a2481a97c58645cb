"""An experiment: one declarative value read from a YAML file, validated whole before anything runs.

The value is chaos.experiment.model's Experiment; chaos.experiment.validation checks each field. Every problem in a file
is reported at once, each naming the file, the field path and the fix. See docs/runner.md.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml

from alerts.rules import ALERTS
from alerts.watch import parse_selector
from app.config import TABLE as SETTINGS_TABLE
from chaos.experiment.model import (ALERT_PROFILES, ENGINES, EXPERIMENTS_DIR, KEY_CHARS, METRICS, NAME, PROFILES,
                         SERVICES, SETTINGS, STEADY_CHECKS, WINDOWS, AfterHeal, AlertExpectation, Alerts,
                         Experiment, ExperimentError, FaultSpec, MetricExpectation, StackShape, SteadyCheck,
                         WorkloadSpec)
from chaos.experiment.thresholds import check_checkers
from chaos.experiment.validation import (DEFAULT_AFTER, DEFAULT_BEFORE, TOP_FIELDS, _after_heal, _Checker, _metrics,
                              _guards, _schedule, _steady, _workload)

__all__ = ["ALERTS_DIR", "ALERT_PROFILES", "ENGINES", "EXPERIMENTS_DIR", "KEY_CHARS", "METRICS", "NAME",
           "PROFILES", "SERVICES", "SETTINGS", "STEADY_CHECKS", "WINDOWS", "AfterHeal", "AlertExpectation",
           "Alerts", "Experiment", "ExperimentError", "FaultSpec", "MetricExpectation", "SteadyCheck",
           "WorkloadSpec", "catalogue", "find_experiment", "load_experiment", "parse_experiment"]

ALERTS_DIR = EXPERIMENTS_DIR / "alerts"  # the alerts drill's catalogue: one experiment per alert


def parse_experiment(data: Any, source: str = "<dict>") -> Experiment:
    """Validate plain data (a parsed YAML document) and build the Experiment; raise ExperimentError."""
    v = _Checker(source)
    if not isinstance(data, dict):
        got = "an empty document" if data is None else f"a {type(data).__name__}"
        raise ExperimentError(source, [f"the file must be a YAML mapping, got {got}; write name, hypothesis, "
                                       "services, ... as key: value lines (see docs/runner.md)"])
    top = v.mapping("", data, TOP_FIELDS)
    name = v.text("name", top.get("name"), pattern=NAME, what="lowercase letters, digits, - and _ (a folder name)")
    hypothesis = v.text("hypothesis", top.get("hypothesis"), what="what you expect, in plain words")
    services = tuple(v.names("services", top.get("services"), SERVICES))
    nodes = v.number("nodes", top.get("nodes"), 2, 3, integer=True, default=2)
    node_names = [f"g{i}" for i in range(1, int(nodes) + 1)]
    profile = v.choice("profile", top.get("profile"), PROFILES, default="local")
    workload = _workload(v, top.get("workload"), services)
    schedule = tuple(_schedule(v, top.get("schedule"), workload, services, node_names))
    labels = {e.name for e in schedule}
    checkers = check_checkers(v, top.get("checkers"), services, node_names, labels)
    steady = v.mapping("steady_state", top.get("steady_state"), ("before", "after"))
    before = _steady(v, "steady_state.before", steady.get("before", list(DEFAULT_BEFORE)))
    after = _steady(v, "steady_state.after", steady.get("after", list(DEFAULT_AFTER)))
    after_heal = _after_heal(v, top.get("after_heal"), services)
    metrics = tuple(_metrics(v, top.get("expect_metrics"), services, node_names))
    alerts = _alerts(v, top.get("alerts"), services, node_names)
    alert_profile = ""
    if alerts or top.get("alert_profile") is not None:
        alert_profile = v.choice("alert_profile", top.get("alert_profile"), ALERT_PROFILES,
                                 default="fast" if profile == "test" else "spec")
        if alerts and alert_profile != "fast":
            v.bad("alert_profile", f"is {alert_profile!r}: the spec profile's for: durations (1-2 min) and "
                  "15 s scrapes are too slow to time alerts in a run",
                  "set profile: test (it implies alert_profile: fast), or alert_profile: fast")
        if alerts and not schedule:
            v.bad("alerts", "expects alerts but the schedule has no fault to time them from", "add a fault")
    settings = _service_settings(v, top.get("service_settings"), node_names)
    shape = _stack_shape(v, top.get("stack"), schedule, top.get("alerts"))
    guards = tuple(_guards(v, top.get("guards"), services, workload))
    if v.problems:
        raise ExperimentError(source, v.problems)
    return Experiment(name=name, title=v.text("title", top.get("title"), required=False) or name,
                      hypothesis=hypothesis.strip(), services=services, nodes=int(nodes), profile=profile,
                      workload=workload, schedule=schedule, checkers=checkers, steady_before=before,
                      steady_after=after, after_heal=after_heal, expect_metrics=metrics, alerts=alerts,
                      alert_profile=alert_profile, service_settings=settings, stack=shape,
                      question=(v.text("question", top.get("question"), required=False) or "").strip(),
                      guards=guards, source=source)


ALERT_LABELS = ("service", "node", "operation", "severity")


def _alerts(v: _Checker, raw, services, node_names) -> Alerts:
    d = v.mapping("alerts", raw, ("expect_firing", "expect_quiet", "detect_within_s", "resolve_within_s"))
    a = Alerts()
    lists = {key: tuple(_alert_list(v, f"alerts.{key}", d.get(key), services, node_names))
             for key in ("expect_firing", "expect_quiet")}
    out = Alerts(**lists,
                 detect_within_s=v.number("alerts.detect_within_s", d.get("detect_within_s"), 0.1, 600, default=None),
                 resolve_within_s=v.number("alerts.resolve_within_s", d.get("resolve_within_s"), 1, 600,
                                           default=a.resolve_within_s))
    both = {x.selector for x in out.expect_firing} & {x.selector for x in out.expect_quiet}
    if both:
        v.bad("alerts", f"{sorted(both)} both expected to fire and to stay quiet", "keep each in one list")
    return out


def _alert_list(v: _Checker, path, raw, services, node_names) -> list:
    if raw is None:
        return []
    if not isinstance(raw, list):
        v.bad(path, "must be a list of alerts", "write '- CaplabBreakerOpen' or "
              "'- {name: CaplabBreakerOpen, labels: {service: cp, node: g2}}'")
        return []
    out = []
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        if isinstance(item, str):  # a name, or a selector: CaplabBreakerOpen{service="cp",node="g2"}
            try:
                name, labels = parse_selector(item)
            except ValueError:
                name, labels = item, {}
            d = {"name": name, "labels": labels}
        else:
            d = v.mapping(where, item, ("name", "labels"))
        if not isinstance(item, (str, dict)):
            continue
        name = v.choice(f"{where}.name" if isinstance(item, dict) else where, d.get("name"), ALERTS)
        labels = dict(v.mapping(f"{where}.labels", d.get("labels"), ALERT_LABELS))
        allowed = {"service": SERVICES, "node": node_names, "severity": ("warning", "critical"),
                   "operation": ("read", "write")}
        for key, value in labels.items():
            if key in allowed:
                labels[key] = v.choice(f"{where}.labels.{key}", value, tuple(allowed[key]))
        out.append(AlertExpectation(name, labels))
    return out


def _service_settings(v: _Checker, raw, node_names) -> dict:
    """Overrides of the services' settings; each number's range is app/config.py's TABLE."""
    d = v.mapping("service_settings", raw, SETTINGS)
    read_node = {"AP_READ_NODE": v.choice("service_settings.AP_READ_NODE", d["AP_READ_NODE"], tuple(node_names))} \
        if "AP_READ_NODE" in d else {}
    bounds = {var.name: var.parse.bounds for var in SETTINGS_TABLE if getattr(var.parse, "bounds", None)}
    return {**{k: v.number(f"service_settings.{k}", val, *bounds[k])
               for k, val in d.items() if k in bounds}, **read_node, **_words(v, d, set(bounds) | {"AP_READ_NODE"})}


def _words(v: _Checker, d: dict, done: set) -> dict:
    """Settings that are words (NATIVE_REPLICATION: wait), checked by app/config.py's own parser."""
    parsers, out = {var.name: var.parse for var in SETTINGS_TABLE}, {}
    for k, val in d.items():
        if k in done or k not in parsers:
            continue
        try:
            out[k] = parsers[k](str(val))
        except ValueError as exc:
            v.bad(f"service_settings.{k}", f"{val!r} {exc}", "use one of the accepted values")
    return out


INSTANCE_FAULTS = ("kill_instance", "rolling_restart", "cut_instance")


def _stack_shape(v: _Checker, raw, schedule, raw_alerts=None) -> StackShape:
    """Instances behind HAProxy: how many, which policy; the instance faults need more than one."""
    from stack.config import BALANCE, MAX_INSTANCES
    d = v.mapping("stack", raw, tuple(_schema_of(StackShape)))
    s = StackShape()
    shape = StackShape(instances=v.number("stack.instances", d.get("instances"), 1, MAX_INSTANCES, True, s.instances),
                       balance=v.choice("stack.balance", d.get("balance"), BALANCE, default=s.balance),
                       local_reads=d.get("local_reads", s.local_reads))
    if not isinstance(shape.local_reads, bool):
        v.bad("stack.local_reads", f"must be true or false, got {shape.local_reads!r}", "write true or false")
    if isinstance(shape.instances, int) and shape.instances > 1 and raw_alerts:
        v.bad("stack.instances", "alerts are verified on a stack of one instance per service (Prometheus "
              "scrapes each service's port)", "drop alerts, or stack.instances")
    for i, entry in enumerate(schedule):
        k = entry.params.get("instance")
        if entry.fault in INSTANCE_FAULTS and not (isinstance(shape.instances, int) and shape.instances > 1):
            v.bad(f"schedule[{i}].fault", f"{entry.fault} needs several instances behind HAProxy",
                  "add 'stack: {instances: 3}'")
        elif isinstance(k, int) and isinstance(shape.instances, int) and k > shape.instances:
            v.bad(f"schedule[{i}].params.instance", f"{k} is above stack.instances ({shape.instances})",
                  f"use 1..{shape.instances}")
    return shape


def _schema_of(cls) -> dict:
    return {f.name: f.default for f in cls.__dataclass_fields__.values()}


MAX_BYTES = 1 << 20  # an experiment is a page of YAML; a megabyte is already absurd
MAX_DEPTH = 32  # nesting levels; the schema needs five


class _Refused(yaml.YAMLError):
    def __init__(self, problem: str, fix: str, mark=None):
        self.problem, self.fix, self.problem_mark = problem, fix, mark


class _StrictLoader(yaml.SafeLoader):
    """yaml's safe loader without aliases, and with bounded nesting.

    An alias repeats a node by reference: nine of them, each naming the previous one nine times, make
    a few lines expand to 10^9 values (a "billion laughs" file) when the document is built. No
    experiment needs them, so an alias is refused where it appears, before anything is expanded.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused(f"found an alias (*{event.anchor}), which caplab does not expand",
                           "write the value out instead of using &anchors and *aliases", event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep", "an experiment needs five at most; "
                               "flatten it", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def read_yaml(path: Path):
    """Parse one YAML file safely; raise ExperimentError naming the file, the place and the fix."""
    source = str(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as err:
        raise ExperimentError(source, [f"cannot be read ({err.strerror}); check the path"]) from None
    if len(raw) > MAX_BYTES:
        raise ExperimentError(source, [f"is larger than {MAX_BYTES // 1024} KiB; an experiment is a page of "
                                       "YAML: check that this is the right file"])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ExperimentError(source, [f"is not UTF-8 text (byte {raw[err.start]:#04x} at offset {err.start}); "
                                       "save the file as UTF-8"]) from None
    loader = None
    try:
        loader = _StrictLoader(text)
        return loader.get_single_data()
    except yaml.reader.ReaderError as err:
        raise ExperimentError(source, [f"character {err.character:#x} at offset {err.position} is not allowed "
                                       "in YAML; remove it (control characters must be escaped in quotes)"]) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        fix = getattr(err, "fix", None) or "fix the indentation or quoting there"
        raise ExperimentError(source, [f"{where}not valid YAML ({getattr(err, 'problem', None) or err}); "
                                       f"{fix}"]) from None
    finally:
        if loader is not None:
            loader.dispose()


def load_experiment(path) -> Experiment:
    """Read and validate one experiment file; raise ExperimentError naming the file."""
    path = Path(path)
    exp = parse_experiment(read_yaml(path), str(path))
    if path.parent.resolve() in (EXPERIMENTS_DIR, ALERTS_DIR) and exp.name != path.stem:
        raise ExperimentError(str(path), [f"name: {exp.name!r} differs from the file name; "
                                          f"rename one so both are {path.stem!r}"])
    return exp


def catalogue(directory=EXPERIMENTS_DIR) -> list[Path]:
    """The experiment files shipped with caplab, in name order."""
    return sorted(Path(directory).glob("*.yaml"))


def find_experiment(name_or_path: str, directory=EXPERIMENTS_DIR) -> Path:
    """Resolve a catalogue name or a file path; raise ExperimentError listing the catalogue otherwise."""
    path = Path(name_or_path)
    try:
        if path.suffix in (".yaml", ".yml") or path.exists():
            return path
    except (OSError, ValueError) as err:  # a name too long for the file system, a NUL byte
        raise ExperimentError(name_or_path[:80], [f"is not a usable path ({err}); give a catalogue name "
                                                  "or a YAML file"]) from None
    for folder in (Path(directory), ALERTS_DIR):
        candidate = folder / f"{name_or_path}.yaml"
        if candidate.exists():
            return candidate
    names = [p.stem for p in catalogue(directory)]
    close = difflib.get_close_matches(name_or_path, names, n=1)
    raise ExperimentError(name_or_path, ["no such experiment" + (f"; did you mean '{close[0]}'?" if close else "")
                                         + f"; the catalogue has: {', '.join(names)}"])
