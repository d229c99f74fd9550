"""Session state and cached engine calls for named segments, campaign exports and the report.

The named segments' part of the session and its engine calls: the segment grid the user
edited (kept by ui/session.py), the scored table under that grid, the file's customer
attributes, last orders and movement sizes for the exports and the report (cached by the file's
content hash and the settings, like the calls of ui/engine.py).
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import streamlit as st

from core.campaign import campaign_table, customer_attributes, suggest_attribute_columns
from core.columns import ColumnMapping
from core.errors import ConfigError, SegmentationError
from core.lookup import last_orders
from core.report import ReportInputs, build_report, movement_sizes
from core.scores import SCORES, default_grid, score_table, validate_grid
from ui import engine, files, models, session
from ui import value as value_ui


# -- the segment grid ------------------------------------------------------------------
def segment_grid(active: models.ActiveModel) -> dict[str, list[str]]:
    """The grid in use: edited in this session, else the model's saved one, else the default."""
    edited = session.segment_grid()
    if edited is not None:
        return edited
    saved = active.model.segment_grid
    return validate_grid(saved) if saved else default_grid()


def set_segment_grid(grid) -> None:
    """Keep an edited grid for this session (ConfigError naming the cell if it is not valid)."""
    session.set_segment_grid(validate_grid(grid))


def reset_segment_grid() -> None:
    """Forget the grid edited in this session (the model's saved one, else the default, is used)."""
    session.reset_segment_grid()


def grid_is_edited() -> bool:
    """True when this session edited the grid (the page then offers to save or reset it)."""
    return session.segment_grid() is not None


def grid_table(grid) -> pd.DataFrame:
    """The grid as the page edits it: rows 'R 5'..'R 1' (best first), columns 'FM 1'..'FM 5'."""
    grid = validate_grid(grid)
    return pd.DataFrame(
        [grid[str(r)] for r in reversed(SCORES)],
        index=[f"R {r}" for r in reversed(SCORES)],
        columns=[f"FM {f}" for f in SCORES],
    )


def grid_from_table(table: pd.DataFrame) -> dict[str, list[str]]:
    """The edited table back to a grid (ConfigError naming an empty or unknown cell)."""
    try:
        rows = {str(r): [table.loc[f"R {r}", f"FM {f}"] for f in SCORES] for r in SCORES}
    except KeyError as exc:
        raise ConfigError(f"the edited grid lacks {exc}; reset it and edit again") from None
    return validate_grid(rows)


# -- cached engine calls ---------------------------------------------------------------
@st.cache_data(max_entries=engine.CACHE_ENTRIES, show_spinner=False)
def _scored(rfm_fingerprint: str, model_key: str, grid_json: str, _segmented: pd.DataFrame) -> pd.DataFrame:
    return score_table(_segmented, grid=json.loads(grid_json))


def scored(loaded: engine.Loaded, active: models.ActiveModel) -> pd.DataFrame:
    """Every customer with tier, cluster, segment, R/F/M scores and the named segment."""
    grid = segment_grid(active)
    segmented = models.current_segments(loaded, active)
    return _scored(loaded.fingerprint, active.key, json.dumps(grid, sort_keys=True), segmented)


def rfm_scores(loaded: engine.Loaded) -> pd.DataFrame:
    """The RFM table with scores and named segments; needs no model (the grid: the session's,
    else the active model's saved one when a model can be had, else the default)."""
    try:
        grid = segment_grid(models.active_model(loaded))
    except SegmentationError:  # e.g. too few customers to cluster: scores still work
        grid = session.segment_grid() or default_grid()
    return _scored(loaded.fingerprint, "rfm-only", json.dumps(grid, sort_keys=True), loaded.rfm)


def file_currency() -> str | None:
    """The currency the loaded file states (its Currency column), else None."""
    return files.current_info().currency


@st.cache_data(max_entries=engine.CACHE_ENTRIES, show_spinner=False)
def _attributes(
    content_hash: str,
    name: str,
    settings: session.Settings,
    columns: tuple[str, ...],
    as_of: dt.datetime,
    _raw,
) -> pd.DataFrame:
    src = engine.open_file(name, settings, _raw)
    return customer_attributes(src, columns, as_of=as_of)


def campaign_builder(loaded: engine.Loaded, scored_table: pd.DataFrame, columns: tuple[str, ...]):
    """A function building the campaign-ready table with the chosen customer columns.

    Download buttons run it later, outside the page's run (no session state there), so
    everything it needs is taken now.
    """
    src, settings = files.source(), files.settings()
    columns, as_of = tuple(columns), loaded.result.as_of

    def build() -> pd.DataFrame:
        attrs = _attributes(src.content_hash, src.name, settings, columns, as_of, src.raw)
        valued, _ = value_ui.with_value_of(scored_table, src, settings)  # + CLV when it fits
        return campaign_table(valued, attrs)

    return build


def customer_columns(loaded: engine.Loaded, customer_id: str) -> dict[str, str]:
    """The customer's own columns of the file (name, e-mail, country, ...: those the campaign
    export suggests), each the latest non-empty value by date; empty ones left out."""
    src, settings = files.source(), files.settings()
    columns = tuple(
        suggest_attribute_columns(list(files.current_info().columns), ColumnMapping(**settings.mapping_dict))
    )
    if not columns:
        return {}
    table = _attributes(src.content_hash, src.name, settings, columns, loaded.result.as_of, src.raw)
    row = table[table["customer_id"] == str(customer_id)]
    if row.empty:
        return {}
    values = row.iloc[0]
    return {c: str(values[c]) for c in columns if not pd.isna(values[c]) and str(values[c])}


@st.cache_data(max_entries=64, show_spinner=False)
def _last_orders(
    content_hash: str, name: str, settings: session.Settings, customer_id: str, as_of: dt.datetime, _raw
) -> pd.DataFrame:
    return last_orders(engine.open_file(name, settings, _raw), customer_id, until=as_of)


def customer_last_orders(loaded: engine.Loaded, customer_id: str) -> pd.DataFrame:
    """The customer's last orders up to the as-of date (core.lookup.last_orders), cached."""
    src = files.source()
    return _last_orders(
        src.content_hash, src.name, files.settings(), str(customer_id), loaded.result.as_of, src.raw
    )


@st.cache_data(max_entries=4, show_spinner=False)
def _movement(content_hash: str, name: str, settings: session.Settings, grid_json: str, _raw):
    src = engine.open_file(name, settings, _raw)
    return movement_sizes(src, json.loads(grid_json))


def report_builder(loaded: engine.Loaded, active: models.ActiveModel, currency: str | None):
    """A function building the one-file HTML report of what the Segments page shows (bytes).

    Like campaign_builder: everything from the session is taken now, the work runs on click.
    """
    src, settings = files.source(), files.settings()
    grid = segment_grid(active)
    scored_table = scored(loaded, active)

    def build() -> bytes:
        sizes, note = _movement(
            src.content_hash, src.name, settings, json.dumps(grid, sort_keys=True), src.raw
        )
        valued, value_note = value_ui.with_value_of(scored_table, src, settings)
        page = build_report(
            ReportInputs(
                source_name=src.name,
                scored=valued,
                value_note=value_note,
                audit=loaded.result.audit,
                as_of=loaded.result.as_of,
                generated_at=dt.datetime.now(dt.UTC),
                data_fingerprint=loaded.fingerprint,
                model_version=active.version,
                model_k=active.model.config.k,
                grid=grid,
                currency=currency,
                movement=sizes,
                movement_note=note,
                file_hash=src.content_hash,
            )
        )
        return page.encode("utf-8")

    return build
