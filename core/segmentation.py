"""The fitted segmentation model: VIP tiers by IQR fences + named K-Means clusters.

Fitted once (``SegmentationModel.fit``), then only applied (``segment``, ``explain``).
The model is a handful of numbers (fences, scaler means and scales, centroids in
standardised units) and names: ``to_dict`` / ``from_dict`` are its saved form (model.json),
so loading a model never unpickles anything. ``apply_model`` is the one place a model is
applied (tier rule, nearest centroid, segment name), written once in ``core.columnar``'s
operations: on numpy arrays here, on engine columns in ``core.scoring``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sklearn

from core.actions import customer_actions
from core.clustering import (
    FEATURES,
    feature_frame,
    make_pipeline,
    name_clusters,
    nearest_centroid,
    one_thread,
    require_distinct_customers,
    silhouettes,
)
from core.columnar import NUMPY, ColumnOps
from core.config import DEFAULTS, SegmentationConfig
from core.errors import ConfigError
from core.insights import PROFILE_COLUMNS, segment_profiles
from core.outliers import Fence, iqr_fences, tier_codes, tier_rule

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

__all__ = [
    "SegmentationConfig",
    "SegmentationModel",
    "Explanation",
    "ModelChange",
    "apply_model",
    "AppliedModel",
    "match_names",
    "compare_models",
    "validate_rfm_values",
    "fingerprint",
    "require_finite_distances",
    "SCHEMA_VERSION",
]

SCHEMA_VERSION = 1
# Largest accepted inputs: far beyond any real customer, small enough that the arithmetic
# (squared standardised distances) stays finite.
RFM_LIMITS = {"recency": 36_525.0, "frequency": 1e9, "monetary": 1e15}


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
        """The explanation as plain JSON-ready values (for the API and the CLI)."""
        return asdict(self)


def validate_rfm_values(recency, frequency, monetary) -> tuple[float, float, float]:
    """Numbers, finite, >= 0 (frequency >= 1) and within RFM_LIMITS, or ConfigError naming the value."""
    out = []
    for name, value in (("recency", recency), ("frequency", frequency), ("monetary", monetary)):
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(f"{name} must be a number, got {_shown(value)}") from None
        if isinstance(value, bool) or not math.isfinite(number):
            raise ConfigError(f"{name} must be a finite number, got {_shown(value)}")
        if number < 0:
            raise ConfigError(f"{name} must be 0 or more, got {value!r}")
        if number > RFM_LIMITS[name]:
            raise ConfigError(f"{name} must be at most {RFM_LIMITS[name]:,.0f}, got {value!r}")
        out.append(number)
    if out[1] < 1:
        raise ConfigError(f"frequency must be at least 1 purchase, got {frequency!r}")
    return out[0], out[1], out[2]


def _shown(value) -> str:
    """repr of a user's value, cut short (a 5,000-digit number is not echoed back whole)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def fingerprint(rfm: pd.DataFrame) -> str:
    """A short sha256 of the RFM table's content (customer and values, in order)."""
    hashed = pd.util.hash_pandas_object(rfm.loc[:, ["customer_id", *FEATURES]], index=False)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()[:16]


@dataclass(frozen=True)
class AppliedModel:
    """Per customer: tier (no value inside the fences), cluster (no value for a tier),
    segment (tier or cluster name) and the squared distance to each centroid."""

    tier: Any
    cluster: Any
    segment: Any
    squared: list  # one column per centroid


def apply_model(
    recency,
    frequency,
    monetary,
    *,
    fences: dict[str, Fence],
    mean,
    scale,
    centroids_scaled,
    names: Sequence[str],
    ops: ColumnOps = NUMPY,
) -> AppliedModel:
    """Apply a fitted model's numbers to columns of R, F and M: the one place it is done.

    On numpy arrays by default (``segment``, ``explain``, the API), on engine columns with
    ``core.scoring``'s ops (DuckDB, Spark): the tier rule (``core.outliers.tier_rule``), the
    nearest centroid (``core.clustering.nearest_centroid``) for customers without a tier,
    and the segment: the tier, else the cluster's name.
    """
    tier = ops.stage({"tier": tier_rule(monetary, frequency, fences, ops)})[0]
    nearest, squared = nearest_centroid((recency, frequency, monetary), mean, scale, centroids_scaled, ops)
    cluster = ops.stage(
        {"cluster": ops.first_match([(ops.is_no_value(tier, "text"), nearest)], ops.no_number)}
    )[0]
    segment = ops.first_match([(cluster == i, name) for i, name in enumerate(names)], tier)
    return AppliedModel(tier, cluster, segment, squared)


class SegmentationModel:
    """Tiers + clusters + names. ``fit`` learns; ``segment`` and ``explain`` only apply."""

    # Learned state, set by ``fit`` (or by loading a saved model); absent until then.
    fences: dict[str, Fence]
    pipeline: Pipeline
    mean_: np.ndarray
    scale_: np.ndarray
    centroids_scaled_: np.ndarray
    names_: list[str]
    centroids_: pd.DataFrame
    metrics_: dict
    training_fingerprint_: str
    profiles_: pd.DataFrame
    library_versions_: dict[str, str]

    def __init__(self, config: SegmentationConfig | None = None):
        self.config = config or DEFAULTS
        self.fitted = False
        self.segment_grid: dict | None = None  # the named RFM segment grid, saved with the model

    # -- learning --------------------------------------------------------------------
    def fit(self, rfm: pd.DataFrame) -> SegmentationModel:
        """Fit fences on all customers and the pipeline on the customers inside them.

        Learned state is computed into locals and assigned at the end: a failed refit leaves
        the model as it was. Raises ConfigError when fewer customers than k remain to cluster.
        """
        with one_thread():
            learned = self._fit(rfm)
        for name, value in learned.items():
            setattr(self, name, value)
        self.fitted = True
        return self

    def _fit(self, rfm: pd.DataFrame) -> dict:
        cfg = self.config
        missing = [c for c in ("customer_id", *FEATURES) if c not in rfm.columns]
        if missing:
            raise ConfigError(f"RFM table lacks column(s) {missing}")
        fences = iqr_fences(rfm, factor=cfg.iqr_factor)
        values = feature_frame(rfm).to_numpy()
        inside = tier_codes(values[:, 2], values[:, 1], fences) == ""
        if inside.sum() < cfg.k:
            raise ConfigError(
                f"only {int(inside.sum())} customers are left to cluster after the VIP tiers "
                f"({len(rfm)} in all), fewer than k={cfg.k}; choose a smaller k or use more data"
            )
        require_distinct_customers(values[inside], cfg.k)
        pipeline = make_pipeline(cfg.k, cfg.random_state, cfg.max_iter, cfg.n_init)
        X = feature_frame(rfm[inside])
        pipeline.fit(X)
        scaler, kmeans = pipeline.named_steps["scale"], pipeline.named_steps["kmeans"]
        mean, scale = scaler.mean_.astype(float), scaler.scale_.astype(float)
        centroids_scaled = kmeans.cluster_centers_.astype(float)
        require_finite_distances(mean, scale, centroids_scaled)
        names = name_clusters(centroids_scaled)
        applied = _apply_to_rows(values, fences, mean, scale, centroids_scaled, names)
        tiers, clusters = applied.tier, applied.cluster
        squared = np.column_stack(applied.squared)
        segmented = _segmented_frame(rfm, applied)
        return {
            "fences": fences,
            "pipeline": pipeline,
            "mean_": mean,
            "scale_": scale,
            "centroids_scaled_": centroids_scaled,
            "names_": names,
            "centroids_": _centroid_frame(centroids_scaled, mean, scale, names),
            "metrics_": self._metrics(
                (values[inside] - mean) / scale, squared[inside], clusters[inside], len(rfm), tiers
            ),
            "training_fingerprint_": fingerprint(rfm),
            "profiles_": segment_profiles(segmented),
            "library_versions_": {
                "scikit-learn": sklearn.__version__,
                "numpy": np.__version__,
                "pandas": pd.__version__,
            },
        }

    def _metrics(
        self, z: np.ndarray, squared: np.ndarray, labels: np.ndarray, customers: int, tiers: np.ndarray
    ) -> dict:
        """Inertia and silhouette of the clustered customers (z: their standardised values)."""
        cfg = self.config
        rows = np.arange(len(z))
        if len(z) > cfg.silhouette_sample:
            rows = np.sort(
                np.random.default_rng(cfg.random_state + 1).choice(
                    len(z), cfg.silhouette_sample, replace=False
                )
            )
        sil = silhouettes(z[rows], [labels[rows]])[0]
        names, counts = np.unique(tiers[tiers != ""].astype(str), return_counts=True)
        return {
            "customers": int(customers),
            "clustered": int(len(z)),
            "tiers": {str(tier): int(n) for tier, n in zip(names, counts)},
            "inertia": float(squared[np.arange(len(labels)), labels].sum()),
            "silhouette": None if math.isnan(sil) else sil,
        }

    def _require_fitted(self):
        if not self.fitted:
            raise ConfigError("the segmentation model is not fitted; call fit() or load one")

    # -- applying --------------------------------------------------------------------
    def _apply(self, values) -> AppliedModel:
        self._require_fitted()
        return _apply_to_rows(
            values, self.fences, self.mean_, self.scale_, self.centroids_scaled_, self.names_
        )

    def predict_clusters(self, X: np.ndarray) -> np.ndarray:
        """Nearest centroid in standardised units (identical to the pipeline's predict)."""
        self._require_fitted()
        X = np.asarray(X, dtype=float).reshape(-1, len(FEATURES))
        return nearest_centroid(tuple(X.T), self.mean_, self.scale_, self.centroids_scaled_)[0]

    def segment(self, rfm: pd.DataFrame) -> pd.DataFrame:
        """The RFM table plus tier (or <NA>), cluster (or <NA> for tiers) and segment."""
        return _segmented_frame(rfm, self._apply(feature_frame(rfm).to_numpy()))

    def explain(self, recency, frequency, monetary) -> Explanation:
        """Segment one customer from its values, with the reasons and the next actions.

        The actions are worded for this one customer with its own figures
        (``core.actions.customer_actions``): the API, the CLI and the lookup card say the same.
        """
        self._require_fitted()
        r, f, m = validate_rfm_values(recency, frequency, monetary)
        applied = self._apply([r, f, m])
        tier = str(applied.tier[0]) or None
        dist = [math.sqrt(float(d[0])) for d in applied.squared]
        distances = {name: d for name, d in zip(self.names_, dist)}
        if tier is not None:
            crossed = [
                fence.describe(v)
                for fence, v in ((self.fences["monetary"], m), (self.fences["frequency"], f))
                if fence.above(v)
            ]
            reasons = tuple(crossed) + (
                f"outside the IQR fence on "
                f"{' and '.join(c.split()[0] for c in crossed)}, above "
                f"it: VIP tier {tier}, not clustered",
            )
            return Explanation(r, f, m, tier, tier, None, reasons, distances, customer_actions(tier, r, f, m))
        cluster = int(applied.cluster[0])
        name = self.names_[cluster]
        others = sorted((d, n) for n, d in distances.items() if n != name)
        reasons = (
            f"not above the upper IQR fences (monetary {self.fences['monetary'].high:,.2f}, "
            f"frequency {self.fences['frequency'].high:,.2f}): clustered",
            f"nearest centroid is {name} (distance {dist[cluster]:.2f} in standardised "
            f"units); next is {others[0][1]} ({others[0][0]:.2f})"
            if others
            else f"nearest centroid is {name}",
        )
        return Explanation(r, f, m, name, None, cluster, reasons, distances, customer_actions(name, r, f, m))

    def with_names(self, names: list[str]) -> SegmentationModel:
        """A copy whose clusters carry ``names`` (one per cluster, unique); profiles follow."""
        self._require_fitted()
        names = [str(n) for n in names]
        if len(names) != len(self.names_) or len(set(names)) != len(names):
            raise ConfigError(f"need {len(self.names_)} unique cluster names, got {names}")
        renamed = SegmentationModel.from_dict(self.to_dict())
        renamed.pipeline = getattr(self, "pipeline", None)
        rename = dict(zip(self.names_, names))
        renamed.names_ = names
        renamed.centroids_ = _centroid_frame(self.centroids_scaled_, self.mean_, self.scale_, names)
        profiles = self.profiles_.copy()
        profiles["segment"] = profiles["segment"].map(lambda s: rename.get(s, s))
        renamed.profiles_ = profiles
        return renamed

    # -- saved form ------------------------------------------------------------------
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

    def to_dict(self) -> dict:
        """The whole fitted model as JSON-able numbers and names (model.json); floats are exact."""
        self._require_fitted()
        profiles = self.profiles_.loc[:, list(PROFILE_COLUMNS)].astype(object)
        return {
            "schema_version": SCHEMA_VERSION,
            "features": list(FEATURES),
            "config": asdict(self.config),
            "fences": {k: asdict(v) for k, v in self.fences.items()},
            "scaler": {"mean": [float(v) for v in self.mean_], "scale": [float(v) for v in self.scale_]},
            "centroids_scaled": [[float(v) for v in row] for row in self.centroids_scaled_],
            "cluster_names": list(self.names_),
            "segment_grid": self.segment_grid,
            "metrics": self.metrics_,
            "profiles": profiles.where(profiles.notna(), None).to_dict(orient="records"),
            "training_fingerprint": self.training_fingerprint_,
            "library_versions": self.library_versions_,
        }

    @classmethod
    def from_dict(cls, data: dict) -> SegmentationModel:
        """A fitted model from ``to_dict``'s output; ConfigError naming the first bad field."""
        if not isinstance(data, dict):
            raise ConfigError("a saved model must be a JSON object")
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ConfigError(
                f"saved model schema version {data.get('schema_version')!r} is not "
                f"{SCHEMA_VERSION}; retrain to save it in this format"
            )
        try:
            if list(data["features"]) != list(FEATURES):
                raise ConfigError(f"features {data['features']!r} are not {list(FEATURES)}")
            known = {f.name for f in fields(SegmentationConfig)}
            config = SegmentationConfig(**{k: v for k, v in dict(data["config"]).items() if k in known})
            fences = {}
            for feature in ("monetary", "frequency"):
                raw = dict(data["fences"][feature])
                fence = Fence(
                    feature, *(_finite(raw[k], f"fences.{feature}.{k}") for k in ("q1", "q3", "low", "high"))
                )
                if fence.low > fence.high:
                    raise ConfigError(f"fences.{feature}: low is above high")
                fences[feature] = fence
            mean = _vector(data["scaler"]["mean"], "scaler.mean", len(FEATURES))
            scale = _vector(data["scaler"]["scale"], "scaler.scale", len(FEATURES))
            if (scale <= 0).any():
                raise ConfigError("scaler.scale must be positive")
            centroids = np.array(
                [_vector(row, "centroids_scaled", len(FEATURES)) for row in data["centroids_scaled"]],
                dtype=float,
            )
            require_finite_distances(mean, scale, centroids)
            names = [str(n) for n in data["cluster_names"]]
            if len(centroids) != config.k or len(names) != config.k or len(set(names)) != config.k:
                raise ConfigError(f"centroids and cluster_names must be {config.k} (k), unique")
            profiles = pd.DataFrame(list(data["profiles"]), columns=list(PROFILE_COLUMNS))
            grid = data.get("segment_grid")
            if grid is not None and not isinstance(grid, dict):
                raise ConfigError("segment_grid must be an object or null")
            model = cls(config)
            model.fences, model.mean_, model.scale_ = fences, mean, scale
            model.centroids_scaled_, model.names_ = centroids, names
            model.centroids_ = _centroid_frame(centroids, mean, scale, names)
            model.metrics_ = dict(data.get("metrics") or {})
            model.profiles_ = profiles
            model.training_fingerprint_ = str(data.get("training_fingerprint", ""))
            model.library_versions_ = dict(data.get("library_versions") or {})
            model.segment_grid = grid
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ConfigError(f"saved model is malformed ({exc.__class__.__name__}: {exc})") from None
        model.fitted = True
        return model


def require_finite_distances(mean: np.ndarray, scale: np.ndarray, centroids_scaled: np.ndarray) -> None:
    """ConfigError unless every accepted input (0 to RFM_LIMITS) gives finite standardised
    values and squared distances: a saved scale of 1e-300 would make every distance infinite.

    Checked at load, so a model that cannot score is refused (and the API's health says so)
    rather than failing on each request.
    """
    limits = np.array([RFM_LIMITS[f] for f in FEATURES])
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        reach = np.maximum(np.abs(mean), np.abs(limits - mean)) / scale  # largest |z| per feature
        worst = ((reach[None, :] + np.abs(np.asarray(centroids_scaled, dtype=float))) ** 2).sum(axis=1)
    if np.isfinite(reach).all() and np.isfinite(worst).all():
        return
    j = int(np.argmax(np.where(np.isfinite(reach), reach, np.inf)))
    raise ConfigError(
        f"scaler.scale {float(scale[j])!r} and scaler.mean {float(mean[j])!r} of "
        f"{FEATURES[j]} make distances overflow for values up to {limits[j]:,.0f}; "
        "a fit never saves such numbers"
    )


def _finite(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def _vector(values, where: str, size: int) -> np.ndarray:
    values = list(values)
    if len(values) != size:
        raise ConfigError(f"{where} must hold {size} numbers, got {len(values)}")
    return np.array([_finite(v, where) for v in values], dtype=float)


def _centroid_frame(
    centroids_scaled: np.ndarray, mean: np.ndarray, scale: np.ndarray, names: list[str]
) -> pd.DataFrame:
    frame = pd.DataFrame(centroids_scaled * scale + mean, columns=list(FEATURES))
    frame.insert(0, "segment", names)
    return frame


def _apply_to_rows(
    values,
    fences: dict[str, Fence],
    mean: np.ndarray,
    scale: np.ndarray,
    centroids_scaled: np.ndarray,
    names: Sequence[str],
) -> AppliedModel:
    """apply_model on numpy rows of (recency, frequency, monetary)."""
    values = np.asarray(values, dtype=float).reshape(-1, len(FEATURES))
    return apply_model(
        values[:, 0],
        values[:, 1],
        values[:, 2],
        fences=fences,
        mean=mean,
        scale=scale,
        centroids_scaled=centroids_scaled,
        names=names,
    )


def _segmented_frame(rfm: pd.DataFrame, applied: AppliedModel) -> pd.DataFrame:
    out = rfm.loc[:, ["customer_id", *FEATURES]].copy()
    out["tier"] = pd.Series(applied.tier, index=out.index, dtype="string").replace("", pd.NA)
    cluster_col = pd.array(applied.cluster, dtype="Int64")
    cluster_col[cluster_col == -1] = pd.NA
    out["cluster"] = cluster_col
    out["segment"] = pd.array(applied.segment, dtype="string")
    return out


# -- a new model next to the one in use -------------------------------------------------
def match_names(reference: SegmentationModel, candidate: SegmentationModel) -> SegmentationModel:
    """``candidate`` with its clusters named after ``reference``'s nearest ones, so names carry over.

    Clusters are paired by the Hungarian method on centroid distance in the reference model's
    standardised units; a candidate cluster left without a partner (a larger k) keeps its own
    name, numbered when the name is already taken.
    """
    from scipy.optimize import linear_sum_assignment

    cost = _centroid_distances(reference, candidate)
    rows, cols = linear_sum_assignment(cost)
    names: list[str | None] = [None] * len(candidate.names_)
    for i, j in zip(rows, cols):
        names[i] = reference.names_[j]
    taken = {n for n in names if n}
    for i, name in enumerate(names):
        if name is None:
            own, n = candidate.names_[i], 2
            name = own
            while name in taken:
                name, n = f"{own.split(' ')[0]} {n}", n + 1
            names[i] = name
            taken.add(name)
    return candidate.with_names([str(n) for n in names])  # every name is set by now


def _centroid_distances(reference: SegmentationModel, candidate: SegmentationModel) -> np.ndarray:
    """candidate clusters x reference clusters, in the reference's standardised units."""
    z = (candidate.centroids_[list(FEATURES)].to_numpy(dtype=float) - reference.mean_) / reference.scale_
    return np.sqrt(((z[:, None, :] - reference.centroids_scaled_[None, :, :]) ** 2).sum(axis=2))


@dataclass(frozen=True)
class ModelChange:
    """What changes for the customers of one RFM table when ``candidate`` replaces ``reference``."""

    matrix: pd.DataFrame  # rows: segment under reference, columns: under candidate, cells: customers
    moves: pd.DataFrame  # per candidate cluster: its partner's centroid, its own, the distance
    counts: pd.DataFrame  # segment, customers before, after, change
    changed: int  # customers whose segment changes


def compare_models(
    reference: SegmentationModel, candidate: SegmentationModel, rfm: pd.DataFrame
) -> ModelChange:
    """Segment change matrix, centroid moves and counts of ``rfm`` under both models."""
    before = reference.segment(rfm)["segment"].astype(str).rename("before")
    after = candidate.segment(rfm)["segment"].astype(str).rename("after")
    matrix = pd.crosstab(before, after)
    counts = (
        pd.DataFrame({"before": before.value_counts(), "after": after.value_counts()})
        .fillna(0)
        .astype(int)
        .rename_axis("segment")
        .reset_index()
    )
    counts["change"] = counts["after"] - counts["before"]
    distances = _centroid_distances(reference, candidate)
    moves = []
    for i, name in enumerate(candidate.names_):
        row: dict[str, str | float] = {"segment": name}
        if name in reference.names_:
            j = reference.names_.index(name)
            for feature in FEATURES:
                row[f"{feature} before"] = float(reference.centroids_[feature].iloc[j])
            row["moved (standardised)"] = float(distances[i, j])
        else:
            for feature in FEATURES:
                row[f"{feature} before"] = float("nan")
            row["moved (standardised)"] = float("nan")
        for feature in FEATURES:
            row[f"{feature} after"] = float(candidate.centroids_[feature].iloc[i])
        moves.append(row)
    return ModelChange(matrix, pd.DataFrame(moves), counts, int((before != after).sum()))
