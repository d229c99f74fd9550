"""core.charts: figures build from plain frames and never carry more than MAX_POINTS customers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core import charts
from core.insights import segment_profiles


def _segmented(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    names = np.array(["Elite", "Premium", "Regular 1", "Regular 2", "Occasional", "Lapsed"])
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "recency": rng.integers(0, 400, n),
            "frequency": rng.integers(1, 30, n),
            "monetary": rng.gamma(2, 300, n).round(2),
            "tier": pd.array([pd.NA] * n, dtype="string"),
            "segment": names[rng.integers(0, len(names), n)],
        }
    )


def _points(fig) -> int:
    total = 0
    for trace in fig.data:
        values = next((getattr(trace, a) for a in ("x", "y") if getattr(trace, a) is not None), ())
        total += len(values)
    return total


def test_sample_points_is_capped_and_repeatable():
    frame = _segmented(120_000)
    a, sampled = charts.sample_points(frame)
    b, _ = charts.sample_points(frame)
    assert sampled and len(a) == charts.MAX_POINTS and a.index.equals(b.index)
    assert a.index.is_monotonic_increasing
    small, sampled = charts.sample_points(frame.head(100))
    assert not sampled and len(small) == 100


def test_per_customer_figures_carry_at_most_max_points():
    points, _ = charts.sample_points(_segmented(120_000))
    assert _points(charts.segment_scatter_3d(points)) == charts.MAX_POINTS
    assert _points(charts.rfm_histograms(points)) == 3 * charts.MAX_POINTS
    assert _points(charts.segment_violins(points, log=False)) == 3 * charts.MAX_POINTS


def test_segment_colours_are_stable_and_distinct():
    colours = charts.segment_colours(["Premium", "Regular 1", "Regular 2", "Lapsed"])
    assert colours["Premium"] == charts.FAMILY_COLOURS["Premium"]
    assert colours["Regular 1"] == charts.FAMILY_COLOURS["Regular"]
    assert len(set(colours.values())) == 4


def test_overview_is_one_bar_per_segment_with_names_never_cut():
    # five customers: Elite 1 (100), Regular 1 2 (10 + 30), Lapsed 2 (20 + 40); revenue 200
    seg = pd.DataFrame(
        {
            "customer_id": list("abcde"),
            "recency": [1, 2, 3, 200, 300],
            "frequency": [9, 2, 3, 1, 1],
            "monetary": [100.0, 10.0, 30.0, 20.0, 40.0],
            "tier": ["High_Spender", None, None, None, None],
            "segment": ["High_Spender", "Regular 1", "Regular 1", "Lapsed", "Lapsed"],
        }
    )
    fig = charts.segment_overview(segment_profiles(seg), currency="GBP")
    assert [t.type for t in fig.data] == ["bar"]
    bar = fig.data[0]
    assert bar.orientation == "h"
    assert list(bar.y) == ["High Spender", "Regular 1", "Lapsed"]  # families' order, '_' gone
    assert list(bar.x) == [1, 2, 2]
    assert list(bar.text) == ["1 · 50% of revenue", "2 · 20% of revenue", "2 · 30% of revenue"]
    assert "£%{customdata[0]:,.2f}" in bar.hovertemplate
    assert fig.layout.yaxis.automargin is True
    assert not any(getattr(fig.layout, f"yaxis{i}", None) for i in (2, 3, 4))  # no right axes


def test_rfm_grid_chart_colours_cells_by_segment():
    from core.scores import grid_cells, score_table

    # the seven-customer table of tests/core/test_scores.py: A (5,5) Champions 50,
    # E (3,5) Loyal 300, G (1,5) Can't Lose Them 2000, B (5,1) New Customers 15, ...
    table = pd.DataFrame(
        {
            "customer_id": list("ABCDEFG"),
            "recency": [0, 0, 10, 30, 30, 100, 200],
            "frequency": [6, 1, 2, 2, 4, 1, 9],
            "monetary": [50.0, 15.0, 40.0, 40.0, 300.0, 25.0, 2000.0],
        }
    )
    fig = charts.rfm_grid_chart(grid_cells(score_table(table)), currency="USD")
    heat = fig.data[0]
    assert heat.type == "heatmap" and list(heat.y) == ["1", "2", "3", "4", "5"]
    text = {(r + 1, f + 1): heat.text[r][f] for r in range(5) for f in range(5)}
    assert text[(1, 5)] == "1<br>$2.0k" and text[(5, 5)] == "1<br>$50" and text[(2, 2)] == "0"
    # cells of one segment share a colour value; the legend lists the ten segments
    assert heat.z[0][0] == heat.z[1][1]  # (1,1) and (2,2): Hibernating
    assert heat.z[4][4] != heat.z[2][4]  # Champions vs Loyal
    assert [t.name for t in fig.data[1:]] == list(charts.NAMED_COLOURS)


def test_cross_tab_heatmap_labels_are_readable():
    crosstab = pd.DataFrame(
        [[3, 0], [1, 2]], index=["Champions", "Hibernating"], columns=["High_Spender", "Regular 1"]
    )
    fig = charts.tier_cluster_heatmap(crosstab, x_title="tier or cluster", y_title="segment")
    assert list(fig.data[0].x) == ["High Spender", "Regular 1"]
    assert fig.data[0].z.tolist() == [[3, 0], [1, 2]]
    assert fig.layout.xaxis.tickangle == -90 and fig.layout.xaxis.automargin is True


def test_elbow_builds():
    table = pd.DataFrame(
        {
            "k": [2, 3, 4, 5],
            "inertia": [100.0, 60.0, 45.0, 40.0],
            "silhouette": [0.4, 0.45, 0.42, 0.41],
            "calinski_harabasz": [90.0, 100.0, 95.0, 93.0],
            "davies_bouldin": [1.0, 0.9, 0.95, 0.97],
        }
    )
    elbow = charts.elbow_chart(table, knee=3, recommended_k=3)
    assert any("knee" in (t.name or "") for t in elbow.data)
    assert len(charts.cluster_metric_charts(table, 3).data) == 6
