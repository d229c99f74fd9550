"""Movement page and the customer lookup's not-found and VIP card, under AppTest."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from core.cleaning import CleaningConfig, suggest_preset
from core.columns import resolve_mapping
from core.io import read_transactions
from core.rfm import Source
from core.scores import GOOD_SEGMENTS, LAPSING_SEGMENTS, score_cut_points, score_table
from core.segmentation import SegmentationModel
from tests.app.conftest import SAMPLE, charts, go, metric
from ui import session
from ui.models import DEFAULT_K


@pytest.fixture(scope="module")
def sample():
    dataset = read_transactions(SAMPLE)
    mapping = resolve_mapping(dataset.table, {}, dataset.name)
    return dataset, mapping, CleaningConfig.preset(suggest_preset(mapping))


def _named(sample, when: dt.datetime, cuts_at: dt.datetime | None = None) -> pd.Series:
    """Named segments at ``when``, on the cut points of the customers at ``cuts_at`` (default:
    its own)."""
    rfm = Source(*sample).rfm(when).rfm
    cuts = score_cut_points(Source(*sample).rfm(cuts_at or when).rfm)
    return pd.Series(score_table(rfm, cuts=cuts)["rfm_segment"].to_numpy(), index=rfm["customer_id"])


def test_movement_defaults_to_the_last_90_days_and_counts_match_two_point_in_time_runs(app, sample):
    go(app, "movement")
    assert not app.error, [e.value for e in app.error]
    last = Source(*sample).rfm().last_purchase  # the sample's latest purchase: 2010-12-09
    assert app.date_input(key="movement_to").value == last.date()
    assert app.date_input(key="movement_from").value == last.date() - dt.timedelta(days=90)
    end_of = lambda day: dt.datetime.combine(day, dt.time(23, 59, 59))  # noqa: E731
    start, end = end_of(last.date() - dt.timedelta(days=90)), end_of(last.date())
    before = _named(sample, start)
    for rescored, after in (
        (False, _named(sample, end, cuts_at=start)),  # the default: fixed
        (True, _named(sample, end)),
    ):
        app.toggle(key="movement_rescore").set_value(rescored).run()
        assert not app.exception
        new = int((~after.index.isin(before.index)).sum())
        kept = after[after.index.isin(before.index)]
        moved = int((before.reindex(kept.index) != kept).sum())
        assert metric(app, "New customers") == f"{new:,}"
        assert metric(app, "Moved to another segment") == f"{moved:,}"
        assert metric(app, "Stayed in their segment") == f"{len(after) - new - moved:,}"
        slipped = kept[
            before.reindex(kept.index).isin(GOOD_SEGMENTS).to_numpy() & kept.isin(LAPSING_SEGMENTS).to_numpy()
        ]
        assert metric(app, "Slipping") == f"{len(slipped):,}"
        # the default list: the slipping customers
        assert app.radio(key="movement_which").value == "Slipping away"
        assert sorted(app.dataframe[0].value["customer_id"]) == sorted(slipped.index)
    kinds = [c.proto.spec for c in charts(app)]
    assert any('"type":"sankey"' in spec.replace(" ", "") for spec in kinds)
    # the customers of the move chosen in the two boxes
    app.radio(key="movement_which").set_value("One move").run()
    app.selectbox(key="movement_pick_from").set_value("(none)")
    app.selectbox(key="movement_pick_to").set_value(after[~after.index.isin(before.index)].iloc[0])
    app.run()
    wanted = after[~after.index.isin(before.index)]
    wanted = sorted(wanted[wanted == wanted.iloc[0]].index)
    table = app.dataframe[0].value
    assert sorted(table["customer_id"]) == wanted


def test_movement_dates_in_the_wrong_order_say_so_next_to_the_control(app):
    go(app, "movement")
    app.date_input(key="movement_from").set_value(dt.date(2010, 12, 9)).run()
    assert not app.exception
    assert any("before the 'to' date" in e.value for e in app.error)


def test_movement_by_clusters_uses_the_model_in_use(app, sample):
    go(app, "movement")
    app.radio(key="movement_lens").set_value(f"fitted-k{DEFAULT_K}").run()  # the unsaved model
    assert not app.exception and not app.error
    model = SegmentationModel().fit(Source(*sample).rfm().rfm)
    # shown as people read them: no underscores
    names = {n.replace("_", " ") for n in model.names_} | {"Elite", "High Spender", "Power Shopper", "(none)"}
    assert set(app.selectbox(key="movement_pick_from").options) <= names


def test_unknown_customer_link_shows_not_found_and_the_closest_ids_and_no_card(app, sample_rfm):
    real = sorted(sample_rfm.rfm["customer_id"])[0]
    wanted = real + "9"  # not in the data, one character off a real ID
    app.query_params["customer"] = wanted
    go(app, "lookup")
    assert any(f"No customer '{wanted}'" in e.value for e in app.error)
    labels = [b.label for b in app.button]
    assert real in labels
    assert not [h for h in app.subheader if h.value.startswith("Customer")]  # nobody's card
    assert app.query_params["customer"] == [wanted] or app.query_params["customer"] == wanted
    # a suggestion opens that customer's card and links to it
    next(b for b in app.button if b.label == real).click().run()
    assert not app.exception
    row = sample_rfm.rfm.set_index("customer_id").loc[real]
    assert metric(app, "Monetary") == f"{row['monetary']:,.2f}"


def test_vip_card_says_why_in_words_with_the_upper_fence_and_no_raw_lower_fence(app, sample_rfm):
    rfm = sample_rfm.rfm
    segmented = SegmentationModel().fit(rfm).segment(rfm)
    vip = segmented[segmented["tier"].notna()].sort_values("monetary").iloc[-1]
    app.query_params["customer"] = vip["customer_id"]
    go(app, "lookup")
    texts = [m.value for m in app.markdown]
    assert any(t.startswith(f"**VIP tier: {vip['tier'].replace('_', ' ')}**") for t in texts)
    # fences by hand: Q1/Q3 (linear) -/+ 1.5 IQR over every customer; share strictly below
    q1, q3 = np.quantile(rfm["monetary"], [0.25, 0.75])
    below = (rfm["monetary"] < vip["monetary"]).mean() * 100
    why = f"spends more than {below:.0f}% of customers; above the upper fence of {q3 + 1.5 * (q3 - q1):,.2f}"
    assert any(why in t for t in texts), texts
    assert not any(f"{q1 - 1.5 * (q3 - q1):,.2f}" in t for t in texts)  # the negative lower fence
    assert not charts(app)  # no centroid-distance chart for a VIP
    actions = next(e for e in app.expander if e.label.startswith("What to do as a vip tier"))
    assert "this customer" in " ".join(m.value for m in actions.markdown)


# Three customers, one order each: monetary 10, 20, 30 -> quartiles 15 and 25, fences 0 and 40;
# frequency all 1 -> fences 1 and 1 (strict): nobody is a VIP, so 3 customers can be clustered.
TINY_CSV = (
    b"Customer ID,InvoiceDate,Invoice,Quantity,Price\n"
    b"c1,2024-01-05 10:00,1001,1,10.00\n"
    b"c2,2024-01-06 10:00,1002,2,10.00\n"
    b"c3,2024-01-07 10:00,1003,3,10.00\n"
)


def test_tiny_file_keeps_the_k_control_and_says_what_is_possible(app):
    go(app, "data")
    app.file_uploader(key="upload").set_value(("tiny.csv", TINY_CSV, "text/csv")).run()
    go(app, "clusters")
    assert any("fewer than k=4" in e.value for e in app.error)  # the default k=4 cannot fit
    assert any("3 customers can be clustered, so k can be 2 to 3" in i.value for i in app.info)
    control = app.number_input(key="retrain_k_small")
    assert (control.min, control.max, control.value) == (2, 3, 3)
    control.set_value(2)
    app.button(key="FormSubmitter:retrain_small-Train and save a version for this session").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert (
        "3 customers: 0 are VIP tiers (far outside the usual range, kept apart) and 3 are "
        "clustered into **2 groups**" in " ".join(m.value for m in app.markdown)
    )
    assert app.number_input(key="preview_k_input").value == 2  # the full page, k still reachable


def test_one_customer_file_explains_why_clustering_is_not_possible(app):
    go(app, "data")
    one = b"Customer ID,InvoiceDate,Invoice,Quantity,Price\nc1,2024-01-05 10:00,1001,1,10.00\n"
    app.file_uploader(key="upload").set_value(("one.csv", one, "text/csv")).run()
    go(app, "clusters")
    assert any("Clustering is not possible here: 1 of 1 customers" in i.value for i in app.info)


def test_movement_uses_the_grid_edited_on_the_segments_page(app):
    from core.scores import default_grid

    grid = default_grid()
    grid["5"] = ["Fresh"] * 5  # every r_score 5 customer is 'Fresh' under this grid
    app.session_state[session.SEGMENT_GRID] = grid
    go(app, "movement")
    assert not app.error, [e.value for e in app.error]
    app.radio(key="movement_which").set_value("One move").run()
    names = set(app.selectbox(key="movement_pick_to").options)
    assert "Fresh" in names and "Champions" not in names and "New Customers" not in names


def test_lookup_leads_with_the_question_and_the_action_before_the_statistics(app, sample_rfm):
    rfm = sample_rfm.rfm
    segmented = SegmentationModel().fit(rfm).segment(rfm)
    clustered = segmented[segmented["tier"].isna()].iloc[0]
    app.query_params["customer"] = str(clustered["customer_id"])
    go(app, "lookup")
    assert not app.error, [e.value for e in app.error]
    texts = [m.value for m in app.markdown]
    assert "#### Who is this customer, and what should I do?" in texts
    # the named segment and its actions first, then the cluster and why
    scored = score_table(rfm).set_index("customer_id")
    named = scored.loc[clustered["customer_id"], "rfm_segment"]
    first = texts.index(f"##### {named}".replace("'", "'"))
    assert first < texts.index(f"**What to do with {named}**".replace("'", "'"))
    cluster_line = next(i for i, t in enumerate(texts) if t.startswith("**Cluster: "))
    assert first < cluster_line
    assert texts[cluster_line].startswith(f"**Cluster: {clustered['segment'].replace('_', ' ')}**")
    how = [e for e in app.expander if e.label.startswith("What to do as a cluster")]
    assert len(how) == 1 and len(how[0].get("plotly_chart")) == 1  # distances folded away
