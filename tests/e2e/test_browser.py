"""The dashboard in a real browser against the real server, plus the API over HTTP."""

from __future__ import annotations

import re

import httpx

from core.cleaning import CleaningConfig, suggest_preset
from core.columns import resolve_mapping
from core.io import read_transactions
from core.rfm import Source
from core.segmentation import SegmentationModel
from core.store import ModelStore
from tests.e2e.conftest import SAMPLE, nav, no_exceptions, settle, shot


def _rfm(source):
    dataset = read_transactions(source)
    mapping = resolve_mapping(dataset.table, {}, dataset.name)
    return Source(dataset, mapping, CleaningConfig.preset(suggest_preset(mapping))).rfm().rfm


def _metrics(page) -> dict[str, str]:
    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    return {label.strip(): value.strip() for label, value in zip(labels, values)}


def _card_group(page) -> str:
    """The VIP tier or cluster the card names ('Cluster: Regular (model ...)' -> 'Regular')."""
    text = page.locator(".st-key-card_customer").inner_text()
    return re.search(r"(?:VIP tier|Cluster): ([^\n(]+)", text).group(1).strip()


def test_upload_visit_every_page_retrain_lookup_and_score(page, server, retail_csv, model_dir):
    rfm = _rfm(retail_csv)
    page.goto(server)
    settle(page)
    no_exceptions(page)
    assert "online_retail_II_sample.xlsx" in page.inner_text('[data-testid="stSidebar"]')

    # upload through the real <input type=file>
    page.locator('input[type="file"]').first.set_input_files(str(retail_csv))
    settle(page, 120)
    page.get_by_text("Loaded: retail_2011.csv").wait_for()
    no_exceptions(page)
    assert _metrics(page)["Customers"] == f"{len(rfm):,}"
    shot(page, "data")

    nav(page, "RFM")
    no_exceptions(page)
    assert page.locator(".js-plotly-plot").count() >= 2
    assert _metrics(page)["Customers"] == f"{len(rfm):,}"
    shot(page, "rfm")

    nav(page, "Clusters")
    no_exceptions(page)
    page.get_by_text("How this was computed").first.click()  # the k-sweep's statistics
    page.locator(".js-plotly-plot").nth(3).wait_for()  # elbow, metrics, 3D scatter, violins
    assert page.locator(".js-plotly-plot").count() >= 4
    shot(page, "clusters", height=3000)
    # preview (nothing saved), then save and make current
    k_input = page.get_by_label("k (clusters)", exact=True)
    k_input.fill("3")
    page.get_by_role("button", name="Preview").click()
    settle(page, 120)
    page.get_by_text("customers would change segment").wait_for()
    no_exceptions(page)
    store = ModelStore(model_dir)
    assert store.versions() == [] and store.current() is None
    page.get_by_text("Also make it current for everyone").click()
    page.get_by_role("button", name="Save the k=3 preview as a new version").click()
    settle(page, 120)
    page.get_by_text("and made it current").wait_for()
    no_exceptions(page)
    version = store.current()
    assert version is not None and store.manifest(version)["config"]["k"] == 3

    nav(page, "Segments")
    no_exceptions(page)
    assert page.locator(".js-plotly-plot").count() >= 2
    shot(page, "segments")

    # lookup in the same session: type the ID into the select box
    customer = rfm.sort_values("monetary", ascending=False).iloc[5]
    nav(page, "Customer lookup")
    box = page.locator('[data-testid="stSelectbox"]').first
    box.click()
    page.keyboard.type(str(customer["customer_id"]))
    page.keyboard.press("Enter")
    settle(page)
    no_exceptions(page)
    page.get_by_text(f"Customer {customer['customer_id']}").first.wait_for()
    shown = _metrics(page)
    assert shown["Recency"] == f"{customer['recency']:,.0f} days"
    assert shown["Frequency"] == f"{customer['frequency']:,.0f}"
    assert shown["Monetary"] == f"{customer['monetary']:,.2f}"
    model, _ = store.load(version)
    group = _card_group(page)
    assert group == model.segment(rfm).set_index("customer_id").loc[
        customer["customer_id"], "segment"
    ].replace("_", " ")
    shot(page, "lookup")

    # the API scores with the version just saved
    response = httpx.post(
        server + "/api/score",
        json={
            "recency": float(customer["recency"]),
            "frequency": float(customer["frequency"]),
            "monetary": float(customer["monetary"]),
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"] == version and body["segment"].replace("_", " ") == group
    json_type = {"content-type": "application/json"}
    assert httpx.post(server + "/api/score", content=b"{oops", headers=json_type).status_code == 400
    assert httpx.post(server + "/api/score", content=b"{oops").status_code == 415  # no JSON type
    # on the real server too, other methods get a JSON 405, not Streamlit's page
    for method in ("GET", "PUT", "DELETE"):
        other = httpx.request(method, server + "/api/score")
        assert other.status_code == 405 and "is not allowed" in other.json()["error"]
    assert httpx.get(server + "/api/nothing").status_code == 404
    assert (
        httpx.post(server + "/api/score", json={"recency": -3, "frequency": 1, "monetary": 1}).status_code
        == 422
    )
    assert httpx.get(server + "/api/health").json()["model_version"] == version


def test_customer_link_opens_the_card_in_a_new_session(browser, server):
    rfm = _rfm(SAMPLE)  # a new session starts on the bundled sample
    customer = rfm.sort_values("customer_id").iloc[len(rfm) // 3]
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{server}/lookup?customer={customer['customer_id']}")
        settle(page)
        no_exceptions(page)
        page.get_by_text(f"Customer {customer['customer_id']}").first.wait_for()
        shown = _metrics(page)
        assert shown["Recency"] == f"{customer['recency']:,.0f} days"
        assert shown["Monetary"] == f"{customer['monetary']:,.2f}"
        expected = (
            SegmentationModel()
            .fit(rfm)
            .explain(customer["recency"], customer["frequency"], customer["monetary"])
        )
        # the model saved by the other test was trained on other data, so it is not used here
        assert _card_group(page) == expected.segment.replace("_", " ")
    finally:
        context.close()
