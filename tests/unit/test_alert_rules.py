"""The alert rules: promtool checks and unit-tests them in both profiles, and they match the services.

promtool comes from Debian's prometheus package (`scripts/setup.sh prometheus`); without it these
tests fail, never skip, so a missing tool cannot pass for green.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from alerts.checked_in import CHECKED_IN_RULES, check_checked_in, checked_in_drift
from alerts.promtool import check_profile, ensure_promtool, promtool
from alerts.promtests import render_tests
from alerts.rules import ALERTS, render_rules
from alerts.settings import AlertSettingsError, load_alert_settings

ROOT = Path(__file__).resolve().parents[2]


def _report(runs):
    return "\n".join(f"{what}: rc={p.returncode}\n{p.stdout}{p.stderr}" for what, p in runs)


def test_promtool_is_installed():
    ensure_promtool()  # raises with the fix: scripts/setup.sh prometheus


@pytest.mark.parametrize("profile", ["spec", "fast"])
def test_rendered_rules_pass_promtool_check_and_unit_tests(profile):
    runs = check_profile(profile)
    assert all(p.returncode == 0 for _, p in runs), _report(runs)


def test_checked_in_rules_pass_generated_and_hand_written_tests():
    runs = check_checked_in()
    assert all(p.returncode == 0 for _, p in runs), _report(runs)


def test_checked_in_rules_equal_a_fresh_render():
    assert checked_in_drift() == [], "run `python -m alerts render` and commit the result"


def test_generated_tests_catch_a_wrong_threshold(tmp_path):
    """Rules rendered with a 6% error threshold fail the tests written for 5%."""
    spec = load_alert_settings("spec", env={})
    (tmp_path / "r.yml").write_text(render_rules(load_alert_settings("spec", env={}, error_ratio=0.06)))
    (tmp_path / "t.yml").write_text(render_tests(spec, "r.yml"))
    proc = promtool("test", "rules", str(tmp_path / "t.yml"))
    assert proc.returncode != 0 and "CaplabErrorRateHigh" in proc.stdout + proc.stderr


def test_staleness_threshold_matches_the_services():
    from app.config import VARIABLES
    from stack.config import PROFILES
    env_example = (ROOT / ".env.example").read_text()
    example = int(re.search(r"^MAX_STALENESS_MS=(\d+)", env_example, re.M).group(1))
    spec = load_alert_settings("spec", env={}).max_staleness_ms
    assert spec == int(VARIABLES["MAX_STALENESS_MS"][1]) == int(PROFILES["local"]["MAX_STALENESS_MS"]) == example
    assert load_alert_settings("fast", env={}).max_staleness_ms == int(PROFILES["test"]["MAX_STALENESS_MS"])
    assert load_alert_settings("spec", env={"MAX_STALENESS_MS": "750"}).max_staleness_ms == 750


def test_spec_profile_keeps_the_deployment_guides_numbers():
    s = load_alert_settings("spec", env={})
    assert (s.breaker_open_for_s, s.staleness_for_s, s.error_rate_for_s, s.latency_for_s,
            s.connection_failures_for_s) == (60, 30, 60, 120, 30)
    assert (s.error_ratio, s.p99_latency_s, s.connection_failure_ratio) == (0.05, 0.5, 0.10)


def test_every_alert_has_labels_and_a_runbook_section():
    doc = yaml.safe_load(CHECKED_IN_RULES.read_text())
    alerts = [r for g in doc["groups"] for r in g["rules"] if "alert" in r]
    assert [a["alert"] for a in alerts] == list(ALERTS)
    runbooks = (ROOT / "docs" / "runbooks.md").read_text()
    reference = (ROOT / "docs" / "alerts.md").read_text()
    for a in alerts:
        assert a["labels"]["severity"] in ("warning", "critical")
        path, _, anchor = a["annotations"]["runbook_url"].partition("#")
        assert path == "docs/runbooks.md" and anchor == a["alert"].lower()
        assert re.search(rf"^## {a['alert']}\s*$", runbooks, re.M), f"docs/runbooks.md lacks ## {a['alert']}"
        assert f"`{a['alert']}`" in reference or f"## {a['alert']}" in reference


def test_invalid_settings_are_reported_together():
    with pytest.raises(AlertSettingsError) as err:
        load_alert_settings("fast", env={}, error_ratio=1.5, rate_window_s=1, nope=3)
    assert "nope" in str(err.value)
    with pytest.raises(AlertSettingsError) as err:
        load_alert_settings("fast", env={}, error_ratio=1.5, rate_window_s=1)
    assert "error_ratio" in str(err.value) and "rate_window_s" in str(err.value)
    with pytest.raises(AlertSettingsError):
        load_alert_settings("slow")


def test_compose_config_check_catches_a_wrong_mount_and_a_broken_alertmanager_config(tmp_path):
    """alerts.compose.check lays the configs out as docker-compose.yml mounts them, so a rules folder
    mounted elsewhere, or an Alertmanager config with no such receiver, fails it."""
    from alerts import compose
    good = {what: p.returncode for what, p in compose.check()}
    assert good == {"promtool check config: compose prometheus.yml": 0, "amtool check-config: compose alertmanager.yml": 0}
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    doc["services"]["prometheus"]["volumes"][1] = "./alerts/rules:/etc/prometheus/rules-elsewhere:ro"
    (tmp_path / "docker").mkdir()
    broken_am = yaml.safe_load((ROOT / "docker" / "alertmanager.yml").read_text())
    broken_am["route"]["receiver"] = "nobody"
    (tmp_path / "docker" / "alertmanager.yml").write_text(yaml.safe_dump(broken_am))
    (tmp_path / "docker" / "prometheus.yml").write_text((ROOT / "docker" / "prometheus.yml").read_text())
    (tmp_path / "alerts").symlink_to(ROOT / "alerts")
    (tmp_path / "docker-compose.yml").write_text(yaml.safe_dump(doc))
    bad = {what: p for what, p in compose.check(tmp_path / "docker-compose.yml")}
    prom, am = bad["promtool check config: compose prometheus.yml"], bad["amtool check-config: compose alertmanager.yml"]
    assert prom.returncode != 0 and "caplab-alerts.yml" in prom.stdout + prom.stderr
    assert am.returncode != 0 and "nobody" in am.stdout + am.stderr
