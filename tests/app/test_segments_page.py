"""Segments and RFM pages on a Shopify-style upload: named segments worked out by hand, the
file's currency on money figures, an edited grid, campaign exports with the e-mail column."""

from __future__ import annotations

from core.scores import DEFAULT_GRID
from tests.app.conftest import card_groups, go, metric
from ui import session

# Five customers (e-mail = customer): as of 2024-03-10, recency A 0, B 5, C 1, D 60, E 30;
# orders A 2, B 1, C 3, D 1, E 1; spend A 40, B 20, C 200, D 5, E 20 (total 285).
# Scores by hand (see tests/cli/test_cli_sample.py): r A5 B3 C4 D1 E2, f A4 B1 C5 D1 E1,
# m A4 B2 C5 D1 E2 -> fm A4 B2 C5 D1 E2 -> A Champions, B About to Sleep, C Loyal,
# D Hibernating, E Hibernating.
SHOP = b"""Name,Email,Currency,Total,Created at,Lineitem quantity,Lineitem name,Lineitem price,Billing Name
#1,a@shop.io,EUR,10,2024-03-10,1,Mug,10,Ann
#2,a@shop.io,EUR,30,2024-03-10,1,Pot,30,Ann
#3,b@shop.io,EUR,20,2024-03-05,2,Card,10,Bob
#4,c@shop.io,EUR,100,2024-03-01,1,Lamp,100,Cyd
#5,c@shop.io,EUR,50,2024-03-08,1,Vase,50,Cyd
#6,c@shop.io,EUR,50,2024-03-09,1,Vase,50,Cyd
#7,d@shop.io,EUR,5,2024-01-10,1,Pen,5,Dee
#8,e@shop.io,EUR,20,2024-02-09,1,Soap,20,
"""


def _load_shop(app):
    go(app, "data")
    app.file_uploader(key="upload").set_value(("orders_export.csv", SHOP, "text/csv")).run()
    gen = app.session_state[session.GENERATION]
    app.selectbox(key=f"map_customer_{gen}").set_value("Email")
    app.selectbox(key=f"map_invoice_{gen}").set_value("Name")
    app.button(key="FormSubmitter:settings_form-Apply").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]


def _named_table(app):
    return next(d.value for d in app.dataframe if "rfm_segment" in d.value.columns)


def test_named_segments_currency_and_exports_by_hand(app):
    _load_shop(app)
    go(app, "segments")
    assert not app.error, [e.value for e in app.error]
    assert metric(app, "Champions") == "1"
    assert metric(app, "Slipping away") == "0"
    assert metric(app, "Revenue") == "€285.00"  # the file's Currency column
    named = _named_table(app).set_index("rfm_segment")
    assert named["customers"].to_dict() == {
        "Champions": 1,
        "Loyal": 1,
        "Potential Loyalist": 0,
        "New Customers": 0,
        "Promising": 0,
        "Need Attention": 0,
        "About to Sleep": 1,
        "At Risk": 0,
        "Can't Lose Them": 0,
        "Hibernating": 2,
    }
    # Loyal is C alone: 200 of 285
    assert round(named.loc["Loyal", "revenue_share"], 4) == round(200 / 285, 4)
    assert named.loc["Hibernating", "revenue"] == 25.0
    # exports: the e-mail column is suggested, and the e-mail-tool file is offered
    assert app.multiselect(key="export_columns").value == ["Email", "Billing Name"]
    labels = [b.label for b in app.get("download_button")]
    assert "All customers: for your e-mail tool (CSV, Email first)" in labels
    app.selectbox(key="export_segment").set_value("Hibernating").run()
    labels = [b.label for b in app.get("download_button")]
    assert "Hibernating: campaign table (CSV)" in labels


def test_an_edited_grid_renames_segments_on_every_page(app):
    _load_shop(app)
    go(app, "segments")
    edited = {r: list(row) for r, row in DEFAULT_GRID.items()}
    edited["1"][0] = "Gone"  # D sits at (r 1, fm 1)
    app.session_state[session.SEGMENT_GRID] = edited
    app.run()
    assert not app.exception
    named = _named_table(app).set_index("rfm_segment")
    assert named.loc["Gone", "customers"] == 1 and named.loc["Hibernating", "customers"] == 1
    go(app, "rfm")
    table = app.dataframe[0].value.set_index("customer_id")
    assert table.loc["d@shop.io", "rfm_segment"] == "Gone"
    assert table.loc["a@shop.io", ["r_score", "f_score", "m_score"]].tolist() == [5, 4, 4]
    assert metric(app, "Revenue") == "€285.00"
    # back to the standard grid
    go(app, "segments")
    app.button(key="grid_reset").click().run()
    assert session.SEGMENT_GRID not in app.session_state
    assert _named_table(app).set_index("rfm_segment").loc["Hibernating", "customers"] == 2


def test_currency_can_be_chosen(app):
    _load_shop(app)
    go(app, "rfm")
    app.selectbox(key="currency_widget").set_value("GBP").run()
    assert metric(app, "Revenue") == "£285.00"
    go(app, "data")  # a page without the control: the choice is kept
    go(app, "segments")
    assert metric(app, "Revenue") == "£285.00"
    app.query_params["customer"] = "c@shop.io"
    go(app, "lookup")
    assert metric(app, "Monetary") == "£200.00"
    go(app, "rfm")
    app.selectbox(key="currency_widget").set_value("none (plain numbers)").run()
    assert metric(app, "Revenue") == "285.00"


def test_a_vip_card_shows_the_fences_not_centroid_distances(app, sample_rfm):
    from core.segmentation import SegmentationModel

    rfm = sample_rfm.rfm
    segmented = SegmentationModel().fit(rfm).segment(rfm)
    elite = segmented[segmented["tier"] == "Elite"].iloc[0]
    app.query_params["customer"] = str(elite["customer_id"])
    go(app, "lookup")
    assert card_groups(app) == ["Elite"]
    assert app.get("plotly_chart") == []  # no distance-to-centroid chart
    assert any("above the upper fence of" in m.value.replace("\\", "") for m in app.markdown)
    clustered = segmented[segmented["tier"].isna()].iloc[0]
    app.selectbox(key="lookup_id").set_value(str(clustered["customer_id"])).run()
    assert len(app.get("plotly_chart")) == 1  # a clustered customer keeps it


def test_an_edited_grid_is_saved_with_a_new_model_version(app, model_dir):
    from core.store import ModelStore

    go(app, "segments")
    edited = {r: list(row) for r, row in DEFAULT_GRID.items()}
    edited["5"][4] = "Stars"
    app.session_state[session.SEGMENT_GRID] = edited
    app.run()
    app.button(key="grid_save").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    store = ModelStore(model_dir)
    versions = [v.version for v in store.versions()]
    assert len(versions) == 1 and store.current() is None  # saved, not made current for everyone
    version = versions[0]
    assert any(version in s.value for s in app.success)
    model, _ = store.load(version)
    assert model.segment_grid == edited
    assert model.config.k == 4
    # with the session's edit gone, the page uses the grid saved with the version in use
    app.session_state[session.SEGMENT_GRID] = None
    del app.session_state[session.SEGMENT_GRID]
    app.run()
    named = _named_table(app).set_index("rfm_segment")
    assert "Stars" in named.index


def test_the_grid_editor_table_round_trips_and_names_a_bad_cell():
    import pytest

    from core.errors import ConfigError
    from ui.marketing import grid_from_table, grid_table

    table = grid_table(DEFAULT_GRID)
    assert list(table.index) == ["R 5", "R 4", "R 3", "R 2", "R 1"]
    assert table.loc["R 5", "FM 1"] == "New Customers" and table.loc["R 1", "FM 5"] == "Can't Lose Them"
    assert grid_from_table(table) == DEFAULT_GRID
    table.loc["R 3", "FM 3"] = "Champions"
    assert grid_from_table(table)["3"] == ["About to Sleep", "About to Sleep", "Champions", "Loyal", "Loyal"]
    table.loc["R 2", "FM 4"] = None
    with pytest.raises(ConfigError, match="r_score 2, fm 4 is empty"):
        grid_from_table(table)
