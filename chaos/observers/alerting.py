"""Alerts during a run: Prometheus set to the experiment's alert profile, a watcher writing every alert
change into the history, Alertmanager's notifications kept, and the alerts checker's verdict.

An observer (chaos/run/protocols.Observer): `prepare(run)` before the steady state (Prometheus
reloaded if its rules differ, both services scraped, no alert active), `start(run)` with the
workload, `close()` after the steady state after (waits until the expected alerts resolved, bounded
by `alerts.resolve_within_s`, then stops the watcher), and `verdicts(history)` with the checkers.
"""
from __future__ import annotations

import time

import requests

from alerts.settings import load_alert_settings
from alerts.watch import AlertWatcher, check
from chaos.run.protocols import Observer
from stack.target import RunnerError, number
from harness.history import FaultEvent
from harness.verdicts import Verdict

POLL_S = 0.25


class AlertProbe(Observer):
    """Everything a run with `alerts:` needs from Prometheus and Alertmanager."""

    def __init__(self, exp):
        self.exp = exp
        self.stack = self.prometheus = self.watcher = self.webhook = None
        self.say = print
        self.remarks: list[str] = []
        self.firing = [a.selector for a in exp.alerts.expect_firing]
        self.quiet = [a.selector for a in exp.alerts.expect_quiet]

    def prepare(self, run) -> None:
        """Put the experiment's alert profile in place and wait for a scraped, quiet Prometheus."""
        self.stack, self.say = run.stack, run.say
        self.prometheus = getattr(run.stack, "prometheus", None)
        if self.prometheus is None or not self.prometheus.running():
            raise RunnerError(f"{self.exp.name} declares alerts but the stack in {self.stack.run_dir} runs no "
                              "Prometheus; run it through `python -m chaos run` (which starts a stack with "
                              "alerts), or start one with StackConfig(alerts=True)")
        settings = load_alert_settings(self.exp.alert_profile,
                                       env={"MAX_STALENESS_MS": number(run.settings, "MAX_STALENESS_MS", 0)})
        if settings != self.prometheus.settings:
            self.say(f"  reloading Prometheus with the {settings.profile} alert profile")
            self.prometheus.settings = settings
            self.prometheus.write_config()
            requests.post(self.prometheus.url + "/-/reload", timeout=5).raise_for_status()
        self._wait(lambda: all(self.prometheus.targets_up().get(f"caplab_{s}") == "up" for s in ("cp", "ap")),
                   20, "Prometheus scrapes both services")
        if not self._wait(lambda: not self.prometheus.alerts(), 30, None):
            active = sorted({a["labels"]["alertname"] for a in self.prometheus.alerts()})
            self.remarks.append(f"alerts still active before the run: {active}")
        port = getattr(self.stack.config, "webhook_port", 0)
        if port and getattr(self.stack, "alertmanager", None) is not None:
            from alerts.webhook import WebhookReceiver
            self.webhook = WebhookReceiver(port, run.run_dir / "notifications.jsonl").start()

    def start(self, run) -> None:
        self.watcher = AlertWatcher(self.prometheus.url, run.rec, interval=POLL_S).start()

    def wait_resolved(self) -> None:
        """After the heal: wait until no expected alert is active, at most alerts.resolve_within_s."""
        if self.watcher is None:
            return
        names = {a.name for a in self.exp.alerts.expect_firing}
        ok = self._wait(lambda: not any(name in names for name, _ in list(self.watcher.state)),
                        self.exp.alerts.resolve_within_s, None)
        time.sleep(2 * POLL_S)
        if not ok:
            self.remarks.append(f"expected alerts still active {self.exp.alerts.resolve_within_s:g} s after the heal")
        if self.webhook is not None:  # Alertmanager sends resolved notifications a group interval later
            self._wait(lambda: self._all_notified(), 6, None)

    def close(self) -> None:
        """Wait (bounded) for the expected alerts to resolve, then stop watching."""
        try:
            self.wait_resolved()
        finally:
            if self.watcher is not None:
                self.watcher.stop()
            if self.webhook is not None:
                self.webhook.stop()

    def notes(self) -> list[str]:
        return list(self.remarks)

    def verdicts(self, history) -> list[Verdict]:
        return [self.verdict(history)]

    def verdict(self, history) -> Verdict:
        a = self.exp.alerts
        v = check(history, self.firing, self.quiet, a.detect_within_s, a.resolve_within_s)
        figures = dict(v.figures, profile=self.exp.alert_profile)
        if self.webhook is not None:
            figures["notifications"] = self._notifications(history)
        if self.remarks:
            figures["notes"] = self.remarks
        return Verdict(v.checker, v.valid, v.summary, v.evidence, figures)

    # -- notifications -----------------------------------------------------------------------------
    def _notifications(self, history) -> list[dict]:
        """Per expected alert: seconds from fault start to the firing notification, heal to resolved."""
        faults = [e for e in history if isinstance(e, FaultEvent)]
        start = min((f.wall_ms for f in faults if f.phase == "start" and f.begins), default=None)
        heal = max((f.wall_ms for f in faults if f.phase == "stop" and f.begins), default=None)
        rows = []
        for exp in self.exp.alerts.expect_firing:
            row = {"alert": exp.selector}
            for status, ref in (("firing", start), ("resolved", heal)):
                seen = [n["received_ms"] for n in self.webhook.seen(exp.name, status, **exp.labels)
                        if ref is not None and n["received_ms"] >= ref]
                row[f"{status}_after_s"] = round((min(seen) - ref) / 1000, 2) if seen else None
            rows.append(row)
        return rows

    def _all_notified(self) -> bool:
        return all(self.webhook.seen(e.name, "resolved", **e.labels) for e in self.exp.alerts.expect_firing)

    def _wait(self, ok, timeout: float, what: str | None) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if ok():
                    return True
            except (requests.RequestException, KeyError, ValueError, RuntimeError):
                pass
            if time.monotonic() >= deadline:
                if what:
                    raise RunnerError(f"{what}: not within {timeout:g} s; see {self.prometheus.logfile}")
                return False
            time.sleep(POLL_S)

