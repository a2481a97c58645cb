"""Every metric the services export, and the /metrics view.

With several gunicorn workers, prometheus-client runs in multiprocess mode: PROMETHEUS_MULTIPROC_DIR
is set (and wiped) by whoever starts gunicorn, before this module is imported, and each gauge says
how its per-process values combine.
"""
from __future__ import annotations

import os

from flask import Blueprint, Response, current_app
from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge,
                               Histogram, generate_latest)
from prometheus_client import multiprocess

# The spec's metrics, with its exact names and labels.
REQUESTS = Counter("app_requests_total", "Requests by mode, operation and HTTP status.",
                   ["mode", "operation", "status"])
LATENCY = Histogram("app_request_latency_seconds", "Request latency by mode and operation.",
                    ["mode", "operation"],
                    buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
# Worst state across live workers: one worker with an OPEN breaker is worth seeing.
BREAKER_STATE = Gauge("circuit_breaker_state", "Breaker state per node: 0=CLOSED, 1=HALF_OPEN, 2=OPEN.",
                      ["node"], multiprocess_mode="livemax")
# Staleness is computed from hints stored on the nodes, so every worker sees the same truth:
# the most recent measurement wins.
STALENESS = Gauge("data_staleness_ms", "Age of the oldest write this node has missed (AP hints), ms.",
                  ["node"], multiprocess_mode="livemostrecent")
DB_FAILURES = Counter("db_connection_failures_total", "Network failures talking to a node.", ["node"])
# The denominator of the connection-failure rate: calls the breaker let through (each may fail).
DB_CALLS = Counter("caplab_db_calls_total", "Calls to a node that the breaker let through.", ["node"])

# caplab's own additions.
HINTS_PENDING = Gauge("caplab_hints_pending", "Keys with a pending hint for this node (AP).",
                      ["node"], multiprocess_mode="livemostrecent")
HINTS_REPLAYED = Counter("caplab_hints_replayed_total", "Hinted records replayed to a node (AP).", ["node"])
CP_REFUSALS = Counter("caplab_cp_refusals_total", "CP requests refused, by operation and outcome.",
                      ["operation", "outcome"])
NATIVE_REFUSALS = Counter("caplab_native_refusals_total", "native requests answered 503, by operation and outcome.",
                          ["operation", "outcome"])
NATIVE_PRIMARY = Gauge("caplab_native_primary", "1 for the node this worker writes to as primary (native).",
                       ["node"], multiprocess_mode="livemax")
BREAKER_TRANSITIONS = Counter("caplab_breaker_transitions_total", "Breaker state changes, by new state.",
                              ["node", "state"])
REPAIRED = Counter("caplab_repair_records_copied_total", "Records copied by anti-entropy repair.", ["node"])

STATE_VALUES = {"closed": 0, "half-open": 1, "open": 2}
CP_OPERATIONS, CP_OUTCOMES = ("write", "read"), ("not_applied", "unknown")
# The answers worth a rate from the first scrape on: success, and the service's own refusals.
DATA_OPERATIONS, DATA_STATUSES = ("write", "read"), ("200", "500", "503")


def init_series(mode: str, nodes) -> None:
    """Create every labelled series at 0 for the known nodes and label values, at start.

    A counter child exists only once touched; until the first failure, a rate over
    db_connection_failures_total would be "no data" rather than 0, and an alert on it blind."""
    for node in nodes:
        for counter in (DB_FAILURES, DB_CALLS, HINTS_REPLAYED, REPAIRED):
            counter.labels(node=node)
        for state in STATE_VALUES:
            BREAKER_TRANSITIONS.labels(node=node, state=state)
        BREAKER_STATE.labels(node=node).set(0)
        STALENESS.labels(node=node).set(0)
        HINTS_PENDING.labels(node=node).set(0)
    if mode in ("cp", "native"):
        refusals = CP_REFUSALS if mode == "cp" else NATIVE_REFUSALS
        for operation in CP_OPERATIONS:
            for outcome in CP_OUTCOMES:
                refusals.labels(operation=operation, outcome=outcome)
    if mode == "native":
        for node in nodes:
            NATIVE_PRIMARY.labels(node=node).set(0)
    for operation in DATA_OPERATIONS:
        LATENCY.labels(mode=mode, operation=operation)
        for status in DATA_STATUSES:
            REQUESTS.labels(mode=mode, operation=operation, status=status)

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics_view():
    """Expose every metric; in multiprocess mode, the sum or max over all workers."""
    service = current_app.extensions["caplab"]
    with service.in_flight():
        service.refresh_gauges()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
