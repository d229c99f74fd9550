"""The Value page under AppTest: its figures against core.clv's own forecast of the sample,
the horizon widgets, the backtest, and a file too short to forecast (st.error, page usable)."""

from __future__ import annotations

import pytest

from core import clv
from core.config import CLVConfig
from core.movement import PurchaseHistory
from core.rfm import open_source
from tests.app.conftest import SAMPLE, charts, go, metric


@pytest.fixture(scope="module")
def sample_history():
    return PurchaseHistory.from_source(open_source(SAMPLE))


def test_value_page_shows_the_forecast_of_core(app, sample_history):
    go(app, "value")
    assert not app.error, [e.value for e in app.error]
    expected = clv.clv_from_history(sample_history).table
    assert metric(app, "Customers") == f"{len(expected):,}"
    assert metric(app, "Expected purchases, 39 weeks") == f"{expected['expected_purchases'].sum():,.0f}"
    assert metric(app, "Total CLV, 12 months").replace(",", "").endswith(f"{expected['clv'].sum():.2f}")
    assert len(charts(app)) >= 7  # distributions, matrices, segments, backtest
    top = app.dataframe[0].value
    assert list(top["customer_id"][:5]) == list(expected.nlargest(5, "clv")["customer_id"])
    assert any("P(alive) is 1 for customers who bought on one day only" in i.value for i in app.info)
    checked = clv.backtest_history(sample_history)
    assert any(checked.words() in m.value for m in app.markdown)


def test_value_page_horizon_widgets_refit(app, sample_history):
    go(app, "value")
    app.number_input(key="value_weeks").set_value(52).run()
    app.number_input(key="value_months").set_value(24).run()
    assert not app.exception and not app.error
    expected = clv.clv_from_history(sample_history, config=CLVConfig(weeks=52, months=24)).table
    assert metric(app, "Expected purchases, 52 weeks") == f"{expected['expected_purchases'].sum():,.0f}"
    assert metric(app, "Total CLV, 24 months").replace(",", "").endswith(f"{expected['clv'].sum():.2f}")


def test_value_page_refuses_a_short_file_and_stays_usable(app):
    csv = b"Invoice,Customer,Date,Amount\n1,A,2024-01-01,5\n2,A,2024-01-20,5\n3,B,2024-01-02,7\n"
    go(app, "data")
    app.file_uploader(key="upload").set_value(("short.csv", csv, "text/csv")).run()
    assert not app.exception
    go(app, "value")
    assert any("at least 8 weeks" in e.value for e in app.error), [e.value for e in app.error]
    go(app, "rfm")  # the other pages still work on this file
    assert not app.error


def test_lookup_card_shows_the_customers_value(app, sample_history):
    expected = clv.clv_from_history(sample_history).table
    row = expected.sort_values("clv").iloc[len(expected) // 2]
    app.query_params["customer"] = str(row["customer_id"])
    go(app, "lookup")
    assert not app.error, [e.value for e in app.error]
    assert metric(app, "P(alive)") == f"{row['p_alive']:.0%}"
    assert metric(app, "Expected purchases, 39 weeks") == f"{row['expected_purchases']:.2f}"
    assert metric(app, "CLV, 12 months").replace(",", "").endswith(f"{row['clv']:.2f}")
