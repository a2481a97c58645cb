"""Watching the system during a run: metric and breaker samples, and node snapshots after the heal."""
from __future__ import annotations

import re
import threading
import time

import requests

from chaos.checkers.common import all_windows
from chaos.run.protocols import Observer
from harness.history import BreakerSample, MetricSample, NodeSnapshot
from harness.verdicts import Verdict

BREAKER_STATES = {0: "closed", 1: "half-open", 2: "open"}
SAMPLED = ("data_staleness_ms", "caplab_hints_pending")
_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)$')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> list[tuple[str, dict, float]]:
    """Parse Prometheus text format into (name, labels, value) triples."""
    out = []
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            try:
                out.append((m.group(1), dict(_LABEL.findall(m.group(2) or "")), float(m.group(3))))
            except ValueError:
                continue
    return out


def scrape(session: requests.Session, url: str, timeout: float = 1.0) -> list[tuple[str, dict, float]]:
    resp = session.get(url + "/metrics", timeout=timeout)
    resp.raise_for_status()
    return parse_metrics(resp.text)


def breaker_states(metrics) -> dict[str, str]:
    """node -> closed | half-open | open, from circuit_breaker_state (worst over workers)."""
    return {lab.get("node", "?"): BREAKER_STATES.get(int(v), "open")
            for name, lab, v in metrics if name == "circuit_breaker_state"}


class Sampler(threading.Thread):
    """Scrape each service's /metrics every `interval` s into BreakerSample and MetricSample events."""

    def __init__(self, urls: dict, recorder, interval: float = 0.25):
        super().__init__(name="sampler", daemon=True)
        self.urls, self.rec, self.interval = urls, recorder, interval
        self.halt = threading.Event()
        self.breakers: dict[str, dict] = {s: {} for s in urls}  # latest states, for the progress line
        self.failures = 0

    def run(self) -> None:
        session = requests.Session()
        session.trust_env = False
        while not self.halt.is_set():
            started = time.monotonic()
            for service, url in self.urls.items():
                self.sample(session, service, url)
            self.halt.wait(max(0.0, self.interval - (time.monotonic() - started)))
        session.close()

    def sample(self, session, service: str, url: str) -> None:
        try:
            metrics = scrape(session, url)
        except requests.RequestException:
            self.failures += 1
            self.breakers[service] = {}
            return
        t, wall = self.rec.now()
        states = breaker_states(metrics)
        self.breakers[service] = states
        for node, state in sorted(states.items()):
            self.rec.write(BreakerSample(service, node, state, t, wall))
        for name, labels, value in metrics:
            if name in SAMPLED and service == "ap":  # CP keeps no hints: its staleness is always 0
                self.rec.write(MetricSample(service, name, labels, value, t, wall))

    def stop(self) -> None:
        self.halt.set()
        self.join(5)


def wait_breakers_closed(urls: dict, timeout: float) -> tuple[bool, float, dict]:
    """Poll until every breaker of every service is closed; return (closed, seconds waited, states)."""
    session = requests.Session()
    session.trust_env = False
    started = time.monotonic()
    states: dict = {}
    try:
        while True:
            try:
                states = {s: breaker_states(scrape(session, u)) for s, u in urls.items()}
                if all(st == "closed" for d in states.values() for st in d.values()) and all(states.values()):
                    return True, time.monotonic() - started, states
            except requests.RequestException as err:
                states = {"error": str(err)}
            if time.monotonic() - started > timeout:
                return False, time.monotonic() - started, states
            time.sleep(0.1)
    finally:
        session.close()


def take_snapshot(node, prefixes) -> dict:
    """Every record under the given key prefixes on one node: key -> {"value", "version"}."""
    records = {}
    with node.client(decode_responses=True) as c:
        keys = [k for p in prefixes for k in c.scan_iter(match=f"caplab:r:{p}*", count=1000)]
        pipe = c.pipeline(transaction=False)
        for k in keys:
            pipe.hmget(k, "v", "ms", "c", "w")
        for k, (v, ms, cnt, w) in zip(keys, pipe.execute()):
            if ms is not None:
                records[k[len("caplab:r:"):]] = {"value": v, "version": f"{ms}.{cnt}.{w}"}
    return records


class Snapshotter(threading.Thread):
    """After the heal, snapshot every node each `every_s` until two identical rounds or `within_s`."""

    def __init__(self, nodes: dict, prefixes: list[str], recorder, every_s: float, within_s: float,
                 phase: str = "after-heal"):
        super().__init__(name="snapshotter", daemon=True)
        self.nodes, self.prefixes, self.rec, self.phase = nodes, prefixes, recorder, phase
        self.every_s, self.within_s = every_s, within_s
        self.halt = threading.Event()
        self.rounds = 0
        self.converged = False

    def run(self) -> None:
        deadline = time.monotonic() + self.within_s
        previous = None
        while not self.halt.is_set():
            current = self.round()
            complete = len(current) == len(self.nodes)
            same = complete and len({repr(sorted(r.items())) for r in current.values()}) == 1
            if same and previous == current:
                self.converged = True
                return
            previous = current if same else None
            if time.monotonic() > deadline:
                return
            self.halt.wait(self.every_s)

    def round(self) -> dict:
        self.rounds += 1
        out = {}
        for name, node in self.nodes.items():
            try:
                records = take_snapshot(node, self.prefixes)
            except Exception:  # a node that cannot be read is missing from the round: never converged
                continue
            t, wall = self.rec.now()
            self.rec.write(NodeSnapshot(name, t, wall, records, self.phase))
            out[name] = records
        return out


class MetricsObserver(Observer):
    """The sampler during the run (its breakers feed the live state), and the metric expectations' verdict."""

    def __init__(self, expectations=()):
        self.expectations = tuple(expectations)
        self.sampler: Sampler | None = None

    def start(self, run) -> None:
        self.sampler = Sampler(run.urls, run.rec)
        run.live.breakers = self.sampler.breakers
        self.sampler.start()
        time.sleep(0.3)  # a first breaker sample before the first operation

    def stop(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()

    def verdicts(self, history) -> list[Verdict]:
        return [check_metrics(history, self.expectations)] if self.expectations else []


class SnapshotObserver(Observer):
    """Once the faults are over, the snapshotted services' clients only read, and every node is
    snapshotted until two identical rounds (``after_heal``: services, snapshot_every_s, within_s)."""

    def __init__(self, after_heal):
        self.after_heal = after_heal
        self.snapshotter: Snapshotter | None = None

    def faults_over(self, run) -> None:
        services, h = self.after_heal.services, self.after_heal
        if not services or self.snapshotter is not None:
            return
        run.workload.stop_writes(services)
        prefixes = [f"{run.run_id}:{s}:" for s in services]
        nodes = {n: run.stack.nodes[n] for n in run.stack.config.nodes}
        self.snapshotter = Snapshotter(nodes, prefixes, run.rec, h.snapshot_every_s, h.within_s)
        self.snapshotter.start()

    def settle(self, run) -> None:
        if self.snapshotter is not None:
            self.snapshotter.join(self.after_heal.within_s + 10)
            self.snapshotter.halt.set()


def check_metrics(history, expectations) -> Verdict:
    """Compare the peak of each expected metric, per window, with its bounds."""
    windows = all_windows(history)
    rows, problems = [], []
    for e in expectations:
        values = []
        for ev in history:
            if isinstance(ev, MetricSample) and ev.service == e.service and ev.name == e.metric \
                    and ev.labels.get("node") == e.node:
                values.append((ev.time, ev.value))
            elif isinstance(ev, BreakerSample) and e.metric == "circuit_breaker_state" \
                    and ev.service == e.service and ev.node == e.node:
                values.append((ev.time, {v: k for k, v in BREAKER_STATES.items()}[ev.state]))
        spans = [(w.start, w.end) for w in windows if e.window in ("any", w.kind)]
        inside = [v for t, v in values if any(a <= t <= b for a, b in spans)]
        peak = max(inside) if inside else None
        row = {"service": e.service, "metric": e.metric, "node": e.node, "window": e.window,
               "samples": len(inside), "peak": peak, "at_least": e.at_least, "at_most": e.at_most}
        rows.append(row)
        label = f"{e.service} {e.metric}{{node={e.node}}} in {e.window}"
        if peak is None:
            problems.append((label + ": no samples", "unknown"))
        elif e.at_least is not None and peak < e.at_least:
            problems.append((f"{label}: peak {peak:g} below {e.at_least:g}", "invalid"))
        elif e.at_most is not None and peak > e.at_most:
            problems.append((f"{label}: peak {peak:g} above {e.at_most:g}", "invalid"))
    figures = {"metrics": rows}
    if not rows:
        return Verdict("metrics", "unknown", "no metric expectations: nothing to compare", figures=figures)
    if problems:
        worst = "invalid" if any(k == "invalid" for _, k in problems) else "unknown"
        return Verdict("metrics", worst, "; ".join(p for p, _ in problems[:3]), evidence=rows, figures=figures)
    return Verdict("metrics", "valid", "; ".join(f"{r['service']} {r['metric']}{{{r['node']}}} peak {r['peak']:g}"
                                                  for r in rows), figures=figures)
