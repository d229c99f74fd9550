"""The engine's calls under Streamlit's caches: a rerun recomputes only what changed.

Each function is keyed by what identifies its result: the file's content hash and name, the
reading settings (a frozen ``core.options.ReadOptions``, hashed by value), the RFM table's
fingerprint, k, a model's key. Arguments whose name starts with ``_`` are not hashed: they
are the heavy objects (the file's path, a table, a model) the other arguments already
identify. ``st.cache_data`` results are copies per caller; saved models are shared
(``st.cache_resource``); the workbooks parsed are kept by ui/workbooks.py, below these
caches (one parse serves the columns, the preview and RFM). Nothing here reads the
session: callers pass what it holds (ui/files.py, ui/models.py).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from core.cleaning import suggest_preset
from core.clustering import SweepResult, k_sweep
from core.errors import SegmentationError
from core.io import read_transactions
from core.options import ReadOptions
from core.rfm import RFMResult, open_source, read_mapped
from core.rfm import Source as FileSource
from core.segmentation import (
    ModelChange,
    SegmentationConfig,
    SegmentationModel,
    compare_models,
    fingerprint,
)
from core.store import ModelStore
from ui.workbooks import recent_workbooks

CACHE_ENTRIES = 8
PREVIEW_ROWS = 20


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
    currency: str | None  # the currency the file states (a column, or marks in values), else None
    profile: str | None = None  # the export profile read by (core.profiles), else None
    reading: tuple[str, ...] = ()  # how the file is read, one sentence each
    refusal: str | None = None  # why the profile's reading was refused (what to choose)
    header_row: int = 1  # the row the header was read from (core.header)


@dataclass(frozen=True)
class Loaded:
    """The RFM result of the loaded file and settings, with the RFM table's fingerprint."""

    result: RFMResult
    fingerprint: str

    @property
    def rfm(self) -> pd.DataFrame:
        """One row per customer: recency, frequency, monetary (core.rfm)."""
        return self.result.rfm


@st.cache_data(max_entries=32, show_spinner=False)
def path_hash(path: str, size: int, mtime_ns: int) -> str:
    """The SHA-256 of the file at ``path``, hashed again only when its size or mtime changes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(8 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@st.cache_data(max_entries=16, show_spinner=False)
def file_info(
    content_hash: str,
    name: str,
    sheet: str | None,
    _raw,
    profile: str | None = None,
    header_row: int | None = None,
) -> FileInfo:
    """Columns, sheets, detected mapping, first rows, stated currency and export profile of a
    file (one sheet of a workbook, its header on ``header_row``, None: found): everything the
    pages show of a file before RFM, from one read. ``profile``: as core.rfm.open_source takes
    it. A reading the profile refuses (no buyer column, an implausible customer ID) leaves the
    customer unmapped, with the reason in ``refusal``, so the Data page asks for it."""
    dataset = read_transactions(
        _raw, name=name, sheet=sheet, header_row=header_row, workbooks=recent_workbooks()
    )
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
    return FileInfo(
        dataset.name,
        dataset.kind,
        tuple(dataset.columns),
        dataset.sheets,
        dataset.sheet,
        tuple(detected.as_dict().items()),
        suggest_preset(detected, dataset.table),
        preview,
        code,
        profile=used,
        reading=reading,
        refusal=refusal,
        header_row=dataset.header_row,
    )


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
def rfm_result(content_hash: str, name: str, settings: ReadOptions, _raw) -> Loaded:
    """RFM and its cleaning audit for a file and settings (raises SegmentationError)."""
    result = open_file(name, settings, _raw).rfm()
    return Loaded(result, fingerprint(result.rfm))


def open_file(name: str, settings: ReadOptions, raw) -> FileSource:
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
def segmented(
    rfm_fingerprint: str, model_key: str, _model: SegmentationModel, _rfm: pd.DataFrame
) -> pd.DataFrame:
    """Every customer with tier, cluster and segment under a model."""
    return _model.segment(_rfm)


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
def compared_models(
    rfm_fingerprint: str,
    active_key: str,
    k: int,
    _reference: SegmentationModel,
    _candidate: SegmentationModel,
    _rfm: pd.DataFrame,
) -> ModelChange:
    """What changes for the customers of ``_rfm`` if ``_candidate`` (k clusters) replaced
    ``_reference`` (keyed ``active_key``): core.segmentation.compare_models."""
    return compare_models(_reference, _candidate, _rfm)


# The k-sweep reports progress while it runs, which st.cache_data cannot replay: its results
# are kept here instead, shared by sessions, bounded like the other caches.
_sweeps: OrderedDict[tuple, SweepResult] = OrderedDict()
_sweeps_lock = threading.Lock()


def sweep_result(
    rfm_fingerprint: str, ks: tuple[int, ...], features: pd.DataFrame, progress=None
) -> SweepResult:
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
