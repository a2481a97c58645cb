"""Every service setting is defined once, in app/config.py's TABLE (name, default, range). The stack
profiles, the settings a run reads back, experiment validation and the alert settings all agree with
it: a profile value the app would refuse, or an experiment range that differs, fails here."""
from __future__ import annotations

import pytest

from app.config import TABLE
from chaos.experiment.files import ExperimentError, parse_experiment
from stack.config import PROFILES
from stack.target import OVERRIDABLE, SETTINGS

BY_NAME = {var.name: var for var in TABLE}
EXPERIMENT = {
    "name": "demo", "hypothesis": "the settings agree", "services": ["cp", "ap"],
    "workload": {"clients": 2, "duration_s": 20},
    "schedule": [{"at": 5, "duration": 10, "fault": "cut_node", "params": {"node": "g2"}}],
    "checkers": {"linearizable": {}},
}


def test_every_default_parses_with_its_own_parser():
    for var in TABLE:
        if var.default is not None and var.name not in ("PROMETHEUS_MULTIPROC_DIR",):
            var.parse(var.default)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_stack_profiles_name_only_table_settings_with_values_the_app_accepts(profile):
    for name, raw in PROFILES[profile].items():
        assert name in BY_NAME, f"stack profile {profile!r} sets {name}, which app/config.py does not define"
        BY_NAME[name].parse(raw)  # raises ValueError saying what is accepted


def test_the_settings_a_run_overrides_and_reads_back_are_table_settings():
    assert set(OVERRIDABLE) <= set(SETTINGS)
    assert not set(SETTINGS) - set(BY_NAME), set(SETTINGS) - set(BY_NAME)


@pytest.mark.parametrize("name", [n for n in OVERRIDABLE if getattr(BY_NAME[n].parse, "bounds", None)])
def test_experiment_validation_takes_the_table_range(name):
    lo, hi, integer = BY_NAME[name].parse.bounds
    for value in (lo, hi):
        exp = parse_experiment({**EXPERIMENT, "service_settings": {name: value}})
        assert exp.service_settings == {name: value}
        BY_NAME[name].parse(str(value))  # and the app takes the same value
    step = 1 if integer else 0.001
    for value in (lo - step, hi + step):
        with pytest.raises(ExperimentError):
            parse_experiment({**EXPERIMENT, "service_settings": {name: value}})
        with pytest.raises(ValueError):
            BY_NAME[name].parse(str(value))


def test_alert_settings_read_staleness_from_the_stack_profile():
    from alerts.settings import load_alert_settings
    for profile, stack_profile in (("spec", "local"), ("fast", "test")):
        settings = load_alert_settings(profile, env={})
        assert str(settings.max_staleness_ms) == PROFILES[stack_profile]["MAX_STALENESS_MS"]
