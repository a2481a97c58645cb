"""Run Debian's promtool on rendered rules: check their syntax, run their unit tests."""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from stack.process import require_binary

from .promtests import render_tests
from .rules import render_rules
from .settings import load_alert_settings

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


def check_profile(profile: str) -> list[tuple[str, subprocess.CompletedProcess]]:
    """Render ``profile`` into a temporary folder; run promtool check rules and test rules on it."""
    with tempfile.TemporaryDirectory(prefix=f"caplab-alerts-{profile}-") as tmp:
        rules, tests = render_into(Path(tmp), profile, env={})
        return [("promtool check rules", promtool("check", "rules", str(rules))),
                ("promtool test rules", promtool("test", "rules", str(tests)))]
