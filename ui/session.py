"""Typed access to this session's state: the only module that touches ``st.session_state``.

Every key the dashboard keeps in a session is named here once, as a constant, with an accessor
that says what the value is: the loaded file (``Source``), its reading settings
(``Settings``), the pinned model version, the edited segment grid, the chosen currency, and the
few values a page carries from one run to the next (the Clusters page's preview k and notice,
the Customer lookup's chosen ID). Keys whose widget the session also seeds or reads (the
Data page's settings controls, the currency selectbox, the lookup's ID) are named here too.
A widget key that only identifies a widget (a chart, a button) and is never read back stays
at its widget: naming it twice would add nothing.

The Data page's setting controls are keyed by the *generation* (``form_key``): loading a file
or choosing another sheet, header row or profile starts a new generation, so every control is
drawn fresh from the new settings instead of keeping a value of the previous file.

Nothing here reads a file or calls the engine (that is ui/files.py, ui/engine.py,
ui/models.py): this module is the session's vocabulary, so a page or helper never writes a
raw key, and tests/app/test_session_keys.py fails if one does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from core.options import ReadOptions

# -- what the user chose ------------------------------------------------------------------
SOURCE = "loaded_source"  # Source: the loaded file
SETTINGS = "analysis_settings"  # Settings: how it is read
PINNED_VERSION = "pinned_version"  # str: the model version chosen in this session
GENERATION = "generation"  # int: bumped when the file's columns may have changed
LOST_UPLOAD = "lost_upload"  # str: the name of an upload gone from the server
SEGMENT_GRID = "segment_grid"  # dict: the named-segment grid edited in this session
CURRENCY_CHOICE = "currency_choice"  # str: the currency chosen for money figures
CURRENCY_WIDGET = "currency_widget"  # the sidebar selectbox whose choice CURRENCY_CHOICE keeps

# -- what a page carries from one run to the next -------------------------------------------
UPLOADED_ID = "uploaded_id"  # Data: the file_uploader's file already loaded
RECOMMENDED_K = "recommended_k"  # Clusters: the k-sweep's suggestion (the preview's default)
PREVIEW_K = "preview_k"  # Clusters: the k previewed
CLUSTERS_FLASH = "clusters_flash"  # Clusters: a notice shown once after a save or a switch
LOOKUP_ID = "lookup_id"  # Customer lookup: the ID selectbox
LOOKUP_TEXT = "lookup_text"  # Customer lookup: the ID text box (many customers)
TYPED_DONE = "typed_done"  # Customer lookup: the typed R/F/M form was submitted once


@dataclass(frozen=True)
class Source:
    """A loaded file: where it is on the server (an upload is saved once), and its content hash."""

    name: str
    content_hash: str
    path: str
    origin: str = "upload"  # "upload" | "server" | "sample"

    @property
    def raw(self) -> str:
        """What the engine's reader is given: the path on the server."""
        return self.path

    @property
    def size(self) -> int:
        """The file's size in bytes (read from the file system on each call)."""
        return Path(self.path).stat().st_size


# The analysis settings the Data page edits are the file's reading options: sheet, column
# mapping (every role; None unmapped), cleaning rules, returns, as-of date (None: the latest
# purchase), decimal mark and date order (None: decided from the file), statuses not a sale.
Settings = ReadOptions


# -- the loaded file and its settings --------------------------------------------------------
def source() -> Source | None:
    """The loaded file, or None before the first load (see ui.files.source)."""
    return st.session_state.get(SOURCE)


def settings() -> Settings | None:
    """The reading settings of the loaded file, or None before the first load."""
    return st.session_state.get(SETTINGS)


def set_source(loaded: Source, read_by: Settings) -> None:
    """Make ``loaded`` the session's file, read by ``read_by``: the lost-upload notice and the
    pinned version go (they were about the previous file) and a new generation starts."""
    st.session_state.pop(LOST_UPLOAD, None)
    st.session_state[SOURCE] = loaded
    st.session_state[SETTINGS] = read_by
    st.session_state.pop(PINNED_VERSION, None)
    next_generation()


def set_settings(new: Settings) -> None:
    """Keep ``new`` reading settings; the pinned version is dropped (it was chosen for others)."""
    st.session_state[SETTINGS] = new
    st.session_state.pop(PINNED_VERSION, None)


def generation() -> int:
    """How many times this session's file or columns changed (0 before any load)."""
    return st.session_state.get(GENERATION, 0)


def next_generation() -> None:
    """Start a new generation: the Data page's controls are drawn fresh (see ``form_key``)."""
    st.session_state[GENERATION] = generation() + 1


def form_key(name: str, gen: int | None = None) -> str:
    """The key of the Data page's control ``name`` in generation ``gen`` (None: this one)."""
    return f"{name}_{generation() if gen is None else gen}"


def lost_upload() -> str | None:
    """The name of this session's upload that is gone from the server, until another file is
    loaded (see ui.files.source)."""
    return st.session_state.get(LOST_UPLOAD)


def set_lost_upload(name: str) -> None:
    """Remember that the upload ``name`` is gone (the page says so until another file loads)."""
    st.session_state[LOST_UPLOAD] = name


# -- the model in use -------------------------------------------------------------------------
def pinned_version() -> str | None:
    """The model version chosen (saved or made current) in this session, else None."""
    return st.session_state.get(PINNED_VERSION)


def pin_version(version: str) -> None:
    """Use the saved ``version`` in this session."""
    st.session_state[PINNED_VERSION] = version


# -- the segment grid -------------------------------------------------------------------------
def segment_grid() -> dict[str, list[str]] | None:
    """The named-segment grid edited in this session (already validated), else None."""
    return st.session_state.get(SEGMENT_GRID)


def set_segment_grid(grid: dict[str, list[str]]) -> None:
    """Keep a validated grid for this session (ui.marketing.set_segment_grid validates)."""
    st.session_state[SEGMENT_GRID] = grid


def reset_segment_grid() -> None:
    """Forget the edited grid: the model's saved one (else the default) is used again."""
    st.session_state.pop(SEGMENT_GRID, None)


# -- the currency of money figures ------------------------------------------------------------
def currency_choice(default: str | None = None) -> str | None:
    """The option chosen in the currency selectbox (a code or one of its labels), else ``default``."""
    return st.session_state.get(CURRENCY_CHOICE, default)


def keep_currency_choice() -> None:
    """Copy the selectbox's value under a key of its own, so that it survives the pages that do
    not draw the control (Streamlit forgets a widget's state on a run that does not draw it)."""
    st.session_state[CURRENCY_CHOICE] = st.session_state[CURRENCY_WIDGET]


# -- widgets the session seeds or reads -------------------------------------------------------
def widget_value(key: str, default: Any = None) -> Any:
    """The value of the widget keyed ``key`` (a constant here or a ``form_key``), else ``default``."""
    return st.session_state.get(key, default)


def set_widget_value(key: str, value: Any) -> None:
    """Set the widget keyed ``key`` to ``value`` (before it is drawn, or from a callback)."""
    st.session_state[key] = value


def seed_widget(key: str, value: Any) -> None:
    """Seed the widget keyed ``key`` with ``value`` unless the user already changed it."""
    if key not in st.session_state:
        st.session_state[key] = value


# -- page memory ------------------------------------------------------------------------------
def uploaded_id() -> str | None:
    """The Data page's file_uploader file last loaded (so a rerun does not load it again)."""
    return st.session_state.get(UPLOADED_ID)


def set_uploaded_id(file_id: str) -> None:
    """Remember that the uploader's file ``file_id`` is loaded."""
    st.session_state[UPLOADED_ID] = file_id


def recommended_k(default: int) -> int:
    """The k the last k-sweep recommended in this session, else ``default``."""
    return int(st.session_state.get(RECOMMENDED_K, default))


def set_recommended_k(k: int) -> None:
    """Remember the k-sweep's recommendation (the preview form starts from it)."""
    st.session_state[RECOMMENDED_K] = k


def preview_k() -> int | None:
    """The k previewed on the Clusters page, else None."""
    return st.session_state.get(PREVIEW_K)


def set_preview_k(k: int | None) -> None:
    """Preview ``k`` clusters (None: no preview)."""
    if k is None:
        st.session_state.pop(PREVIEW_K, None)
    else:
        st.session_state[PREVIEW_K] = int(k)


def take_clusters_flash() -> str | None:
    """The Clusters page's notice, once: it is forgotten as it is read."""
    return st.session_state.pop(CLUSTERS_FLASH, None) or None


def set_clusters_flash(message: str) -> None:
    """A notice for the Clusters page's next run (after a save or a switch, then st.rerun)."""
    st.session_state[CLUSTERS_FLASH] = message


def typed_done() -> bool:
    """True once the lookup's typed R/F/M form was submitted in this session."""
    return bool(st.session_state.get(TYPED_DONE))


def set_typed_done() -> None:
    """Keep showing the typed R/F/M card on later runs."""
    st.session_state[TYPED_DONE] = True
