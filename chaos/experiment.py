"""An experiment: one declarative value read from a YAML file, validated whole before anything runs.

The value is chaos.model's Experiment; chaos.validation checks each field. Every problem in a file
is reported at once, each naming the file, the field path and the fix. See docs/runner.md.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml

from alerts.rules import ALERTS
from alerts.watch import parse_selector
from chaos.model import (ALERT_PROFILES, ENGINES, EXPERIMENTS_DIR, KEY_CHARS, METRICS, NAME, PROFILES,
                         SERVICES, SETTINGS, STEADY_CHECKS, WINDOWS, AfterHeal, AlertExpectation, Alerts,
                         Experiment, ExperimentError, FaultSpec, MetricExpectation, SteadyCheck, Workload)
from chaos.validation import (DEFAULT_AFTER, DEFAULT_BEFORE, TOP_FIELDS, _after_heal, _checkers, _Checker,
                              _metrics, _schedule, _steady, _workload)

__all__ = ["ALERTS_DIR", "ALERT_PROFILES", "ENGINES", "EXPERIMENTS_DIR", "KEY_CHARS", "METRICS", "NAME",
           "PROFILES", "SERVICES", "SETTINGS", "STEADY_CHECKS", "WINDOWS", "AfterHeal", "AlertExpectation",
           "Alerts", "Experiment", "ExperimentError", "FaultSpec", "MetricExpectation", "SteadyCheck",
           "Workload", "catalogue", "find_experiment", "load_experiment", "parse_experiment"]

ALERTS_DIR = EXPERIMENTS_DIR / "alerts"  # the alerts drill's catalogue: one experiment per alert


def parse_experiment(data: Any, source: str = "<dict>") -> Experiment:
    """Validate plain data (a parsed YAML document) and build the Experiment; raise ExperimentError."""
    v = _Checker(source)
    if not isinstance(data, dict):
        raise ExperimentError(source, ["the file must be a YAML mapping with name, hypothesis, services, ..."])
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
    checkers = _checkers(v, top.get("checkers"), services, node_names, labels)
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
    if v.problems:
        raise ExperimentError(source, v.problems)
    return Experiment(name=name, title=v.text("title", top.get("title"), required=False) or name,
                      hypothesis=hypothesis.strip(), services=services, nodes=int(nodes), profile=profile,
                      workload=workload, schedule=schedule, checkers=checkers, steady_before=before,
                      steady_after=after, after_heal=after_heal, expect_metrics=metrics, alerts=alerts,
                      alert_profile=alert_profile, service_settings=settings,
                      question=(v.text("question", top.get("question"), required=False) or "").strip(),
                      source=source)


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
    d = v.mapping("service_settings", raw, SETTINGS)
    read_node = {"AP_READ_NODE": v.choice("service_settings.AP_READ_NODE", d["AP_READ_NODE"], tuple(node_names))} \
        if "AP_READ_NODE" in d else {}
    limits = {"NETWORK_TIMEOUT_SEC": (0.01, 30), "BREAKER_FAIL_MAX": (1, 1000),
              "BREAKER_RESET_TIMEOUT_SEC": (0.1, 600), "MAX_STALENESS_MS": (0, 10**7),
              "MAINTENANCE_INTERVAL_SEC": (0.05, 60)}
    return {**{k: v.number(f"service_settings.{k}", val, *limits[k], integer=k in ("BREAKER_FAIL_MAX", "MAX_STALENESS_MS"))
               for k, val in d.items() if k in limits}, **read_node}


def load_experiment(path) -> Experiment:
    """Read and validate one experiment file; raise ExperimentError naming the file."""
    path = Path(path)
    source = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ExperimentError(source, [f"cannot be read ({err.strerror}); check the path"]) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ExperimentError(source, [f"{where}not valid YAML ({getattr(err, 'problem', err)}); "
                                       "fix the indentation or quoting there"]) from None
    exp = parse_experiment(data, source)
    if path.parent.resolve() in (EXPERIMENTS_DIR, ALERTS_DIR) and exp.name != path.stem:
        raise ExperimentError(source, [f"name: {exp.name!r} differs from the file name; "
                                       f"rename one so both are {path.stem!r}"])
    return exp


def catalogue(directory=EXPERIMENTS_DIR) -> list[Path]:
    """The experiment files shipped with caplab, in name order."""
    return sorted(Path(directory).glob("*.yaml"))


def find_experiment(name_or_path: str, directory=EXPERIMENTS_DIR) -> Path:
    """Resolve a catalogue name or a file path; raise ExperimentError listing the catalogue otherwise."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    for folder in (Path(directory), ALERTS_DIR):
        candidate = folder / f"{name_or_path}.yaml"
        if candidate.exists():
            return candidate
    names = [p.stem for p in catalogue(directory)]
    close = difflib.get_close_matches(name_or_path, names, n=1)
    raise ExperimentError(name_or_path, ["no such experiment" + (f"; did you mean '{close[0]}'?" if close else "")
                                         + f"; the catalogue has: {', '.join(names)}"])
