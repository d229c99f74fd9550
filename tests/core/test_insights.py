"""core.insights: per-segment profiles and the actions written with each segment's figures."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from core.actions import profiles_with_actions, recommended_actions
from core.insights import SEGMENT_FAMILIES, segment_profiles


def _contains_number(text: str, number: float) -> bool:
    """``number`` (rounded to a whole, as the actions print it) appears as a number in ``text``."""
    return re.search(rf"(?<![\d.,]){number:,.0f}(?![\d.,]*\d)", text) is not None


def test_profiles_by_hand():
    # four customers, total revenue 100 + 300 + 50 + 550 = 1000
    segmented = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4"],
            "recency": [1, 3, 200, 2],
            "frequency": [5, 7, 1, 30],
            "monetary": [100.0, 300.0, 50.0, 550.0],
            "tier": [None, None, None, "Elite"],
            "segment": ["Premium", "Premium", "Lapsed", "Elite"],
        }
    )
    profile = segment_profiles(segmented).set_index("segment")
    assert profile.index.tolist() == ["Elite", "Premium", "Lapsed"]  # families' order
    assert profile.loc["Elite", "kind"] == "tier" and profile.loc["Premium", "kind"] == "cluster"
    assert profile["customers"].tolist() == [1, 2, 1]
    assert profile["share"].tolist() == [0.25, 0.5, 0.25]
    assert profile["revenue"].tolist() == [550.0, 400.0, 50.0]
    assert profile["revenue_share"].tolist() == [0.55, 0.4, 0.05]
    # Premium: recency (1 + 3) / 2 = 2, frequency median (5 + 7) / 2 = 6, monetary median 200
    premium = profile.loc["Premium"]
    assert (premium.recency_mean, premium.recency_median) == (2.0, 2.0)
    assert (premium.frequency_median, premium.monetary_median, premium.monetary_mean) == (6.0, 200.0, 200.0)


def test_profiles_of_the_sample_sum_up(sample_model, sample_rfm):
    segmented = sample_model.segment(sample_rfm)
    profile = segment_profiles(segmented)
    assert profile["customers"].sum() == len(sample_rfm)
    assert profile["share"].sum() == pytest.approx(1.0)
    assert profile["revenue_share"].sum() == pytest.approx(1.0)
    assert profile["revenue"].sum() == pytest.approx(sample_rfm.monetary.sum())
    assert set(profile["segment"]) == set(segmented["segment"])
    # Each segment's median recency is the median over its own customers.
    for row in profile.itertuples():
        mine = segmented[segmented.segment == row.segment]
        assert row.customers == len(mine)
        assert row.recency_median == mine.recency.median()


@pytest.mark.parametrize("family", SEGMENT_FAMILIES)
@pytest.mark.parametrize("recency_median", [173.0, 4.0, 61.5])
def test_actions_exist_for_every_family_and_quote_its_median_recency(family, recency_median):
    profile = {
        "customers": 12,
        "share": 0.1,
        "revenue": 5000.0,
        "revenue_share": 0.5,
        "recency_mean": 90.0,
        "recency_median": recency_median,
        "frequency_mean": 2.0,
        "frequency_median": 2.0,
        "monetary_mean": 250.0,
        "monetary_median": 250.0,
    }
    actions = recommended_actions(family, profile)
    assert len(actions) >= 2 and all(actions)
    text = " ".join(actions)
    assert _contains_number(text, recency_median), (family, text)
    assert "{" not in text and "}" not in text  # every placeholder was filled


def test_numbered_regular_segments_use_the_regular_playbook():
    profile = {
        "customers": 3,
        "revenue_share": 0.2,
        "recency_median": 33.0,
        "frequency_median": 4.0,
        "monetary_median": 800.0,
    }
    assert recommended_actions("Regular 2", profile) == recommended_actions("Regular", profile)
    assert "No playbook" in recommended_actions("Mystery", profile)[0]


def test_profiles_with_actions_on_the_sample(sample_model, sample_rfm):
    profile = profiles_with_actions(sample_model.segment(sample_rfm))
    for row in profile.itertuples():
        text = " ".join(row.actions)
        assert _contains_number(text, row.recency_median), (row.segment, text)


def test_named_segment_profiles_and_actions_by_hand():
    from core.actions import named_profiles_with_actions
    from core.insights import named_segment_crosstab
    from core.scores import SEGMENT_ORDER

    # named segments given (core.scores is tested on its own): revenue 100+300+50+550 = 1000
    scored = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4"],
            "recency": [1, 3, 200, 120],
            "frequency": [5, 7, 1, 9],
            "monetary": [100.0, 300.0, 50.0, 550.0],
            "segment": ["Premium", "Premium", "Lapsed", "Elite"],
            "rfm_segment": ["Champions", "Champions", "Hibernating", "Can't Lose Them"],
        }
    )
    profile = named_profiles_with_actions(scored, SEGMENT_ORDER, money=lambda v: f"£{v:,.2f}").set_index(
        "rfm_segment"
    )
    assert list(profile.index) == list(SEGMENT_ORDER)  # empty segments listed too
    assert profile.loc["Champions", "customers"] == 2
    assert profile.loc["Champions", "revenue_share"] == pytest.approx(0.4)
    assert profile.loc["Champions", "recency_median"] == 2.0  # median of 1 and 3
    assert profile.loc["Loyal", "customers"] == 0 and profile.loc["Loyal", "share"] == 0.0
    assert profile.loc["Loyal", "actions"] == [
        "No customers in this segment now (buy regularly and spend well)."
    ]
    cant_lose = " ".join(profile.loc["Can't Lose Them", "actions"])
    assert "£550.00 each" in cant_lose and "about 120 days" in cant_lose
    champions = " ".join(profile.loc["Champions", "actions"])
    assert "these 2 customers bring 40% of revenue" in champions
    crosstab = named_segment_crosstab(scored, SEGMENT_ORDER)
    assert list(crosstab.index) == ["Champions", "Can't Lose Them", "Hibernating"]
    assert crosstab.loc["Champions", "Premium"] == 2 and crosstab.loc["Hibernating", "Lapsed"] == 1
