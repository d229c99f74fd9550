"""One customer's card: the closest IDs to an unknown one and the fences a VIP crossed (its
next actions come with ``SegmentationModel.explain``, from ``core.actions``)."""
from __future__ import annotations

import difflib
from typing import Iterable, Mapping

import pandas as pd

from core.outliers import TIER_FEATURES, Fence

MAX_SUGGESTIONS = 5


def closest_ids(wanted: str, ids: Iterable[str], n: int = MAX_SUGGESTIONS) -> list[str]:
    """Up to ``n`` known IDs most similar to ``wanted`` (difflib ratio >= 0.5), best first."""
    return difflib.get_close_matches(str(wanted), [str(i) for i in ids], n=n, cutoff=0.5)


def fences_crossed(fences: Mapping[str, Fence], frequency: float, monetary: float) -> pd.DataFrame:
    """The IQR fences of a VIP tier, one row per tier feature: its value, the fences, and whether
    it is above the upper fence (the only side that makes a VIP)."""
    values = {"frequency": float(frequency), "monetary": float(monetary)}
    rows = []
    for feature in TIER_FEATURES:
        fence, value = fences[feature], values[feature]
        side = "above the upper fence" if fence.above(value) else \
            "below the lower fence (not a VIP reason)" if value < fence.low else "inside"
        rows.append({"measure": feature, "this customer": value, "lower fence": fence.low,
                     "upper fence": fence.high, "crossed": side})
    return pd.DataFrame(rows)


