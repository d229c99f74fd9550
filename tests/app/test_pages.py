"""Every page of the dashboard under AppTest, with values checked against core's computation."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from core.cleaning import CleaningConfig
from core.columns import ColumnMapping
from core.io import read_transactions
from core.rfm import Source
from core.segmentation import SegmentationModel
from tests.app.conftest import card_groups, charts, go, metric
from ui import session

PAGES = ("data", "rfm", "clusters", "segments", "movement", "lookup")


def test_sample_is_loaded_on_first_run(app, sample_rfm):
    assert app.session_state[session.SOURCE].origin == "sample"
    assert metric(app, "Customers") == f"{len(sample_rfm.rfm):,}"
    assert metric(app, "Rows read") == f"{sample_rfm.audit.rows_in:,}"
    assert not app.error
    audit = next(d.value for d in app.dataframe if "step" in d.value.columns)  # after the preview
    removed = dict(zip(audit["step"], audit["rows"]))
    what = dict(zip(audit["step"], audit["description"]))
    # shown as people say it: a positive count, the word "Removed" (the CSV audit keeps -405)
    assert (
        removed["stock_code_not_product"]
        == dict((n, c) for n, _, c in sample_rfm.audit.removed)["stock_code_not_product"]
        > 0
    )
    assert what["stock_code_not_product"] == "Removed: Stock code not a product"


@pytest.mark.parametrize("page", PAGES[1:])
def test_every_page_works_at_once(app, page):
    go(app, page)
    assert not app.error, [e.value for e in app.error]
    if page != "lookup":
        assert charts(app), f"no chart on {page}"


def test_rfm_page_figures_match_core(app, sample_rfm):
    go(app, "rfm")
    rfm = sample_rfm.rfm
    assert metric(app, "Customers") == f"{len(rfm):,}"
    assert metric(app, "Revenue") == f"{rfm['monetary'].sum():,.2f}"
    assert metric(app, "Median recency") == f"{rfm['recency'].median():,.0f} days"
    table = app.dataframe[0].value
    assert len(table) == len(rfm)
    assert table["monetary"].sum() == pytest.approx(rfm["monetary"].sum())
    app.toggle(key="rfm_log").set_value(True).run()
    assert not app.exception and len(charts(app)) == 2


def test_upload_with_unusual_columns_and_mapping_override(app, tmp_path):
    csv = (
        (
            "Client Ref;Order Stamp;Basket;Units;Each;Paid\n"
            "00017;2024-01-05 10:00;A1;2;5.00;10.00\n"
            "00017;2024-02-01 09:30;A2;1;7.50;7.50\n"
            "00042;2024-01-20 12:00;A3;3;2.00;6.00\n"
            "00042;2024-01-20 12:00;A3;1;4.00;4.00\n"
            "=cmd;2024-03-01 08:00;A4;1;1.00;1.00\n"
            "00099;2024-03-02 08:00;A5;0;3.00;0.00\n"
        )
        .replace(";", ",")
        .encode()
    )
    go(app, "data")
    app.file_uploader(key="upload").set_value(("shop.csv", csv, "text/csv")).run()
    assert not app.exception
    assert app.session_state[session.SOURCE].name == "shop.csv"
    assert any("cannot find the customer" in e.value for e in app.error)  # engine's message
    gen = app.session_state[session.GENERATION]
    overrides = {
        "customer": "Client Ref",
        "date": "Order Stamp",
        "invoice": "Basket",
        "quantity": "Units",
        "price": "Each",
    }
    for role, column in overrides.items():
        app.selectbox(key=f"map_{role}_{gen}").set_value(column)
    app.button(key="FormSubmitter:settings_form-Apply").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]

    path = tmp_path / "shop.csv"
    path.write_bytes(csv)
    dataset = read_transactions(path)
    expected = Source(
        dataset,
        ColumnMapping(**overrides).check(dataset.columns),
        CleaningConfig(rules=app.session_state[session.SETTINGS].rules),
    ).rfm()
    assert metric(app, "Customers") == f"{len(expected.rfm):,}" == "3"
    go(app, "rfm")
    table = app.dataframe[0].value.set_index("customer_id")
    assert table.loc["00017", "frequency"] == 2 and table.loc["00017", "monetary"] == 17.5
    assert table.loc["00042", "frequency"] == 1  # one basket, two lines
    pd.testing.assert_frame_equal(
        table.reset_index()[["customer_id", "recency", "frequency", "monetary"]].astype(
            {"customer_id": "string"}
        ),
        expected.rfm,
        check_dtype=False,
    )


def test_lookup_by_id_from_the_query_string(app, sample_rfm):
    rfm = sample_rfm.rfm
    customer = rfm.sort_values("monetary").iloc[len(rfm) // 2]
    app.query_params["customer"] = str(customer["customer_id"])
    go(app, "lookup")
    assert not app.error
    assert metric(app, "Recency") == f"{customer['recency']:,.0f} days"
    assert metric(app, "Frequency") == f"{customer['frequency']:,.0f}"
    assert metric(app, "Monetary") == f"{customer['monetary']:,.2f}"
    model = SegmentationModel().fit(rfm)
    expected = model.segment(rfm).set_index("customer_id").loc[customer["customer_id"], "segment"]
    assert card_groups(app) == [expected.replace("_", " ")]


def test_lookup_by_typed_values(app, sample_rfm):
    go(app, "lookup")
    app.number_input(key="typed_r").set_value(400.0)
    app.number_input(key="typed_f").set_value(1.0)
    app.number_input(key="typed_m").set_value(120.0)
    app.button(key="FormSubmitter:typed-Score").click().run()
    assert not app.exception and not app.error
    expected = SegmentationModel().fit(sample_rfm.rfm).explain(400, 1, 120)
    assert expected.segment.replace("_", " ") in card_groups(app)


def test_engine_error_is_shown_and_the_page_stays_usable(app, sample_rfm):
    gen = app.session_state[session.GENERATION]
    app.checkbox(key=f"as_of_latest_{gen}").uncheck()
    app.date_input(key=f"as_of_{gen}").set_value(dt.date(2009, 1, 1))
    app.button(key="FormSubmitter:settings_form-Apply").click().run()
    assert not app.exception
    assert any("no purchase on or before the as-of date 2009-01-01" in e.value for e in app.error)
    go(app, "rfm")  # other pages say the same, no traceback
    assert any("no purchase on or before the as-of date 2009-01-01" in e.value for e in app.error)
    go(app, "data")  # fix it: back to the latest purchase
    app.checkbox(key=f"as_of_latest_{gen}").check()
    app.button(key="FormSubmitter:settings_form-Apply").click().run()
    assert not app.error and metric(app, "Customers") == f"{len(sample_rfm.rfm):,}"


def test_segments_exports_and_sheet_switch(app):
    go(app, "segments")
    labels = [b.label for b in app.get("download_button")]
    assert "All customers: campaign table (CSV)" in labels
    assert "All customers: campaign table (Excel)" in labels
    assert "Download the report (HTML)" in labels
    go(app, "data")
    gen = app.session_state[session.GENERATION]
    app.selectbox(key=f"sheet_{gen}").set_value("Year 2010-2011").run()
    assert not app.exception and not app.error
    assert app.session_state[session.SETTINGS].sheet == "Year 2010-2011"


def test_open_a_file_from_the_server_data_folder(app, tmp_path, monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "big.csv").write_text(
        "customer_id,order_date,amount\na,2024-01-01,10\nb,2024-01-02,20\na,2024-01-03,5\n"
    )
    (folder / "notes.md").write_text("not data")
    monkeypatch.setenv("RFM_DATA_DIR", str(folder))
    go(app, "data")
    box = (
        app.selectbox[0]
        if app.selectbox[0].label == "File"
        else next(s for s in app.selectbox if s.label == "File")
    )
    assert box.options == ["big.csv"]  # only readable transaction files are offered
    app.button(key="FormSubmitter:server_file-Open").click().run()
    assert not app.exception and not app.error
    assert app.session_state[session.SOURCE].origin == "server"
    assert metric(app, "Customers") == "2"
