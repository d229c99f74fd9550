"""Session state and cached engine calls: the only place the dashboard keeps state.

Session state holds what the user chose: the loaded file (``Source``), the analysis settings
(``Settings``) and a pinned model version. Everything derived from them (RFM, models, the
k-sweep, segments, exports) comes from ``st.cache_data`` / ``st.cache_resource`` functions
keyed by the file's content hash and the settings, so a rerun recomputes only what changed.
Arguments whose name starts with ``_`` are not hashed: they are the heavy objects the key
already identifies.
"""
from __future__ import annotations

import atexit
import copy
import hashlib
import hmac
import os
import shutil
import stat
import tempfile
import threading
import time
import weakref
from collections import Counter, OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import streamlit as st

from core.atomic import atomic_output
from core.cleaning import PRESETS, suggest_preset
from core.clustering import FEATURES, SweepResult, k_sweep
from core.config import DEFAULTS
from core.errors import ConfigError, SegmentationError
from core.io import SUPPORTED, check_plain_file, read_transactions
from core.limits import env_number
from core.options import ReadOptions
from core.outliers import inside_fences
from core.rfm import RFMResult, open_source, read_mapped
from core.rfm import Source as FileSource
from core.segmentation import (
    ModelChange,
    SegmentationConfig,
    SegmentationModel,
    compare_models,
    fingerprint,
    match_names,
)
from core.store import ModelStore
from ui.workbooks import recent_workbooks

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_PATH = ROOT / "data" / "online_retail_II_sample.xlsx"
DEFAULT_K = DEFAULTS.k
UPLOAD_MAX_AGE_HOURS = 24.0   # env RFM_UPLOAD_MAX_AGE_HOURS: uploads unused this long are deleted
UPLOAD_MAX_MB = 2048.0        # env RFM_UPLOAD_MAX_MB: the oldest uploads go past this total
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
    """Transaction files directly inside the data folder, by name: plain files only (no
    symbolic or hard link, which could show any file the server can read; see load_path)."""
    folder = data_dir()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() in SUPPORTED and not p.name.startswith(".") and _plain(p))


def _plain(path: Path) -> bool:
    try:
        check_plain_file(path)
    except SegmentationError:
        return False
    return True


# -- uploads: a private folder per server ------------------------------------------------
_upload_dir: Path | None = None
_upload_lock = threading.Lock()


def upload_dir() -> Path:
    """This server's upload folder, mode 0700: env RFM_UPLOAD_DIR, else a fresh temp folder.

    The temp folder is made once per server process (tempfile.mkdtemp: private, unguessable)
    and removed when the server exits; a configured folder is created 0700 and refused when
    it is a symbolic link or belongs to another user.
    """
    global _upload_dir
    with _upload_lock:
        configured = os.environ.get("RFM_UPLOAD_DIR")
        if configured:
            folder = Path(configured)
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = os.lstat(folder)
            if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
                raise SegmentationError(f"RFM_UPLOAD_DIR {folder} is not a folder of this server's user; "
                                        "point it at a private folder")
            if stat.S_IMODE(info.st_mode) != 0o700:
                os.chmod(folder, 0o700)
            return folder
        if _upload_dir is None or not _upload_dir.is_dir():
            _upload_dir = Path(tempfile.mkdtemp(prefix="rfm-uploads-"))
            atexit.register(shutil.rmtree, _upload_dir, True)
        return _upload_dir


# Uploads a live session holds (its Source in session state): path -> number of holders. A
# holder is counted off when its Source is collected (the session ended), never before.
_holders: Counter[str] = Counter()


def _hold(source: Source) -> None:
    """Count ``source``'s upload as in use for as long as the object lives."""
    with _upload_lock:
        _holders[source.path] += 1
    weakref.finalize(source, _release, source.path)


def _release(path: str) -> None:
    with _upload_lock:
        _holders[path] -= 1
        if _holders[path] <= 0:
            del _holders[path]


def uploads_in_use() -> set[str]:
    """The paths of the uploads some live session has loaded."""
    with _upload_lock:
        return set(_holders)


def prune_uploads(keep: Path | None = None, now: float | None = None) -> list[str]:
    """Delete uploads unused for RFM_UPLOAD_MAX_AGE_HOURS, then the oldest past RFM_UPLOAD_MAX_MB.

    ``keep`` (the file just loaded) and every upload a live session holds (``uploads_in_use``)
    are never deleted: the total may then stay above the bound until those sessions end.
    Returns the names deleted.
    """
    folder = upload_dir()
    now = time.time() if now is None else now
    max_age = env_number("RFM_UPLOAD_MAX_AGE_HOURS", UPLOAD_MAX_AGE_HOURS) * 3600
    max_bytes = env_number("RFM_UPLOAD_MAX_MB", UPLOAD_MAX_MB) * (1 << 20)
    files = []
    for path in folder.iterdir():
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISREG(info.st_mode):
            files.append((info.st_mtime, info.st_size, path))
    files.sort()  # oldest use first
    deleted, total = [], sum(size for _, size, _ in files)
    held = uploads_in_use()
    for mtime, size, path in files:
        if (keep is not None and path == keep) or str(path) in held:
            continue
        if now - mtime > max_age or total > max_bytes:
            path.unlink(missing_ok=True)
            deleted.append(path.name)
            total -= size
    return deleted


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


# The analysis settings the Data page edits are the file's reading options: sheet, column
# mapping (every role; None unmapped), cleaning rules, returns, as-of date (None: the latest
# purchase), decimal mark and date order (None: decided from the file), statuses not a sale.
Settings = ReadOptions


@dataclass(frozen=True)
class FileInfo:
    """What one read of a file (one sheet of a workbook) shows before any setting is applied."""

    name: str
    kind: str
    columns: tuple[str, ...]
    sheets: tuple[str, ...]
    sheet: str | None
    detected: tuple[tuple[str, str | None], ...]
    preset: str
    preview: pd.DataFrame  # the first PREVIEW_ROWS rows as read (text as written)
    currency: str | None   # the currency the file states (a column, or marks in values), else None
    profile: str | None = None      # the export profile read by (core.profiles), else None
    reading: tuple[str, ...] = ()   # how the file is read, one sentence each
    refusal: str | None = None      # why the profile's reading was refused (what to choose)
    header_row: int = 1             # the row the header was read from (core.header)


PREVIEW_ROWS = 20


# -- cached engine calls ------------------------------------------------------------------
@st.cache_data(max_entries=32, show_spinner=False)
def _path_hash(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(8 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@st.cache_data(max_entries=16, show_spinner=False)
def file_info(content_hash: str, name: str, sheet: str | None, _raw,
              profile: str | None = None, header_row: int | None = None) -> FileInfo:
    """Columns, sheets, detected mapping, first rows, stated currency and export profile of a
    file (one sheet of a workbook, its header on ``header_row``, None: found): everything the
    pages show of a file before RFM, from one read. ``profile``: as core.rfm.open_source takes
    it. A reading the profile refuses (no buyer column, an implausible customer ID) leaves the
    customer unmapped, with the reason in ``refusal``, so the Data page asks for it."""
    dataset = read_transactions(_raw, name=name, sheet=sheet, header_row=header_row,
                                workbooks=recent_workbooks())
    preview = dataset.table.head(PREVIEW_ROWS).to_pandas()
    refusal, used, reading = None, None, ()
    try:
        prepared, detected, read = read_mapped(dataset, None, profile, check=False)
        used, reading, code = (read.profile.name if read.profile else None), read.sentences, read.currency
        dataset = prepared
    except SegmentationError as exc:  # asked at the customer control, by the same profile
        refusal = str(exc)
        dataset, detected, read = read_mapped(dataset, {"customer": ""}, profile, check=False)
        used, code = (read.profile.name if read.profile else None), read.currency
    return FileInfo(dataset.name, dataset.kind, tuple(dataset.columns), dataset.sheets,
                    dataset.sheet, tuple(detected.as_dict().items()),
                    suggest_preset(detected, dataset.table), preview, code, profile=used,
                    reading=reading, refusal=refusal, header_row=dataset.header_row)


def current_preview() -> pd.DataFrame:
    """The loaded file's first rows as read, for the Data page."""
    return current_info().preview


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
    result = open_file(name, settings, _raw).rfm()
    return Loaded(result, fingerprint(result.rfm))


def open_file(name: str, settings: Settings, raw) -> FileSource:
    """The file read and mapped with the settings' rules and readings (core.rfm.open_source)."""
    return open_source(raw, settings, name=name, workbooks=recent_workbooks())


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
    st.session_state.pop("lost_upload", None)
    if source.origin == "upload":
        _hold(source)
    st.session_state["loaded_source"] = source
    st.session_state["analysis_settings"] = settings
    st.session_state.pop("pinned_version", None)
    st.session_state["generation"] = st.session_state.get("generation", 0) + 1


def load_bytes(name: str, data: bytes, origin: str = "upload") -> None:
    """Load an upload (or any bytes with a file name); the tested path for file_uploader.

    The bytes are written once (mode 0600) to this server's private upload folder, named by
    their hash: sessions then hold a path, not the file, and every cached engine call scans
    that one copy. A file that cannot be loaded is deleted at once, and the error names the
    user's file, not the server's copy. Old uploads are pruned (``prune_uploads``).
    """
    display = Path(name).name
    content_hash = hashlib.sha256(data).hexdigest()
    path = upload_dir() / f"{content_hash}{Path(display).suffix.lower()}"
    fresh = not path.exists()
    if fresh:
        with atomic_output(path, mode=0o600) as tmp:
            tmp.write_bytes(data)
    else:
        os.utime(path)  # pruning goes by last use
    try:
        _commit(Source(name=display, content_hash=content_hash, path=str(path), origin=origin))
    except Exception as exc:
        if fresh:
            path.unlink(missing_ok=True)
        if isinstance(exc, SegmentationError):
            message = str(exc).replace(str(path), display).replace(path.name, display)
            raise type(exc)(message) from None
        raise
    prune_uploads(keep=path)


def load_path(path: str | os.PathLike, origin: str = "server") -> None:
    """Load a file the server can read (the sample, or one from the data folder)."""
    path = Path(path)
    if origin == "server":
        check_plain_file(path)
    if not path.is_file():
        raise SegmentationError(f"{path.name}: no such file on the server")
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
    """The loaded file. An upload no longer on the server (removed while no session held it, or
    by hand) is replaced by the sample, and ``lost_upload`` names it for the page to say so."""
    ensure_source()
    src = st.session_state["loaded_source"]
    if src.origin == "upload" and not Path(src.path).is_file():
        load_sample()
        st.session_state["lost_upload"] = src.name  # until another file is loaded
        src = st.session_state["loaded_source"]
    return src


def lost_upload() -> str | None:
    """The name of this session's upload that is gone from the server, until another file is
    loaded (see ``source``)."""
    return st.session_state.get("lost_upload")


def settings() -> Settings:
    ensure_source()
    return st.session_state["analysis_settings"]


def set_settings(new: Settings) -> None:
    st.session_state["analysis_settings"] = new
    st.session_state.pop("pinned_version", None)


def select_sheet(sheet: str) -> None:
    """Switch to another sheet: columns may differ, so the mapping is detected again."""
    src, s = source(), settings()
    info = file_info(src.content_hash, src.name, sheet, src.raw, s.profile)
    set_settings(replace(s, sheet=info.sheet, mapping=info.detected, header_row=None))
    st.session_state["generation"] = st.session_state.get("generation", 0) + 1


def select_header_row(row: int | None) -> None:
    """Read the header from another row (None: found): columns differ, so the mapping is
    detected again."""
    src, s = source(), settings()
    info = file_info(src.content_hash, src.name, s.sheet, src.raw, s.profile, row)
    set_settings(replace(s, header_row=row, mapping=info.detected))
    st.session_state["generation"] = st.session_state.get("generation", 0) + 1


def current_info() -> FileInfo:
    src, s = source(), settings()
    return file_info(src.content_hash, src.name, s.sheet, src.raw, s.profile, s.header_row)


def select_profile(profile: str | None) -> None:
    """Read the file by another export profile (None: recognised; 'none': without one): the
    columns and their meaning change, so the mapping is detected again."""
    src, s = source(), settings()
    info = file_info(src.content_hash, src.name, s.sheet, src.raw, profile, s.header_row)
    set_settings(replace(s, profile=profile, mapping=info.detected))
    st.session_state["generation"] = st.session_state.get("generation", 0) + 1


def current() -> Loaded:
    """RFM of the loaded file under the current settings (raises SegmentationError)."""
    src = source()
    return rfm_result(src.content_hash, src.name, settings(), src.raw)


def clustered_features(rfm: pd.DataFrame, model: SegmentationModel) -> pd.DataFrame:
    """The customers inside both IQR fences (the ones K-Means sees), FEATURES only."""
    return rfm.loc[inside_fences(rfm, model.fences), list(FEATURES)]


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
            model, manifest = stored_model(str(model_store.root.resolve()), version,
                                           manifest.get("sha256", ""))
        except SegmentationError:
            continue
        why = ("chosen on the Clusters page" if version == pinned
               else "the store's current model, trained on this data")
        return ActiveModel(model, version, manifest, why)
    model = fitted_model(fp, DEFAULT_K, loaded.rfm)
    return ActiveModel(model, None, None,
                       f"fitted with k={DEFAULT_K} on the loaded data (not saved; preview and save "
                       "a version on the Clusters page)")


# -- access: who may save versions and change the current one ------------------------------
def admin_token_required() -> bool:
    """True when env RFM_ADMIN_TOKEN is set: saving and changing current ask for it."""
    return bool(os.environ.get("RFM_ADMIN_TOKEN"))


def api_token_required() -> bool:
    """True when env RFM_API_TOKEN is set: /api/score needs 'Authorization: Bearer <token>'."""
    return bool(os.environ.get("RFM_API_TOKEN"))


def check_admin_token(given: str | None) -> None:
    """Nothing when no admin token is set or ``given`` matches it (constant-time), else ConfigError."""
    expected = os.environ.get("RFM_ADMIN_TOKEN", "")
    if not expected:
        return
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise ConfigError("the admin token is missing or wrong: saving a version or changing the "
                          "current one needs the server's RFM_ADMIN_TOKEN")


# -- preview, save, make current ------------------------------------------------------------
def preview_model(loaded: Loaded, active: ActiveModel, k: int) -> SegmentationModel:
    """A k-cluster model fitted on the loaded data for this session only (nothing is saved).

    Its clusters take the names of the model in use where they match (Hungarian pairing of
    centroids), so a customer keeps its segment name unless the customer really moved.
    """
    fitted = fitted_model(loaded.fingerprint, int(k), loaded.rfm)
    return match_names(active.model, fitted)


def model_change(loaded: Loaded, active: ActiveModel, preview: SegmentationModel) -> ModelChange:
    """What changes for the loaded customers if ``preview`` replaced the model in use."""
    return _model_change(loaded.fingerprint, active.key, preview.config.k, active.model, preview,
                         loaded.rfm)


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
def _model_change(rfm_fingerprint: str, active_key: str, k: int, _reference: SegmentationModel,
                  _candidate: SegmentationModel, _rfm: pd.DataFrame) -> ModelChange:
    return compare_models(_reference, _candidate, _rfm)


def save_version(loaded: Loaded, model: SegmentationModel, *, make_current: bool,
                 admin_token: str | None = None) -> str:
    """Save ``model`` as a new version (current for everyone only if ``make_current``)."""
    check_admin_token(admin_token)
    version = store().save(model, data_source=source().name, make_current=make_current,
                           extra={"as_of": loaded.result.as_of.isoformat(), "sheet": settings().sheet})
    if make_current:
        st.session_state["pinned_version"] = version
    return version


def pin_version(version: str, admin_token: str | None = None) -> None:
    """Make a saved version current in the store (for everyone, and the API) and use it here."""
    check_admin_token(admin_token)
    store().set_current(version)
    st.session_state["pinned_version"] = version


def save_new_fit(loaded: Loaded, k: int, *, grid: dict | None = None,
                 admin_token: str | None = None) -> str:
    """Fit k clusters on the loaded data and save them (with an edited named-segment ``grid``).

    The new version is used in this session; it becomes current for everyone only from the
    Clusters page ("Make current"), like any other saved version.
    """
    model = copy.copy(fitted_model(loaded.fingerprint, int(k), loaded.rfm))  # the cached one stays
    if grid is not None:
        model.segment_grid = grid
    version = save_version(loaded, model, make_current=False, admin_token=admin_token)
    st.session_state["pinned_version"] = version
    return version


def current_segments(loaded: Loaded, active: ActiveModel) -> pd.DataFrame:
    return segmented(loaded.fingerprint, active.key, active.model, loaded.rfm)


def sweep(loaded: Loaded, features: pd.DataFrame, ks, progress=None):
    """k-sweep evidence over ``ks``: (table, knee, recommended k, reason); ``progress(done, total, k)``."""
    result = sweep_result(loaded.fingerprint, tuple(int(k) for k in ks), features, progress)
    return result.table, result.knee, result.recommended_k, result.reason
