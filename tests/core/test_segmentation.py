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
NINE = pd.DataFrame({
    "customer_id": list("ABCDEFGHI"),
    "recency": [1, 2, 3, 200, 210, 220, 5, 6, 7],
    "frequency": [1, 2, 2, 3, 3, 3, 40, 50, 4],
    "monetary": [100.0, 110.0, 120.0, 130.0, 140.0, 150.0, 160.0, 5000.0, 6000.0],
})


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
    assert elite.reasons[:2] == ("monetary 220.50 is above the fence 220.00 (Q1 120.00, Q3 160.00)",
                                 "frequency 8.00 is above the fence 7.00 (Q1 2.00, Q3 4.00)")
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


@pytest.mark.parametrize("values,message", [
    ((-1, 2, 10), "recency must be 0 or more, got -1"),
    ((1, 2, -0.01), "monetary must be 0 or more, got -0.01"),
    (("abc", 2, 10), "recency must be a number, got 'abc'"),
    ((1, None, 10), "frequency must be a number, got None"),
    ((1, 2, float("nan")), "monetary must be a finite number"),
    ((1, 2, "nan"), "monetary must be a finite number"),
    ((float("inf"), 2, 10), "recency must be a finite number"),
    ((1, True, 10), "frequency must be a finite number"),
    ((1, 0, 10), "frequency must be at least 1"),
])
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
