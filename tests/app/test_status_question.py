"""The Data page asks about an unknown status before any number (pre-filled, one click), and
offers the header row and the drop-duplicates switch; the figures then match the records
(tests/status_exports.py)."""

from __future__ import annotations

from core.statuses import NOT_SALE, SALE, normalise_status
from tests import status_exports
from tests.app.conftest import go, metric
from ui import session


def _upload(app, path, mime="text/csv"):
    go(app, "data")
    app.file_uploader(key="upload").set_value((path.name, path.read_bytes(), mime)).run()
    assert not app.exception, [e.value for e in app.exception]


def _rfm_page(app):
    go(app, "rfm")
    table = app.dataframe[0].value.set_index("customer_id")
    return {c: (int(r.recency), int(r.frequency), float(r.monetary)) for c, r in table.iterrows()}


def test_unknown_status_is_asked_before_any_number_then_the_figures_are_the_records(app, tmp_path):
    export = status_exports.woocommerce_orders(tmp_path, unknown=True, paid_also={status_exports.NEW_STATUS})
    _upload(app, export.path)
    assert not app.metric  # no number before the answer
    assert any("holds values this app does not know" in w.value for w in app.warning)
    answer = app.radio(key=f"status_answer_{normalise_status(status_exports.NEW_STATUS)}")
    assert answer.value == NOT_SALE  # pre-filled: revenue is not counted on a guess
    assert "2 lines" in answer.label and "243.50" in answer.label
    answer.set_value(SALE)
    app.button(key="FormSubmitter:status_question-Confirm").click().run()
    assert not app.error, [e.value for e in app.error]
    assert metric(app, "Customers") == f"{len(export.expected):,}"
    assert _rfm_page(app) == {c: (r, f, m) for c, (r, f, m) in export.expected.items()}
    summary = " ".join(m.value for m in go(app, "data").markdown)
    assert "Statuses" in summary and "Header row: row 1" in summary


def test_header_row_control_and_drop_duplicates(app, tmp_path):
    export = status_exports.sales_report(tmp_path)
    _upload(app, export.path)
    assert not app.error, [e.value for e in app.error]
    gen = app.session_state[session.GENERATION]
    assert app.number_input(key=f"header_row_{gen}").value == 4
    assert metric(app, "Customers") == f"{len(export.expected):,}"
    # read the header from row 1 (the title): no customer column is found, the page says so
    app.number_input(key=f"header_row_{gen}").set_value(1).run()
    assert app.session_state[session.SETTINGS].header_row == 1
    assert any("cannot find the customer" in e.value for e in app.error)
    # drop duplicates: a file valued by quantity x price with one line written twice
    path = tmp_path / "items.csv"
    path.write_text(
        "Invoice,StockCode,Quantity,InvoiceDate,Price,Customer ID\n"
        "536365,85123A,2,2010-12-01 08:26,2.55,17850\n"
        "536365,85123A,2,2010-12-01 08:26,2.55,17850\n"
    )
    _upload(app, path)
    gen = app.session_state[session.GENERATION]
    app.checkbox(key=f"drop_duplicates_{gen}").check()
    app.button(key="FormSubmitter:settings_form-Apply").click().run()
    assert not app.error, [e.value for e in app.error]
    assert _rfm_page(app) == {"17850": (0, 1, 5.10)}
