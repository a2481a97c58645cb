"""Probes: what caplab sees, as plain data a Chaos Toolkit tolerance can judge.

Every probe answers a flat mapping (or a bool), so the tolerances Chaos Toolkit has without extra
packages work: an int tolerance compares `status`, `{"type": "range", "target": ..., "range": [a, b]}`
a number, `{"type": "regex", "target": "valid", "pattern": "^valid$"}` a string.
"""
from __future__ import annotations

import inspect
import math
import time
from urllib.parse import quote

import requests
from chaoslib.exceptions import ActivityFailed

from chaos.checkers import CHECKERS
from chaos.observers.samplers import Snapshotter, breaker_states as parse_breakers, scrape, wait_breakers_closed
from harness.history import NullRecorder, Op
from harness.outcomes import classify
from harness.verdicts import run_checker
from stack.target import number, service_settings

from . import recording
from .target import activity, answer, target

MAX_EVIDENCE = 3


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback only: never through an environment proxy
    return session


def _urls(configuration, services) -> dict:
    urls = target(configuration).urls
    wanted = list(urls) if services is None else ([services] if isinstance(services, str) else list(services))
    unknown = [s for s in wanted if s not in urls]
    if unknown or not wanted:
        raise ActivityFailed(f"services must be some of {list(urls)}, got {services!r}")
    return {s: urls[s] for s in wanted}


@activity
def breaker_states(services: list = None, *, configuration: dict = None) -> dict:
    """Each service's circuit breaker per node, read from its /metrics (the worst over its workers):
    {"cp:g1": "closed", "cp:g2": "open", ..., "open_count": 1, "all_closed": false}."""
    out = {}
    with _session() as session:
        for service, url in _urls(configuration, services).items():
            states = parse_breakers(scrape(session, url, timeout=2.0))
            if not states:
                raise ActivityFailed(f"{service} at {url} reports no circuit_breaker_state: is it a caplab service?")
            out.update({f"{service}:{node}": state for node, state in sorted(states.items())})
    is_open = [k for k, v in out.items() if v != "closed"]
    return {**out, "open_count": len(is_open), "all_closed": not is_open}


@activity
def breakers_closed(within_s: float = 0.0, services: list = None, *, configuration: dict = None) -> bool:
    """True once every breaker of the services is closed, polling up to within_s seconds; else false."""
    urls = _urls(configuration, services)
    closed, _waited, states = wait_breakers_closed(urls, float(within_s))
    if "error" in states:
        raise ActivityFailed(f"breakers_closed: a service did not answer: {states['error']}")
    return closed


@activity
def data_staleness_ms(service: str = "ap", *, configuration: dict = None) -> dict:
    """How far behind each node is, as the service measures it (data_staleness_ms, the largest over
    its workers): {"g1": 0, "g2": 1840, "max": 1840}. CP keeps no hints: its nodes read 0."""
    url = _urls(configuration, service)[service]
    with _session() as session:
        metrics = scrape(session, url, timeout=2.0)
    per_node: dict = {}
    for name, labels, value in metrics:
        if name == "data_staleness_ms" and "node" in labels:
            per_node[labels["node"]] = max(per_node.get(labels["node"], 0.0), value)
    if not per_node:
        raise ActivityFailed(f"{service} at {url} reports no data_staleness_ms gauge")
    out = {node: int(v) for node, v in sorted(per_node.items())}
    return {**out, "max": max(out.values())}


def _operation(service: str, method: str, path: str, configuration) -> dict:
    url = _urls(configuration, service)[service]
    started = time.monotonic()
    with _session() as session:
        resp = session.request(method, url + path, timeout=5.0)
    latency = round((time.monotonic() - started) * 1000, 1)
    body = answer(resp)
    completion = classify(resp.status_code, body)
    error = body.get("error")
    error = error.get("message") if isinstance(error, dict) else error
    # Bad input, a rate limit or a broken service is an error; a 503 is CP's answer under a fault.
    if (400 <= resp.status_code < 500 and completion == "fail") or (resp.status_code >= 500 and resp.status_code != 503):
        raise ActivityFailed(f"{method} {path} answered {resp.status_code}: {error}")
    return {"status": resp.status_code, "completion": completion, "outcome": body.get("outcome"),
            "latency_ms": latency, "error": error,
            **{k: body.get(k) for k in ("value", "version", "node", "staleness_ms", "stale") if k in body}}


@activity
def cp_write(key: str, value: str = None, *, configuration: dict = None) -> dict:
    """Write key=value through the CP service and report the outcome: {"status": 200 or 503,
    "completion": ok | fail | info (unknown), "outcome": the service's word on a 503, "version",
    "latency_ms"}. A 503 is an answer, not an error; bad input raises with the service's message."""
    value = value if value is not None else f"ctk-{time.time_ns()}"
    return {"key": key, "written": value,
            **_operation("cp", "POST", f"/write/{quote(str(key), safe='')}/{quote(str(value), safe='')}", configuration)}


@activity
def ap_read(key: str, *, configuration: dict = None) -> dict:
    """Read key through the AP service: {"status", "completion", "value" (null when absent),
    "version", "node" that answered, "staleness_ms" it reported, "stale", "latency_ms"}."""
    return {"key": key, **_operation("ap", "GET", f"/read/{quote(str(key), safe='')}", configuration)}


@activity
def nodes_converged(within_s: float = 10.0, services: list = None, every_s: float = 0.5,
                    *, configuration: dict = None) -> dict:
    """Snapshot every node until two identical rounds (or within_s runs out). With the caplab control,
    the recorded clients of `services` (default ["ap"]) stop writing first and only the current
    stretch's keys are compared; the snapshots go into the history for the convergence and
    lost_writes checkers. Without it, every caplab record is compared.
    {"converged": bool, "differing_keys": n, "rounds": n, "records": {"g1": n, ...}, "waited_s"}."""
    services = ["ap"] if services is None else ([services] if isinstance(services, str) else list(services))
    rec = recording.current(required=False)
    started = time.monotonic()
    if rec is not None:
        snap = rec.snapshot(services, float(every_s), float(within_s))
    else:
        snap = Snapshotter(target(configuration).stack.nodes, [""], NullRecorder(), float(every_s), float(within_s))
        snap.run()
    last = snap.round()  # one more round to report on (identical to the last when converged)
    keys = set().union(*(set(r) for r in last.values())) if last else set()
    differ = sum(len({repr(r.get(k)) for r in last.values()}) > 1 for k in keys)
    return {"converged": snap.converged, "differing_keys": differ, "rounds": snap.rounds,
            "records": {n: len(r) for n, r in sorted(last.items())}, "nodes_read": len(last),
            "waited_s": round(time.monotonic() - started, 2)}


@activity
def check(checker: str, since: str = "start", thresholds: dict = None, min_ops: int = 0,
          wait_s: float = 10.0, *, configuration: dict = None) -> dict:
    """Run one of caplab's checkers (linearizable, lost_writes, staleness, convergence, availability,
    breakers) on the history recorded since a mark ("start": the whole recording). Needs the caplab
    control. With min_ops, first wait (up to wait_s) until that many operations of the checker's
    service completed since the mark. {"valid": valid | invalid | unknown, "summary", "ops",
    "figures", "evidence" (first 3)}; a checker with nothing to judge answers unknown, never valid."""
    if checker not in CHECKERS:
        raise ActivityFailed(f"check: unknown checker {checker!r}; use one of {sorted(CHECKERS)}")
    if thresholds is not None and not isinstance(thresholds, dict):
        raise ActivityFailed(f"check: thresholds must be a mapping, got {thresholds!r}")
    rec = recording.current()
    config = {**default_thresholds(checker, target(configuration)), **(thresholds or {})}
    try:
        inspect.signature(CHECKERS[checker]).bind(None, **config)
    except TypeError as err:
        accepted = [p for p in inspect.signature(CHECKERS[checker]).parameters if p != "history"]
        raise ActivityFailed(f"check: thresholds {sorted(config)} do not fit {checker} ({err}); "
                             f"it takes {accepted}") from None
    deadline = time.monotonic() + float(wait_s)
    while True:
        history = rec.history_since(since)
        done = sum(isinstance(e, Op) and e.type != "invoke" and e.service == config.get("service", e.service)
                   for e in history)
        if done >= int(min_ops) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    verdict = run_checker(CHECKERS[checker], history, name=checker, **config).to_json()
    return plain({"checker": checker, "valid": verdict["valid"], "summary": verdict["summary"], "ops": done,
                  "since": rec.find(since).to_dict(), "thresholds": config,
                  "figures": verdict["figures"], "evidence": verdict["evidence"][:MAX_EVIDENCE]})


def default_thresholds(checker: str, stack) -> dict:
    """The thresholds caplab's runner would use: the service each promise is about, the AP bound."""
    defaults = {"linearizable": {"service": "cp"}, "lost_writes": {"service": "ap"},
                "staleness": {"service": "ap"}}
    out = dict(defaults.get(checker, {}))
    if checker == "staleness":
        bound = number({"ap": service_settings(stack.stack).get("ap", {})}, "MAX_STALENESS_MS", None)
        if bound is not None:
            out["max_staleness_ms"] = int(bound)
    return out


def plain(value):
    """JSON-safe plain data: infinities and NaN become null, tuples lists, keys strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    return value


__all__ = ["breaker_states", "breakers_closed", "data_staleness_ms", "cp_write", "ap_read",
           "nodes_converged", "check"]
