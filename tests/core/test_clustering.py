"""core.clustering + the clusters of core.segmentation: named features, names from centroids
(never from cluster indices), the k-sweep evidence."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from kneed import KneeLocator
from sklearn.metrics import silhouette_score

from core.clustering import (
    FEATURES,
    SILHOUETTE_SAMPLE,
    base_name,
    feature_frame,
    k_sweep,
    make_pipeline,
    name_clusters,
    silhouettes,
)
from core.errors import ConfigError
from core.segmentation import SegmentationConfig, SegmentationModel
from tests.conftest import make_blobs

SEED_NAMES = {"Premium", "Regular", "Occasional", "Lapsed"}


def documented_names(k: int) -> set[str]:
    """The scheme in core.clustering's docstring: Lapsed + a ladder for the other k - 1."""
    ladder = {1: ["Regular"], 2: ["Premium", "Occasional"], 3: ["Premium", "Regular", "Occasional"]}
    rest = ladder.get(k - 1) or ["Premium", *[f"Regular {i}" for i in range(1, k - 2)], "Occasional"]
    return {"Lapsed", *rest}


def test_documented_names_helper_is_the_docstring_scheme():
    assert documented_names(4) == SEED_NAMES
    assert documented_names(6) == {"Lapsed", "Premium", "Regular 1", "Regular 2", "Regular 3", "Occasional"}


def test_name_clusters_by_hand():
    # standardised (recency, frequency, monetary); value score = f + m - r
    centroids = np.array(
        [
            [2.0, -1.0, -1.0],  # highest recency -> Lapsed
            [-1.0, 2.0, 2.0],  # score 5 -> Premium
            [0.0, 0.0, 0.0],  # score 0 -> Regular
            [0.5, -0.5, -0.5],  # score -1.5 -> Occasional
        ]
    )
    assert name_clusters(centroids) == ["Lapsed", "Premium", "Regular", "Occasional"]
    # k = 2: Lapsed and Regular; k = 3: Lapsed, Premium, Occasional
    assert name_clusters(centroids[[0, 2]]) == ["Lapsed", "Regular"]
    assert name_clusters(centroids[[3, 1, 0]]) == ["Occasional", "Premium", "Lapsed"]
    with pytest.raises(ConfigError, match="k must be at least 2"):
        name_clusters(centroids[:1])


@pytest.mark.parametrize("k", range(2, 13))
def test_names_are_unique_and_follow_the_scheme_for_every_k(k):
    rng = np.random.default_rng(k)
    for _ in range(20):
        names = name_clusters(rng.normal(size=(k, 3)))
        assert len(set(names)) == k
        assert set(names) == documented_names(k)


@pytest.mark.parametrize("k", [2, 3, 4, 7, 12])
def test_permuting_centroid_rows_permutes_names(k):
    rng = np.random.default_rng(100 + k)
    centroids = rng.normal(size=(k, 3))
    names = name_clusters(centroids)
    perms = (
        itertools.islice(itertools.permutations(range(k)), 50)
        if k <= 4
        else (rng.permutation(k) for _ in range(50))
    )
    for perm in perms:
        perm = list(perm)
        assert name_clusters(centroids[perm]) == [names[i] for i in perm]


def test_base_name():
    assert base_name("Regular 2") == "Regular"
    assert base_name("Premium") == "Premium"
    assert base_name("High_Spender") == "High_Spender"


def test_fitted_models_on_real_and_blob_data_have_the_seed_names(sample_model, blob_model, blobs):
    assert set(sample_model.names_) == SEED_NAMES
    assert set(blob_model.names_) == SEED_NAMES
    # with well separated groups the names are the groups they were drawn from
    segmented = blob_model.segment(blobs)
    assert segmented.segment.tolist() == blobs.group.tolist()


@pytest.mark.parametrize("k", range(2, 13))
def test_fitted_names_unique_for_every_k(blobs, k):
    model = SegmentationModel(SegmentationConfig(k=k, n_init=3)).fit(blobs)
    assert len(model.names_) == k
    assert set(model.names_) == documented_names(k)
    assert set(model.segment(blobs).segment) <= set(model.names_)


def test_pipeline_is_fitted_on_named_features(blob_model, blobs):
    pipeline = blob_model.pipeline
    assert list(pipeline.feature_names_in_) == list(FEATURES)
    reordered = blobs[["monetary", "frequency", "recency"]].astype("float64")
    # the pipeline refuses features in another order instead of silently scaling them wrongly
    with pytest.raises(ValueError, match="feature names"):
        pipeline.predict(reordered)
    # and the model picks the features by name: column order in the input does not matter
    shuffled = blobs[["monetary", "customer_id", "frequency", "group", "recency"]]
    pd.testing.assert_frame_equal(blob_model.segment(shuffled), blob_model.segment(blobs))
    assert list(feature_frame(shuffled).columns) == list(FEATURES)


def test_swapping_features_would_change_clusters(blob_model, blobs):
    # guards the previous test: feeding [M, F, R] as if it were [R, F, M] gives other clusters
    right = blob_model.predict_clusters(blobs[list(FEATURES)].to_numpy(dtype=float))
    swapped = blob_model.predict_clusters(blobs[["monetary", "frequency", "recency"]].to_numpy(dtype=float))
    assert (right != swapped).any()


@pytest.mark.parametrize("which", ["sample", "blobs"])
def test_predict_clusters_equals_pipeline_predict(which, sample_model, sample_rfm, blob_model, blobs):
    model, rfm = (sample_model, sample_rfm) if which == "sample" else (blob_model, blobs)
    X = feature_frame(rfm)
    np.testing.assert_array_equal(model.predict_clusters(X.to_numpy()), model.pipeline.predict(X))


def test_refit_that_relabels_clusters_keeps_every_customers_segment(blobs):
    reference = SegmentationModel(SegmentationConfig(random_state=42)).fit(blobs).segment(blobs)
    relabelled = None
    for seed in range(30):
        other = SegmentationModel(SegmentationConfig(random_state=seed)).fit(blobs).segment(blobs)
        if (other.cluster != reference.cluster).any():
            relabelled = other
            break
    assert relabelled is not None, "no random_state relabelled the clusters; the test proves nothing"
    # the partition is the same (a bijection between cluster ids) ...
    pairs = set(zip(reference.cluster.tolist(), relabelled.cluster.tolist()))
    assert len(pairs) == 4 and len({a for a, _ in pairs}) == 4 and len({b for _, b in pairs}) == 4
    # ... and names follow the customers, not the indices
    assert relabelled.segment.tolist() == reference.segment.tolist()


def test_pipeline_refuses_unfitted_use_and_config_is_validated(blobs):
    with pytest.raises(ConfigError, match="not fitted"):
        SegmentationModel().segment(blobs)
    for bad in (1, 51, 2.5, "4"):
        with pytest.raises(ConfigError, match="k must be"):
            SegmentationConfig(k=bad)
    with pytest.raises(ConfigError, match="iqr_factor"):
        SegmentationConfig(iqr_factor=0)


def test_fewer_customers_than_k_is_a_config_error(blobs):
    with pytest.raises(ConfigError, match="fewer than k=8"):
        SegmentationModel(SegmentationConfig(k=8)).fit(blobs.head(5))


@pytest.fixture(scope="module")
def sweep(blobs):
    return k_sweep(blobs, range(2, 9), n_init=3)


def test_k_sweep_has_a_row_per_k_with_finite_metrics(sweep, blobs):
    table = sweep.table
    assert table["k"].tolist() == list(range(2, 9))
    for column in ("inertia", "silhouette", "calinski_harabasz", "davies_bouldin"):
        assert all(math.isfinite(v) for v in table[column]), column
    assert (table["silhouette"].between(-1, 1)).all()
    # more clusters never fit worse by much: inertia at k=8 is far below k=2
    assert table["inertia"].iloc[-1] < table["inertia"].iloc[0]
    assert (sweep.n_customers, sweep.fitted_on, sweep.silhouette_on) == (len(blobs),) * 3


def test_k_sweep_knee_is_kneeds_and_recommendation_is_explained(sweep):
    table = sweep.table
    expected_knee = KneeLocator(
        table["k"].tolist(), table["inertia"].tolist(), curve="convex", direction="decreasing"
    ).knee
    assert sweep.knee == expected_knee
    assert sweep.recommended_k in table["k"].tolist()
    assert f"k={sweep.recommended_k}" in sweep.reason
    # four well separated groups: four clusters have the best silhouette and are recommended
    assert int(table.loc[table["silhouette"].idxmax(), "k"]) == 4
    assert sweep.recommended_k == 4


def test_k_sweep_refuses_too_few_customers_or_k_below_2(blobs):
    with pytest.raises(ConfigError, match="too few"):
        k_sweep(blobs.head(8), range(2, 9))
    with pytest.raises(ConfigError, match="2 or more"):
        k_sweep(blobs, [1, 2])


def test_k_sweep_progress_is_reported(blobs):
    calls = []
    k_sweep(blobs, [2, 3], n_init=1, progress=lambda done, total, k: calls.append((done, total, k)))
    assert calls == [(1, 2, 2), (2, 2, 3)]


def test_silhouette_is_sampled_above_10000_customers():
    big = make_blobs(per_group=2_625, seed=1)  # 10,500 customers
    result = k_sweep(big, [2, 3], n_init=1, fit_sample=4_000)
    assert SILHOUETTE_SAMPLE == 10_000
    assert result.n_customers == 10_500
    assert result.silhouette_on == 10_000
    assert result.fitted_on == 4_000
    assert all(math.isfinite(v) for v in result.table["silhouette"])


def test_silhouette_is_exact_up_to_the_sample_size(blobs):
    at_limit = k_sweep(blobs, [2, 3], n_init=1, silhouette_sample=len(blobs))
    over_limit = k_sweep(blobs, [2, 3], n_init=1, silhouette_sample=len(blobs) - 1)
    assert at_limit.silhouette_on == len(blobs)
    assert over_limit.silhouette_on == len(blobs) - 1


def test_make_pipeline_steps():
    pipeline = make_pipeline(5, random_state=7)
    assert [name for name, _ in pipeline.steps] == ["scale", "kmeans"]
    kmeans = pipeline.named_steps["kmeans"]
    assert (kmeans.n_clusters, kmeans.random_state) == (5, 7)


def test_silhouettes_of_many_labelings_equal_sklearns():
    rng = np.random.default_rng(5)
    Z = rng.normal(size=(700, 3))  # more rows than one chunk of 512
    labelings = [rng.integers(0, k, size=len(Z)) for k in (2, 3, 7)]
    singleton = labelings[1].copy()
    singleton[:] = np.where(singleton == 2, 1, singleton)
    singleton[10] = 2  # a cluster of one point (silhouette 0 for it)
    gap = np.where(labelings[0] == 1, 3, 0)  # labels 0 and 3: clusters 1 and 2 are empty
    labelings += [singleton, gap]
    ours = silhouettes(Z, labelings, chunk=128)
    for labels, value in zip(labelings, ours):
        assert value == pytest.approx(silhouette_score(Z, labels), abs=1e-9)
    assert math.isnan(silhouettes(Z, [np.zeros(len(Z), dtype=int)])[0])


def test_sweep_silhouettes_equal_sklearn_on_the_sampled_rows(blobs):
    result = k_sweep(blobs, [2, 4], n_init=2)
    for k, value in zip(result.table["k"], result.table["silhouette"]):
        pipeline = make_pipeline(k, 42, 1000, 2).fit(feature_frame(blobs))
        Z = pipeline.named_steps["scale"].transform(feature_frame(blobs))
        assert value == pytest.approx(silhouette_score(Z, pipeline.predict(feature_frame(blobs))), abs=1e-9)


IDENTICAL = pd.DataFrame(
    {
        "customer_id": [f"c{i}" for i in range(20)],
        "recency": [0] * 20,
        "frequency": [2] * 20,
        "monetary": [20.0] * 20,
    }
)


def test_a_sweep_over_identical_customers_is_refused_not_a_crash():
    # Issue 20 item 11: every fit found one cluster, no silhouette, and recommend_k crashed
    # ("Encountered all NA values").
    with pytest.raises(ConfigError, match="all 20 customers to cluster have the same recency"):
        k_sweep(IDENTICAL, ks=range(2, 6))
    three = IDENTICAL.assign(monetary=[10.0, 20.0, 30.0] * 6 + [10.0, 20.0])
    with pytest.raises(ConfigError, match="only 3 distinct .* fewer than k=5; choose k .* up to 3"):
        k_sweep(three, ks=range(2, 6))
    assert k_sweep(three, ks=[2, 3]).table["silhouette"].notna().all()


def test_fitting_identical_customers_is_refused_not_all_lapsed():
    # Issue 20 item 11: k=4 on identical customers gave one cluster, named "Lapsed", to everyone.
    with pytest.raises(ConfigError, match="nothing to cluster"):
        SegmentationModel(SegmentationConfig(k=4)).fit(IDENTICAL)
    three = IDENTICAL.assign(recency=[0, 50, 100] * 6 + [0, 50])
    with pytest.raises(ConfigError, match="only 3 distinct .* fewer than k=4"):
        SegmentationModel(SegmentationConfig(k=4)).fit(three)
    segmented = SegmentationModel(SegmentationConfig(k=3)).fit(three).segment(three)
    assert segmented.groupby("recency")["segment"].nunique().eq(1).all()
    assert segmented["segment"].nunique() == 3  # one name per distinct customer, all different
