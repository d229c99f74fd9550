"""IQR fences and the VIP tiers of the customers above them.

A customer is a high outlier on a feature when its value lies strictly above
Q3 + 1.5 IQR, quartiles linear-interpolated over all customers. High outlier on monetary
and frequency -> Elite; monetary only -> High_Spender; frequency only -> Power_Shopper.
Everyone else is clustered, customers below the lower fence Q1 - 1.5 IQR included: spending
far less than the others is not a VIP (DESIGN.md, Segmentation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.columnar import NUMPY, ColumnOps
from core.config import DEFAULTS

ELITE, HIGH_SPENDER, POWER_SHOPPER = "Elite", "High_Spender", "Power_Shopper"
TIERS = (ELITE, HIGH_SPENDER, POWER_SHOPPER)
TIER_FEATURES = ("monetary", "frequency")


@dataclass(frozen=True)
class Fence:
    """The IQR fence of one feature: values > high are high outliers (VIP); low is shown, not a tier."""

    feature: str
    q1: float
    q3: float
    low: float
    high: float

    def above(self, values) -> np.ndarray:
        """True where a value is strictly above the upper fence."""
        return np.asarray(values, dtype=float) > self.high

    def describe_range(self) -> str:
        """'up to 4,143.51' when the low fence is below any possible value, else 'a to b'."""
        if self.low < 0:
            return f"up to {self.high:,.2f}"
        return f"{self.low:,.2f} to {self.high:,.2f}"

    def describe(self, value: float) -> str:
        """Why ``value`` is outside the fence: which side, the bound, and the quartiles."""
        side = "above" if value > self.high else "below"
        bound = self.high if value > self.high else self.low
        return (
            f"{self.feature} {value:,.2f} is {side} the fence {bound:,.2f} "
            f"(Q1 {self.q1:,.2f}, Q3 {self.q3:,.2f})"
        )


def iqr_fences(
    rfm: pd.DataFrame, features=TIER_FEATURES, factor: float = DEFAULTS.iqr_factor
) -> dict[str, Fence]:
    """One fence per feature over all customers (linear-interpolated quartiles)."""
    fences = {}
    for feature in features:
        q1, q3 = np.quantile(rfm[feature].to_numpy(dtype=float), [0.25, 0.75], method="linear")
        iqr = q3 - q1
        fences[feature] = Fence(
            feature, float(q1), float(q3), float(q1 - factor * iqr), float(q3 + factor * iqr)
        )
    return fences


def tier_rule(monetary, frequency, fences: dict[str, Fence], ops: ColumnOps = NUMPY):
    """The one tier rule, on numpy arrays (default) or engine columns (``core.scoring``).

    Strictly above both upper fences -> Elite; monetary only -> High_Spender; frequency only
    -> Power_Shopper; else ``ops.no_text`` ('' for numpy, NULL in an engine).
    """
    monetary_high = monetary > ops.constant(fences["monetary"].high)
    frequency_high = frequency > ops.constant(fences["frequency"].high)
    return ops.first_match(
        [
            (monetary_high & frequency_high, ELITE),
            (monetary_high, HIGH_SPENDER),
            (frequency_high, POWER_SHOPPER),
        ],
        ops.no_text,
    )


def tier_codes(monetary, frequency, fences: dict[str, Fence]) -> np.ndarray:
    """The tier of each (monetary, frequency) pair, '' when not a VIP (``tier_rule`` on numpy)."""
    return tier_rule(np.asarray(monetary, dtype=float), np.asarray(frequency, dtype=float), fences)


def inside_fences(rfm: pd.DataFrame, fences: dict[str, Fence]) -> np.ndarray:
    """True for the customers above neither upper fence (the ones K-Means clusters)."""
    return tier_codes(rfm["monetary"], rfm["frequency"], fences) == ""


def assign_tiers(rfm: pd.DataFrame, fences: dict[str, Fence]) -> pd.Series:
    """The tier of each customer, or <NA> for customers above neither upper fence."""
    tier = tier_codes(rfm["monetary"], rfm["frequency"], fences)
    return pd.Series(tier, index=rfm.index, dtype="string").replace("", pd.NA)


def tier_of(monetary: float, frequency: float, fences: dict[str, Fence]) -> str | None:
    """The tier of one customer's values (scalar form of tier_codes), None when not a VIP."""
    return tier_codes([monetary], [frequency], fences)[0] or None
