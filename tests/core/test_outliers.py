"""core.outliers: IQR fences (linear-interpolated quartiles, strict comparison) and VIP tiers."""

from __future__ import annotations

import pandas as pd
import pytest

from core.outliers import ELITE, HIGH_SPENDER, POWER_SHOPPER, assign_tiers, iqr_fences, tier_of


def _frame(monetary, frequency=None):
    frequency = frequency or [1] * len(monetary)
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(len(monetary))],
            "recency": [0] * len(monetary),
            "frequency": frequency,
            "monetary": monetary,
        }
    )


def test_quartiles_are_linear_interpolated():
    # Six sorted values 10 20 30 40 50 1000 (positions 0..5):
    #   Q1 at position 5 x 0.25 = 1.25 -> 20 + 0.25 x (30 - 20) = 22.5
    #   Q3 at position 5 x 0.75 = 3.75 -> 40 + 0.75 x (50 - 40) = 47.5
    #   IQR = 25; 1.5 IQR = 37.5; fences [22.5 - 37.5, 47.5 + 37.5] = [-15, 85]
    fence = iqr_fences(_frame([1000, 30, 10, 50, 20, 40]))["monetary"]
    assert (fence.q1, fence.q3, fence.low, fence.high) == (22.5, 47.5, -15.0, 85.0)
    assert fence.above([1000, 85, 84.99, -15, -15.01]).tolist() == [True, False, False, False, False]


def test_a_value_exactly_on_the_fence_is_not_an_outlier():
    # 10 20 30 40 50 85: the top value does not move Q1 (22.5) or Q3 (47.5), so the upper fence
    # is 85.0 exactly and 85 sits on it: not an outlier. 85.01 is.
    on_fence = _frame([10, 20, 30, 40, 50, 85])
    fences = iqr_fences(on_fence)
    assert fences["monetary"].high == 85.0
    assert assign_tiers(on_fence, fences).isna().all()
    above = _frame([10, 20, 30, 40, 50, 85.01])
    assert assign_tiers(above, iqr_fences(above)).tolist()[-1] == HIGH_SPENDER


def test_factor_scales_the_fence():
    # Q1 22.5, Q3 47.5, IQR 25: factor 3 -> [22.5 - 75, 47.5 + 75] = [-52.5, 122.5]
    fence = iqr_fences(_frame([10, 20, 30, 40, 50, 1000]), factor=3.0)["monetary"]
    assert (fence.low, fence.high) == (-52.5, 122.5)


def test_tiers_elite_high_spender_power_shopper():
    # nine customers A..I
    # monetary sorted 100 110 120 130 140 150 160 5000 6000: Q1 = pos 2 = 120, Q3 = pos 6 = 160,
    #   IQR 40, fences [60, 220] -> H (5000) and I (6000) are outside
    # frequency sorted 1 2 2 3 3 3 4 40 50: Q1 = 2, Q3 = 4, IQR 2, fences [-1, 7]
    #   -> G (40) and H (50) are outside
    rfm = pd.DataFrame(
        {
            "customer_id": list("ABCDEFGHI"),
            "recency": [1] * 9,
            "monetary": [100, 110, 120, 130, 140, 150, 160, 5000, 6000],
            "frequency": [1, 2, 2, 3, 3, 3, 40, 50, 4],
        }
    )
    fences = iqr_fences(rfm)
    assert (fences["monetary"].low, fences["monetary"].high) == (60.0, 220.0)
    assert (fences["frequency"].low, fences["frequency"].high) == (-1.0, 7.0)
    tiers = assign_tiers(rfm, fences)
    assert dict(zip(rfm.customer_id, tiers.astype(object).where(tiers.notna(), None))) == {
        "A": None,
        "B": None,
        "C": None,
        "D": None,
        "E": None,
        "F": None,
        "G": POWER_SHOPPER,
        "H": ELITE,
        "I": HIGH_SPENDER,
    }
    # the scalar form agrees, including on the fences themselves (220 and 7 are inside)
    assert tier_of(6000, 4, fences) == HIGH_SPENDER
    assert tier_of(100, 40, fences) == POWER_SHOPPER
    assert tier_of(5000, 50, fences) == ELITE
    assert tier_of(220, 7, fences) is None
    assert tier_of(220.01, 7.01, fences) == ELITE


def test_below_the_lower_fence_is_not_a_vip():
    # Issue 20 item 5, DESIGN.md Segmentation 1: VIP tiers are for values ABOVE the upper fence.
    # monetary 100 102.5 ... 120 and 5.00: sorted 5, 100, 102.5, ..., 120 (ten values):
    #   Q1 at 9 x 0.25 = 2.25 -> 102.5 + 0.25 x 2.5 = 103.125; Q3 at 6.75 -> 112.5 + 0.75 x 2.5
    #   = 114.375; IQR 11.25; low fence 103.125 - 16.875 = 86.25: 5.00 is far below it.
    monetary = [100, 102.5, 105, 107.5, 110, 112.5, 115, 117.5, 120, 5.0]
    rfm = _frame(monetary)
    fences = iqr_fences(rfm)
    assert (fences["monetary"].q1, fences["monetary"].q3) == (103.125, 114.375)
    assert fences["monetary"].low == 86.25
    assert assign_tiers(rfm, fences).isna().all()  # was High_Spender
    # a one-order customer among three-order customers: Q1 = Q3 = 3, fences [3, 3]; 1 is below
    rfm = _frame([100.0] * 9, frequency=[3, 3, 3, 3, 3, 3, 3, 3, 1])
    fences = iqr_fences(rfm)
    assert (fences["frequency"].low, fences["frequency"].high) == (3.0, 3.0)
    assert assign_tiers(rfm, fences).isna().all()  # was Power_Shopper
    assert tier_of(100.0, 1, fences) is None and tier_of(100.0, 4, fences) == POWER_SHOPPER
    assert "below the fence 86.25" in iqr_fences(_frame(monetary))["monetary"].describe(5)


def test_describe_names_the_side_and_the_bound():
    fence = iqr_fences(_frame([10, 20, 30, 40, 50, 1000]))["monetary"]
    assert fence.describe(1000) == "monetary 1,000.00 is above the fence 85.00 (Q1 22.50, Q3 47.50)"


@pytest.mark.parametrize("values", [[5.0] * 8, [1, 1, 1, 1, 1, 1, 1, 2], [2, 2, 2, 2, 2, 2, 2, 1]])
def test_zero_iqr_makes_every_higher_value_an_outlier(values):
    # Q1 = Q3 = the common value: fences collapse onto it; only values above it are VIPs.
    rfm = _frame(values)
    tiers = assign_tiers(rfm, iqr_fences(rfm))
    assert tiers.notna().tolist() == [v > values[0] for v in values]
