"""Run Debian's promtool on rendered rules: check their syntax, run their unit tests."""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from stack.process import require_binary

from .promtests import render_tests
from .rules import render_rules
from .settings import load_alert_settings

HERE = Path(__file__).resolve().parent
CHECKED_IN_RULES = HERE / "rules" / "caplab-alerts.yml"
CHECKED_IN_TESTS = HERE / "tests" / "caplab-alerts.spec.test.yml"
LITERAL_TESTS = HERE / "tests" / "spec-literal.test.yml"
RULES_NAME = "caplab-alerts.yml"


class PromtoolMissing(Exception):
    """promtool is not installed."""


def ensure_promtool() -> str:
    """Return promtool's path; raise PromtoolMissing with the fix if it is not installed."""
    return require_binary("promtool", package="prometheus", step="prometheus", error=PromtoolMissing)


def promtool(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([ensure_promtool(), *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def render_into(folder: Path, profile: str, env: dict | None = None, **overrides) -> tuple[Path, Path]:
    """Write the rules and their generated tests for ``profile`` into ``folder``."""
    settings = load_alert_settings(profile, env=env, **overrides)
    folder.mkdir(parents=True, exist_ok=True)
    rules, tests = folder / RULES_NAME, folder / f"caplab-alerts.{profile}.test.yml"
    rules.write_text(render_rules(settings))
    tests.write_text(render_tests(settings, RULES_NAME))
    return rules, tests


def render_checked_in():
    """Refresh the checked-in spec rules and their generated tests."""
    settings = load_alert_settings("spec", env={})
    CHECKED_IN_RULES.parent.mkdir(parents=True, exist_ok=True)
    CHECKED_IN_RULES.write_text(render_rules(settings))
    CHECKED_IN_TESTS.write_text(render_tests(settings, f"../rules/{RULES_NAME}"))
    from . import compose
    compose.render()


def checked_in_drift() -> list[str]:
    """Name each checked-in file that differs from a fresh render of the spec profile."""
    settings = load_alert_settings("spec", env={})
    fresh = {CHECKED_IN_RULES: render_rules(settings),
             CHECKED_IN_TESTS: render_tests(settings, f"../rules/{RULES_NAME}")}
    from . import compose
    return [str(p.relative_to(HERE.parent)) for p, text in fresh.items()
            if not p.exists() or p.read_text() != text] + compose.drift()


def check_profile(profile: str) -> list[tuple[str, subprocess.CompletedProcess]]:
    """Render ``profile`` into a temporary folder; run promtool check rules and test rules on it."""
    with tempfile.TemporaryDirectory(prefix=f"caplab-alerts-{profile}-") as tmp:
        rules, tests = render_into(Path(tmp), profile, env={})
        return [("promtool check rules", promtool("check", "rules", str(rules))),
                ("promtool test rules", promtool("test", "rules", str(tests)))]


def check_checked_in() -> list[tuple[str, subprocess.CompletedProcess]]:
    """promtool on the checked-in spec rules: syntax, the generated tests, the hand-written tests;
    then the compose configs (promtool and amtool), laid out as docker-compose.yml mounts them."""
    from . import compose
    return [("promtool check rules", promtool("check", "rules", str(CHECKED_IN_RULES))),
            ("promtool test rules", promtool("test", "rules", str(CHECKED_IN_TESTS), str(LITERAL_TESTS))),
            *compose.check()]
