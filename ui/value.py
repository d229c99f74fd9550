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
from core.config import CLV_DEFAULTS, CLVConfig
from core.errors import SegmentationError
from core.movement import PurchaseHistory
from ui import engine, files, render, session


@dataclass(frozen=True)
class ValueView:
    """The forecast of every customer, and the backtest or why it could not run."""

    result: clv.CLVResult
    backtest: clv.Backtest | None
    backtest_refusal: str | None


@st.cache_data(max_entries=engine.CACHE_ENTRIES, show_spinner=False)
def value_view(
    content_hash: str, name: str, settings: session.Settings, config: CLVConfig, _raw
) -> ValueView:
    """Forecast and backtest of the file (raises SegmentationError when the forecast refuses)."""
    history = PurchaseHistory.from_source(engine.open_file(name, settings, _raw))
    result = clv.clv_from_history(history, settings.as_of, config)
    try:
        checked, refusal = clv.backtest_history(history, settings.as_of), None
    except SegmentationError as exc:  # the forecast stands; the check says what it misses
        checked, refusal = None, str(exc)
    return ValueView(result, checked, refusal)


def current_value(config: CLVConfig) -> ValueView:
    """The Value page's view of the loaded file under the current settings."""
    src = files.source()
    return value_view(src.content_hash, src.name, files.settings(), config, src.raw)


def with_segments(table: pd.DataFrame, named: pd.DataFrame) -> pd.DataFrame:
    """The forecast table with each customer's named RFM segment (``named``: customer_id,
    rfm_segment, as ui.marketing.rfm_scores gives them)."""
    named = named[["customer_id", "rfm_segment"]].astype({"customer_id": "string"})
    return table.merge(named, on="customer_id", how="left")


def with_value_of(
    frame: pd.DataFrame, src: session.Source, settings: session.Settings
) -> tuple[pd.DataFrame, str]:
    """``frame`` with the default forecast's value columns (core.clv.with_value), or unchanged
    with the reason when the forecast refuses this file. Needs no session (runs on click)."""
    try:
        view = value_view(src.content_hash, src.name, settings, CLV_DEFAULTS, src.raw)
    except SegmentationError as exc:
        return frame, f"Lifetime value not available: {exc}"
    return clv.with_value(frame, view.result.table), ""


def value_card(customer_id: str, code: str | None) -> None:
    """The lookup card's lifetime-value block: P(alive), expected purchases and CLV of one
    customer under the default forecast, or why the forecast is not available."""
    try:
        view = current_value(CLV_DEFAULTS)
    except SegmentationError as exc:
        st.caption(f"Lifetime value not available: {exc}")
        return
    rows = view.result.table[view.result.table["customer_id"] == customer_id]
    if rows.empty:
        return
    row = rows.iloc[0]
    st.markdown("##### Lifetime value")
    c = st.columns(3)
    once = row["frequency"] == 0
    c[0].metric(
        "P(alive)",
        f"{row['p_alive']:.0%}",
        help=clv.ONE_TIME_BUYERS_NOTE
        if once
        else "The chance this customer has not left for good (Value page, docs/CLV.md).",
    )
    c[1].metric(f"Expected purchases, {CLV_DEFAULTS.weeks:g} weeks", f"{row['expected_purchases']:.2f}")
    render.money_metric(c[2], f"CLV, {CLV_DEFAULTS.months} months", row["clv"], code)
