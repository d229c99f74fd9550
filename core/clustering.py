"""Scaler + K-Means pipeline, the k-sweep evidence, and naming clusters by their centroids.

Cluster names (documented scheme, any k >= 2):
1. Each centroid gets a value score in standardised units:
   z(frequency) + z(monetary) - z(recency).
2. The centroid with the highest recency is "Lapsed".
3. The others, by value score from high to low, take a ladder of names:
   1 left -> Regular; 2 -> Premium, Occasional; 3 -> Premium, Regular, Occasional;
   n > 3  -> Premium, Regular 1 .. Regular n-2, Occasional.
   So k=4 gives the seed's four names: Premium, Regular, Occasional, Lapsed.
Names depend only on centroid coordinates, never on the index K-Means gave a cluster, so a
retrain that relabels clusters gives every customer the same name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from core.columnar import NUMPY, ColumnOps
from core.config import DEFAULTS
from core.errors import ConfigError

FEATURES = ("recency", "frequency", "monetary")
LAPSED, PREMIUM, REGULAR, OCCASIONAL = "Lapsed", "Premium", "Regular", "Occasional"
CLUSTER_BASE_NAMES = (PREMIUM, REGULAR, OCCASIONAL, LAPSED)
DEFAULT_KS = tuple(range(2, 13))
SILHOUETTE_SAMPLE = DEFAULTS.silhouette_sample  # exact silhouette up to this many customers
FIT_SAMPLE = DEFAULTS.fit_sample  # the sweep fits each k on at most this many


def one_thread():
    """Run the numeric work on one thread (OpenMP and BLAS).

    With three features the parallel gain is small, while OpenMP's and OpenBLAS's
    spin-waiting make a busy 2-core machine (a Streamlit server, a second job) up to 15x
    slower: one 100k-customer K-Means fit took 4.4 s on two threads, 0.3 s on one.
    Use as ``with one_thread(): ...``.
    """
    return threadpool_limits(limits=1)


def require_distinct_customers(values, k: int) -> None:
    """ConfigError unless the customers to cluster have at least ``k`` distinct (R, F, M) points.

    K-Means cannot make k clusters of fewer distinct points: it returns empty or duplicate
    clusters, which would then be named arbitrarily (identical customers all "Lapsed") and
    leave no silhouette to choose k by.
    """
    points = np.asarray(values, dtype=float).reshape(-1, len(FEATURES))
    distinct = len(np.unique(points, axis=0))
    if distinct < 2:
        raise ConfigError(
            f"all {len(points)} customers to cluster have the same recency, frequency "
            "and monetary: there is nothing to cluster; use data where customers differ"
        )
    if distinct < k:
        raise ConfigError(
            f"the {len(points)} customers to cluster have only {distinct} distinct (recency, "
            f"frequency, monetary) values, fewer than k={k}; choose k (or a k range) up to {distinct}"
        )


def make_pipeline(
    k: int,
    random_state: int = DEFAULTS.random_state,
    max_iter: int = DEFAULTS.max_iter,
    n_init: int = DEFAULTS.n_init,
) -> Pipeline:
    """StandardScaler then KMeans, to be fitted on a DataFrame with the FEATURES columns."""
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("kmeans", KMeans(n_clusters=k, random_state=random_state, max_iter=max_iter, n_init=n_init)),
        ]
    )


def feature_frame(rfm: pd.DataFrame) -> pd.DataFrame:
    """The clustering features, named and in one fixed order."""
    return rfm.loc[:, list(FEATURES)].astype("float64")


def nearest_centroid(
    features: Sequence,
    mean: Sequence[float] | np.ndarray,
    scale: Sequence[float] | np.ndarray,
    centroids_scaled: np.ndarray,
    ops: ColumnOps = NUMPY,
) -> tuple:
    """The one nearest-centroid rule, on numpy arrays (default) or engine columns (``core.scoring``).

    ``features``: one column per FEATURES entry, in that order. Each value is standardised,
    z = (x - mean) / scale, and compared with every centroid (standardised units) by squared
    distance, the terms added left to right in FEATURES order. Returns (index of the nearest
    centroid, ties to the lowest index as numpy's argmin and sklearn's predict; the squared
    distances, one column per centroid).
    """
    z = ops.stage(
        {
            f"_z_{name}": (x - ops.constant(mu)) / ops.constant(sigma)
            for name, x, mu, sigma in zip(FEATURES, features, mean, scale)
        }
    )
    squared = ops.stage(
        {f"_d_{i}": _squared_distance(z, centroid, ops) for i, centroid in enumerate(centroids_scaled)}
    )
    closest = ops.stage({"_nearest": ops.least(squared)})[0]
    last = len(squared) - 1
    nearest = ops.first_match([(d == closest, i) for i, d in enumerate(squared[:-1])], last)
    return nearest, squared


def _squared_distance(z: Sequence, centroid: Sequence[float], ops: ColumnOps):
    total = None
    for z_j, c_j in zip(z, centroid):
        diff = z_j - ops.constant(c_j)
        total = diff * diff if total is None else total + diff * diff
    return total


def name_clusters(centroids_scaled: np.ndarray) -> list[str]:
    """Names for centroids given in standardised units, columns in FEATURES order."""
    c = np.asarray(centroids_scaled, dtype=float)
    k = len(c)
    if k < 2:
        raise ConfigError(f"cannot name {k} cluster(s); k must be at least 2")
    r, f, m = c[:, 0], c[:, 1], c[:, 2]
    score = f + m - r
    # Sort keys use coordinates only (ties broken by coordinates, never by cluster index).
    lapsed = max(range(k), key=lambda i: (r[i], -score[i], -f[i], -m[i]))
    rest = sorted((i for i in range(k) if i != lapsed), key=lambda i: (-score[i], r[i], -f[i], -m[i]))
    ladder = _ladder(len(rest))
    names = [""] * k
    names[lapsed] = LAPSED
    for i, name in zip(rest, ladder):
        names[i] = name
    return names


def _ladder(n: int) -> list[str]:
    if n == 1:
        return [REGULAR]
    if n == 2:
        return [PREMIUM, OCCASIONAL]
    if n == 3:
        return [PREMIUM, REGULAR, OCCASIONAL]
    return [PREMIUM] + [f"{REGULAR} {i}" for i in range(1, n - 1)] + [OCCASIONAL]


def base_name(segment: str) -> str:
    """'Regular 2' -> 'Regular': the segment family that actions are written for."""
    return segment.split(" ")[0]


@dataclass(frozen=True)
class SweepResult:
    """Evidence for choosing k: one row per k, the inertia knee, and the recommendation."""

    table: pd.DataFrame  # k, inertia, silhouette, calinski_harabasz, davies_bouldin
    knee: int | None
    recommended_k: int
    reason: str
    n_customers: int
    fitted_on: int
    silhouette_on: int


def _sample_rows(n: int, size: int, seed: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def k_sweep(
    features: pd.DataFrame,
    ks: Sequence[int] = DEFAULT_KS,
    *,
    random_state: int = DEFAULTS.random_state,
    max_iter: int = DEFAULTS.max_iter,
    n_init: int = DEFAULTS.n_init,
    silhouette_sample: int = SILHOUETTE_SAMPLE,
    fit_sample: int | None = FIT_SAMPLE,
    progress: Callable[[int, int, int], None] | None = None,
) -> SweepResult:
    """Fit K-Means for each k and measure inertia, silhouette, Calinski-Harabasz, Davies-Bouldin.

    ``features``: customers x FEATURES (the non-outlier customers). When there are more than
    ``fit_sample`` customers each k is fitted on a fixed-seed sample of that size and then
    applied to everyone; metrics other than silhouette use every customer; silhouette is
    exact up to ``silhouette_sample`` customers, else on a fixed-seed sample of that size.
    ``progress(done, total, k)`` is called after each k.
    """
    with one_thread():
        return _k_sweep(features, ks, random_state, max_iter, n_init, silhouette_sample, fit_sample, progress)


def _k_sweep(
    features, ks, random_state, max_iter, n_init, silhouette_sample, fit_sample, progress
) -> SweepResult:
    ks = sorted(set(int(k) for k in ks))
    X = feature_frame(features)
    n = len(X)
    if not ks or ks[0] < 2:
        raise ConfigError(f"k values must be 2 or more, got {ks}")
    if n <= ks[-1]:
        raise ConfigError(
            f"{n} customers to cluster is too few for k up to {ks[-1]}; choose a smaller k range"
        )
    require_distinct_customers(X.to_numpy(), ks[-1])
    fit_rows = _sample_rows(n, fit_sample, random_state) if fit_sample and n > fit_sample else None
    sil_rows = _sample_rows(n, silhouette_sample, random_state + 1) if n > silhouette_sample else None
    rows, sample_labels = [], []
    Z_sil: np.ndarray | None = None
    for done, k in enumerate(ks, start=1):
        pipe = make_pipeline(k, random_state, max_iter, n_init)
        pipe.fit(X if fit_rows is None else X.iloc[fit_rows])
        Z = pipe.named_steps["scale"].transform(X)
        km = pipe.named_steps["kmeans"]
        labels = km.predict(Z)
        several = len(np.unique(labels)) > 1
        rows.append(
            {
                "k": k,
                "inertia": float(((Z - km.cluster_centers_[labels]) ** 2).sum()),
                "calinski_harabasz": float(calinski_harabasz_score(Z, labels)) if several else float("nan"),
                "davies_bouldin": float(davies_bouldin_score(Z, labels)) if several else float("nan"),
            }
        )
        # Silhouettes of every k come from one pass over the sample's distances (below),
        # in the scaled space of the first fit: StandardScaler's fit on the same rows is the same.
        Z_sil = Z if sil_rows is None else Z[sil_rows]
        sample_labels.append(labels if sil_rows is None else labels[sil_rows])
        if progress:
            progress(done, len(ks), k)
    if Z_sil is None:  # ks was checked non-empty above: the loop ran at least once
        raise ConfigError(f"k values must be 2 or more, got {ks}")
    for row, sil in zip(rows, silhouettes(Z_sil, sample_labels)):
        row["silhouette"] = sil
    table = pd.DataFrame(rows)[["k", "inertia", "silhouette", "calinski_harabasz", "davies_bouldin"]]
    knee = find_knee(table["k"].tolist(), table["inertia"].tolist())
    recommended, reason = recommend_k(table, knee)
    return SweepResult(
        table=table,
        knee=knee,
        recommended_k=recommended,
        reason=reason,
        n_customers=n,
        fitted_on=n if fit_rows is None else len(fit_rows),
        silhouette_on=n if sil_rows is None else len(sil_rows),
    )


def silhouettes(Z: np.ndarray, labelings: Sequence[np.ndarray], chunk: int = 512) -> list[float]:
    """Mean silhouette of each labeling of the same points, in one pass over their distances.

    Same definition as sklearn's ``silhouette_score`` (a: mean distance to the own cluster,
    b: lowest mean distance to another cluster, 0 for a point alone in its cluster), but the
    n x n distances are computed once, chunk by chunk, and multiplied by the stacked one-hot
    labelings, instead of once per k. NaN where a labeling has a single cluster.
    """
    n = len(Z)
    offsets, onehots = [], []
    start = 0
    for labels in labelings:
        k = int(labels.max()) + 1
        onehot = np.zeros((n, k))
        onehot[np.arange(n), labels] = 1.0
        onehots.append(onehot)
        offsets.append((start, start + k))
        start += k
    stacked = np.hstack(onehots)
    sums = np.empty((n, stacked.shape[1]))
    sq = (Z**2).sum(axis=1)
    for lo in range(0, n, chunk):
        block = sq[lo : lo + chunk, None] + sq[None, :] - 2.0 * Z[lo : lo + chunk] @ Z.T
        np.maximum(block, 0.0, out=block)
        np.sqrt(block, out=block)
        block[np.arange(block.shape[0]), np.arange(lo, lo + block.shape[0])] = 0.0
        sums[lo : lo + chunk] = block @ stacked
    out = []
    for labels, (first_col, end_col) in zip(labelings, offsets):
        counts = np.bincount(labels, minlength=end_col - first_col).astype(float)
        if (counts > 0).sum() < 2 or (counts > 0).sum() >= n:
            out.append(float("nan"))
            continue
        per = sums[:, first_col:end_col]
        own = counts[labels]
        # silhouette of a point: (nearest other cluster's mean distance - own cluster's) / max
        own_mean = per[np.arange(n), labels] / np.maximum(own - 1, 1)
        means = per / np.where(counts > 0, counts, np.nan)
        means[np.arange(n), labels] = np.inf
        nearest_mean = np.nanmin(np.where(counts > 0, means, np.inf), axis=1)
        silhouette = (nearest_mean - own_mean) / np.maximum(own_mean, nearest_mean)
        silhouette[own <= 1] = 0.0
        out.append(float(np.nan_to_num(silhouette).mean()))
    return out


def find_knee(ks: Sequence[int], inertia: Sequence[float]) -> int | None:
    """The elbow of the inertia curve (kneed's convex, decreasing knee), or None."""
    if len(ks) < 3:
        return None
    from kneed import KneeLocator

    knee = KneeLocator(list(ks), list(inertia), curve="convex", direction="decreasing").knee
    return int(knee) if knee is not None else None


def recommend_k(table: pd.DataFrame, knee: int | None) -> tuple[int, str]:
    """The knee when there is one and its silhouette is within 80% of the best; else best silhouette.

    ConfigError when no k has a silhouette (every fit found a single cluster).
    """
    if table["silhouette"].isna().all():
        raise ConfigError(
            "no k separates these customers into clusters (no silhouette at any "
            "k); use data where customers differ"
        )
    best = table.loc[table["silhouette"].idxmax()]
    best_k, best_sil = int(best["k"]), float(best["silhouette"])
    if knee is not None:
        sil = float(table.loc[table["k"] == knee, "silhouette"].iloc[0])
        if sil >= 0.8 * best_sil:
            return knee, (
                f"k={knee} is the elbow of the inertia curve (adding clusters past it "
                f"gains little); its silhouette {sil:.3f} is close to the best "
                f"({best_sil:.3f} at k={best_k})"
            )
        return best_k, (
            f"the elbow at k={knee} separates clusters poorly (silhouette {sil:.3f}); "
            f"k={best_k} has the best silhouette, {best_sil:.3f}"
        )
    return best_k, f"no clear elbow in inertia; k={best_k} has the best silhouette, {best_sil:.3f}"
