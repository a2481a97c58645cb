"""Live alerts: a real Prometheus (fast profile) scrapes the test stack and sends to a real
Alertmanager; cutting CP from g2 fires CaplabBreakerOpen and CaplabErrorRateHigh for CP only,
healing resolves them, and the webhook receives a notification for each."""
from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from alerts.alertmanager import AlertmanagerServer
from alerts.webhook import WebhookReceiver
from alerts.settings import load_alert_settings
from alerts.watch import AlertWatcher, check
from harness.history import FaultEvent
from tests.integration.live import scraping_prometheus, wait_for

pytestmark = pytest.mark.integration

EXPECT_FIRING = ['CaplabBreakerOpen{service="cp",node="g2"}', 'CaplabErrorRateHigh{service="cp"}']
EXPECT_QUIET = ["CaplabNodeUnreachable", 'CaplabBreakerOpen{service="ap"}', "CaplabStalenessHigh",
                'CaplabErrorRateHigh{service="ap"}', "CaplabLatencyP99High", "CaplabHintBacklog"]


class ListRecorder:
    """Keep events in memory, stamped like a HistoryWriter's."""

    def __init__(self):
        self.t0, self.events, self.lock = time.monotonic(), [], threading.Lock()

    def now(self):
        return time.monotonic() - self.t0, time.time_ns() // 1_000_000

    def write(self, event):
        with self.lock:
            self.events.append(event)


class Load:
    """A few writes and reads a second to both services, so breakers and ratios have calls."""

    def __init__(self, stack):
        self.urls = [stack.config.service_url(s) for s in ("cp", "ap")]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        with requests.Session() as http:
            i = 0
            while not self.stop.is_set():
                for url in self.urls:
                    try:
                        http.post(f"{url}/write/alert-{i % 20}/v{i}", timeout=2)
                        http.get(f"{url}/read/alert-{i % 20}", timeout=2)
                    except requests.RequestException:
                        pass
                i += 1
                self.stop.wait(0.03)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=5)


def _state(watcher, name, labels):
    return [s for (n, lab), s in watcher.state.items()
            if n == name and all(dict(lab).get(k) == v for k, v in labels.items())]


@pytest.fixture
def webhook():
    with WebhookReceiver() as rx:
        yield rx


@pytest.fixture
def prometheus(live, webhook):
    """Prometheus and Alertmanager on ports next to the test stack's, both stopped afterwards."""
    settings = load_alert_settings("fast", env={})
    am = AlertmanagerServer(live.run_dir, live.config.alertmanager_port, webhook.url, settings)
    try:
        am.start()
        with scraping_prometheus(live, settings, alertmanager=am.address) as server:
            yield server
    finally:
        am.stop()


def test_breaker_open_fires_notifies_and_resolves(live, toxiproxy, prometheus, webhook):
    rec = ListRecorder()
    cp_g2 = {"service": "cp", "node": "g2"}
    with Load(live), AlertWatcher(prometheus.url, rec, interval=0.1) as watcher:
        time.sleep(3)  # steady state: every alert must stay quiet
        t, wall = rec.now()
        rec.write(FaultEvent("start", "partition", "cp->g2", t, wall))
        toxiproxy.set_enabled("cp_g2", False)
        try:
            wait_for(lambda: _state(watcher, "CaplabBreakerOpen", cp_g2) == ["firing"]
                     and _state(watcher, "CaplabErrorRateHigh", {"service": "cp"}) == ["firing"],
                     25, "CaplabBreakerOpen and CaplabErrorRateHigh fire for cp", interval=0.1)
            # Hold the fault until Alertmanager has notified. Healed sooner, the alert can resolve
            # inside group_wait, and Alertmanager never notifies for an alert that only resolved.
            wait_for(lambda: webhook.seen("CaplabBreakerOpen", "firing", service="cp", node="g2"),
                     10, "Alertmanager notifies the webhook: CaplabBreakerOpen firing")
        finally:
            toxiproxy.set_enabled("cp_g2", True)
            t, wall = rec.now()
            rec.write(FaultEvent("stop", "partition", "cp->g2", t, wall))
        wait_for(lambda: not _state(watcher, "CaplabBreakerOpen", cp_g2)
                 and not _state(watcher, "CaplabErrorRateHigh", {"service": "cp"}),
                 25, "the alerts resolve after heal", interval=0.1)
        time.sleep(0.3)
    verdict = check(rec.events, EXPECT_FIRING, EXPECT_QUIET, detect_within_s=15, resolve_within_s=15)
    print(json.dumps(verdict.figures, indent=1))
    assert verdict.valid == "valid", (verdict.summary, verdict.evidence)
    pending = [e for e in rec.events if getattr(e, "alert", None) == "CaplabBreakerOpen"
               and e.phase == "pending"]
    assert pending, "the alert went straight to firing: for: was not honoured"
    wait_for(lambda: webhook.seen("CaplabBreakerOpen", "resolved", service="cp", node="g2"),
             10, "Alertmanager notifies the webhook: CaplabBreakerOpen resolved")
    assert not webhook.seen("CaplabNodeUnreachable", "firing")
    start, stop = (e.wall_ms for e in rec.events if isinstance(e, FaultEvent))
    print("notifications (s after fault start / heal):",
          [(a["labels"]["alertname"], a["status"],
            round((n["received_ms"] - (start if a["status"] == "firing" else stop)) / 1000, 2))
           for n in webhook.notifications for a in n["alerts"]])
