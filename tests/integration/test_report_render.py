"""The self-contained report.html in a real browser: headless Chromium decodes every embedded plot.

Needs Debian's chromium (``scripts/setup.sh chromium``); skipped with that hint when it is missing.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess

import numpy as np
import pytest
from matplotlib import image

from chaos.report.build import build_comparison, build_report
from tests.unit.test_report import make_run_dir

pytestmark = pytest.mark.integration

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
TIMEOUT_S = 60
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=5000"]

needs_chromium = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                                    reason=f"no chromium at {CHROMIUM}: run scripts/setup.sh chromium")


def chromium(page, tmp_path, *args) -> str:
    """Run headless Chromium on a local page; kill its whole process group on timeout or failure."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own group: renderer and zygote die with it
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"chromium did not finish within {TIMEOUT_S} s: {' '.join(cmd)}")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # helpers that outlived the browser
        except ProcessLookupError:
            pass
    assert proc.returncode == 0, f"chromium exited {proc.returncode}: {err[-2000:]}"
    return out


def rendered(dom: str) -> tuple[int, int]:
    """Return (plots rendered, plots expected) as the page's own script counted them."""
    body = re.search(r"<body[^>]*>", dom)
    assert body, f"no <body> in the dumped DOM: {dom[:500]}"
    attrs = dict(re.findall(r'(data-plots-[a-z]+)="(\d+)"', body.group(0)))
    assert "data-plots-rendered" in attrs, f"the onload script did not run: {body.group(0)}"
    return int(attrs["data-plots-rendered"]), int(attrs["data-plots-expected"])


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """The report of a CP+AP run, and the comparison of a CP run with an AP run."""
    root = tmp_path_factory.mktemp("runs")
    _, report = build_report(make_run_dir(root))
    cp, ap = make_run_dir(root, "partition-cp", services=("cp",)), make_run_dir(root, "partition-ap", services=("ap",))
    _, comparison = build_comparison([cp, ap], root / "cmp")
    return report, comparison


@needs_chromium
def test_every_plot_of_the_report_renders(pages, tmp_path):
    embedded = pages[0].read_text().count('src="data:image/png;base64,')
    got, expected = rendered(chromium(pages[0], tmp_path, "--dump-dom"))
    assert got == expected == embedded > 0


@needs_chromium
def test_every_plot_of_the_comparison_renders(pages, tmp_path):
    embedded = pages[1].read_text().count('src="data:image/png;base64,')
    got, expected = rendered(chromium(pages[1], tmp_path, "--dump-dom"))
    assert got == expected == embedded > 0


@needs_chromium
def test_screenshot_of_the_report_is_not_blank(pages, tmp_path):
    shot = tmp_path / "report.png"
    chromium(pages[0], tmp_path, f"--screenshot={shot}", "--window-size=1400,2400", "--hide-scrollbars")
    assert shot.stat().st_size > 20_000
    pixels = image.imread(shot)[..., :3]
    assert pixels.shape[0] >= 2000 and pixels.shape[1] >= 1300
    assert float(pixels.std()) > 0.05, "the page rendered as one flat color"
    colors = np.unique((pixels[::4, ::4] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colors) > 50, f"only {len(colors)} colors: plots missing?"


@needs_chromium
def test_the_violation_timeline_of_an_invalid_cp_run_renders(tmp_path):
    from tests.unit.test_violation import make_invalid_run
    run, _ = make_invalid_run(tmp_path / "runs")
    _, page = build_report(run)
    html = page.read_text()
    assert 'title="violation.png"' in html
    got, expected = rendered(chromium(page, tmp_path, "--dump-dom"))
    assert got == expected == html.count('src="data:image/png;base64,') > 1
    # The timeline alone, as a reader sees it: lanes, bars and the red line are drawn, not blank.
    alone = tmp_path / "violation.html"
    uri = re.search(r'src="(data:image/png;base64,[^"]+)"[^>]*title="violation.png"', html).group(1)
    alone.write_text(f'<!doctype html><body style="margin:0"><img src="{uri}"></body>')
    shot = tmp_path / "violation-shot.png"
    chromium(alone, tmp_path, f"--screenshot={shot}", "--window-size=1200,400", "--hide-scrollbars")
    pixels = image.imread(shot)[..., :3]
    red = (pixels[..., 0] > 0.75) & (pixels[..., 1] < 0.3) & (pixels[..., 2] < 0.3)
    assert red.sum() > 200, "no red: the op that cannot be placed and the line where no order fits are missing"
    assert float(pixels.std()) > 0.05
