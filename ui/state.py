"""Session state and cached engine calls: the only place the dashboard keeps state.

Session state holds what the user chose: the loaded file (``Source``), the analysis settings
(``Settings``) and a pinned model version. Everything derived from them (RFM, models, the
k-sweep, segments, exports) comes from ``st.cache_data`` / ``st.cache_resource`` functions
keyed by the file's content hash and the settings, so a rerun recomputes only what changed.
Arguments whose name starts with ``_`` are not hashed: they are the heavy objects the key
already identifies.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import streamlit as st

from core.atomic import atomic_output
from core.cleaning import NOT_COMPLETED, PRESETS, CleaningConfig, suggest_preset
from core.clustering import FEATURES, SweepResult, k_sweep
from core.columns import detect_columns
from core.errors import SegmentationError
from core.io import SUPPORTED, read_transactions
from core.outliers import assign_tiers
from core.rfm import RFMResult, rfm_from_file
from core.segmentation import SegmentationConfig, SegmentationModel, fingerprint
from core.store import ModelStore

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_PATH = ROOT / "data" / "online_retail_II_sample.xlsx"
UPLOAD_DIR = Path(tempfile.gettempdir()) / "rfm-uploads"
DEFAULT_K = 4
CACHE_ENTRIES = 8


# -- configuration ----------------------------------------------------------------------
def model_dir() -> Path:
    """The model store folder: env RFM_MODEL_DIR, default ./models (read on every call)."""
    return Path(os.environ.get("RFM_MODEL_DIR", "models"))


def data_dir() -> Path:
    """The server-side data folder: env RFM_DATA_DIR, default ./data."""
    return Path(os.environ.get("RFM_DATA_DIR", "data"))


def store() -> ModelStore:
    return ModelStore(model_dir())


def upload_limit_mb() -> int:
    return int(st.get_option("server.maxUploadSize"))


def server_files() -> list[Path]:
    """Readable transaction files directly inside the data folder, by name."""
    folder = data_dir()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in SUPPORTED and not p.name.startswith("."))


# -- what the user chose ------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """A loaded file: where it is on the server (an upload is saved once), and its content hash."""

    name: str
    content_hash: str
    path: str
    origin: str = "upload"  # "upload" | "server" | "sample"

    @property
    def raw(self) -> str:
        return self.path

    @property
    def size(self) -> int:
        return Path(self.path).stat().st_size


@dataclass(frozen=True)
class Settings:
    """Sheet, column mapping, cleaning rules, returns, as-of date (None: latest purchase), and
    how values are read: decimal mark and date order (None: decided from the file), and the
    status values that are not a sale."""

    sheet: str | None
    mapping: tuple[tuple[str, str | None], ...]
    rules: tuple[str, ...]
    returns: str = "drop"
    as_of: str | None = None
    decimal: str | None = None
    date_format: str | None = None
    not_completed: tuple[str, ...] = NOT_COMPLETED

    @property
    def mapping_dict(self) -> dict[str, str | None]:
        return dict(self.mapping)

    @property
    def cleaning(self) -> CleaningConfig:
        return CleaningConfig(rules=self.rules, returns=self.returns,
                              not_completed=self.not_completed)


@dataclass(frozen=True)
class FileInfo:
    name: str
    kind: str
    columns: tuple[str, ...]
    sheets: tuple[str, ...]
    sheet: str | None
    detected: tuple[tuple[str, str | None], ...]
    preset: str


# -- cached engine calls ------------------------------------------------------------------
@st.cache_data(max_entries=32, show_spinner=False)
def _path_hash(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(8 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@st.cache_data(max_entries=16, show_spinner=False)
def file_info(content_hash: str, name: str, sheet: str | None, _raw) -> FileInfo:
    """Columns, sheets and the detected mapping of a file (one sheet of a workbook)."""
    dataset = read_transactions(_raw, name=name, sheet=sheet)
    detected = detect_columns(dataset.table)
    return FileInfo(dataset.name, dataset.kind, tuple(dataset.columns), dataset.sheets,
                    dataset.sheet, tuple(detected.as_dict().items()),
                    suggest_preset(detected, dataset.table))


PREVIEW_ROWS = 20


@st.cache_data(max_entries=16, show_spinner=False)
def preview(content_hash: str, name: str, sheet: str | None, _raw) -> pd.DataFrame:
    """The file's first rows as read (text as written), for the Data page."""
    dataset = read_transactions(_raw, name=name, sheet=sheet)
    return dataset.table.head(PREVIEW_ROWS).to_pandas()


def current_preview() -> pd.DataFrame:
    src, s = source(), settings()
    return preview(src.content_hash, src.name, s.sheet, src.raw)


@dataclass(frozen=True)
class Loaded:
    """The RFM result of the loaded file and settings, with the RFM table's fingerprint."""

    result: RFMResult
    fingerprint: str

    @property
    def rfm(self) -> pd.DataFrame:
        return self.result.rfm


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
def rfm_result(content_hash: str, name: str, settings: Settings, _raw) -> Loaded:
    """RFM and its cleaning audit for a file and settings (raises SegmentationError)."""
    # Every role as the settings say: an unmapped role is '' (not the detected column).
    overrides = {role: column or "" for role, column in settings.mapping}
    result = rfm_from_file(_raw, name=name, sheet=settings.sheet, overrides=overrides,
                           cleaning=settings.cleaning, as_of=settings.as_of,
                           decimal=settings.decimal, date_format=settings.date_format)
    return Loaded(result, fingerprint(result.rfm))


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
def fitted_model(rfm_fingerprint: str, k: int, _rfm: pd.DataFrame) -> SegmentationModel:
    """A model fitted on this RFM table with k clusters (not saved)."""
    return SegmentationModel(SegmentationConfig(k=k)).fit(_rfm)


@st.cache_resource(max_entries=CACHE_ENTRIES, show_spinner=False)
def stored_model(root: str, version: str, sha256: str) -> tuple[SegmentationModel, dict]:
    """A saved version, loaded once per (folder, version, file hash); sha256 checked by the store."""
    return ModelStore(root).load(version)


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
def segmented(rfm_fingerprint: str, model_key: str, _model: SegmentationModel,
              _rfm: pd.DataFrame) -> pd.DataFrame:
    """Every customer with tier, cluster and segment under a model."""
    return _model.segment(_rfm)


# The k-sweep reports progress while it runs, which st.cache_data cannot replay: its results
# are kept here instead, shared by sessions, bounded like the other caches.
_sweeps: OrderedDict[tuple, SweepResult] = OrderedDict()
_sweeps_lock = threading.Lock()


def sweep_result(rfm_fingerprint: str, ks: tuple[int, ...], features: pd.DataFrame,
                 progress=None) -> SweepResult:
    """The k-sweep over ``ks`` (one call: all silhouettes share one pass over the distances)."""
    key = (rfm_fingerprint, ks)
    with _sweeps_lock:
        if key in _sweeps:
            _sweeps.move_to_end(key)
            return _sweeps[key]
    result = k_sweep(features, ks=ks, progress=progress)
    with _sweeps_lock:
        _sweeps[key] = result
        while len(_sweeps) > CACHE_ENTRIES:
            _sweeps.popitem(last=False)
    return result


# -- session state ------------------------------------------------------------------------
def _commit(source: Source, sheet: str | None = None) -> None:
    """Make ``source`` the loaded file with settings detected from it (raises on a bad file)."""
    info = file_info(source.content_hash, source.name, sheet, source.raw)
    settings = Settings(sheet=info.sheet, mapping=info.detected, rules=PRESETS[info.preset])
    st.session_state["loaded_source"] = source
    st.session_state["analysis_settings"] = settings
    st.session_state.pop("pinned_version", None)
    st.session_state["generation"] = st.session_state.get("generation", 0) + 1


def load_bytes(name: str, data: bytes, origin: str = "upload") -> None:
    """Load an upload (or any bytes with a file name); the tested path for file_uploader.

    The bytes are written once to the server's upload folder, named by their hash: sessions
    then hold a path, not the file, and every cached engine call scans that one copy.
    """
    content_hash = hashlib.sha256(data).hexdigest()
    path = UPLOAD_DIR / f"{content_hash}{Path(name).suffix.lower()}"
    if not path.exists():
        UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as tmp:
            tmp.write_bytes(data)
    _commit(Source(name=Path(name).name, content_hash=content_hash, path=str(path), origin=origin))


def load_path(path: str | os.PathLike, origin: str = "server") -> None:
    """Load a file the server can read (the sample, or one from the data folder)."""
    path = Path(path)
    if not path.is_file():
        raise SegmentationError(f"{path}: no such file on the server")
    stat = path.stat()
    source = Source(name=path.name, content_hash=_path_hash(str(path), stat.st_size, stat.st_mtime_ns),
                    path=str(path), origin=origin)
    _commit(source)


def load_sample() -> None:
    load_path(SAMPLE_PATH, origin="sample")


def ensure_source() -> None:
    """Load the bundled sample on a session's first run, so every page works at once."""
    if "loaded_source" not in st.session_state:
        load_sample()


def source() -> Source:
    ensure_source()
    return st.session_state["loaded_source"]


def settings() -> Settings:
    ensure_source()
    return st.session_state["analysis_settings"]


def set_settings(new: Settings) -> None:
    st.session_state["analysis_settings"] = new
    st.session_state.pop("pinned_version", None)


def select_sheet(sheet: str) -> None:
    """Switch to another sheet: columns may differ, so the mapping is detected again."""
    src = source()
    info = file_info(src.content_hash, src.name, sheet, src.raw)
    set_settings(replace(settings(), sheet=info.sheet, mapping=info.detected))
    st.session_state["generation"] = st.session_state.get("generation", 0) + 1


def current_info() -> FileInfo:
    src, s = source(), settings()
    return file_info(src.content_hash, src.name, s.sheet, src.raw)


def current() -> Loaded:
    """RFM of the loaded file under the current settings (raises SegmentationError)."""
    src = source()
    return rfm_result(src.content_hash, src.name, settings(), src.raw)


def clustered_features(rfm: pd.DataFrame, model: SegmentationModel) -> pd.DataFrame:
    """The customers inside both IQR fences (the ones K-Means sees), FEATURES only."""
    inside = assign_tiers(rfm, model.fences).isna().to_numpy()
    return rfm.loc[inside, list(FEATURES)]


# -- the active model ---------------------------------------------------------------------
@dataclass(frozen=True)
class ActiveModel:
    model: SegmentationModel
    version: str | None   # None: fitted on the loaded data, not saved
    manifest: dict | None
    why: str

    @property
    def key(self) -> str:
        return self.version or f"fitted-k{self.model.config.k}"


def active_model(loaded: Loaded) -> ActiveModel:
    """The pinned version, else the store's current model if trained on this data, else k=4."""
    fp = loaded.fingerprint
    model_store = store()
    pinned = st.session_state.get("pinned_version")
    candidates = [pinned] if pinned else []
    current = model_store.current()
    if current and current not in candidates:
        candidates.append(current)
    for version in candidates:
        try:
            manifest = model_store.manifest(version)
            if version != pinned and manifest.get("training_fingerprint") != fp:
                continue
            model, manifest = stored_model(str(model_store.root.resolve()), version,
                                           manifest.get("sha256", ""))
        except SegmentationError:
            continue
        why = ("chosen on the Clusters page" if version == pinned
               else "the store's current model, trained on this data")
        return ActiveModel(model, version, manifest, why)
    model = fitted_model(fp, DEFAULT_K, loaded.rfm)
    return ActiveModel(model, None, None,
                       f"fitted with k={DEFAULT_K} on the loaded data (not saved; retrain on the "
                       "Clusters page to save a version)")


def pin_version(version: str) -> None:
    """Make a saved version current in the store and use it in this session."""
    store().set_current(version)
    st.session_state["pinned_version"] = version


def retrain(loaded: Loaded, k: int) -> str:
    """Fit k clusters on the loaded data, save a new version, make it current; returns it."""
    model = fitted_model(loaded.fingerprint, int(k), loaded.rfm)
    version = store().save(model, data_source=source().name,
                           extra={"as_of": loaded.result.as_of.isoformat(), "sheet": settings().sheet})
    st.session_state["pinned_version"] = version
    return version


def current_segments(loaded: Loaded, active: ActiveModel) -> pd.DataFrame:
    return segmented(loaded.fingerprint, active.key, active.model, loaded.rfm)


def sweep(loaded: Loaded, features: pd.DataFrame, ks, progress=None):
    """k-sweep evidence over ``ks``: (table, knee, recommended k, reason); ``progress(done, total, k)``."""
    result = sweep_result(loaded.fingerprint, tuple(int(k) for k in ks), features, progress)
    return result.table, result.knee, result.recommended_k, result.reason
