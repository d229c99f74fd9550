"""Plotly figure builders for the dashboard and reports (no streamlit here).

Every builder takes plain DataFrames and returns a ``plotly.graph_objects.Figure``. Builders
that plot one mark per customer never plot more than ``MAX_POINTS`` customers: callers pass
the result of ``sample_points`` and say on the page when it sampled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.basedatatypes import BaseTraceType
from plotly.subplots import make_subplots

from core.clustering import FEATURES, base_name

MAX_POINTS = 50_000
SAMPLE_SEED = 0
# Short: three side-by-side subplot titles must fit a phone's width (390 px).
FEATURE_LABELS = {"recency": "Recency (days)", "frequency": "Orders", "monetary": "Spend"}
# One colour per segment family, so a segment keeps its colour across charts and retrains.
FAMILY_COLOURS = {
    "Elite": "#6a3d9a",
    "High_Spender": "#e31a1c",
    "Power_Shopper": "#ff7f00",
    "Premium": "#1f78b4",
    "Regular": "#33a02c",
    "Occasional": "#b2a04a",
    "Lapsed": "#7f7f7f",
}
_EXTRA = ("#a6cee3", "#b2df8a", "#fb9a99", "#fdbf6f", "#cab2d6", "#8dd3c7", "#bebada")


def sample_points(
    frame: pd.DataFrame, max_points: int = MAX_POINTS, seed: int = SAMPLE_SEED
) -> tuple[pd.DataFrame, bool]:
    """At most ``max_points`` rows (a fixed-seed sample, original order) and whether it sampled."""
    if len(frame) <= max_points:
        return frame, False
    rows = np.sort(np.random.default_rng(seed).choice(len(frame), size=max_points, replace=False))
    return frame.iloc[rows], True


def segment_colours(segments) -> dict[str, str]:
    """A stable colour for each segment name: its family's colour, shades for 'Regular 2' etc."""
    colours: dict[str, str] = {}
    extra = iter(_EXTRA * 4)
    for name in dict.fromkeys(segments):
        family = FAMILY_COLOURS.get(base_name(str(name)))
        if family and family not in colours.values():
            colours[name] = family
        else:
            colours[name] = next(extra)
    return colours


def _values(series: pd.Series, log: bool) -> np.ndarray:
    values = series.to_numpy(dtype=float)
    return np.log10(1.0 + np.clip(values, 0, None)) if log else values


def _label(feature: str, log: bool) -> str:
    return f"{FEATURE_LABELS[feature].split(' (')[0]} (log)" if log else FEATURE_LABELS[feature]


def _layout(fig: go.Figure, height: int = 380, **kwargs) -> go.Figure:
    kwargs.setdefault("margin", dict(l=40, r=20, t=50, b=40))
    fig.update_layout(height=height, template="plotly_white", **kwargs)
    return fig


def _feature_subplots(log: bool) -> go.Figure:
    """Three side-by-side subplots, one per R/F/M feature, titled with its label."""
    return make_subplots(rows=1, cols=3, subplot_titles=[_label(f, log) for f in FEATURES])


def _one_trace_per_feature(
    rfm: pd.DataFrame, log: bool, trace: Callable[[str, np.ndarray], BaseTraceType]
) -> go.Figure:
    """``trace(feature, values)`` for recency, frequency and monetary, each in its own subplot."""
    fig = _feature_subplots(log)
    for i, feature in enumerate(FEATURES, start=1):
        fig.add_trace(trace(feature, _values(rfm[feature], log)), row=1, col=i)
    return fig


def rfm_histograms(rfm: pd.DataFrame, log: bool = False, bins: int = 40) -> go.Figure:
    """Three histograms: customers by recency, frequency and monetary."""
    fig = _one_trace_per_feature(
        rfm,
        log,
        lambda feature, values: go.Histogram(
            x=values, nbinsx=bins, name=feature, marker_color="#1f6f8b", showlegend=False
        ),
    )
    fig.update_yaxes(title_text="customers", row=1, col=1)
    return _layout(fig, title_text="Distribution of R, F, M")


def rfm_boxes(rfm: pd.DataFrame, log: bool = False) -> go.Figure:
    """Three box plots (with outlier points) of recency, frequency and monetary."""
    fig = _one_trace_per_feature(
        rfm,
        log,
        lambda feature, values: go.Box(
            y=values, name=feature, boxpoints="outliers", marker_color="#1f6f8b", showlegend=False
        ),
    )
    return _layout(fig, title_text="Spread and outliers of R, F, M")


def elbow_chart(table: pd.DataFrame, knee: int | None, recommended_k: int | None = None) -> go.Figure:
    """Inertia against k, the knee marked."""
    fig = go.Figure(
        go.Scatter(
            x=table["k"], y=table["inertia"], mode="lines+markers", name="inertia", line_color="#1f6f8b"
        )
    )
    if knee is not None and knee in set(table["k"]):
        y = float(table.loc[table["k"] == knee, "inertia"].iloc[0])
        fig.add_trace(
            go.Scatter(
                x=[knee],
                y=[y],
                mode="markers+text",
                name=f"knee (k={knee})",
                text=[f"knee k={knee}"],
                textposition="top right",
                marker=dict(size=16, color="#e31a1c", symbol="x"),
            )
        )
    if recommended_k is not None and recommended_k != knee:
        fig.add_vline(
            x=recommended_k,
            line_dash="dash",
            line_color="#33a02c",
            annotation_text=f"recommended k={recommended_k}",
        )
    fig.update_xaxes(title_text="k (clusters)", dtick=1)
    fig.update_yaxes(title_text="inertia (within-cluster sum of squares)")
    return _layout(fig, title_text="Elbow: inertia by k")


def cluster_metric_charts(table: pd.DataFrame, recommended_k: int | None = None) -> go.Figure:
    """Silhouette (higher is better), Calinski-Harabasz (higher), Davies-Bouldin (lower) by k."""
    metrics = (
        ("silhouette", "Silhouette (higher: better)"),
        ("calinski_harabasz", "Calinski-Harabasz (higher: better)"),
        ("davies_bouldin", "Davies-Bouldin (lower: better)"),
    )
    fig = make_subplots(rows=1, cols=3, subplot_titles=[t for _, t in metrics])
    chosen = table[table["k"] == recommended_k]  # no row when no k is recommended, or it was not tried
    for i, (column, _) in enumerate(metrics, start=1):
        fig.add_trace(
            go.Scatter(
                x=table["k"],
                y=table[column],
                mode="lines+markers",
                name=column,
                line_color="#1f6f8b",
                showlegend=False,
            ),
            row=1,
            col=i,
        )
        if not chosen.empty:
            fig.add_trace(
                go.Scatter(
                    x=[recommended_k],
                    y=[float(chosen[column].iloc[0])],
                    mode="markers",
                    showlegend=False,
                    name="recommended",
                    marker=dict(size=13, color="#33a02c"),
                ),
                row=1,
                col=i,
            )
        fig.update_xaxes(title_text="k", dtick=1, row=1, col=i)
    return _layout(fig, title_text="Cluster quality by k (green: recommended k)")


def segment_scatter_3d(segmented: pd.DataFrame, log: bool = True) -> go.Figure:
    """Customers in R/F/M space, one colour per segment (pass at most MAX_POINTS rows)."""
    colours = segment_colours(sorted(segmented["segment"].dropna().unique(), key=_segment_order))
    fig = go.Figure()
    for name, colour in colours.items():
        part = segmented[segmented["segment"] == name]
        fig.add_trace(
            go.Scatter3d(
                x=_values(part["recency"], log),
                y=_values(part["frequency"], log),
                z=_values(part["monetary"], log),
                mode="markers",
                name=f"{name} ({len(part):,})",
                marker=dict(size=3, color=colour, opacity=0.75),
                customdata=part["customer_id"].astype(str).to_numpy(),
                hovertemplate="customer %{customdata}<extra>" + str(name) + "</extra>",
            )
        )
    # short axis titles: long ones are clipped by the 3D scene at narrow widths
    suffix = " (log)" if log else ""
    fig.update_layout(
        scene=dict(
            xaxis_title=f"recency{suffix}",
            yaxis_title=f"orders{suffix}",
            zaxis_title=f"spend{suffix}",
            camera=dict(eye=dict(x=1.7, y=1.7, z=1.2)),
        )
    )
    return _layout(
        fig,
        height=560,
        title_text="Customers by segment in R/F/M space",
        legend=dict(itemsizing="constant", orientation="h", y=-0.05),
        margin=dict(l=0, r=0, t=50, b=0),
    )


def segment_violins(segmented: pd.DataFrame, log: bool = True) -> go.Figure:
    """Violin plots of R, F and M per segment (pass at most MAX_POINTS rows)."""
    names = sorted(segmented["segment"].dropna().unique(), key=_segment_order)
    colours = segment_colours(names)
    fig = _feature_subplots(log)
    for i, feature in enumerate(FEATURES, start=1):
        for name in names:
            part = segmented[segmented["segment"] == name]
            fig.add_trace(
                go.Violin(
                    x0=str(name),
                    y=_values(part[feature], log),
                    name=str(name),
                    legendgroup=str(name),
                    scalemode="width",
                    showlegend=(i == 1),
                    line_color=colours[name],
                    box_visible=True,
                    meanline_visible=True,
                    points=False,
                    spanmode="hard",
                ),
                row=1,
                col=i,
            )
        fig.update_xaxes(showticklabels=False, row=1, col=i)
    return _layout(
        fig,
        height=520,
        title_text="R, F, M per segment",
        violinmode="overlay",
        legend=dict(orientation="h", y=-0.08),
    )


def segment_overview(profiles: pd.DataFrame, currency: str | None = None) -> go.Figure:
    """Customers per segment as horizontal bars (names never cut), revenue share as the label."""
    order = profiles.sort_values("segment", key=lambda s: s.map(_segment_order))
    colours = segment_colours(order["segment"])
    labels = [display_name(s) for s in order["segment"]]
    text = [f"{n:,} · {share:.0%} of revenue" for n, share in zip(order["customers"], order["revenue_share"])]
    return horizontal_bars(
        order["customers"],
        labels,
        [colours[s] for s in order["segment"]],
        text,
        customdata=np.stack([order["revenue"], order["recency_mean"], order["frequency_mean"]], axis=1),
        hovertemplate=(
            "%{y}: %{x:,} customers<br>revenue "
            + money_hover(currency, "customdata[0]")
            + "<br>mean recency %{customdata[1]:,.0f} days<br>mean orders "
            "%{customdata[2]:,.1f}<extra></extra>"
        ),
        x_title="customers",
        title="Customers per segment",
        cliponaxis=False,
    )


def tier_cluster_heatmap(
    crosstab: pd.DataFrame,
    x_title: str = "nearest cluster",
    y_title: str = "tier",
    title: str = "Tier x cluster: where the VIP tiers would fall",
) -> go.Figure:
    """Customers by rows x columns of a cross-tab, counts annotated; labels angled, never cut."""
    fig = go.Figure(
        go.Heatmap(
            z=crosstab.to_numpy(),
            x=[display_name(c) for c in crosstab.columns],
            y=[display_name(r) for r in crosstab.index],
            colorscale="Blues",
            text=crosstab.to_numpy(),
            texttemplate="%{text:,}",
            textfont=dict(size=11),
            showscale=False,
            xgap=1,
            ygap=1,
            hovertemplate="%{y} x %{x}: %{z:,} customers<extra></extra>",
        )
    )
    fig.update_xaxes(title_text=x_title, tickangle=-90, automargin=True, side="bottom")
    fig.update_yaxes(title_text=y_title, autorange="reversed", automargin=True)
    return _layout(
        fig, height=140 + 30 * len(crosstab.index), title_text=title, margin=dict(l=10, r=10, t=50, b=10)
    )


# -- named RFM segments --------------------------------------------------------------------
NAMED_COLOURS = {
    "Champions": "#1b7837",
    "Loyal": "#5aae61",
    "Potential Loyalist": "#a6dba0",
    "New Customers": "#2166ac",
    "Promising": "#92c5de",
    "Need Attention": "#fee08b",
    "About to Sleep": "#fdae61",
    "At Risk": "#f46d43",
    "Can't Lose Them": "#b2182b",
    "Hibernating": "#8c8c8c",
}


def named_colours(names) -> dict[str, str]:
    """A fixed colour per named segment; names from an edited grid get spare colours."""
    extra = iter(_EXTRA * 4)
    return {name: NAMED_COLOURS.get(name) or next(extra) for name in dict.fromkeys(names)}


def money_hover(currency: str | None, field: str = "x") -> str:
    """A plotly hover placeholder for money: '£%{x:,.2f}' (or with the code after)."""
    from core.money import symbol

    mark = symbol(currency)
    if mark:
        return f"{mark}%{{{field}:,.2f}}"
    return f"%{{{field}:,.2f}}" + (f" {currency}" if currency else "")


def _compact_money(value: float, currency: str | None) -> str:
    from core.money import symbol

    mark = symbol(currency)
    for size, suffix in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if abs(value) >= size:
            return f"{mark}{value / size:,.1f}{suffix}"
    return f"{mark}{value:,.0f}"


def rfm_grid_chart(cells: pd.DataFrame, currency: str | None = None) -> go.Figure:
    """The 5x5 R x FM grid: each cell coloured by its named segment, customers and revenue in it.

    ``cells`` comes from core.scores.grid_cells (r_score, fm, rfm_segment, customers, revenue).
    Segment names are in the legend and the hover, so cells stay legible at phone width.
    """
    names = list(dict.fromkeys(cells["rfm_segment"]))
    from core.scores import SEGMENT_ORDER

    names.sort(key=lambda n: (SEGMENT_ORDER.index(n) if n in SEGMENT_ORDER else 99, n))
    colours = named_colours(names)
    n = len(names)
    index = {name: i for i, name in enumerate(names)}
    scale = []
    for i, name in enumerate(names):
        scale += [[i / n, colours[name]], [(i + 1) / n, colours[name]]]
    grid = cells.pivot(index="r_score", columns="fm", values="rfm_segment").sort_index()
    customers = cells.pivot(index="r_score", columns="fm", values="customers").sort_index()
    revenue = cells.pivot(index="r_score", columns="fm", values="revenue").sort_index()
    z = grid.apply(lambda col: col.map(lambda s: (index[s] + 0.5) / n)).to_numpy(dtype=float)
    text = [
        [f"{c:,}<br>{_compact_money(r, currency)}" if c else "0" for c, r in zip(crow, rrow)]
        for crow, rrow in zip(customers.to_numpy(), revenue.to_numpy())
    ]
    custom = np.dstack(
        [grid.to_numpy(dtype=object), customers.to_numpy(dtype=object), revenue.to_numpy(dtype=object)]
    )
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(c) for c in grid.columns],
            y=[str(r) for r in grid.index],
            zmin=0,
            zmax=1,
            colorscale=scale,
            showscale=False,
            xgap=2,
            ygap=2,
            text=text,
            texttemplate="%{text}",
            textfont=dict(size=11),
            customdata=custom,
            hovertemplate=(
                "R %{y}, FM %{x}: <b>%{customdata[0]}</b><br>%{customdata[1]:,} "
                "customers<br>revenue " + money_hover(currency, "customdata[2]") + "<extra></extra>"
            ),
        )
    )
    for name in names:  # legend entries: one coloured square per segment
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=name,
                marker=dict(size=12, symbol="square", color=colours[name]),
            )
        )
    fig.update_xaxes(title_text="FM score (orders and spend: 5 = most)", type="category")
    fig.update_yaxes(title_text="R score (5 = bought most recently)", type="category", automargin=True)
    return _layout(
        fig,
        height=560,
        title_text="Customers and revenue by R and FM score",
        legend=dict(orientation="h", y=-0.18, x=0, font=dict(size=11)),
        margin=dict(l=10, r=10, t=50, b=10),
    )


def named_segment_bars(profiles: pd.DataFrame, currency: str | None = None) -> go.Figure:
    """Customers per named segment (best to worst), with each one's share of revenue."""
    colours = named_colours(profiles["rfm_segment"])
    text = [
        f"{n:,} · {share:.0%} of revenue"
        for n, share in zip(profiles["customers"], profiles["revenue_share"])
    ]
    return horizontal_bars(
        profiles["customers"],
        profiles["rfm_segment"],
        [colours[s] for s in profiles["rfm_segment"]],
        text,
        customdata=profiles[["revenue"]].to_numpy(),
        hovertemplate=(
            "%{y}: %{x:,} customers<br>revenue " + money_hover(currency, "customdata[0]") + "<extra></extra>"
        ),
        x_title="customers",
        title="Customers per named segment",
        cliponaxis=False,
    )


def horizontal_bars(
    x,
    y,
    colours: list[str],
    text: list[str],
    *,
    customdata,
    hovertemplate: str,
    x_title: str,
    title: str,
    cliponaxis: bool | None = None,
) -> go.Figure:
    """One horizontal bar per segment, the first on top, labelled with ``text`` (inside the bar
    or beside it); names are never cut and the height grows with the bars. ``cliponaxis``:
    False lets a label stand past the axis's end; None leaves plotly's default."""
    fig = go.Figure(
        go.Bar(
            x=x,
            y=y,
            orientation="h",
            text=text,
            textposition="auto",
            marker_color=colours,
            customdata=customdata,
            hovertemplate=hovertemplate,
            cliponaxis=cliponaxis,
        )
    )
    fig.update_xaxes(title_text=x_title, rangemode="tozero", tickformat=",")
    fig.update_yaxes(autorange="reversed", automargin=True)
    return _layout(
        fig, height=110 + 34 * max(len(y), 1), title_text=title, margin=dict(l=10, r=10, t=50, b=40)
    )


def display_name(name) -> str:
    """A segment, tier or cluster name as a person reads it ('High_Spender' -> 'High Spender');
    underscores make long unbreakable labels. Exports and the engine keep the machine name."""
    return str(name).replace("_", " ")


def distance_bars(distances: Mapping[str, float], chosen: str | None = None) -> go.Figure:
    """Distance (standardised units) from one customer to each cluster centroid."""
    items = sorted(distances.items(), key=lambda kv: kv[1])
    colours = ["#1f6f8b" if name == chosen else "#b0bec5" for name, _ in items]
    fig = go.Figure(
        go.Bar(
            x=[d for _, d in items],
            y=[n for n, _ in items],
            orientation="h",
            marker_color=colours,
            text=[f"{d:.2f}" for _, d in items],
            textposition="auto",
        )
    )
    fig.update_xaxes(title_text="distance to centroid (standardised units)")
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, height=80 + 40 * len(items), title_text="Distance to each cluster centroid")


def _segment_order(name) -> tuple:
    families = list(FAMILY_COLOURS)
    family = base_name(str(name))
    return (families.index(family) if family in families else 99, str(name))


# -- movement between dates (core.movement) ---------------------------------------------------
NOT_YET_COLOUR = "#d9d9d9"


def transition_heatmap(matrix: pd.DataFrame, from_label: str, to_label: str) -> go.Figure:
    """Customers per (segment at the earlier date, segment at the later date), counts annotated."""
    z = matrix.to_numpy()
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(c) for c in matrix.columns],
            y=[str(r) for r in matrix.index],
            colorscale="Blues",
            text=z,
            texttemplate="%{text:,}",
            showscale=False,
            hovertemplate=f"%{{y}} on {from_label} -> %{{x}} on {to_label}: %{{z:,}} customers"
            "<extra></extra>",
        )
    )
    fig.update_xaxes(title_text=f"segment on {to_label}", tickangle=-30, automargin=True)
    fig.update_yaxes(title_text=f"segment on {from_label}", autorange="reversed", automargin=True)
    return _layout(fig, height=140 + 34 * len(matrix.index), title_text=f"Moves: {from_label} → {to_label}")


def migration_sankey(
    matrix: pd.DataFrame, from_label: str, to_label: str, colours: Mapping[str, str] | None = None
) -> go.Figure:
    """Flows from each segment at the earlier date (left) to each at the later date (right)."""
    froms, tos = [str(r) for r in matrix.index], [str(c) for c in matrix.columns]
    colours = dict(colours or segment_colours([*froms, *tos]))
    node_colours = [colours.get(name, NOT_YET_COLOUR) for name in [*froms, *tos]]
    sources, targets, values = [], [], []
    for i, row in enumerate(matrix.to_numpy()):
        for j, count in enumerate(row):
            if count > 0:
                sources.append(i)
                targets.append(len(froms) + j)
                values.append(int(count))
    link_colours = [_transparent(node_colours[s]) for s in sources]
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node=dict(
                label=[*froms, *tos],
                color=node_colours,
                pad=16,
                thickness=14,
                customdata=[from_label] * len(froms) + [to_label] * len(tos),
                hovertemplate="%{label} on %{customdata}: %{value:,} customers<extra></extra>",
            ),
            link=dict(
                source=sources,
                target=targets,
                value=values,
                color=link_colours,
                hovertemplate="%{source.label} -> %{target.label}: %{value:,} customers<extra></extra>",
            ),
        )
    )
    return _layout(
        fig,
        height=max(420, 40 * max(len(froms), len(tos)) + 100),
        title_text=f"Flows: {from_label} → {to_label}",
    )


def segment_sizes_area(
    sizes: pd.DataFrame, order: list[str] | None = None, colours: Mapping[str, str] | None = None
) -> go.Figure:
    """Customers per segment at each month end, stacked (columns month_end, segment, customers)."""
    wide = sizes.pivot_table(
        index="month_end", columns="segment", values="customers", aggfunc="sum", fill_value=0
    ).sort_index()
    present = [str(c) for c in wide.columns]
    names = [n for n in (order or []) if n in present] + sorted(set(present) - set(order or []))
    colours = dict(colours or segment_colours(names))
    fig = go.Figure()
    for name in names:
        fig.add_trace(
            go.Scatter(
                x=wide.index,
                y=wide[name],
                name=name,
                mode="lines",
                stackgroup="customers",
                line=dict(width=0.5, color=colours.get(name, NOT_YET_COLOUR)),
                hovertemplate=f"{name}: %{{y:,}} customers on %{{x|%Y-%m-%d}}<extra></extra>",
            )
        )
    fig.update_xaxes(title_text="month end")
    fig.update_yaxes(title_text="customers", rangemode="tozero", tickformat=",")
    return _layout(
        fig,
        height=420,
        title_text="Customers per segment, month ends",
        legend=dict(orientation="h", y=-0.2),
        hovermode="x unified",
    )


def _transparent(hex_colour: str, alpha: float = 0.45) -> str:
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"
