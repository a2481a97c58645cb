"""The Grafana dashboard for compose users: provisioned by docker-compose.yml's `grafana` profile, every
panel on the provisioned Prometheus data source, every query valid PromQL (promtool reads them as
recording rules). tests/integration/test_grafana_queries.py runs each against a live Prometheus."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "docker" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "caplab.json"


def panel_queries(path: Path = DASHBOARD) -> dict[str, str]:
    """"<panel title> / <refId>" -> PromQL, for every target of every panel."""
    data = json.loads(path.read_text())
    return {f"{p['title']} / {t['refId']}": t["expr"] for p in data["panels"] for t in p["targets"]}


def test_every_panel_reads_the_provisioned_prometheus():
    sources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())["datasources"]
    assert [(s["type"], s["url"]) for s in sources] == [("prometheus", "http://prometheus:9090")]
    uid = sources[0]["uid"]
    data = json.loads(DASHBOARD.read_text())
    assert len({p["id"] for p in data["panels"]}) == len(data["panels"]) >= 8
    for p in data["panels"]:
        assert p["datasource"]["uid"] == uid and all(t["datasource"]["uid"] == uid for t in p["targets"]), p["title"]
        assert p["targets"] and all(t["expr"].strip() for t in p["targets"]), p["title"]
    titles = " ".join(p["title"] for p in data["panels"]).lower()
    for quantity in ("throughput", "p99", "breaker", "staleness", "hints", "health"):
        assert quantity in titles, f"no panel for {quantity}"


def test_compose_provisions_the_data_source_and_the_dashboard():
    grafana = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["grafana"]
    mounts = {m.split(":")[1]: m.split(":")[0] for m in grafana["volumes"]}
    assert mounts["/etc/grafana/provisioning"] == "./docker/grafana/provisioning"
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "caplab.yml").read_text())["providers"][0]
    assert mounts[provider["options"]["path"]] == "./docker/grafana/dashboards"
    assert grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"].endswith("/caplab.json")
    assert "prometheus" in grafana["depends_on"] and grafana["ports"] == ["127.0.0.1:${GRAFANA_PORT:-3000}:3000"]
    assert ":" in grafana["image"] and not grafana["image"].endswith(":latest"), "pin Grafana's version"


@pytest.mark.skipif(not shutil.which("promtool"), reason="no promtool: run scripts/setup.sh prometheus")
def test_every_query_is_valid_promql(tmp_path):
    from alerts.promtool import promtool
    rules = {"groups": [{"name": "grafana", "rules": [{"record": f"grafana:panel_{i}", "expr": expr}
                                                      for i, expr in enumerate(panel_queries().values())]}]}
    path = tmp_path / "panels.yml"
    path.write_text(yaml.safe_dump(rules))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
