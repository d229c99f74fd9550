"""Per-segment profiles: size, shares and R/F/M figures of each segment (VIP tier, cluster,
named RFM segment). The actions worded from them live in ``core.actions``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.clustering import CLUSTER_BASE_NAMES, base_name
from core.outliers import TIERS

SEGMENT_FAMILIES = TIERS + CLUSTER_BASE_NAMES
PROFILE_COLUMNS = (
    "segment",
    "kind",
    "customers",
    "share",
    "revenue",
    "revenue_share",
    "recency_mean",
    "recency_median",
    "frequency_mean",
    "frequency_median",
    "monetary_mean",
    "monetary_median",
)


def segment_profiles(segmented: pd.DataFrame) -> pd.DataFrame:
    """One row per segment: size, share, revenue share, mean and median R/F/M.

    ``segmented`` has recency, frequency, monetary, tier and segment columns (as returned by
    SegmentationModel.segment). Rows follow the segment families' order.
    """
    total_customers = len(segmented)
    total_revenue = float(segmented["monetary"].sum())
    grouped = segmented.groupby("segment", observed=True)
    profile = grouped.agg(
        customers=("monetary", "size"),
        revenue=("monetary", "sum"),
        recency_mean=("recency", "mean"),
        recency_median=("recency", "median"),
        frequency_mean=("frequency", "mean"),
        frequency_median=("frequency", "median"),
        monetary_mean=("monetary", "mean"),
        monetary_median=("monetary", "median"),
    ).reset_index()
    profile["share"] = profile["customers"] / total_customers if total_customers else 0.0
    profile["revenue_share"] = profile["revenue"] / total_revenue if total_revenue else 0.0
    profile["kind"] = np.where(profile["segment"].isin(TIERS), "tier", "cluster")
    order = {name: i for i, name in enumerate(SEGMENT_FAMILIES)}
    profile["_order"] = [(order.get(base_name(s), 99), s) for s in profile["segment"]]
    profile = profile.sort_values("_order").drop(columns="_order").reset_index(drop=True)
    return profile[list(PROFILE_COLUMNS)]


# -- named RFM segments (core.scores) -----------------------------------------------------
NAMED_PROFILE_COLUMNS = (
    "rfm_segment",
    "customers",
    "share",
    "revenue",
    "revenue_share",
    "recency_median",
    "frequency_median",
    "monetary_median",
)


def named_segment_profiles(scored: pd.DataFrame, names) -> pd.DataFrame:
    """One row per named segment in ``names`` order (empty ones too): size, shares, medians.

    ``scored`` has recency, frequency, monetary and rfm_segment (core.scores.score_table).
    """
    total_customers = len(scored)
    total_revenue = float(scored["monetary"].sum()) if total_customers else 0.0
    grouped = scored.groupby("rfm_segment").agg(
        customers=("monetary", "size"),
        revenue=("monetary", "sum"),
        recency_median=("recency", "median"),
        frequency_median=("frequency", "median"),
        monetary_median=("monetary", "median"),
    )
    names = list(dict.fromkeys([*names, *grouped.index]))
    profile = grouped.reindex(names).rename_axis("rfm_segment").reset_index()
    profile["customers"] = profile["customers"].fillna(0).astype("int64")
    profile["revenue"] = profile["revenue"].fillna(0.0)
    profile["share"] = profile["customers"] / total_customers if total_customers else 0.0
    profile["revenue_share"] = profile["revenue"] / total_revenue if total_revenue else 0.0
    return profile[list(NAMED_PROFILE_COLUMNS)]


def named_segment_crosstab(scored: pd.DataFrame, names) -> pd.DataFrame:
    """Customers per named segment (rows, in ``names`` order) and VIP tier / cluster (columns)."""
    table = pd.crosstab(scored["rfm_segment"], scored["segment"].astype(str))
    return table.reindex([n for n in names if n in table.index])
