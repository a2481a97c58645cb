"""promtool unit tests for every alert, computed from the same settings as the rules.

Each alert gets: a fault just past its threshold that is pending one evaluation before its for:
duration and firing at it; a fault just below the threshold (or exactly at it) that never fires;
and a heal after which it resolves. The inputs are raw service metrics, never the recorded series,
so a wrong expression, filter or label is caught. Because thresholds and durations come from the
settings here too, a wrong *setting* would not be: alerts/tests/spec-literal.test.yml pins the
spec's numbers by hand for that.
"""
from __future__ import annotations

import math

import yaml

from .promtest_parts import Plan, check, counter, gauge, series
from .rules import _Dumper
from .settings import AlertSettings, duration

CP = {"job": "caplab_cp", "instance": "127.0.0.1:5001"}
AP = {"job": "caplab_ap", "instance": "127.0.0.1:5002"}
N = 1000  # data requests per step, in every rate test


def gauge_cases(p: Plan, alert: str, metric: str, base: dict, node: str, bad: float, at: float,
                below: float, healthy: float, for_s: int, severity: str) -> list[dict]:
    """A gauge alert: fault from step 4, firing after for:, resolved on heal; quiet at/below."""
    fire = 4 + p.steps(for_s)
    heal = fire + 2
    labels = {**base, "node": node}
    expect = {"severity": severity, "job": base["job"], "node": node, "service": base["job"][7:]}
    total = heal + 4
    return [
        {"name": f"{alert}: fires just past its threshold after for:, resolves on heal",
         "interval": duration(p.i),
         "input_series": [series(metric, labels, gauge((healthy, 4), (bad, heal - 4), (healthy, 4)))],
         "alert_rule_test": [check(alert, p.at(3)), check(alert, p.at(fire - 1)),
                             check(alert, p.at(fire), (expect, bad, p.s)),
                             check(alert, p.at(heal - 1), (expect, bad, p.s)),
                             check(alert, p.at(heal))]},
        {"name": f"{alert}: quiet exactly at and just below its threshold",
         "interval": duration(p.i),
         "input_series": [series(metric, labels, gauge((at, total))),
                          series(metric, {**labels, "node": "g1"}, gauge((below, total)))],
         "alert_rule_test": [check(alert, p.at(fire)), check(alert, p.at(total - 1))]},
    ]


def breaker_cases(p: Plan) -> list[dict]:
    s = p.s
    fire, reach = 4 + p.steps(s.breaker_open_for_s), 4 + p.steps(s.node_unreachable_for_s)
    heal = max(fire, reach) + 2
    bad = heal - 4
    open_cp = {"severity": "warning", "job": "caplab_cp", "node": "g2", "service": "cp"}
    open_ap = {**open_cp, "job": "caplab_ap", "service": "ap"}
    cycle = lambda step: 2 if (step - 4) % 3 else 1  # noqa: E731  the state at a step of the fault
    cycling = " ".join(["0x3"] + [str(cycle(k + 4)) for k in range(bad)] + ["0x3"])
    m = "circuit_breaker_state"
    return [
        {"name": "CaplabBreakerOpen: one service cut from g2 fires it, not CaplabNodeUnreachable",
         "interval": duration(p.i),
         "input_series": [series(m, {**CP, "node": "g2"}, gauge((0, 4), (2, bad), (0, 4))),
                          series(m, {**CP, "node": "g1"}, gauge((0, heal + 4))),
                          series(m, {**AP, "node": "g2"}, gauge((0, heal + 4)))],
         "alert_rule_test": [check("CaplabBreakerOpen", p.at(fire - 1)),
                             check("CaplabBreakerOpen", p.at(fire), (open_cp, 2, s)),
                             check("CaplabNodeUnreachable", p.at(heal - 1)),
                             check("CaplabBreakerOpen", p.at(heal))]},
        {"name": "CaplabBreakerOpen: a breaker cycling OPEN/HALF_OPEN stays firing; "
                 "a second instance that is closed does not hide it",
         "interval": duration(p.i),
         "input_series": [series(m, {**CP, "node": "g2"}, cycling),
                          series(m, {**CP, "instance": "other:5001", "node": "g2"},
                                 gauge((0, heal + 4)))],
         "alert_rule_test": [check("CaplabBreakerOpen", p.at(fire), (open_cp, cycle(fire), s)),
                             check("CaplabBreakerOpen", p.at(heal - 1), (open_cp, cycle(heal - 1), s)),
                             check("CaplabBreakerOpen", p.at(heal))]},
        {"name": "CaplabBreakerOpen: a blip shorter than for: never fires",
         "interval": duration(p.i),
         "input_series": [series(m, {**CP, "node": "g2"},
                                 gauge((0, 4), (2, fire - 4), (0, heal)))],
         "alert_rule_test": [check("CaplabBreakerOpen", p.at(fire)),
                             check("CaplabBreakerOpen", p.at(fire + 1))]},
        {"name": "CaplabNodeUnreachable: g2 cut from both services fires it, resolves on heal",
         "interval": duration(p.i),
         "input_series": [series(m, {**CP, "node": "g2"}, gauge((0, 4), (2, bad), (0, 4))),
                          series(m, {**AP, "node": "g2"}, gauge((0, 4), (1, bad), (0, 4))),
                          series(m, {**AP, "node": "g1"}, gauge((0, heal + 4)))],
         "alert_rule_test": [check("CaplabNodeUnreachable", p.at(reach - 1)),
                             check("CaplabNodeUnreachable", p.at(reach),
                                   ({"severity": "critical", "node": "g2"}, 2, s)),
                             check("CaplabBreakerOpen", p.at(fire), (open_ap, 1, s), (open_cp, 2, s)),
                             check("CaplabNodeUnreachable", p.at(heal)),
                             check("CaplabBreakerOpen", p.at(heal))]},
    ]


def ratio_steps(p: Plan, for_s: int):
    """Ratio tests hold a constant ratio from step 0; rate() has two samples at step 1."""
    fire = 1 + p.steps(for_s)
    heal = fire + 2  # the bad part of the counter stops increasing after this step
    resolved = heal + p.steps(p.s.rate_window_s)
    return fire, heal, resolved, resolved + 2


def requests(base: dict, operation: str, status: str, *segments) -> dict:
    mode = base["job"][7:]
    return series("app_requests_total", {**base, "mode": mode, "operation": operation,
                                         "status": status}, counter(*segments))


def error_cases(p: Plan) -> list[dict]:
    s, alert = p.s, "CaplabErrorRateHigh"
    fire, heal, resolved, total = ratio_steps(p, s.error_rate_for_s)
    bad = round(N * s.error_ratio * 1.02, 6)
    below = round(N * s.error_ratio * 0.98, 6)
    # 4xx answers, scrapes of /metrics and 503s from /ready are not data-request errors: if the rule
    # counted them, "below" would fire, or "bad" would be diluted under the threshold.
    # Data requests total N a step: 2% of them 404s, the rest 200 or 5xx. /ready answering 503 is
    # not a data request either.
    noise = [requests(CP, "metrics", "200", (N, total)), requests(CP, "ready", "503", (N, total)),
             requests(CP, "read", "404", (N * 0.02, total))]
    return [
        {"name": f"{alert}: 5xx just past the ratio fires after for:, resolves on heal",
         "interval": duration(p.i),
         "input_series": [requests(CP, "write", "200", (N * 0.98 - bad, total)),
                          requests(CP, "write", "503", (bad, heal), (0, total - heal)), *noise],
         "alert_rule_test": [check(alert, p.at(fire - 1)),
                             check(alert, p.at(fire), ({"severity": "critical", "mode": "cp",
                                                        "service": "cp"}, bad / N, s)),
                             check(alert, p.at(resolved))]},
        {"name": f"{alert}: 5xx just below the ratio, plus 4xx and scrapes, never fires",
         "interval": duration(p.i),
         "input_series": [requests(CP, "write", "200", (N * 0.98 - below, total)),
                          requests(CP, "read", "500", (below, total)), *noise],
         "alert_rule_test": [check(alert, p.at(fire)), check(alert, p.at(total - 1))]},
    ]


def latency_buckets(base: dict, operation: str, target: float, bounds) -> list[dict]:
    """Bucket series whose p99 (rank 0.99*N) is exactly ``target``: 10 observations a step in the
    bucket holding it, the rest below it or above every bound."""
    a, b = next((lo, hi) for lo, hi in zip([0.0, *bounds], bounds) if lo < target <= hi)
    if a == 0:
        raise ValueError(f"latency threshold {target}s falls in the lowest bucket; choose one above {b}s")
    n = 10
    below = 0.99 * N - n * (target - a) / (b - a)
    mode = base["job"][7:]
    out = []
    for le in [*bounds, math.inf]:
        cum = N if le == math.inf else (0 if le < a else below if le < b else below + n)
        labels = {**base, "mode": mode, "operation": operation, "le": "+Inf" if le == math.inf else f"{le:g}"}
        out.append(series("app_request_latency_seconds_bucket", labels, counter((cum, 200))))
    return out


def latency_cases(p: Plan, bounds) -> list[dict]:
    s, alert = p.s, "CaplabLatencyP99High"
    fire = 1 + p.steps(s.latency_for_s)
    th = s.p99_latency_s
    # /health is slow here on purpose: only read and write count.
    slow_health = latency_buckets(CP, "health", 9.0, bounds)
    slow_write = {"severity": "warning", "mode": "cp", "operation": "write", "service": "cp"}
    return [
        {"name": f"{alert}: p99 just past the threshold fires after for:",
         "interval": duration(p.i),
         "input_series": [*latency_buckets(CP, "write", th * 1.02, bounds),
                          *latency_buckets(CP, "read", th * 0.5, bounds), *slow_health],
         "alert_rule_test": [check(alert, p.at(fire - 1)),
                             check(alert, p.at(fire), (slow_write, th * 1.02, s))]},
        {"name": f"{alert}: p99 just below the threshold never fires",
         "interval": duration(p.i),
         "input_series": [*latency_buckets(CP, "write", th * 0.98, bounds), *slow_health],
         "alert_rule_test": [check(alert, p.at(fire)), check(alert, p.at(fire + 10))]},
        {"name": f"{alert}: resolves once the slow requests leave the window",
         "interval": duration(p.i),
         "input_series": _latency_heal(p, bounds, fire + 2),
         "alert_rule_test": [check(alert, p.at(fire), (slow_write, th * 1.02, s)),
                             check(alert, p.at(fire + 2 + p.steps(s.rate_window_s)))]},
    ]


def _latency_heal(p: Plan, bounds, heal: int) -> list[dict]:
    """Slow writes until ``heal``, then every write fast (<= the lowest bucket)."""
    slow = latency_buckets(CP, "write", p.s.p99_latency_s * 1.02, bounds)
    out = []
    for sr in slow:
        inc = float(sr["values"].split()[1].split("+")[0])
        sr = dict(sr, values=counter((inc, heal), (N, 200)))
        out.append(sr)
    return out


def connection_cases(p: Plan) -> list[dict]:
    s, alert = p.s, "CaplabConnectionFailuresHigh"
    fire, heal, resolved, total = ratio_steps(p, s.connection_failures_for_s)
    calls = 100
    bad = round(calls * s.connection_failure_ratio * 1.02, 6)
    below = round(calls * s.connection_failure_ratio * 0.98, 6)
    expect = {"severity": "warning", "job": "caplab_cp", "node": "g2", "service": "cp"}
    fail = lambda *seg: series("db_connection_failures_total", {**CP, "node": "g2"}, counter(*seg))  # noqa: E731
    calls_g2 = series("caplab_db_calls_total", {**CP, "node": "g2"}, counter((calls, total)))
    return [
        {"name": f"{alert}: failures per call just past the ratio fire, resolve on heal "
                 "(per data request they are only 1%)",
         "interval": duration(p.i),
         "input_series": [fail((bad, heal), (0, total - heal)), calls_g2,
                          requests(CP, "write", "200", (N, total))],
         "alert_rule_test": [check(alert, p.at(fire - 1)),
                             check(alert, p.at(fire), (expect, bad / calls, s)),
                             check(alert, p.at(resolved))]},
        {"name": f"{alert}: failures per call just below the ratio never fire "
                 "(per data request they would be 98%)",
         "interval": duration(p.i),
         "input_series": [fail((below, total)), calls_g2, requests(CP, "write", "200", (10, total))],
         "alert_rule_test": [check(alert, p.at(fire)), check(alert, p.at(total - 1))]},
        {"name": f"{alert}: without caplab_db_calls_total, failures per data request fire "
                 "(scrapes of /metrics are not data requests)",
         "interval": duration(p.i),
         "input_series": [fail((bad, total)), requests(CP, "write", "200", (calls, total)),
                          requests(CP, "metrics", "200", (N, total))],
         "alert_rule_test": [check(alert, p.at(fire - 1)),
                             check(alert, p.at(fire), (expect, bad / calls, s))]},
    ]


def steady_state(p: Plan, bounds) -> dict:
    """Healthy traffic on both services for ten times the longest for:: every alert stays quiet."""
    s = p.s
    total = 10 * p.steps(max(s.latency_for_s, s.breaker_open_for_s, s.rate_window_s)) + 4
    inputs = []
    for base in (CP, AP):
        for node in ("g1", "g2"):
            inputs += [series("circuit_breaker_state", {**base, "node": node}, gauge((0, total))),
                       series("data_staleness_ms", {**base, "node": node},
                              gauge((0, 2), (s.max_staleness_ms / 2, 2), (0, total - 4))),
                       series("db_connection_failures_total", {**base, "node": node},
                              counter((0, total))),
                       series("caplab_db_calls_total", {**base, "node": node}, counter((N, total)))]
        inputs += [requests(base, "write", "200", (N, total)), requests(base, "read", "200", (N, total)),
                   requests(base, "read", "404", (N / 10, total)),
                   *latency_buckets(base, "write", 0.02, bounds)]
    inputs.append(series("caplab_hints_pending", {**AP, "node": "g2"}, gauge((0, total))))
    from .rules import ALERTS
    return {"name": "steady state: healthy traffic on both services, every alert quiet",
            "interval": duration(p.i), "input_series": inputs,
            "alert_rule_test": [check(a, p.at(t)) for a in ALERTS for t in (total // 2, total - 1)]}


def test_document(s: AlertSettings, rule_file: str, bounds=None) -> dict:
    if bounds is None:
        from app.metrics import LATENCY
        bounds = [b for b in LATENCY._upper_bounds if b != math.inf]
    p = Plan(s)
    tests = [steady_state(p, bounds), *breaker_cases(p),
             *gauge_cases(p, "CaplabStalenessHigh", "data_staleness_ms", AP, "g2",
                          bad=s.max_staleness_ms + 1, at=s.max_staleness_ms,
                          below=s.max_staleness_ms - 1, healthy=0, for_s=s.staleness_for_s,
                          severity="warning"),
             *error_cases(p), *latency_cases(p, bounds), *connection_cases(p),
             *gauge_cases(p, "CaplabHintBacklog", "caplab_hints_pending", AP, "g2",
                          bad=s.hint_backlog + 1, at=s.hint_backlog, below=s.hint_backlog - 1,
                          healthy=0, for_s=s.hint_backlog_for_s, severity="warning")]
    return {"rule_files": [rule_file], "evaluation_interval": duration(p.i), "tests": tests}


def render_tests(settings: AlertSettings, rule_file: str) -> str:
    """promtool test file text for ``settings``, testing the rules at ``rule_file`` (relative to it)."""
    header = (f"# promtool unit tests, profile {settings.profile!r}: generated by alerts/promtests.py"
              f" from alerts/settings.py.\n")
    return header + yaml.dump(test_document(settings, rule_file), Dumper=_Dumper, sort_keys=False,
                              width=200)
