"""Real-export-shaped files uploaded in Chromium give, on the RFM page, the RFM computed by hand.

Each file comes from a builder in tests/exports.py (Shopify, Stripe, German DATEV-style, UK
dd/mm/yyyy, a typo year), which also returns the RFM per customer computed with a plain loop
over the records it wrote. The file is uploaded with no flags and no mapping change; the RFM
page's metrics and its CSV download must equal that expectation value by value.
"""
from __future__ import annotations

import csv
import io
import re

import pytest

from tests.e2e.conftest import nav, no_exceptions, settle, shot
from tests.exports import BUILDERS


def _metrics(page) -> dict[str, str]:
    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    return {label.strip(): value.strip() for label, value in zip(labels, values)}


def _amount(text: str) -> float:
    """'€1,309.40', '1,309.40 USD', '-£3.00' -> the number (the currency mark is not checked)."""
    match = re.search(r"-?[\d,]+\.\d{2}", text)
    assert match, f"no amount in {text!r}"
    return float(match.group().replace(",", ""))


@pytest.mark.parametrize("shape", sorted(BUILDERS))
def test_export_uploaded_gives_the_hand_computed_rfm(page, server, tmp_path, shape):
    export = BUILDERS[shape](tmp_path)
    expected = export.expected
    page.goto(server)
    settle(page)
    page.locator('input[type="file"]').first.set_input_files(str(export.path))
    settle(page, 120)
    page.get_by_text(f"Loaded: {export.path.name}").wait_for()
    no_exceptions(page)
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0, \
        page.locator('[data-testid="stAlertContentError"]').all_inner_texts()

    nav(page, "RFM")
    no_exceptions(page)
    shown = _metrics(page)
    assert shown["Customers"] == f"{len(expected):,}"
    revenue = round(sum(m for _, _, m in expected.values()), 2)
    assert _amount(shown["Revenue"]) == pytest.approx(revenue, abs=0.005)
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
    got = {row["customer_id"]: (int(row["recency"]), int(row["frequency"]),
                                float(row["monetary"])) for row in rows}
    assert len(rows) == len(got)  # one row per customer
    assert sorted(got) == sorted(expected)
    for customer, (recency, frequency, monetary) in expected.items():
        r, f, m = got[customer]
        assert (r, f) == (recency, frequency), customer
        assert m == pytest.approx(monetary, abs=0.005), customer
    shot(page, f"rfm_{shape}", height=1400)
