"""The Data page on real export shapes (tests/exports.py): the numbers of the hand-made files,
the preview beside the mapping, undecidable values marked at their control, status values."""

from __future__ import annotations

from tests import exports
from tests.app.conftest import go, metric
from ui import session


def _upload(app, path, mime="text/csv"):
    go(app, "data")
    app.file_uploader(key="upload").set_value((path.name, path.read_bytes(), mime)).run()
    assert not app.exception, [e.value for e in app.exception]


def test_shopify_export_gives_the_hand_computed_rfm(app, tmp_path):
    export = exports.shopify_orders(tmp_path)
    _upload(app, export.path)
    assert not app.error, [e.value for e in app.error]
    assert metric(app, "Customers") == f"{len(export.expected):,}"
    # the preview shows the file's first rows as written, the multi-line product name included
    preview = next(d.value for d in app.dataframe if "Lineitem name" in d.value.columns)
    assert preview["Lineitem name"].tolist()[1] == "Gift set\n(3 pieces, boxed)"
    # the status values with which ones count, and the list is editable
    status = next(d.value for d in app.dataframe if "status" in d.value.columns)
    assert dict(zip(status["status"], status["counts as a sale"])) == {
        "paid": True,
        "refunded": False,
        "pending": False,
        "voided": False,
    }
    gen = app.session_state[session.GENERATION]
    box = app.multiselect(key=f"not_sale_{gen}")
    box.set_value([v for v in box.value if v != "refunded"])
    app.button(key="FormSubmitter:settings_form-Apply").click().run()
    assert not app.error, [e.value for e in app.error]
    # ben's refunded 99.00 now counts: ben has two orders
    go(app, "rfm")
    table = app.dataframe[0].value.set_index("customer_id")
    assert table.loc["ben@example.com", "monetary"] == 119.00
    assert table.loc["ben@example.com", "frequency"] == 2
    assert any("amount column 'Total'" in c.value for c in go(app, "data").caption)


def test_number_column_written_both_ways_is_marked_at_the_decimal_control(app, tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text('cust,order_date,amount\na,2024-01-01,"12,50"\nb,2024-01-02,3.75\na,2024-01-03,"1,25"\n')
    _upload(app, path)
    assert any(
        "writes numbers both ways" in e.value and "choose the decimal mark here" in e.value for e in app.error
    )
    assert not any("command line" in e.value for e in app.error)  # no CLI advice in the app
    gen = app.session_state[session.GENERATION]
    app.selectbox(key=f"decimal_{gen}").set_value(",")
    app.button(key="FormSubmitter:settings_form-Apply").click().run()
    assert not app.error, [e.value for e in app.error]
    # comma: a = 12.50 + 1.25 over two dates; 3.75 does not fit a comma number: unparseable
    go(app, "rfm")
    table = app.dataframe[0].value.set_index("customer_id")
    assert list(table.index) == ["a"] and table.loc["a", "monetary"] == 13.75


def test_missing_customer_is_marked_at_its_selectbox_and_a_failed_upload_says_why(app, tmp_path):
    path = tmp_path / "nobody.csv"
    path.write_text("something,order_date,amount\nx,2024-01-01,3.00\n")
    _upload(app, path)
    errors = [e.value for e in app.error]
    assert any(
        "nobody.csv: cannot find the customer column; choose the column that identifies" in e for e in errors
    ), errors
    assert not any("command line" in e for e in errors)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    _upload(app, empty)
    assert any("empty.csv: the file is empty" in e.value for e in app.error)


def test_the_page_leads_with_the_reading_decisions_in_plain_words(app, tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text(
        "Customer,Order,Date,Quantity,Price,Currency\n"
        "c1,1001,2024-03-01,2,10.00,EUR\n"
        "c1,1002,2024-03-05,1,1500.00,EUR\n"
        "c2,1003,2024-03-10,0,99.00,EUR\n"  # quantity 0: left out
        "c2,1004,2024-03-11,3,5.00,EUR\n"
    )
    _upload(app, path)
    assert not app.error, [e.value for e in app.error]
    # by hand: c1 = 2*10 + 1500 = 1520, c2 = 3*5 = 15; 4 rows read, 3 kept, 2 customers
    assert metric(app, "Rows read") == "4" and metric(app, "Rows kept") == "3"
    assert metric(app, "Customers") == "2"
    assert metric(app, "Revenue") == "€1,535.00"
    lead = next(m.value for m in app.markdown if m.value.startswith("- **Customers**"))
    text = lead.replace("\\", "")
    assert "told apart by the column *Customer*" in text
    assert "from 2024-03-01 to 2024-03-11" in text
    assert "counted by the invoice column *Order*" in text
    assert "1 of 4 rows (25%): 1 quantity <= 0" in text
    assert "in EUR" in text
    assert "IQR" not in text and "standardised" not in text


def test_the_lead_names_the_decimal_mark_decided_for_text_numbers(app, tmp_path):
    path = tmp_path / "erp.csv"
    path.write_text(
        "Kundennummer;Datum;Betrag\nK1;03.01.2024;12,50\nK2;15.01.2024;1.249,00\n", encoding="cp1252"
    )
    _upload(app, path)
    assert not app.error, [e.value for e in app.error]
    # by hand: 12,50 + 1.249,00 read with a decimal comma = 1,261.50
    assert metric(app, "Revenue") == "1,261.50"
    lead = next(m.value for m in app.markdown if m.value.startswith("- **Customers**"))
    text = lead.replace("\\", "")
    assert "'Betrag': decimal comma" in text
    assert "'Datum': dates day-first" in text
