"""Request rates and latencies from the Prometheus HTTP API, for when no run's history is being written.

Outside a run the dashboard has no history of operations; where Prometheus scrapes the stack, it
knows what other clients (``make load``, a person with curl) got. ``ok`` is the rate of 2xx answers
to reads and writes, ``fail`` of 5xx (the server cannot tell a client's ``info``); p50 and p99 come
from the service's latency histogram. Any failure reads as "no value": the page shows a gap.
"""
from __future__ import annotations

import math

import requests

WINDOW = "15s"
QUERIES = {
    "ok": 'sum(rate(app_requests_total{{mode="{s}",operation=~"read|write",status=~"2.."}}[{w}]))',
    "fail": 'sum(rate(app_requests_total{{mode="{s}",operation=~"read|write",status=~"5.."}}[{w}]))',
    "p50": 'histogram_quantile(0.5, sum by (le) (rate(app_request_latency_seconds_bucket'
           '{{mode="{s}",operation=~"read|write"}}[{w}]))) * 1000',
    "p99": 'histogram_quantile(0.99, sum by (le) (rate(app_request_latency_seconds_bucket'
           '{{mode="{s}",operation=~"read|write"}}[{w}]))) * 1000',
}


def instant(session: requests.Session, url: str, query: str, timeout: float = 0.5,
            at: float | None = None) -> float | None:
    """The value of a query returning one number (now, or at unix time ``at``), or None (no data,
    NaN, Prometheus unreachable)."""
    params = {"query": query} if at is None else {"query": query, "time": f"{at:.3f}"}
    try:
        resp = session.get(url.rstrip("/") + "/api/v1/query", params=params, timeout=timeout)
        body = resp.json()
    except (requests.RequestException, ValueError):
        return None
    result = (body.get("data") or {}).get("result") if isinstance(body, dict) else None
    if not result:
        return None
    try:
        value = float(result[0]["value"][1])
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


class PrometheusRates:
    def __init__(self, url: str, services):
        self.url, self.services = url, tuple(services)

    def rates(self, session: requests.Session, at: float | None = None, timeout: float = 0.5) -> dict:
        """service -> {"ok", "fail", "p50", "p99"} over the last WINDOW (before unix time ``at``, or
        now), leaving out what Prometheus could not say."""
        out = {}
        for s in self.services:
            values = {k: instant(session, self.url, q.format(s=s, w=WINDOW), timeout, at) for k, q in QUERIES.items()}
            out[s] = {k: v for k, v in values.items() if v is not None}
        return out
