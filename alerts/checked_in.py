"""The checked-in spec rules, their tests and the compose configs: rendered, compared, checked."""
from __future__ import annotations

import subprocess
from pathlib import Path

from . import compose
from .promtests import render_tests
from .promtool import RULES_NAME, promtool
from .rules import render_rules
from .settings import load_alert_settings

HERE = Path(__file__).resolve().parent
CHECKED_IN_RULES = HERE / "rules" / "caplab-alerts.yml"
CHECKED_IN_TESTS = HERE / "tests" / "caplab-alerts.spec.test.yml"
LITERAL_TESTS = HERE / "tests" / "spec-literal.test.yml"


def render_checked_in():
    """Refresh the checked-in spec rules and their generated tests."""
    settings = load_alert_settings("spec", env={})
    CHECKED_IN_RULES.parent.mkdir(parents=True, exist_ok=True)
    CHECKED_IN_RULES.write_text(render_rules(settings))
    CHECKED_IN_TESTS.write_text(render_tests(settings, f"../rules/{RULES_NAME}"))
    compose.render()


def checked_in_drift() -> list[str]:
    """Name each checked-in file that differs from a fresh render of the spec profile."""
    settings = load_alert_settings("spec", env={})
    fresh = {CHECKED_IN_RULES: render_rules(settings),
             CHECKED_IN_TESTS: render_tests(settings, f"../rules/{RULES_NAME}")}
    return [str(p.relative_to(HERE.parent)) for p, text in fresh.items()
            if not p.exists() or p.read_text() != text] + compose.drift()


def check_checked_in() -> list[tuple[str, subprocess.CompletedProcess]]:
    """promtool on the checked-in spec rules: syntax, the generated tests, the hand-written tests;
    then the compose configs (promtool and amtool), laid out as docker-compose.yml mounts them."""
    return [("promtool check rules", promtool("check", "rules", str(CHECKED_IN_RULES))),
            ("promtool test rules", promtool("test", "rules", str(CHECKED_IN_TESTS), str(LITERAL_TESTS))),
            *compose.check()]
