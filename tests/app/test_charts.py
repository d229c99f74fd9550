"""core.charts: figures build from plain frames and never carry more than MAX_POINTS customers."""
from __future__ import annotations

import numpy as np
import pandas as pd

from core import charts
from core.insights import segment_profiles


def _segmented(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    names = np.array(["Elite", "Premium", "Regular 1", "Regular 2", "Occasional", "Lapsed"])
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)],
                         "recency": rng.integers(0, 400, n), "frequency": rng.integers(1, 30, n),
                         "monetary": rng.gamma(2, 300, n).round(2),
                         "tier": pd.array([pd.NA] * n, dtype="string"),
                         "segment": names[rng.integers(0, len(names), n)]})


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


def test_overview_and_elbow_build():
    seg = _segmented(500)
    fig = charts.segment_overview(segment_profiles(seg))
    assert [t.type for t in fig.data].count("bar") == 3
    table = pd.DataFrame({"k": [2, 3, 4, 5], "inertia": [100.0, 60.0, 45.0, 40.0],
                          "silhouette": [0.4, 0.45, 0.42, 0.41],
                          "calinski_harabasz": [90.0, 100.0, 95.0, 93.0],
                          "davies_bouldin": [1.0, 0.9, 0.95, 0.97]})
    elbow = charts.elbow_chart(table, knee=3, recommended_k=3)
    assert any("knee" in (t.name or "") for t in elbow.data)
    assert len(charts.cluster_metric_charts(table, 3).data) == 6
