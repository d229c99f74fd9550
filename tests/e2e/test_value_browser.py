"""Value page in a real browser on the bundled sample: the forecast's figures against
core.clv's, the backtest in words, and the download of every customer's value."""

from __future__ import annotations

import csv
import io

import pytest

from core import clv
from core.movement import PurchaseHistory
from core.rfm import open_source
from tests.e2e.conftest import SAMPLE, nav, no_exceptions, settle, shot


@pytest.fixture(scope="module")
def expected():
    history = PurchaseHistory.from_source(open_source(SAMPLE))
    return clv.clv_from_history(history), clv.backtest_history(history)


def _metrics(page) -> dict[str, str]:
    return dict(
        zip(
            page.locator('[data-testid="stMetricLabel"]').all_inner_texts(),
            page.locator('[data-testid="stMetricValue"]').all_inner_texts(),
        )
    )


def test_value_page_on_the_sample(page, server, expected):
    result, checked = expected
    page.goto(server)
    settle(page)
    nav(page, "Value")
    no_exceptions(page)
    metrics = _metrics(page)
    assert metrics["Customers"] == f"{len(result.table):,}"
    assert metrics["Expected purchases, 39 weeks"] == f"{result.table['expected_purchases'].sum():,.0f}"
    assert page.locator(".js-plotly-plot").count() >= 2
    page.get_by_role("tab", name="Backtest").click()
    page.get_by_text(f"{checked.actual_total:,} happened", exact=False).first.wait_for()
    page.get_by_role("tab", name="Top customers").click()
    with page.expect_download() as info:
        page.get_by_role("button", name="Download every customer's value (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(open(info.value.path(), encoding="utf-8-sig").read())))
    assert list(rows[0]) == list(clv.OUTPUT_COLUMNS)
    assert len(rows) == len(result.table)
    by_id = {r["customer_id"]: r for r in rows}
    for _, want in clv.rounded(result.table).iterrows():
        got = by_id[str(want["customer_id"])]
        assert float(got["clv"]) == pytest.approx(want["clv"], abs=0.005)
        assert float(got["p_alive"]) == pytest.approx(want["p_alive"], abs=5e-5)
    page.get_by_role("tab", name="Distributions").click()
    shot(page, "value")
    no_exceptions(page)


def test_lookup_card_shows_the_value_of_the_customer(page, server, expected):
    result, _ = expected
    row = result.table.sort_values("clv").iloc[-1]  # the most valuable customer
    page.goto(f"{server}/lookup?customer={row['customer_id']}")
    settle(page)
    page.get_by_text("Lifetime value", exact=True).wait_for()
    no_exceptions(page)
    metrics = _metrics(page)
    assert metrics["P(alive)"] == f"{row['p_alive']:.0%}"
    assert metrics["Expected purchases, 39 weeks"] == f"{row['expected_purchases']:.2f}"
    assert metrics["CLV, 12 months"].replace(",", "").endswith(f"{row['clv']:.2f}")
    shot(page, "lookup_value")
