"""The Data page on platform exports (tests/platform_exports.py): the export profile stated and
changeable, a refused reading asked at its control, and the currency label after Apply."""

from __future__ import annotations

from tests import exports, platform_exports
from tests.app.conftest import go, metric
from ui import session

APPLY = "FormSubmitter:settings_form-Apply"


def _upload(app, path):
    go(app, "data")
    app.file_uploader(key="upload").set_value((path.name, path.read_bytes(), "text/csv")).run()
    assert not app.exception, [e.value for e in app.exception]


def _revenue(export) -> float:
    return sum(m for _, _, m in export.expected.values())


def test_woocommerce_upload_is_read_by_its_profile_and_can_be_read_without(app, tmp_path):
    export = platform_exports.woocommerce(tmp_path)
    _upload(app, export.path)
    assert not app.error, [e.value for e in app.error]
    gen = app.session_state[session.GENERATION]
    box = app.selectbox(key=f"profile_{gen}")
    assert box.format_func(box.value) == "recognised: WooCommerce orders export"
    assert metric(app, "Customers") == f"{len(export.expected):,}"
    assert metric(app, "Revenue") == f"£{_revenue(export):,.2f}"
    # the reading's sentences are in the summary of how the file was read (core.summary)
    said = " ".join(c.value for c in [*app.caption, *app.markdown]).replace("\\", "")
    assert "customers by e-mail" in said and "Order Total Amount" in said
    box.set_value("none").run()
    assert app.session_state[session.SETTINGS].profile == "none"
    assert not any("read as " in c.value for c in [*app.caption, *app.markdown])


def test_a_profile_date_format_is_kept_when_the_page_gives_its_mapping_back(app, tmp_path):
    """eBay writes 'Sep-02-24': the Data page passes the detected mapping back as settings,
    and the profile's date format still reads it (the records' customers and revenue)."""
    export = platform_exports.ebay(tmp_path)
    _upload(app, export.path)
    assert not app.error, [e.value for e in app.error]
    assert metric(app, "Customers") == f"{len(export.expected):,}"
    assert metric(app, "Revenue") == f"${_revenue(export):,.2f}"


def test_amazon_refusal_is_shown_and_a_chosen_customer_reads_it(app, tmp_path):
    export = platform_exports.amazon_all_orders(tmp_path)
    _upload(app, export.path)
    assert any("names no buyer" in e.value for e in app.error)
    gen = app.session_state[session.GENERATION]
    app.selectbox(key=f"map_customer_{gen}").set_value("ship-postal-code")
    app.button(key=APPLY).click().run()
    assert metric(app, "Customers") == f"{len(export.expected):,}"
    assert metric(app, "Revenue") == f"${_revenue(export):,.2f}"


def test_currency_label_after_apply_is_the_files_currency(app, tmp_path):
    go(app, "data")  # the sample (no currency) drew the picker first
    export = exports.shopify_orders(tmp_path)
    _upload(app, export.path)
    app.button(key=APPLY).click().run()
    revenue = metric(app, "Revenue")
    assert revenue == f"€{_revenue(export):,.2f}", revenue
    assert "FROM THE FILE" not in revenue.upper().replace("€", "")


def test_a_stored_control_label_is_never_taken_for_a_currency(monkeypatch):
    """Streamlit gives back a selectbox's shown label when that label has changed since it was
    sent ('from the file: not stated' before the file's currency was known): the stored choice
    is then text, which must not print as the currency ('66.45k FROM THE FILE: NOT STATED')."""
    from ui import render, session

    monkeypatch.setattr(render.st, "session_state", {session.CURRENCY_CHOICE: "from the file: not stated"})
    assert render.currency("EUR") == "EUR"
    monkeypatch.setattr(render.st, "session_state", {session.CURRENCY_CHOICE: "GBP"})
    assert render.currency("EUR") == "GBP"
    monkeypatch.setattr(render.st, "session_state", {session.CURRENCY_CHOICE: "none (plain numbers)"})
    assert render.currency("EUR") is None
