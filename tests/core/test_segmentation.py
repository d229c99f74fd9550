"""core.segmentation: the fitted model's segment() and explain(), and its validation."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from core.clustering import FEATURES
from core.errors import ConfigError
from core.segmentation import SegmentationConfig, SegmentationModel, fingerprint, validate_rfm_values

# Nine customers, the same as tests/core/test_outliers.py::test_tiers_elite_high_spender_power_shopper:
# monetary fences [60, 220] (Q1 120, Q3 160), frequency fences [-1, 7] (Q1 2, Q3 4);
# G is a Power_Shopper, H Elite, I a High_Spender; A..F are clustered.
NINE = pd.DataFrame(
    {
        "customer_id": list("ABCDEFGHI"),
        "recency": [1, 2, 3, 200, 210, 220, 5, 6, 7],
        "frequency": [1, 2, 2, 3, 3, 3, 40, 50, 4],
        "monetary": [100.0, 110.0, 120.0, 130.0, 140.0, 150.0, 160.0, 5000.0, 6000.0],
    }
)


@pytest.fixture(scope="module")
def nine_model():
    return SegmentationModel(SegmentationConfig(k=2)).fit(NINE)


def test_segment_puts_tiers_aside_and_clusters_the_rest(nine_model):
    out = nine_model.segment(NINE)
    assert list(out.columns) == ["customer_id", *FEATURES, "tier", "cluster", "segment"]
    by_id = out.set_index("customer_id")
    assert by_id.loc["G", "segment"] == "Power_Shopper"
    assert by_id.loc["H", "segment"] == "Elite"
    assert by_id.loc["I", "segment"] == "High_Spender"
    assert by_id.loc[["G", "H", "I"], "cluster"].isna().all()
    assert by_id.loc[list("ABCDEF"), "tier"].isna().all()
    # k=2 on A..F: recency 1-3 versus 200-220 splits them; the recent three are Regular
    # (the only non-lapsed cluster at k=2), the old three Lapsed.
    assert by_id.loc[list("ABC"), "segment"].tolist() == ["Regular"] * 3
    assert by_id.loc[list("DEF"), "segment"].tolist() == ["Lapsed"] * 3
    assert by_id.loc["A", "cluster"] != by_id.loc["D", "cluster"]
    assert nine_model.metrics_["tiers"] == {"Power_Shopper": 1, "Elite": 1, "High_Spender": 1}
    assert (nine_model.metrics_["customers"], nine_model.metrics_["clustered"]) == (9, 6)


def test_explain_a_high_spender_names_the_monetary_fence(nine_model):
    result = nine_model.explain(recency=1, frequency=3, monetary=5000)
    assert (result.segment, result.tier, result.cluster) == ("High_Spender", "High_Spender", None)
    assert result.reasons[0] == "monetary 5,000.00 is above the fence 220.00 (Q1 120.00, Q3 160.00)"
    assert "outside the IQR fence on monetary" in result.reasons[-1]
    assert result.actions and all(isinstance(a, str) and a for a in result.actions)


def test_explain_a_power_shopper_and_an_elite(nine_model):
    power = nine_model.explain(recency=3, frequency=8, monetary=150)
    assert power.segment == "Power_Shopper"
    assert power.reasons[0] == "frequency 8.00 is above the fence 7.00 (Q1 2.00, Q3 4.00)"
    elite = nine_model.explain(recency=3, frequency=8, monetary=220.5)
    assert elite.segment == "Elite"
    assert elite.reasons[:2] == (
        "monetary 220.50 is above the fence 220.00 (Q1 120.00, Q3 160.00)",
        "frequency 8.00 is above the fence 7.00 (Q1 2.00, Q3 4.00)",
    )
    assert "on monetary and frequency" in elite.reasons[2]
    # exactly on both fences: inside, so clustered
    assert nine_model.explain(recency=3, frequency=7, monetary=220).tier is None


def test_explain_a_clustered_customer_gives_distances_to_every_centroid(blob_model):
    r, f, m = 30.0, 5.0, 1100.0
    result = blob_model.explain(r, f, m)
    # distances recomputed through the sklearn pipeline: scale, then Euclidean distance
    one = pd.DataFrame([[r, f, m]], columns=list(FEATURES))
    z = blob_model.pipeline.named_steps["scale"].transform(one)[0]
    centres = blob_model.pipeline.named_steps["kmeans"].cluster_centers_
    expected = np.sqrt(((centres - z) ** 2).sum(axis=1))
    assert set(result.distances) == set(blob_model.names_)
    for name, distance in zip(blob_model.names_, expected):
        assert result.distances[name] == pytest.approx(distance, rel=1e-9)
    nearest = int(np.argmin(expected))
    assert result.cluster == nearest == int(blob_model.pipeline.predict(one)[0])
    assert result.segment == blob_model.names_[nearest] == "Regular"
    assert result.tier is None
    assert result.segment == min(result.distances, key=result.distances.get)
    assert "nearest centroid is Regular" in result.reasons[1]
    json.dumps(result.to_dict())  # JSON-able, as `score --json` prints it


@pytest.mark.parametrize(
    "values,message",
    [
        ((-1, 2, 10), "recency must be 0 or more, got -1"),
        ((1, 2, -0.01), "monetary must be 0 or more, got -0.01"),
        (("abc", 2, 10), "recency must be a number, got 'abc'"),
        ((1, None, 10), "frequency must be a number, got None"),
        ((1, 2, float("nan")), "monetary must be a finite number"),
        ((1, 2, "nan"), "monetary must be a finite number"),
        ((float("inf"), 2, 10), "recency must be a finite number"),
        ((1, True, 10), "frequency must be a finite number"),
        ((1, 0, 10), "frequency must be at least 1"),
    ],
)
def test_explain_refuses_bad_values(blob_model, values, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        blob_model.explain(*values)


def test_validate_accepts_numeric_text():
    assert validate_rfm_values("3", "2", "19.5") == (3.0, 2.0, 19.5)


def test_summary_is_json_and_names_every_cluster(blob_model):
    summary = json.loads(json.dumps(blob_model.summary()))
    assert summary["cluster_names"] == blob_model.names_
    assert [c["segment"] for c in summary["centroids"]] == blob_model.names_
    assert summary["config"]["k"] == 4
    assert math.isfinite(summary["metrics"]["silhouette"])


def test_fingerprint_follows_content():
    same = fingerprint(NINE.copy())
    assert same == fingerprint(NINE)
    changed = NINE.copy()
    changed.loc[0, "monetary"] = 100.01
    assert fingerprint(changed) != same


# -- fitting is all or nothing ---------------------------------------------------------------
def test_failed_refit_leaves_the_fitted_model_as_it_was(blobs):
    model = SegmentationModel(SegmentationConfig(k=4, n_init=2)).fit(blobs)
    before = (model.names_, model.centroids_scaled_.copy(), model.fences, model.metrics_)
    with pytest.raises(ConfigError, match="fewer than k=4"):
        model.fit(blobs.head(3))
    assert model.fitted
    assert model.names_ == before[0] and model.fences == before[2] and model.metrics_ == before[3]
    np.testing.assert_array_equal(model.centroids_scaled_, before[1])
    fresh = SegmentationModel(SegmentationConfig(k=4))
    with pytest.raises(ConfigError):
        fresh.fit(blobs.head(3))
    assert not fresh.fitted and not hasattr(fresh, "names_")


def test_defaults_come_from_one_config():
    from core import clustering
    from core.config import DEFAULTS

    assert (DEFAULTS.k, DEFAULTS.random_state, DEFAULTS.max_iter, DEFAULTS.n_init) == (4, 42, 1000, 10)
    assert (clustering.FIT_SAMPLE, clustering.SILHOUETTE_SAMPLE) == (50_000, 10_000)
    kmeans = clustering.make_pipeline(DEFAULTS.k).named_steps["kmeans"]
    assert (kmeans.random_state, kmeans.max_iter, kmeans.n_init) == (42, 1000, 10)
    assert SegmentationModel().config == DEFAULTS


# -- the saved form ----------------------------------------------------------------------------
def test_to_dict_from_dict_round_trip_is_exact(blob_model, blobs):
    text = json.dumps(blob_model.to_dict())
    loaded = SegmentationModel.from_dict(json.loads(text))
    pd.testing.assert_frame_equal(loaded.segment(blobs), blob_model.segment(blobs), check_exact=True)
    for values in ((40, 5, 1200), (1, 200, 1e6), (400, 1, 10)):
        assert loaded.explain(*values).to_dict() == blob_model.explain(*values).to_dict()
    pd.testing.assert_frame_equal(loaded.centroids_, blob_model.centroids_)
    assert not hasattr(loaded, "pipeline")  # numbers only: nothing of sklearn travels


def test_apply_model_matches_sklearn_and_the_fences(blob_model, blobs):
    from core.segmentation import apply_model

    numbers = {
        "fences": blob_model.fences,
        "mean": blob_model.mean_,
        "scale": blob_model.scale_,
        "centroids_scaled": blob_model.centroids_scaled_,
        "names": blob_model.names_,
    }
    values = blobs[list(FEATURES)].to_numpy(dtype=float)
    applied = apply_model(*values.T, **numbers)
    assert (applied.tier == "").all()  # the blobs sit inside both fences
    predicted = blob_model.pipeline.predict(blobs[list(FEATURES)])
    np.testing.assert_array_equal(applied.cluster, predicted)
    assert applied.segment.tolist() == [blob_model.names_[c] for c in predicted]
    z = blob_model.pipeline.named_steps["scale"].transform(blobs[list(FEATURES)])
    centers = blob_model.pipeline.named_steps["kmeans"].cluster_centers_
    expected = ((z[:, None, :] - centers[None]) ** 2).sum(axis=2)
    np.testing.assert_allclose(np.column_stack(applied.squared), expected, rtol=1e-12)
    fence_m, fence_f = blob_model.fences["monetary"], blob_model.fences["frequency"]
    edge = np.array(
        [
            [1, fence_f.high, fence_m.high],
            [1, fence_f.high, fence_m.high + 1],
            [1, fence_f.high + 1, fence_m.high],
            [1, fence_f.high + 1, fence_m.high + 1],
            [1, fence_f.low - 1, fence_m.low - 1],
        ]
    )
    applied = apply_model(*edge.T, **numbers)
    assert applied.tier.tolist() == ["", "High_Spender", "Power_Shopper", "Elite", ""]
    assert applied.cluster.tolist()[1:4] == [-1, -1, -1] and applied.cluster[0] >= 0
    assert applied.cluster[4] >= 0  # below both lower fences: clustered, not a VIP
    assert applied.segment.tolist()[1:4] == ["High_Spender", "Power_Shopper", "Elite"]


LOW = pd.DataFrame(
    {
        "customer_id": [f"c{i}" for i in range(10)],
        "recency": [5, 6, 7, 8, 9, 100, 110, 120, 130, 140],
        "frequency": [3] * 9 + [1],
        "monetary": [100, 102.5, 105, 107.5, 110, 112.5, 115, 117.5, 120, 5.0],
    }
)


def test_customers_below_the_lower_fences_are_clustered_not_vips():
    # Issue 20 item 5: c9 spends 5.00 among 100-120 (below the monetary low fence 86.25) and
    # bought once among three-order customers (below the frequency fences [3, 3]). Before,
    # it was "Elite" (outside both fences); a VIP is above the upper fence only.
    model = SegmentationModel(SegmentationConfig(k=2)).fit(LOW)
    assert model.fences["monetary"].low == 86.25 and model.fences["frequency"].low == 3.0
    out = model.segment(LOW).set_index("customer_id")
    assert out["tier"].isna().all() and out["cluster"].notna().all()
    assert model.metrics_["tiers"] == {} and model.metrics_["clustered"] == 10
    low = model.explain(140, 1, 5.0)
    assert low.tier is None and low.segment in model.names_
    assert "account manager" not in " ".join(low.actions)  # no VIP actions
    spender = model.explain(140, 3, 5.0)  # monetary alone below: was High_Spender
    assert spender.tier is None
    assert model.explain(140, 3, 500.0).tier == "High_Spender"
    assert model.explain(140, 4, 110.0).tier == "Power_Shopper"


def test_a_vip_tier_without_training_customers_is_worded_with_the_customers_own_figures(blob_model):
    # Issue 17 item 3: the blobs have no VIPs, so no Elite profile was learned; the actions once
    # quoted the monetary Q3 as the recency ("last bought 1,200 days ago"). They now quote the
    # customer's own figures: last purchase 12 days ago, 90 orders, 99,999.00 spent.
    assert blob_model.metrics_["tiers"] == {}
    q3 = blob_model.fences["monetary"].q3
    elite = blob_model.explain(recency=12, frequency=90, monetary=99_999.0)
    assert elite.segment == "Elite"
    text = " ".join(elite.actions)
    assert "last purchase 12 days ago" in text and "99,999.00 spent over 90 orders" in text
    assert f"{q3:.0f} days" not in text and f"{q3:,.0f} days" not in text
    from core.actions import customer_actions  # the lookup card's actions are the API's

    assert elite.actions == customer_actions("Elite", 12, 90, 99_999.0)


# -- stable names ------------------------------------------------------------------------------
def test_match_names_carries_names_over_a_retrain_with_more_clusters(blobs):
    from core.segmentation import match_names

    reference = SegmentationModel(SegmentationConfig(k=4)).fit(blobs)
    five = SegmentationModel(SegmentationConfig(k=5)).fit(blobs)
    matched = match_names(reference, five)
    assert len(set(matched.names_)) == 5
    assert set(reference.names_) <= set(matched.names_)
    # each blob group keeps its name for the majority of its customers
    segments = matched.segment(blobs)["segment"]
    for group in blobs["group"].unique():
        assert segments[blobs["group"] == group].value_counts().index[0] == group
    # the profiles follow the names (actions are worded for the carried-over names)
    assert set(matched.profiles_["segment"]) == set(segments)


def test_match_names_is_blind_to_cluster_order(blob_model, blobs):
    from core.segmentation import match_names

    other = SegmentationModel(SegmentationConfig(k=4, random_state=7)).fit(blobs)
    matched = match_names(blob_model, other)
    pd.testing.assert_series_equal(matched.segment(blobs)["segment"], blob_model.segment(blobs)["segment"])


def test_compare_models_counts_by_hand():
    from core.segmentation import compare_models

    reference = SegmentationModel(SegmentationConfig(k=2)).fit(NINE)
    candidate = SegmentationModel(SegmentationConfig(k=3)).fit(NINE)
    change = compare_models(reference, candidate, NINE)
    before = reference.segment(NINE)["segment"].tolist()
    after = candidate.segment(NINE)["segment"].tolist()
    assert change.changed == sum(b != a for b, a in zip(before, after))
    for b, a in set(zip(before, after)):
        assert change.matrix.loc[b, a] == sum(1 for x in zip(before, after) if x == (b, a))
    counts = change.counts.set_index("segment")
    for name in set(before) | set(after):
        assert counts.loc[name, "before"] == before.count(name)
        assert counts.loc[name, "after"] == after.count(name)
    assert list(change.moves["segment"]) == candidate.names_
