"""Real-export-shaped files uploaded in Chromium give, on the RFM page, the RFM computed by hand.

Each file comes from a builder in tests/exports.py (Shopify, Stripe, German DATEV-style, UK
dd/mm/yyyy, a typo year), which also returns the RFM per customer computed with a plain loop
over the records it wrote. The file is uploaded with no flags and no mapping change; the RFM
page's metrics and its CSV download must equal that expectation value by value.
"""

from __future__ import annotations

import csv
import io

import pytest

from tests.e2e.conftest import amount, metrics, nav, no_exceptions, shot, upload
from tests.exports import BUILDERS


@pytest.mark.parametrize("shape", sorted(BUILDERS))
def test_export_uploaded_gives_the_hand_computed_rfm(page, server, tmp_path, shape):
    export = BUILDERS[shape](tmp_path)
    expected = export.expected
    upload(page, server, export.path)
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0, page.locator(
        '[data-testid="stAlertContentError"]'
    ).all_inner_texts()

    nav(page, "RFM")
    no_exceptions(page)
    shown = metrics(page)
    assert shown["Customers"] == f"{len(expected):,}"
    revenue = round(sum(m for _, _, m in expected.values()), 2)
    assert amount(shown["Revenue"]) == pytest.approx(revenue, abs=0.005)
    assert f"Counted to {export.as_of:%Y-%m-%d %H:%M}" in page.inner_text('[data-testid="stApp"]')
    # the shared sidebar says what is loaded, also when the file is too small for k=4 clusters
    sidebar = page.inner_text('[data-testid="stSidebar"]')
    assert f"{len(expected):,} customers · as of {export.as_of:%Y-%m-%d %H:%M}" in sidebar
    assert "Not usable yet" not in sidebar

    with page.expect_download() as info:
        page.get_by_role("button", name="Download RFM table with scores (CSV)").click()
    download = info.value
    text = open(download.path(), encoding="utf-8").read()
    rows = list(csv.DictReader(io.StringIO(text)))
    got = {
        row["customer_id"]: (int(row["recency"]), int(row["frequency"]), float(row["monetary"]))
        for row in rows
    }
    assert len(rows) == len(got)  # one row per customer
    assert sorted(got) == sorted(expected)
    for customer, (recency, frequency, monetary) in expected.items():
        r, f, m = got[customer]
        assert (r, f) == (recency, frequency), customer
        assert m == pytest.approx(monetary, abs=0.005), customer
    shot(page, f"rfm_{shape}", height=1400)
