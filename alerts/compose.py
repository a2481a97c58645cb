"""Prometheus and Alertmanager configs for docker-compose.yml's ``monitoring`` profile.

They come from the same code and the same spec settings as the local stack's, with the compose
service names as targets, and are checked in under docker/ so compose can mount them.
``python -m alerts render`` refreshes them; ``python -m alerts test`` fails when they drift.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml

from stack.process import require_binary

from .alertmanager import render_config as render_alertmanager
from .prometheus import render_scrape_config
from .promtool import PromtoolMissing, promtool
from .settings import AlertSettings, load_alert_settings

DOCKER = Path(__file__).resolve().parent.parent / "docker"
# Inside the prometheus container: docker/prometheus.yml is /etc/prometheus/prometheus.yml and
# alerts/rules/ is /etc/prometheus/rules/, so the rules path is relative to the config file.
RULES_IN_CONTAINER = "rules/caplab-alerts.yml"
TARGETS = {"caplab_cp": "app_cp:5001", "caplab_ap": "app_ap:5002", "toxiproxy": "toxiproxy:8474"}
ALERTMANAGER = "alertmanager:9093"
WEBHOOK_URL = "http://webhook:9095/"


def files(settings: AlertSettings | None = None) -> dict[Path, str]:
    """docker/prometheus.yml and docker/alertmanager.yml, rendered for the spec profile."""
    settings = settings or load_alert_settings("spec", env={})
    return {DOCKER / "prometheus.yml": render_scrape_config(TARGETS, settings, RULES_IN_CONTAINER, ALERTMANAGER),
            DOCKER / "alertmanager.yml": render_alertmanager(WEBHOOK_URL, settings)}


HEADER = "# Rendered by `python -m alerts render` (alerts/compose.py) for docker-compose.yml; do not edit.\n"


def render() -> list[Path]:
    out = []
    for path, text in files().items():
        path.write_text(HEADER + text)
        out.append(path)
    return out


def drift() -> list[str]:
    """Name each checked-in compose config that differs from a fresh render."""
    return [str(p.relative_to(DOCKER.parent)) for p, text in files().items()
            if not p.exists() or p.read_text() != HEADER + text]


def check(compose_file: Path | None = None) -> list[tuple[str, subprocess.CompletedProcess]]:
    """promtool check config and amtool check-config on the compose configs, laid out as mounted.

    The layout is read from docker-compose.yml's volumes, so a wrong mount fails here too.
    """
    compose_file = compose_file or DOCKER.parent / "docker-compose.yml"
    services = yaml.safe_load(compose_file.read_text())["services"]
    amtool = require_binary("amtool", package="prometheus-alertmanager", step="alertmanager", error=PromtoolMissing)
    out = []
    with tempfile.TemporaryDirectory(prefix="caplab-compose-") as tmp:
        for name, config_in_container in (("prometheus", "/etc/prometheus/prometheus.yml"),
                                          ("alertmanager", "/etc/alertmanager/alertmanager.yml")):
            for volume in services[name].get("volumes", []):
                src, _, dst = volume.partition(":")
                dst = dst.split(":")[0]
                source = (compose_file.parent / src).resolve()
                target = Path(tmp) / name / dst.lstrip("/")
                if source.is_dir():
                    shutil.copytree(source, target)
                elif source.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(source, target)
            config = Path(tmp) / name / config_in_container.lstrip("/")
            if name == "prometheus":
                out.append(("promtool check config: compose prometheus.yml",
                            promtool("check", "config", str(config))))
            else:
                out.append(("amtool check-config: compose alertmanager.yml", subprocess.run(
                    [amtool, "check-config", str(config)], capture_output=True, text=True, timeout=60)))
    return out
