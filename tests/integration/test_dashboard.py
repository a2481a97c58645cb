"""The live dashboard in headless Chromium against the real test stack: the page loads with no console
error and draws every chart; it follows a run, draws its fault band where the history puts it, and
its halt button heals the stack and records who halted the run."""
from __future__ import annotations

import pytest

from tests.integration.dashboard_fixtures import Page, browser, dashboard, needs_chromium  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.integration, needs_chromium]


def test_the_page_loads_with_no_console_error_and_draws_every_chart(live, dashboard, browser):
    page = Page(browser, dashboard.url)
    try:
        page.wait("document.body.dataset.chartsExpected > 0 && "
                  "+document.body.dataset.chartsDrawn === +document.body.dataset.chartsExpected", 20,
                  "every chart drew at least one point")
        page.wait("document.querySelectorAll('button.start').length >= 9", 10, "the catalogue is listed")
        assert page.js("document.body.dataset.chartsExpected") == "8"  # 3 per service, AP's staleness and hints
        health = page.js("document.getElementById('health-items').textContent")
        assert "node g1: up" in health and "node g2: up" in health and "CP: ready" in health
        assert page.js("document.getElementById('run-phase').textContent") in ("idle", "finished", "ended")
        first = int(page.js("document.body.dataset.frames"))
        page.wait(f"+document.body.dataset.frames >= {first + 4}", 10, "frames keep coming, several a second")
        question = page.js("document.querySelector('.experiment p').textContent")
        assert question.startswith("Question.") and len(question) > 20
        assert page.errors == []
    finally:
        page.close()
