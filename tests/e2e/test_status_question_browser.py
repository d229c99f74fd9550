"""In Chromium: a WooCommerce-shaped upload with a status no vocabulary has asks about it on the
Data page before any number; after the choice the RFM page shows the records' customers and
revenue (tests/status_exports.py computes them from the records it wrote)."""

from __future__ import annotations

import pytest

from tests import status_exports
from tests.e2e.conftest import amount, metrics, nav, no_exceptions, settle, shot, upload


def test_unknown_status_is_asked_then_the_rfm_page_shows_the_records(page, server, tmp_path):
    export = status_exports.woocommerce_orders(tmp_path, unknown=True, paid_also={status_exports.NEW_STATUS})
    upload(page, server, export.path)
    question = page.get_by_text("holds values this app does not know")
    question.wait_for()
    assert page.locator('[data-testid="stMetricValue"]').count() == 0  # no number yet
    app_text = page.inner_text('[data-testid="stApp"]')
    assert f"'{status_exports.NEW_STATUS}': 2 lines" in app_text
    shot(page, "status_question", height=1400)

    form = page.locator('[data-testid="stForm"]').filter(has=page.get_by_role("button", name="Confirm"))
    form.get_by_text("a completed sale", exact=True).click()
    form.get_by_role("button", name="Confirm").click()
    settle(page, 120)
    page.locator('[data-testid="stMetricValue"]').first.wait_for()
    no_exceptions(page)

    nav(page, "RFM")
    no_exceptions(page)
    shown = metrics(page)
    assert shown["Customers"] == f"{len(export.expected):,}"
    revenue = round(sum(m for _, _, m in export.expected.values()), 2)
    assert amount(shown["Revenue"]) == pytest.approx(revenue, abs=0.005)
    assert f"Counted to {export.as_of:%Y-%m-%d %H:%M}" in page.inner_text('[data-testid="stApp"]')
    shot(page, "status_decided_rfm", height=1400)
