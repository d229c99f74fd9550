"""Cached lifetime-value computations for the Value page (core.clv under st.cache_data).

The loaded file is scanned once into its purchases (core.movement.PurchaseHistory); the
forecast and the backtest are keyed by the file's content hash, the analysis settings (as-of
date included) and the forecast's settings, so moving a slider refits only what it changes.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from core import clv
from core.config import CLVConfig
from core.errors import SegmentationError
from ui import marketing, state


@dataclass(frozen=True)
class ValueView:
    """The forecast of every customer, and the backtest or why it could not run."""

    result: clv.CLVResult
    backtest: clv.Backtest | None
    backtest_refusal: str | None


@st.cache_data(max_entries=state.CACHE_ENTRIES, show_spinner=False)
def value_view(content_hash: str, name: str, settings: state.Settings, config: CLVConfig,
               _raw) -> ValueView:
    """Forecast and backtest of the file (raises SegmentationError when the forecast refuses)."""
    history = clv.history_of(state.open_file(name, settings, _raw))
    result = clv.clv_from_history(history, settings.as_of, config)
    try:
        checked, refusal = clv.backtest_history(history, settings.as_of), None
    except SegmentationError as exc:  # the forecast stands; the check says what it misses
        checked, refusal = None, str(exc)
    return ValueView(result, checked, refusal)


def current_value(config: CLVConfig) -> ValueView:
    """The Value page's view of the loaded file under the current settings."""
    src = state.source()
    return value_view(src.content_hash, src.name, state.settings(), config, src.raw)


def with_segments(table: pd.DataFrame, loaded: state.Loaded) -> pd.DataFrame:
    """The forecast table with each customer's named RFM segment (customers RFM has)."""
    named = marketing.rfm_scores(loaded)[["customer_id", "rfm_segment"]]
    return table.merge(named.astype({"customer_id": "string"}), on="customer_id", how="left")
