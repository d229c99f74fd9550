"""Plotly figure builders for customer lifetime value (core.clv), for the Value page and the
report (no streamlit here). Inputs are the plain frames core.clv returns."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.charts import horizontal_bars, money_hover, named_colours

ACTUAL, PREDICTED = "#1f78b4", "#ff7f00"


def _layout(fig: go.Figure, title: str, height: int = 360, **kwargs) -> go.Figure:
    kwargs.setdefault("margin", dict(l=10, r=10, t=50, b=40))
    fig.update_layout(height=height, template="plotly_white", title_text=title, **kwargs)
    return fig


def p_alive_histogram(table: pd.DataFrame) -> go.Figure:
    """Customers by P(alive) in 20 bins of 5 points; one-time buyers (P(alive) = 1 by the
    model's construction) are a separate bar so they do not read as sure repeat buyers."""
    repeat = table[table["frequency"] > 0]
    once = int((table["frequency"] == 0).sum())
    fig = go.Figure(
        go.Histogram(
            x=repeat["p_alive"],
            xbins=dict(start=0, end=1.0001, size=0.05),
            marker_color=ACTUAL,
            name="bought on 2+ days",
            hovertemplate="P(alive) %{x}: %{y:,} customers<extra></extra>",
        )
    )
    fig.add_trace(
        go.Bar(
            x=[1.05],
            y=[once],
            width=0.04,
            marker_color="#bbbbbb",
            name="bought on one day only (1 by construction)",
            hovertemplate=f"{once:,} one-time buyers: P(alive) is 1 by the model's "
            "construction<extra></extra>",
        )
    )
    fig.update_xaxes(
        title_text="P(alive): chance the customer is still buying", range=[0, 1.1], tickformat=".0%"
    )
    fig.update_yaxes(title_text="customers", tickformat=",")
    return _layout(
        fig,
        "How likely is each customer still active?",
        legend=dict(orientation="h", y=-0.25, x=0),
        bargap=0.05,
    )


def clv_histogram(table: pd.DataFrame, currency: str | None = None, bins: int = 40) -> go.Figure:
    """Customers by CLV up to the 99th percentile (the long tail is named in the title)."""
    values = table["clv"].to_numpy(float)
    top = float(np.quantile(values, 0.99)) if len(values) else 0.0
    shown = values[values <= top]
    above = int((values > top).sum())
    fig = go.Figure(
        go.Histogram(
            x=shown,
            nbinsx=bins,
            marker_color=ACTUAL,
            hovertemplate="CLV " + money_hover(currency) + ": %{y:,} customers<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="CLV" + (f" ({currency})" if currency else ""), tickformat=",")
    fig.update_yaxes(title_text="customers", tickformat=",")
    title = "Customers by lifetime value" + (
        f" ({above:,} above the 99th percentile not shown)" if above else ""
    )
    return _layout(fig, title, bargap=0.05)


def frequency_recency_heatmap(grid: pd.DataFrame, value: str, horizon_weeks: float) -> go.Figure:
    """The model's ``value`` ('expected_purchases' or 'p_alive') over frequency (rows) and
    recency (columns), from core.clv.frequency_recency_grid."""
    table = grid.pivot(index="frequency", columns="recency_weeks", values=value).sort_index()
    is_p = value == "p_alive"
    fig = go.Figure(
        go.Heatmap(
            z=table.to_numpy(float),
            x=[f"{c:.0f}" for c in table.columns],
            y=table.index.astype(str),
            colorscale="Viridis",
            zmin=0,
            zmax=1 if is_p else None,
            colorbar=dict(title="P(alive)" if is_p else "purchases", tickformat=".0%" if is_p else ","),
            hovertemplate=(
                "%{y} repeat purchases, last one in week %{x}: "
                + (
                    "P(alive) %{z:.0%}"
                    if is_p
                    else f"%{{z:.2f}} purchases expected in {horizon_weeks:g} weeks"
                )
                + "<extra></extra>"
            ),
        )
    )
    fig.update_xaxes(
        title_text="recency: weeks from first to last purchase (right = recent)", type="category"
    )
    fig.update_yaxes(title_text="repeat purchases (frequency)", type="category")
    title = (
        "P(alive) by frequency and recency"
        if is_p
        else f"Expected purchases in the next {horizon_weeks:g} weeks by frequency and recency"
    )
    return _layout(fig, title, height=420)


def segment_value_bars(by_segment: pd.DataFrame, currency: str | None = None) -> go.Figure:
    """Mean CLV per named segment (from core.clv.value_by_segment), P(alive) in the label."""
    colours = named_colours(by_segment["rfm_segment"])
    text = [f"{p:.0%} alive" for p in by_segment["p_alive"]]
    return horizontal_bars(
        by_segment["clv_mean"],
        by_segment["rfm_segment"],
        [colours[s] for s in by_segment["rfm_segment"]],
        text,
        customdata=by_segment[["customers", "p_alive"]].to_numpy(),
        hovertemplate=(
            "%{y}: mean CLV " + money_hover(currency) + " over %{customdata[0]:,} "
            "customers, mean P(alive) %{customdata[1]:.0%}<extra></extra>"
        ),
        x_title="mean CLV" + (f" ({currency})" if currency else ""),
        title="Lifetime value per named segment",
    )


def _actual_vs_predicted(trace, frame: pd.DataFrame, x: str, *, actual: dict, predicted: dict) -> list:
    """A backtest's two traces (``trace``: go.Bar, or go.Scatter in lines mode) of the frame's
    ``actual`` and ``predicted`` columns over its ``x`` column, each named after its column;
    ``actual`` and ``predicted``: each trace's own settings (colour, hover)."""
    return [
        trace(x=frame[x], y=frame[name], name=name, **own)
        for name, own in (("actual", actual), ("predicted", predicted))
    ]


def backtest_by_frequency(by_frequency: pd.DataFrame) -> go.Figure:
    """Mean purchases after the cut, actual vs predicted, by repeat purchases before it."""
    fig = go.Figure(
        _actual_vs_predicted(
            go.Bar,
            by_frequency,
            "repeat_purchases",
            actual=dict(
                marker_color=ACTUAL,
                customdata=by_frequency["customers"],
                hovertemplate="%{x} repeat purchases (%{customdata:,} customers): %{y:.2f} "
                "purchases on average<extra>actual</extra>",
            ),
            predicted=dict(
                marker_color=PREDICTED,
                hovertemplate="%{x} repeat purchases: %{y:.2f} expected<extra>predicted</extra>",
            ),
        )
    )
    fig.update_xaxes(title_text="repeat purchases before the cut", type="category")
    fig.update_yaxes(title_text="purchases after the cut, per customer")
    return _layout(
        fig,
        "Actual vs predicted purchases by past repeat purchases",
        barmode="group",
        legend=dict(orientation="h", y=-0.25, x=0),
    )


def backtest_cumulative(cumulative: pd.DataFrame) -> go.Figure:
    """Cumulative purchases week by week after the cut, actual vs predicted."""
    fig = go.Figure(
        _actual_vs_predicted(
            functools.partial(go.Scatter, mode="lines"),
            cumulative,
            "week",
            actual=dict(
                line=dict(color=ACTUAL), hovertemplate="week %{x}: %{y:,} purchases<extra>actual</extra>"
            ),
            predicted=dict(
                line=dict(color=PREDICTED, dash="dash"),
                hovertemplate="week %{x}: %{y:,.0f} expected<extra>predicted</extra>",
            ),
        )
    )
    fig.update_xaxes(title_text="weeks after the cut")
    fig.update_yaxes(title_text="purchases since the cut (cumulative)", tickformat=",")
    return _layout(fig, "Purchases after the cut, week by week", legend=dict(orientation="h", y=-0.25, x=0))


__all__ = [
    "p_alive_histogram",
    "clv_histogram",
    "frequency_recency_heatmap",
    "segment_value_bars",
    "backtest_by_frequency",
    "backtest_cumulative",
]
