"""core.outliers: IQR fences (linear-interpolated quartiles, strict comparison) and VIP tiers."""
from __future__ import annotations

import pandas as pd
import pytest

from core.outliers import ELITE, HIGH_SPENDER, POWER_SHOPPER, assign_tiers, iqr_fences, tier_of


def _frame(monetary, frequency=None):
    frequency = frequency or [1] * len(monetary)
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(len(monetary))],
                         "recency": [0] * len(monetary), "frequency": frequency,
                         "monetary": monetary})


def test_quartiles_are_linear_interpolated():
    # Six sorted values 10 20 30 40 50 1000 (positions 0..5):
    #   Q1 at position 5 x 0.25 = 1.25 -> 20 + 0.25 x (30 - 20) = 22.5
    #   Q3 at position 5 x 0.75 = 3.75 -> 40 + 0.75 x (50 - 40) = 47.5
    #   IQR = 25; 1.5 IQR = 37.5; fences [22.5 - 37.5, 47.5 + 37.5] = [-15, 85]
    fence = iqr_fences(_frame([1000, 30, 10, 50, 20, 40]))["monetary"]
    assert (fence.q1, fence.q3, fence.low, fence.high) == (22.5, 47.5, -15.0, 85.0)
    assert fence.outside([1000, 85, 84.99, -15, -15.01]).tolist() == [True, False, False, False, True]


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
    rfm = pd.DataFrame({
        "customer_id": list("ABCDEFGHI"),
        "recency": [1] * 9,
        "monetary": [100, 110, 120, 130, 140, 150, 160, 5000, 6000],
        "frequency": [1, 2, 2, 3, 3, 3, 40, 50, 4],
    })
    fences = iqr_fences(rfm)
    assert (fences["monetary"].low, fences["monetary"].high) == (60.0, 220.0)
    assert (fences["frequency"].low, fences["frequency"].high) == (-1.0, 7.0)
    tiers = assign_tiers(rfm, fences)
    assert dict(zip(rfm.customer_id, tiers.astype(object).where(tiers.notna(), None))) == {
        "A": None, "B": None, "C": None, "D": None, "E": None, "F": None,
        "G": POWER_SHOPPER, "H": ELITE, "I": HIGH_SPENDER,
    }
    # the scalar form agrees, including on the fences themselves (220 and 7 are inside)
    assert tier_of(6000, 4, fences) == HIGH_SPENDER
    assert tier_of(100, 40, fences) == POWER_SHOPPER
    assert tier_of(5000, 50, fences) == ELITE
    assert tier_of(220, 7, fences) is None
    assert tier_of(220.01, 7.01, fences) == ELITE


def test_low_side_outliers_count_too():
    # monetary 1000 1010 1020 1030 1040 1050 1060 1070 5: sorted 5 1000 ... 1070 (nine values)
    # Q1 = pos 2 = 1010, Q3 = pos 6 = 1050, IQR 40, low fence 950 -> 5 is a High_Spender
    # by the design's wording (outlier on monetary only), whichever side it is on.
    rfm = _frame([1000, 1010, 1020, 1030, 1040, 1050, 1060, 1070, 5])
    fences = iqr_fences(rfm)
    assert fences["monetary"].low == 950.0
    assert assign_tiers(rfm, fences).tolist()[-1] == HIGH_SPENDER
    assert "below the fence 950.00" in fences["monetary"].describe(5)


def test_describe_names_the_side_and_the_bound():
    fence = iqr_fences(_frame([10, 20, 30, 40, 50, 1000]))["monetary"]
    assert fence.describe(1000) == "monetary 1,000.00 is above the fence 85.00 (Q1 22.50, Q3 47.50)"


@pytest.mark.parametrize("values", [[5.0] * 8, [1, 1, 1, 1, 1, 1, 1, 2]])
def test_zero_iqr_makes_every_different_value_an_outlier(values):
    # Q1 = Q3 = the common value: fences collapse onto it; only values off it are outside.
    rfm = _frame(values)
    tiers = assign_tiers(rfm, iqr_fences(rfm))
    assert tiers.notna().tolist() == [v != values[0] for v in values]
