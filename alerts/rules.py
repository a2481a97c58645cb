"""The Prometheus rules file: recording rules that name each signal, and one alert per fault.

Every recorded series carries a ``service`` label (cp or ap): taken from the metric's ``mode``
label where it has one, otherwise from the scrape job (``caplab_cp``/``caplab_ap``). Definitions:

* error ratio: the share of data requests (read, write) answered 5xx over the rate window. CP's
  deliberate 503 refusals count: an operator sees a request that did not succeed.
* connection failure ratio: network failures talking to a node per call to that node
  (``caplab_db_calls_total``), falling back, while the services do not export that counter, to
  failures per data request of the service.
* p99 latency: from the histogram, per service and operation, over the rate window.
"""
from __future__ import annotations

import yaml

from .settings import AlertSettings, duration

# Recorded series, one name per signal, the same in every profile.
BREAKER = "caplab:circuit_breaker_state:max"
STALENESS = "caplab:data_staleness_ms:max"
HINTS = "caplab:hints_pending:max"
ERRORS = "caplab:app_request_errors:ratio"
P99 = "caplab:app_request_latency_seconds:p99"
CONN = "caplab:db_connection_failures:ratio"

DATA = 'operation=~"read|write"'
ALERTS = ("CaplabBreakerOpen", "CaplabNodeUnreachable", "CaplabStalenessHigh", "CaplabErrorRateHigh",
          "CaplabLatencyP99High", "CaplabConnectionFailuresHigh", "CaplabHintBacklog")


def _by_job(expr: str) -> str:
    return f'label_replace(\n  {expr},\n  "service", "$1", "job", "caplab_(.+)")'


def _by_mode(expr: str) -> str:
    return f'label_replace(\n  {expr},\n  "service", "$1", "mode", "(.+)")'


def recording_rules(s: AlertSettings) -> list[dict]:
    w = duration(s.rate_window_s)
    requests = f"sum by (mode) (rate(app_requests_total{{{DATA}}}[{w}]))"
    errors = f'sum by (mode) (rate(app_requests_total{{{DATA},status=~"5.."}}[{w}]))'
    failures = f"sum by (job, node) (rate(db_connection_failures_total[{w}]))"
    return [
        {"record": BREAKER, "expr": _by_job("max by (job, node) (circuit_breaker_state)")},
        {"record": STALENESS, "expr": _by_job("max by (job, node) (data_staleness_ms)")},
        {"record": HINTS, "expr": _by_job("max by (job, node) (caplab_hints_pending)")},
        # "or ... * 0": a service that never answered 5xx has ratio 0, not no ratio.
        {"record": ERRORS, "expr": _by_mode(f"({errors}\n   or {requests} * 0)\n  / {requests}")},
        {"record": P99, "expr": _by_mode(
            f"histogram_quantile(0.99,\n    sum by (mode, operation, le) "
            f"(rate(app_request_latency_seconds_bucket{{{DATA}}}[{w}])))")},
        {"record": CONN, "expr": _by_job(
            f"({failures}\n     / sum by (job, node) (rate(caplab_db_calls_total[{w}])))\n"
            f"  or\n  ({failures}\n     / on (job) group_left ()\n"
            f"     sum by (job) (rate(app_requests_total{{{DATA}}}[{w}])))")},
    ]


def alerting_rules(s: AlertSettings) -> list[dict]:
    def alert(name, expr, for_s, severity, summary, description):
        return {"alert": name, "expr": expr, "for": duration(for_s),
                "labels": {"severity": severity},
                "annotations": {"summary": summary, "description": description,
                                "runbook_url": f"{s.runbook_base}#{name.lower()}"}}

    pct = lambda r: f"{r * 100:g}%"  # noqa: E731
    return [
        alert("CaplabBreakerOpen", f"{BREAKER} >= 1", s.breaker_open_for_s, "warning",
              "{{ $labels.service }}: circuit breaker for node {{ $labels.node }} not closed "
              f"for more than {duration(s.breaker_open_for_s)}",
              "The breaker is OPEN or probing (HALF_OPEN) in at least one worker (state "
              "{{ $value }}); calls to {{ $labels.node }} fail fast."),
        alert("CaplabNodeUnreachable", f"count by (node) ({BREAKER} >= 1) >= 2",
              s.node_unreachable_for_s, "critical",
              "node {{ $labels.node }} unreachable from both services for more than "
              f"{duration(s.node_unreachable_for_s)}",
              "Every service's breaker for {{ $labels.node }} is not closed: the node itself, "
              "or the network in front of it, is down."),
        alert("CaplabStalenessHigh", f"{STALENESS} > {s.max_staleness_ms}", s.staleness_for_s,
              "warning",
              "{{ $labels.service }}: node {{ $labels.node }} is {{ $value }} ms behind "
              f"(over MAX_STALENESS_MS={s.max_staleness_ms}) for more than "
              f"{duration(s.staleness_for_s)}",
              "The oldest write {{ $labels.node }} has missed is older than the services' "
              "MAX_STALENESS_MS; reads from it may be stale."),
        alert("CaplabErrorRateHigh", f"{ERRORS} > {s.error_ratio:g}", s.error_rate_for_s, "critical",
              "{{ $labels.service }}: {{ $value | humanizePercentage }} of data requests answer 5xx "
              f"(over {pct(s.error_ratio)} for more than {duration(s.error_rate_for_s)})",
              "Reads and writes answered 5xx over the last " + duration(s.rate_window_s) +
              ", CP's deliberate 503 refusals included."),
        alert("CaplabLatencyP99High", f"{P99} > {s.p99_latency_s:g}", s.latency_for_s, "warning",
              "{{ $labels.service }} {{ $labels.operation }}: p99 latency {{ $value | humanizeDuration }} "
              f"(over {s.p99_latency_s * 1000:g}ms for more than {duration(s.latency_for_s)})",
              "The 99th percentile of request latency over the last " + duration(s.rate_window_s) +
              ", from the app_request_latency_seconds histogram."),
        alert("CaplabConnectionFailuresHigh", f"{CONN} > {s.connection_failure_ratio:g}",
              s.connection_failures_for_s, "warning",
              "{{ $labels.service }}: {{ $value | humanizePercentage }} connection failures to node "
              f"{{{{ $labels.node }}}} (over {pct(s.connection_failure_ratio)} for more than "
              f"{duration(s.connection_failures_for_s)})",
              "Network failures (refused, reset, timed out) per call to the node, over the last "
              + duration(s.rate_window_s) + "."),
        alert("CaplabHintBacklog", f"{HINTS} > {s.hint_backlog}", s.hint_backlog_for_s, "warning",
              "{{ $labels.service }}: {{ $value }} keys wait for hinted handoff to node "
              f"{{{{ $labels.node }}}} (over {s.hint_backlog} for more than "
              f"{duration(s.hint_backlog_for_s)})",
              "AP accepted writes {{ $labels.node }} has not received; they replay when it is "
              "reachable again."),
    ]


def rules_document(s: AlertSettings) -> dict:
    return {"groups": [{"name": "caplab", "rules": recording_rules(s) + alerting_rules(s)}]}


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render_rules(settings: AlertSettings) -> str:
    """The rules file for ``settings``, as YAML text."""
    header = (f"# caplab alerts, profile {settings.profile!r}: generated by `python -m alerts render`"
              f" from alerts/settings.py.\n# Do not edit by hand; docs/alerts.md explains each rule.\n")
    return header + yaml.dump(rules_document(settings), Dumper=_Dumper, sort_keys=False, width=200)
