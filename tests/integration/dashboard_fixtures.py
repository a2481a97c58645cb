"""A live dashboard on the test stack, and headless Chromium (Debian's, driven by Playwright) looking at it."""
from __future__ import annotations

import os
import shutil
import threading

import pytest

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                                    reason=f"no chromium at {CHROMIUM}: run scripts/setup.sh chromium")


class Dashboard:
    """The dashboard's hub and server in threads of the test process, on the test stack's dashboard port."""

    def __init__(self, stack, runs_dir):
        from werkzeug.serving import make_server

        from dashboard.hub import Hub
        from dashboard.launcher import Launcher
        from dashboard.server import create_app
        self.stack, self.runs_dir = stack, runs_dir
        self.offset = stack.config.toxiproxy_port - 8474  # the test stack is the default one, shifted
        self.hub = Hub(stack, runs_dir)
        self.launcher = Launcher(stack.run_dir, runs_dir, self.offset, runs_dir)
        self.server = make_server("127.0.0.1", stack.config.dashboard_port,
                                  create_app(self.hub, self.launcher, runs_dir), threaded=True)
        self.url = f"http://127.0.0.1:{stack.config.dashboard_port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def __enter__(self) -> "Dashboard":
        self.hub.start()
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.hub.stop()
        proc = self.launcher.proc
        if proc is not None and proc.poll() is None:  # a run the page started and a failed test left
            proc.terminate()
            try:
                proc.wait(60)
            except Exception:
                proc.kill()
                proc.wait(10)


class Page:
    """One browser page on the dashboard, with every console error and page error kept."""

    def __init__(self, browser, url):
        self.page = browser.new_page(viewport={"width": 1400, "height": 1800})
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.goto(url)

    def js(self, expression: str):
        return self.page.evaluate(expression)

    def wait(self, expression: str, timeout_s: float, what: str):
        try:
            self.page.wait_for_function(expression, timeout=timeout_s * 1000, polling=100)
        except Exception as err:
            raise AssertionError(f"{what}: not true after {timeout_s} s ({type(err).__name__}); "
                                 f"page errors: {self.errors}") from None

    def close(self) -> None:
        self.page.close()


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no chromium at {CHROMIUM}: run scripts/setup.sh chromium")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], timeout=60_000)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def dashboard(stack, tmp_path_factory):
    with Dashboard(stack, tmp_path_factory.mktemp("dash-runs")) as d:
        yield d
