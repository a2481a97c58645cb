"""Grafana is not installable here, so the part of its dashboard that can be tested is: every panel's
PromQL returns data from a live Prometheus scraping the test stack, evaluated in the middle of an
experiment's fault window (the run is a real one, through the runner). The live dashboard reads its
request rates between runs from the same Prometheus."""
from __future__ import annotations

import pytest

from alerts.prometheus import api
from alerts.settings import load_alert_settings
from chaos.experiment.files import parse_experiment
from chaos.run.runner import run_experiment
from harness.history import FaultEvent, read_history
from tests.integration.live import scraping_prometheus
from tests.unit.test_grafana import panel_queries

pytestmark = pytest.mark.integration


@pytest.fixture
def prometheus(live):
    with scraping_prometheus(live, load_alert_settings("fast", env={})) as server:
        yield server


def test_every_grafana_panel_query_returns_data_during_an_experiment(live, prometheus, tmp_path):
    exp = parse_experiment({
        "name": "grafana-panels", "hypothesis": "the panels have data", "services": ["cp", "ap"], "profile": "test",
        "workload": {"clients": 2, "duration_s": 8, "think_ms": 10},
        "schedule": [{"name": "cut-g2", "at": 2, "duration": 4, "fault": "cut_node", "params": {"node": "g2"}}],
        "checkers": {"availability": {}}})
    outcome = run_experiment(exp, live, tmp_path / "runs", say=lambda _m: None)
    faults = [e for e in read_history(outcome.run_dir / "history.jsonl") if isinstance(e, FaultEvent)]
    middle = (min(e.wall_ms for e in faults) + max(e.wall_ms for e in faults)) / 2000
    empty = {}
    for panel, expr in panel_queries().items():
        result = api(prometheus.url, "/api/v1/query", params={"query": expr, "time": f"{middle:.3f}"})["result"]
        if not result:
            empty[panel] = expr
    assert not empty, f"panels with no data in the middle of the fault: {empty}"
    # Between runs the live dashboard asks the same Prometheus for rates and latencies.
    import requests

    from dashboard.prometheus import PrometheusRates
    with requests.Session() as session:
        # At the middle of the fault: "now" is after the heal, the checkers and the report, which on
        # a busy machine can be more than the 15 s window after the last request (and a query can
        # take longer than the page's 0.5 s).
        rates = PrometheusRates(prometheus.url, ("cp", "ap")).rates(session, at=middle, timeout=5)
    assert rates["ap"]["ok"] > 0 and 0 < rates["ap"]["p50"] <= rates["ap"]["p99"], rates
    assert PrometheusRates("http://127.0.0.1:9", ("cp",)).rates(requests.Session()) == {"cp": {}}  # none there: gaps
