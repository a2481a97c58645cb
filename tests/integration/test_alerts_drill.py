"""One alerts-drill experiment end to end: the runner with Prometheus and Alertmanager on the test stack.

breaker-open, shortened: CP is cut off from g2, CaplabBreakerOpen{cp,g2} fires and resolves, the
alerts verdict times it, the webhook gets both notifications, and the report plots the alert.
"""
from __future__ import annotations

import json

import pytest
import yaml

from chaos.experiment.files import ALERTS_DIR, parse_experiment
from chaos.run.runner import run_experiment
from harness.history import AlertEvent, read_history
from alerts.monitoring import init_stack
from stack import Stack
from stack.config import test_config

pytestmark = pytest.mark.integration


@pytest.fixture
def alert_stack(live):
    """The test stack plus Prometheus (fast profile) and Alertmanager, both stopped afterwards."""
    cfg = live.config
    s = init_stack(Stack(test_config(live.run_dir, alerts=True, webhook_port=cfg.alertmanager_port + 2)))
    try:
        s.up(progress=lambda _m: None)  # everything else already runs: only the two are started
        yield s
    finally:
        for proc in (s.prometheus, s.alertmanager):
            proc.stop()


def test_breaker_open_drill_fires_notifies_and_resolves(alert_stack, tmp_path):
    data = yaml.safe_load((ALERTS_DIR / "breaker-open.yaml").read_text())
    data["workload"].update(duration_s=12)
    data["schedule"][0].update(at=3, duration=7)
    outcome = run_experiment(parse_experiment(data, "test"), alert_stack, tmp_path / "runs", say=lambda *_: None)
    results = json.loads((outcome.run_dir / "results.json").read_text())
    alerts = next(v for v in results["verdicts"] if v["checker"] == "alerts")
    assert alerts["valid"] == "valid", (alerts["summary"], alerts["evidence"])
    timing = alerts["figures"]["alerts"][0]
    assert 2 < timing["time_to_detect_s"] < 12 and 0 <= timing["time_to_resolve_s"] < 15
    assert timing["pending_after_s"] < timing["time_to_detect_s"]  # for: was honoured
    notified = alerts["figures"]["notifications"][0]
    assert notified["firing_after_s"] is not None and notified["resolved_after_s"] is not None
    phases = {(e.alert, e.phase) for e in read_history(outcome.run_dir / "history.jsonl")
              if isinstance(e, AlertEvent) and e.labels.get("service") == "cp"}
    assert {("CaplabBreakerOpen", p) for p in ("pending", "firing", "resolved")} <= phases
    assert (outcome.run_dir / "plots" / "alerts-cp.png").exists()
    assert "| CaplabBreakerOpen" in (outcome.run_dir / "report.md").read_text()
    assert outcome.overall == "valid", [v["summary"] for v in results["verdicts"] if v["valid"] != "valid"]
