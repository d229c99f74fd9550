"""The HTML report from `python -m core report` opens in Chromium with the network cut off
and draws every chart (plotly.js is inside the file)."""

from __future__ import annotations

import pytest

from tests.cli.test_cli_errors import run_cli
from tests.e2e.conftest import SAMPLE, _require_chromium


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    _require_chromium()
    out = tmp_path_factory.mktemp("report") / "report.html"
    result = run_cli("report", SAMPLE, "--currency", "GBP", "-o", out)
    assert result.returncode == 0, result.stderr
    return out


def test_report_opens_offline_and_shows_its_charts(report_file, browser):
    html = report_file.read_text()
    figures = html.count("Plotly.newPlot(")
    assert figures >= 4
    blocked = []
    # the session's one browser (the e2e fixture): a second Playwright loop would clash
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
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.goto(report_file.as_uri())
        page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {figures}")
        assert page.locator("div.js-plotly-plot").count() == figures
        # each chart drew marks: heatmap cells or bars, not an empty frame
        assert page.locator(".js-plotly-plot .heatmaplayer image, .js-plotly-plot .bars path").count() > 0
        # no horizontal scrolling at phone width: the page fits its viewport
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert errors == []
        page.close()
    assert blocked == []  # the report asked for nothing over the network


def test_charts_with_twelve_segments_stay_legible_at_390_px(tmp_path, browser):
    """3 VIP tiers + 9 clusters (k=9): every bar and cross-tab label is drawn, none overlap."""
    _require_chromium()
    import pandas as pd

    from core import charts
    from tests.e2e.test_segments_browser import OVERLAPS

    names = [
        "Elite",
        "High_Spender",
        "Power_Shopper",
        "Premium",
        *[f"Regular {i}" for i in range(1, 7)],
        "Occasional",
        "Lapsed",
    ]
    assert len(names) == 12
    profiles = pd.DataFrame(
        {
            "segment": names,
            "customers": [10 * (i + 1) for i in range(12)],
            "revenue": [1000.0] * 12,
            "revenue_share": [1 / 12] * 12,
            "recency_mean": [30.0] * 12,
            "frequency_mean": [2.0] * 12,
        }
    )
    named = [
        "Champions",
        "Loyal",
        "Potential Loyalist",
        "New Customers",
        "Promising",
        "Need Attention",
        "About to Sleep",
        "At Risk",
        "Can't Lose Them",
        "Hibernating",
    ]
    crosstab = pd.DataFrame([[i * j for j in range(12)] for i in range(10)], index=named, columns=names)
    figures = [
        charts.segment_overview(profiles, "GBP"),
        charts.tier_cluster_heatmap(crosstab, x_title="tier or cluster", y_title="segment"),
    ]
    page_html = (
        "<html><body>"
        + "".join(
            f.to_html(full_html=False, include_plotlyjs=(i == 0), default_width="100%")
            for i, f in enumerate(figures)
        )
        + "</body></html>"
    )
    path = tmp_path / "charts.html"
    path.write_text(page_html)
    page = browser.new_page(viewport={"width": 390, "height": 900})
    try:
        page.goto(path.as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 2")
        labels = page.locator(".js-plotly-plot").first.locator(".ytick text").all_text_contents()
        assert sorted(labels) == sorted(n.replace("_", " ") for n in names)  # all 12, none cut
        xlabels = page.locator(".js-plotly-plot").nth(1).locator(".xtick text").all_text_contents()
        assert len(xlabels) == 12
        assert page.evaluate(OVERLAPS) == []
    finally:
        page.close()
