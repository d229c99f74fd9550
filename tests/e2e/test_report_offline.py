"""The HTML report from `python -m core report` opens in Chromium with the network cut off
and draws every chart (plotly.js is inside the file)."""
from __future__ import annotations

import pytest

from tests.cli.test_cli_errors import run_cli
from tests.e2e.conftest import ARGS, CHROMIUM, SAMPLE, _require_chromium


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    _require_chromium()
    out = tmp_path_factory.mktemp("report") / "report.html"
    result = run_cli("report", SAMPLE, "--currency", "GBP", "-o", out)
    assert result.returncode == 0, result.stderr
    return out


def test_report_opens_offline_and_shows_its_charts(report_file):
    from playwright.sync_api import sync_playwright

    html = report_file.read_text()
    figures = html.count("Plotly.newPlot(")
    assert figures >= 4
    blocked = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            for width in (1200, 390):
                page = browser.new_page(viewport={"width": width, "height": 900})

                def route(r, blocked=blocked):
                    if r.request.url.startswith("file:"):
                        r.continue_()
                    else:
                        blocked.append(r.request.url)
                        r.abort()

                page.route("**/*", route)
                errors = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(report_file.as_uri())
                page.wait_for_function(
                    f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {figures}")
                assert page.locator("div.js-plotly-plot").count() == figures
                # each chart drew marks: heatmap cells or bars, not an empty frame
                assert page.locator(".js-plotly-plot .heatmaplayer image, "
                                    ".js-plotly-plot .bars path").count() > 0
                # no horizontal scrolling at phone width: the page fits its viewport
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                assert errors == []
                page.close()
        finally:
            browser.close()
    assert blocked == []  # the report asked for nothing over the network
