"""A local Prometheus (Debian's) that scrapes the stack and evaluates caplab's rules.

Each service is one job (``caplab_cp``, ``caplab_ap``) with one target: its /metrics already sums
or maxes over every gunicorn worker (prometheus-client multiprocess mode). Toxiproxy is scraped as
job ``toxiproxy`` when it exposes /metrics, which toxiproxy-server 2.12 does only when started
with ``-proxy-metrics`` (and ``-runtime-metrics``); without them it answers 404.
"""
from __future__ import annotations

from pathlib import Path

import requests
import yaml

from stack.process import ManagedProcess, StackError, require_binary

from .rules import render_rules
from .settings import AlertSettings, duration

DEFAULT_PORT = 9090


def prometheus_binary() -> str:
    return require_binary("prometheus", package="prometheus", step="prometheus")


def toxiproxy_has_metrics(toxiproxy_url: str) -> bool:
    try:
        return requests.get(toxiproxy_url + "/metrics", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def render_config(stack_config, settings: AlertSettings, rules_file: str,
                  alertmanager: str | None = None, toxiproxy: bool | None = None) -> str:
    """prometheus.yml for the local stack described by ``stack_config``."""
    cfg = stack_config
    if toxiproxy is None:
        toxiproxy = toxiproxy_has_metrics(cfg.toxiproxy_url)
    targets = {f"caplab_{s}": cfg.service_url(s).removeprefix("http://") for s in ("cp", "ap")}
    if toxiproxy:
        targets["toxiproxy"] = cfg.toxiproxy_url.removeprefix("http://")
    return render_scrape_config(targets, settings, rules_file, alertmanager)


def render_scrape_config(targets: dict, settings: AlertSettings, rules_file: str,
                         alertmanager: str | None = None) -> str:
    """prometheus.yml: one job per ``targets`` entry (job -> host:port), the rules, Alertmanager."""
    jobs = [{"job_name": job, "static_configs": [{"targets": [target]}]} for job, target in targets.items()]
    doc = {"global": {"scrape_interval": duration(settings.scrape_interval_s),
                      "scrape_timeout": duration(min(settings.scrape_interval_s, 10)),
                      "evaluation_interval": duration(settings.evaluation_interval_s)},
           "rule_files": [rules_file], "scrape_configs": jobs}
    if alertmanager:
        doc["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    return yaml.safe_dump(doc, sort_keys=False)


class PrometheusServer(ManagedProcess):
    """Prometheus on 127.0.0.1:``port``, its config, rules and data under ``run_dir``/prometheus."""

    def __init__(self, run_dir, port: int, stack_config, settings: AlertSettings,
                 alertmanager: str | None = None, toxiproxy: bool | None = None):
        self.home = Path(run_dir).resolve() / "prometheus"
        self.url = f"http://127.0.0.1:{port}"
        self.stack_config, self.settings = stack_config, settings
        self.alertmanager, self.toxiproxy = alertmanager, toxiproxy
        argv = [prometheus_binary(), f"--config.file={self.home / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.home / 'data'}", "--storage.tsdb.retention.time=1d",
                f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle"]
        super().__init__("prometheus", argv, run_dir, port=port, ready=self._ready)

    def _ready(self) -> bool:
        return requests.get(self.url + "/-/ready", timeout=1).status_code == 200

    def write_config(self):
        """Render the rules and prometheus.yml for the current settings."""
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "caplab-alerts.yml").write_text(render_rules(self.settings))
        (self.home / "prometheus.yml").write_text(render_config(
            self.stack_config, self.settings, "caplab-alerts.yml", self.alertmanager, self.toxiproxy))

    def start(self) -> bool:
        self.write_config()
        return super().start()

    def alerts(self) -> list[dict]:
        """Active alerts (pending and firing), as /api/v1/alerts lists them."""
        return api(self.url, "/api/v1/alerts")["alerts"]

    def targets_up(self) -> dict:
        """{job: health} of every active scrape target."""
        data = api(self.url, "/api/v1/targets")
        return {t["labels"]["job"]: t["health"] for t in data["activeTargets"]}

    def query(self, expr: str) -> list[dict]:
        return api(self.url, "/api/v1/query", params={"query": expr})["result"]


def api(url: str, path: str, params=None, timeout: float = 2.0):
    """GET a Prometheus API path; return its data, or raise StackError with the server's reason."""
    resp = requests.get(url + path, params=params, timeout=timeout)
    body = resp.json()
    if resp.status_code != 200 or body.get("status") != "success":
        raise StackError(f"Prometheus {path}: {resp.status_code} {body.get('error', body)}")
    return body["data"]
