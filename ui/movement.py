"""Cached movement computations for the Movement page (core.movement under st.cache_data).

Each call scans the loaded file once through core.movement.PurchaseHistory; results are
keyed by the file's content hash, the analysis settings, the dates and the lens, so changing
a date recomputes the migration only, and the month-end sizes are computed once per lens.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import streamlit as st

from core import movement
from ui import engine, files, session

NAMED = "named"
CACHE_ENTRIES = 8


def _history(name: str, settings: session.Settings, raw) -> movement.PurchaseHistory:
    src = engine.open_file(name, settings, raw)
    return movement.PurchaseHistory.from_source(src)


def _segment_by(lens_key: str, grid_json: str, model) -> movement.SegmentBy:
    if lens_key == NAMED:
        return movement.by_named_segment(json.loads(grid_json))
    return movement.by_model(model)


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
def month_end_view(
    content_hash: str, name: str, settings: session.Settings, lens_key: str, grid_json: str, _raw, _model
) -> tuple[pd.DataFrame, dt.datetime, dt.datetime]:
    """(segment sizes at each month end, first purchase, last purchase)."""
    history = _history(name, settings, _raw)
    sizes = movement.month_end_sizes(history, _segment_by(lens_key, grid_json, _model))
    return sizes, history.first_purchase, history.last_purchase


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
def migration_view(
    content_hash: str,
    name: str,
    settings: session.Settings,
    lens_key: str,
    grid_json: str,
    _raw,
    _model,
    from_date: dt.datetime,
    to_date: dt.datetime,
    cut_points: str,
) -> pd.DataFrame:
    """customer_id, from_segment, to_segment and R/F/M at ``to_date`` (core.movement.migration)."""
    history = _history(name, settings, _raw)
    return movement.migration(
        history,
        from_date,
        to_date,
        _segment_by(lens_key, grid_json, _model),
        with_rfm=True,
        cut_points=cut_points,
    )


def _view_arguments(lens_key: str, grid: dict, model) -> tuple:
    """The views' leading arguments: the loaded file (by its content hash; its bytes are not
    hashed), the analysis settings and the lens (the grid as sorted JSON; the model unhashed)."""
    src = files.source()
    return (
        src.content_hash,
        src.name,
        files.settings(),
        lens_key,
        json.dumps(grid, sort_keys=True),
        src.raw,
        model,
    )


def current_month_ends(lens_key: str, grid: dict, model):
    """Month-end sizes under the lens: NAMED (with this grid) or a model's key."""
    return month_end_view(*_view_arguments(lens_key, grid, model))


def current_migration(
    lens_key: str,
    grid: dict,
    model,
    from_date: dt.datetime,
    to_date: dt.datetime,
    cut_points: str = movement.DEFAULT_CUT_POINTS,
):
    """Every customer's move between the dates under the lens (cut_points: see migration)."""
    return migration_view(*_view_arguments(lens_key, grid, model), from_date, to_date, cut_points)
