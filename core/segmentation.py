"""The fitted segmentation model: VIP tiers by IQR fences + named K-Means clusters.

Fitted once (``SegmentationModel.fit``), then only applied (``segment``, ``explain``).
Applying uses the stored scaler means/scales and centroids directly: assigning a customer
to the nearest centroid in standardised units is exactly what the sklearn pipeline's
``predict`` does, without its per-call overhead (a single score takes microseconds).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import sklearn

from core.clustering import (FEATURES, SILHOUETTE_SAMPLE, feature_frame, one_thread,
                             make_pipeline, name_clusters, silhouettes)
from core.errors import ConfigError
from core.insights import recommended_actions, segment_profiles
from core.outliers import Fence, assign_tiers, iqr_fences, tier_of


@dataclass(frozen=True)
class SegmentationConfig:
    """Every knob of the method, validated once."""

    k: int = 4
    iqr_factor: float = 1.5
    random_state: int = 42
    max_iter: int = 1000
    n_init: int = 10

    def __post_init__(self):
        if not isinstance(self.k, (int, np.integer)) or not 2 <= self.k <= 50:
            raise ConfigError(f"k must be a whole number from 2 to 50, got {self.k!r}")
        if not (isinstance(self.iqr_factor, (int, float)) and self.iqr_factor > 0):
            raise ConfigError(f"iqr_factor must be a positive number, got {self.iqr_factor!r}")
        if self.max_iter < 1 or self.n_init < 1:
            raise ConfigError("max_iter and n_init must be at least 1")


@dataclass(frozen=True)
class Explanation:
    """Why one customer (given by R/F/M) falls in its segment, and what to do."""

    recency: float
    frequency: float
    monetary: float
    segment: str
    tier: str | None
    cluster: int | None
    reasons: tuple[str, ...]
    distances: dict[str, float] = field(default_factory=dict)  # cluster name -> distance
    actions: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)


def validate_rfm_values(recency, frequency, monetary) -> tuple[float, float, float]:
    """Numbers, finite and >= 0 (frequency >= 1), or ConfigError naming the value."""
    out = []
    for name, value in (("recency", recency), ("frequency", frequency), ("monetary", monetary)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a number, got {value!r}") from None
        if isinstance(value, bool) or not math.isfinite(number):
            raise ConfigError(f"{name} must be a finite number, got {value!r}")
        if number < 0:
            raise ConfigError(f"{name} must be 0 or more, got {value!r}")
        out.append(number)
    if out[1] < 1:
        raise ConfigError(f"frequency must be at least 1 purchase, got {frequency!r}")
    return out[0], out[1], out[2]


def fingerprint(rfm: pd.DataFrame) -> str:
    """A short sha256 of the RFM table's content (customer and values, in order)."""
    hashed = pd.util.hash_pandas_object(rfm.loc[:, ["customer_id", *FEATURES]], index=False)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()[:16]


class SegmentationModel:
    """Tiers + clusters + names. ``fit`` learns; ``segment`` and ``explain`` only apply."""

    def __init__(self, config: SegmentationConfig | None = None):
        self.config = config or SegmentationConfig()
        self.fitted = False

    # -- learning --------------------------------------------------------------------
    def fit(self, rfm: pd.DataFrame) -> "SegmentationModel":
        """Fit fences on all customers and the pipeline on the customers inside them.

        Raises ConfigError when fewer customers than k remain to cluster.
        """
        with one_thread():
            return self._fit(rfm)

    def _fit(self, rfm: pd.DataFrame) -> "SegmentationModel":
        cfg = self.config
        missing = [c for c in ("customer_id", *FEATURES) if c not in rfm.columns]
        if missing:
            raise ConfigError(f"RFM table lacks column(s) {missing}")
        self.fences: dict[str, Fence] = iqr_fences(rfm, factor=cfg.iqr_factor)
        tiers = assign_tiers(rfm, self.fences)
        rest = rfm[tiers.isna().to_numpy()]
        if len(rest) < cfg.k:
            raise ConfigError(
                f"only {len(rest)} customers are left to cluster after the VIP tiers "
                f"({len(rfm)} in all), fewer than k={cfg.k}; choose a smaller k or use more data")
        self.pipeline = make_pipeline(cfg.k, cfg.random_state, cfg.max_iter, cfg.n_init)
        X = feature_frame(rest)
        self.pipeline.fit(X)
        scaler, kmeans = self.pipeline.named_steps["scale"], self.pipeline.named_steps["kmeans"]
        self.mean_ = scaler.mean_.astype(float)
        self.scale_ = scaler.scale_.astype(float)
        self.centroids_scaled_ = kmeans.cluster_centers_.astype(float)
        self.centroids_ = pd.DataFrame(self.centroids_scaled_ * self.scale_ + self.mean_,
                                       columns=list(FEATURES))
        self.names_: list[str] = name_clusters(self.centroids_scaled_)
        self.centroids_.insert(0, "segment", self.names_)
        self.fitted = True
        labels = self.predict_clusters(X.to_numpy())
        self.metrics_ = self._metrics(X.to_numpy(), labels, rfm, tiers)
        self.training_fingerprint_ = fingerprint(rfm)
        self.profiles_ = segment_profiles(self.segment(rfm))
        self.library_versions_ = {"scikit-learn": sklearn.__version__, "numpy": np.__version__,
                                  "pandas": pd.__version__}
        return self

    def _metrics(self, X: np.ndarray, labels: np.ndarray, rfm: pd.DataFrame, tiers: pd.Series) -> dict:
        Z = (X - self.mean_) / self.scale_
        rows = np.arange(len(Z))
        if len(Z) > SILHOUETTE_SAMPLE:
            rows = np.sort(np.random.default_rng(self.config.random_state + 1)
                           .choice(len(Z), SILHOUETTE_SAMPLE, replace=False))
        sil = silhouettes(Z[rows], [labels[rows]])[0]
        return {
            "customers": int(len(rfm)),
            "clustered": int(len(X)),
            "tiers": {t: int(n) for t, n in tiers.value_counts().items()},
            "inertia": float(((Z - self.centroids_scaled_[labels]) ** 2).sum()),
            "silhouette": None if math.isnan(sil) else sil,
        }

    def _require_fitted(self):
        if not self.fitted:
            raise ConfigError("the segmentation model is not fitted; call fit() or load one")

    # -- applying --------------------------------------------------------------------
    def predict_clusters(self, X: np.ndarray) -> np.ndarray:
        """Nearest centroid in standardised units (identical to the pipeline's predict)."""
        self._require_fitted()
        Z = (np.asarray(X, dtype=float) - self.mean_) / self.scale_
        d = ((Z[:, None, :] - self.centroids_scaled_[None, :, :]) ** 2).sum(axis=2)
        return d.argmin(axis=1)

    def segment(self, rfm: pd.DataFrame) -> pd.DataFrame:
        """The RFM table plus tier (or <NA>), cluster (or <NA> for tiers) and segment."""
        self._require_fitted()
        out = rfm.loc[:, ["customer_id", *FEATURES]].copy()
        tiers = assign_tiers(out, self.fences)
        inside = tiers.isna().to_numpy()
        clusters = np.full(len(out), -1, dtype=np.int64)
        if inside.any():
            clusters[inside] = self.predict_clusters(feature_frame(out[inside]).to_numpy())
        names = np.array(self.names_, dtype=object)
        out["tier"] = tiers
        cluster_col = pd.array(clusters, dtype="Int64")
        cluster_col[~inside] = pd.NA
        out["cluster"] = cluster_col
        out["segment"] = pd.array(np.where(inside, names[np.maximum(clusters, 0)],
                                           tiers.fillna("").to_numpy()), dtype="string")
        return out

    def explain(self, recency, frequency, monetary) -> Explanation:
        """Segment one customer from typed values, with the reasons and the next actions."""
        self._require_fitted()
        r, f, m = validate_rfm_values(recency, frequency, monetary)
        tier = tier_of(m, f, self.fences)
        z = (np.array([r, f, m]) - self.mean_) / self.scale_
        dist = np.sqrt(((self.centroids_scaled_ - z) ** 2).sum(axis=1))
        distances = {name: float(d) for name, d in zip(self.names_, dist)}
        if tier is not None:
            crossed = [fence.describe(v) for fence, v in
                       ((self.fences["monetary"], m), (self.fences["frequency"], f))
                       if fence.outside([v])[0]]
            reasons = tuple(crossed) + (f"outside the IQR fence on "
                                        f"{' and '.join(c.split()[0] for c in crossed)}: VIP tier "
                                        f"{tier}, not clustered",)
            return Explanation(r, f, m, tier, tier, None, reasons, distances, self._actions(tier))
        cluster = int(dist.argmin())
        name = self.names_[cluster]
        others = sorted((d, n) for n, d in distances.items() if n != name)
        reasons = (f"inside both IQR fences (monetary {self.fences['monetary'].describe_range()}, "
                   f"frequency {self.fences['frequency'].describe_range()})",
                   f"nearest centroid is {name} (distance {dist[cluster]:.2f} in standardised "
                   f"units); next is {others[0][1]} ({others[0][0]:.2f})" if others else
                   f"nearest centroid is {name}")
        return Explanation(r, f, m, name, None, cluster, reasons, distances, self._actions(name))

    def _actions(self, segment: str) -> tuple[str, ...]:
        row = self.profiles_.loc[self.profiles_["segment"] == segment]
        if row.empty:  # a segment with no training customers: word actions with its centroid
            return tuple(recommended_actions(segment, self._centroid_profile(segment)))
        return tuple(recommended_actions(segment, row.iloc[0]))

    def _centroid_profile(self, segment: str) -> dict:
        if segment in self.names_:
            c = self.centroids_.iloc[self.names_.index(segment)]
            r, f, m = float(c["recency"]), float(c["frequency"]), float(c["monetary"])
        else:
            r, f, m = self.fences["monetary"].q3, self.fences["frequency"].high, self.fences["monetary"].high
        return {"customers": 0, "revenue_share": 0.0, "recency_median": r, "frequency_median": f,
                "monetary_median": m}

    def summary(self) -> dict:
        """JSON-able description for manifests and the API."""
        self._require_fitted()
        return {
            "config": asdict(self.config),
            "fences": {k: asdict(v) for k, v in self.fences.items()},
            "cluster_names": list(self.names_),
            "centroids": self.centroids_.round(4).to_dict(orient="records"),
            "metrics": self.metrics_,
            "training_fingerprint": self.training_fingerprint_,
            "library_versions": self.library_versions_,
        }
