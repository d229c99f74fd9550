"""The segmentation model a session uses, and its lifecycle: preview, save, make current.

The model in use (``active_model``) is the version pinned in this session, else the store's
current version when it was trained on the loaded data, else a k=DEFAULT_K model fitted on
the loaded data and not saved. A preview is fitted for the session only; saving and making
current change the shared model store (env RFM_MODEL_DIR) and ask for the admin token when
one is set (ui/access.py). Fits and loads are the cached calls of ui/engine.py.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pandas as pd

from core.clustering import FEATURES
from core.config import DEFAULTS, model_dir
from core.errors import SegmentationError
from core.outliers import inside_fences
from core.segmentation import ModelChange, SegmentationModel, match_names
from core.store import ModelStore
from ui import access, engine, files, session
from ui.engine import Loaded

DEFAULT_K = DEFAULTS.k


def store() -> ModelStore:
    """The shared model store (core.config.model_dir)."""
    return ModelStore(model_dir())


@dataclass(frozen=True)
class ActiveModel:
    """The model a page uses, the saved version it is (None: fitted, not saved), its manifest,
    and why it is the one in use (said on the Clusters page)."""

    model: SegmentationModel
    version: str | None  # None: fitted on the loaded data, not saved
    manifest: dict | None
    why: str

    @property
    def key(self) -> str:
        """What identifies the model in cache keys: its version, else 'fitted-k<k>'."""
        return self.version or f"fitted-k{self.model.config.k}"


def active_model(loaded: Loaded) -> ActiveModel:
    """The pinned version, else the store's current model if trained on this data, else k=4."""
    fp = loaded.fingerprint
    model_store = store()
    pinned = session.pinned_version()
    candidates = [pinned] if pinned else []
    try:
        current = model_store.current()
    except SegmentationError:  # a damaged pointer: the page still works with a fitted model
        current = None
    if current and current not in candidates:
        candidates.append(current)
    for version in candidates:
        try:
            manifest = model_store.manifest(version)
            if version != pinned and manifest.get("training_fingerprint") != fp:
                continue
            model, manifest = engine.stored_model(
                str(model_store.root.resolve()), version, manifest.get("sha256", "")
            )
        except SegmentationError:
            continue
        why = (
            "chosen on the Clusters page"
            if version == pinned
            else "the store's current model, trained on this data"
        )
        return ActiveModel(model, version, manifest, why)
    model = engine.fitted_model(fp, DEFAULT_K, loaded.rfm)
    return ActiveModel(
        model,
        None,
        None,
        f"fitted with k={DEFAULT_K} on the loaded data (not saved; preview and save "
        "a version on the Clusters page)",
    )


def clustered_features(rfm: pd.DataFrame, model: SegmentationModel) -> pd.DataFrame:
    """The customers inside both IQR fences (the ones K-Means sees), FEATURES only."""
    return rfm.loc[inside_fences(rfm, model.fences), list(FEATURES)]


def current_segments(loaded: Loaded, active: ActiveModel) -> pd.DataFrame:
    """Every loaded customer with tier, cluster and segment under the model in use."""
    return engine.segmented(loaded.fingerprint, active.key, active.model, loaded.rfm)


def sweep(loaded: Loaded, features: pd.DataFrame, ks, progress=None):
    """k-sweep evidence over ``ks``: (table, knee, recommended k, reason); ``progress(done, total, k)``."""
    result = engine.sweep_result(loaded.fingerprint, tuple(int(k) for k in ks), features, progress)
    return result.table, result.knee, result.recommended_k, result.reason


# -- preview, save, make current ------------------------------------------------------------
def preview_model(loaded: Loaded, active: ActiveModel, k: int) -> SegmentationModel:
    """A k-cluster model fitted on the loaded data for this session only (nothing is saved).

    Its clusters take the names of the model in use where they match (Hungarian pairing of
    centroids), so a customer keeps its segment name unless the customer really moved.
    """
    fitted = engine.fitted_model(loaded.fingerprint, int(k), loaded.rfm)
    return match_names(active.model, fitted)


def model_change(loaded: Loaded, active: ActiveModel, preview: SegmentationModel) -> ModelChange:
    """What changes for the loaded customers if ``preview`` replaced the model in use."""
    return engine.compared_models(
        loaded.fingerprint, active.key, preview.config.k, active.model, preview, loaded.rfm
    )


def save_version(
    loaded: Loaded, model: SegmentationModel, *, make_current: bool, admin_token: str | None = None
) -> str:
    """Save ``model`` as a new version (current for everyone only if ``make_current``)."""
    access.check_admin_token(admin_token)
    version = store().save(
        model,
        data_source=files.source().name,
        make_current=make_current,
        extra={"as_of": loaded.result.as_of.isoformat(), "sheet": files.settings().sheet},
    )
    if make_current:
        session.pin_version(version)
    return version


def pin_version(version: str, admin_token: str | None = None) -> None:
    """Make a saved version current in the store (for everyone, and the API) and use it here."""
    access.check_admin_token(admin_token)
    store().set_current(version)
    session.pin_version(version)


def save_new_fit(loaded: Loaded, k: int, *, grid: dict | None = None, admin_token: str | None = None) -> str:
    """Fit k clusters on the loaded data and save them (with an edited named-segment ``grid``).

    The new version is used in this session; it becomes current for everyone only from the
    Clusters page ("Make current"), like any other saved version.
    """
    model = copy.copy(engine.fitted_model(loaded.fingerprint, int(k), loaded.rfm))  # the cached one stays
    if grid is not None:
        model.segment_grid = grid
    version = save_version(loaded, model, make_current=False, admin_token=admin_token)
    session.pin_version(version)
    return version
