"""Checker thresholds in an experiment file: the type of every parameter, validated in one place.

`checkers: {availability: {min_availability: {cp: {steady: 0.98}}}}` names a checker of
chaos.checkers and the keyword arguments it gets. Each argument has a kind in CHECKER_PARAMS, so
a bound of the wrong type or shape (`min_availability: 5`, `expect_open: 5`, a string, null in a
nested map) is a problem with its field path and fix, never a crash inside a checker at the end
of a run. A checker parameter with no kind here is refused by tests/unit/test_experiment_corpus.py.
"""
from __future__ import annotations

import inspect
import re

from chaos.checkers import CHECKERS, EXPECT, base_name
from chaos.experiment.model import WINDOWS

# The type of every checker parameter an experiment may set; typed here, in one place, so a bound
# of the wrong shape is a problem with its path, never a crash inside a checker.
# kind: ("number", lo, hi) | ("integer", lo, hi) | ("service",) | ("choice", values) | ("bool",) | ("counts",) {service: n}
#       | ("bounds",) {service: {window: fraction}} | ("links",) ["svc:node", ...] | ("fault",) a schedule name
SNAPSHOT_PHASES = ("after-heal", "after-recovery", "native-after-heal")
LABEL = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
CHECKER_PARAMS = {
    "linearizable": {"service": ("service",), "max_steps": ("integer", 1, 10**9),
                     "time_limit_s": ("number", 0.1, 3600), "allow_mixed_keys": ("bool",)},
    "convergence": {"within_s": ("number", 0, 3600), "phase": ("choice", SNAPSHOT_PHASES)},
    "lost_writes": {"service": ("service",), "nodes": ("choice", ("any", "all")),
                    "phase": ("choice", SNAPSHOT_PHASES)},
    "staleness": {"service": ("service",), "max_staleness_ms": ("integer", 0, 10**7),
                  "max_share_above": ("number", 0, 1), "require_honest_staleness": ("bool",)},
    "availability": {"min_availability": ("bounds",), "max_availability": ("bounds",)},
    "breakers": {"expect_open": ("links",), "open_within_s": ("number", 0, 600),
                 "close_within_s": ("number", 0, 600), "fault": ("fault",)},
    "read_your_writes": {"service": ("service",), "min_violations": ("integer", 0, 10**9),
                         "max_violations": ("integer", 0, 10**9)},
    "monotonic_reads": {"service": ("service",), "min_violations": ("integer", 0, 10**9),
                        "max_violations": ("integer", 0, 10**9)},
    "instances": {"detect_within_s": ("number", 0, 600), "back_within_s": ("number", 0, 600),
                  "max_fail": ("counts",), "max_info": ("counts",)},
}


def check_checkers(v, raw, services, node_names, labels) -> dict:
    """Each checker's thresholds. A checker may be listed more than once as ``<checker>/<label>``
    (``lost_writes/native``), and any may say ``expect: invalid`` (the hypothesis is a violation)."""
    labelled = tuple(k for k in (raw if isinstance(raw, dict) else {}) if isinstance(k, str) and "/" in k
                     and base_name(k) in CHECKERS and LABEL.fullmatch(k.split("/", 1)[1]))
    d = v.mapping("checkers", raw, tuple(CHECKERS) + labelled)
    out = {}
    for name, thresholds in d.items():
        if name not in CHECKERS and name not in labelled:
            continue
        path = f"checkers.{name}"
        base = base_name(name)
        allowed = tuple(p for p in inspect.signature(CHECKERS[base]).parameters if p != "history") + ("expect",)
        t = v.mapping(path, thresholds, allowed)
        kinds = {**CHECKER_PARAMS.get(base, {}), "expect": ("choice", EXPECT)}
        out[name] = {key: _threshold(v, f"{path}.{key}", value, kinds.get(key, ("scalar",)), services,
                                     node_names, labels)
                     for key, value in t.items() if key in allowed and value is not None}
    return out


def _threshold(v, path, value, kind, services, node_names, labels):
    """One checker parameter, checked against its kind in CHECKER_PARAMS."""
    if kind[0] in ("number", "integer"):
        return v.number(path, value, kind[1], kind[2], integer=kind[0] == "integer")
    if kind[0] == "service":
        return v.choice(path, value, tuple(services))
    if kind[0] == "choice":
        return v.choice(path, value, kind[1])
    if kind[0] == "bool":
        if not isinstance(value, bool):
            v.bad(path, f"must be true or false, got {value!r}", "write true or false")
        return bool(value) if isinstance(value, bool) else False
    if kind[0] == "bounds":
        return _bounds(v, path, value, services, labels)
    if kind[0] == "links":
        return _links(v, path, value, services, node_names)
    if kind[0] == "counts":  # {service: a count}, e.g. {ap: 0, cp: 5}
        if not isinstance(value, dict):
            v.bad(path, f"must map a service to a count, got {value!r}", "write e.g. '{ap: 0}'")
            return {}
        return {v.choice(f"{path}.{s}", s, tuple(services)): v.number(f"{path}.{s}", n, 0, 10**9, integer=True)
                for s, n in value.items()}
    if kind[0] == "fault":
        if not isinstance(value, str) or value not in labels:
            v.bad(path, f"{value!r} is not a schedule name", f"use one of {sorted(labels)}")
        return value
    if not isinstance(value, (str, int, float, bool)):
        v.bad(path, f"must be a single value, got {type(value).__name__}", "give a number or a word")
    return value


def _bounds(v, path, raw, services, labels) -> dict:
    """{service: {window: fraction}}, e.g. {cp: {steady: 0.98}, ap: {fault: 0.99}}."""
    example = f"write e.g. '{path.rsplit('.', 1)[-1]}: {{{services[0]}: {{steady: 0.99, fault: 0.5}}}}'"
    if not isinstance(raw, dict):
        v.bad(path, f"must map a service to its windows, got {raw!r}", example)
        return {}
    out = {}
    for svc, per_window in raw.items():
        where = f"{path}.{svc}"
        svc = v.choice(where, svc, tuple(services))
        if not isinstance(per_window, dict):
            v.bad(where, f"must map windows to fractions from 0 to 1, got {per_window!r}", example)
            continue
        out[svc] = {}
        for window, bound in per_window.items():
            ok = window in WINDOWS[:-1] or (isinstance(window, str) and window.startswith("fault:")
                                             and window[6:] in labels)
            if not ok:
                v.bad(f"{where}.{window}", "is not a window",
                      f"use steady, fault, between, after-heal or fault:<schedule name> ({sorted(labels)}); "
                      "transition windows take no bound")
            out[svc][window] = v.number(f"{where}.{window}", bound, 0, 1)
    return out


def _links(v, path, raw, services, node_names) -> list:
    """A list of service:node pairs, e.g. ["cp:g2", "ap:g2"]."""
    example = f"use e.g. ['{services[0]}:{node_names[-1]}']"
    if not isinstance(raw, list):
        v.bad(path, f"must be a list of service:node pairs, got {raw!r}", example)
        return []
    for i, pair in enumerate(raw):
        svc, _, node = pair.replace("->", ":").partition(":") if isinstance(pair, str) else ("", "", "")
        if svc not in services or node not in node_names:
            v.bad(f"{path}[{i}]", f"{pair!r} is not service:node", example)
    return list(raw)
