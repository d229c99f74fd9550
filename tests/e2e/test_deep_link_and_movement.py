"""A fresh server whose FIRST request is a deep link, and the Movement page, in a real browser.

app.py sets Streamlit's internal ``PagesManager.uses_pages_directory = False`` so that the
router (streamlit_app.py, st.navigation) runs even when the very first request of a new server
asks for /lookup: without it, Streamlit treats pages/ as a legacy multipage folder until some
session has called st.navigation, and would run pages/lookup.py alone, with its own file-name
navigation. Streamlit documents no public switch for this (its docs: "as soon as any session
executes st.navigation, your app will ignore the pages/ directory"), so this test is the guard:
it fails if an upgrade renames or drops the flag.
"""

from __future__ import annotations

import pytest

from core.cleaning import CleaningConfig, suggest_preset
from core.columns import resolve_mapping
from core.io import read_transactions
from core.rfm import Source
from tests.e2e.conftest import SAMPLE, no_exceptions, settle, shot, streamlit_server

# The router's navigation, in its order (streamlit_app.py PAGES titles).
NAV_TITLES = ["Data", "RFM", "Clusters", "Segments", "Movement", "Value", "Customer lookup"]
NAV_LINK = '[data-testid="stSidebarNavLink"]'


def _sample_rfm():
    dataset = read_transactions(SAMPLE)
    mapping = resolve_mapping(dataset.table, {}, dataset.name)
    return Source(dataset, mapping, CleaningConfig.preset(suggest_preset(mapping))).rfm().rfm


@pytest.fixture
def fresh_server(tmp_path, server):  # `server`: its Chromium check (skip or fail in CI)
    with streamlit_server(tmp_path / "models", tmp_path / "fresh_server.log") as url:
        yield url


def test_first_request_of_a_fresh_server_is_a_deep_link_and_gets_the_router(browser, fresh_server):
    rfm = _sample_rfm()
    customer = rfm.sort_values("customer_id").iloc[len(rfm) // 2]
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{fresh_server}/lookup?customer={customer['customer_id']}")
        settle(page)
        no_exceptions(page)
        # the router's sidebar: our navigation with every page, and the shared summary
        links = [t.strip() for t in page.locator(NAV_LINK).all_inner_texts()]
        assert links == NAV_TITLES
        assert page.locator('[data-testid="stSidebar"]').get_by_text("Loaded data").count() == 1
        # and the card of the linked customer
        page.get_by_text(f"Customer {customer['customer_id']}").first.wait_for()
        labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
        values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
        shown = {k.strip(): v.strip() for k, v in zip(labels, values)}
        assert shown["Monetary"] == f"{customer['monetary']:,.2f}"
        assert page.url.endswith(f"/lookup?customer={customer['customer_id']}")
    finally:
        context.close()


def test_unknown_customer_link_says_not_found_and_keeps_the_url(page, server):
    page.goto(f"{server}/lookup?customer=99999999")
    settle(page)
    no_exceptions(page)
    page.get_by_text("No customer '99999999' in the loaded data").first.wait_for()
    assert page.locator(".st-key-card_customer").count() == 0  # nobody else's card
    assert page.url.endswith("/lookup?customer=99999999")


def test_movement_page_shows_the_sankey_and_exports_one_move(page, server):
    page.goto(f"{server}/movement")
    settle(page)
    no_exceptions(page)
    page.get_by_text("Who moved where?").first.wait_for()
    page.locator(".sankey").first.wait_for()  # plotly draws a Sankey as <g class="sankey">
    assert page.locator(".sankey .sankey-node").count() > 2  # segments on both dates
    shot(page, "movement")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download these customers (CSV)").click()
    text = open(download.value.path(), encoding="utf-8").read().splitlines()
    assert text[0] == "customer_id,from_segment,to_segment,recency,frequency,monetary"
    caption = page.get_by_text("customers slipped from").first.inner_text()  # the default list
    assert int(caption.split()[0].replace(",", "")) == len(text) - 1 > 0
