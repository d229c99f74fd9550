"""Per-segment profiles and the recommended actions for each segment.

Actions are written for the seven segment families (three VIP tiers, four cluster
families) and filled in with the segment's own figures, so an analyst reads
"typically last bought 212 days ago" rather than a generic sentence.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from core.clustering import CLUSTER_BASE_NAMES, base_name
from core.outliers import TIERS

SEGMENT_FAMILIES = TIERS + CLUSTER_BASE_NAMES
PROFILE_COLUMNS = ("segment", "kind", "customers", "share", "revenue", "revenue_share",
                   "recency_mean", "recency_median", "frequency_mean", "frequency_median",
                   "monetary_mean", "monetary_median")

_ACTIONS: dict[str, tuple[str, ...]] = {
    "Elite": (
        "Assign a named account manager to these {customers:,} customers: together they bring "
        "{revenue_share:.0%} of revenue.",
        "Invite them to early access and a private VIP programme; no discounts needed, they "
        "already order about {frequency_median:.0f} times and spend {monetary_median:,.0f} each.",
        "Watch recency weekly: they typically last bought {recency_median:.0f} days ago; any of "
        "them silent past {recency_alert:.0f} days gets a personal call.",
    ),
    "High_Spender": (
        "Offer premium bundles and concierge service: the typical order value is high "
        "({monetary_median:,.0f} spent over {frequency_median:.0f} orders).",
        "Nudge purchase frequency with replenishment reminders and a loyalty tier for a second "
        "and third order within 60 days.",
        "Protect the relationship: last purchase was typically {recency_median:.0f} days ago.",
    ),
    "Power_Shopper": (
        "Reward frequency: points or free shipping thresholds for customers who order about "
        "{frequency_median:.0f} times.",
        "Raise basket size with cross-sell and volume pricing; spend per order is only about "
        "{spend_per_order:,.0f}.",
        "Ask for reviews and referrals while they are active (last purchase typically "
        "{recency_median:.0f} days ago): they know the catalogue well.",
    ),
    "Premium": (
        "Keep them close: loyalty perks and first look at new products for these "
        "{customers:,} customers ({revenue_share:.0%} of revenue).",
        "No blanket discounts: they bought about {recency_median:.0f} days ago and spend "
        "{monetary_median:,.0f} each; use personal recommendations instead.",
        "Grow them into VIPs with tailored bundles above their usual {spend_per_order:,.0f} per order.",
    ),
    "Regular": (
        "Move them up: a loyalty programme with a reward after the next order (typical "
        "frequency {frequency_median:.0f}).",
        "Send recommendations based on past purchases every {cadence_days:.0f} days or so, "
        "their usual rhythm (last purchase typically {recency_median:.0f} days ago).",
        "Test a modest incentive on order value: median spend is {monetary_median:,.0f}.",
    ),
    "Occasional": (
        "Build the habit: a welcome-back series and a second-purchase offer (most have "
        "ordered only {frequency_median:.0f} time(s), typically {recency_median:.0f} days ago).",
        "Reach them with seasonal campaigns and bestsellers; typical spend is "
        "{monetary_median:,.0f}.",
        "Keep the cost per contact low: {customers:,} customers bring {revenue_share:.0%} of revenue.",
    ),
    "Lapsed": (
        "Win them back: last purchase was typically {recency_median:.0f} days ago; send a "
        "time-limited reactivation offer.",
        "Ask why they left with a short survey; suppress the non-responders after two tries "
        "to protect deliverability.",
        "Do not spend more to win back than they were worth: median lifetime spend is "
        "{monetary_median:,.0f}.",
    ),
}


def segment_profiles(segmented: pd.DataFrame) -> pd.DataFrame:
    """One row per segment: size, share, revenue share, mean and median R/F/M.

    ``segmented`` has recency, frequency, monetary, tier and segment columns (as returned by
    SegmentationModel.segment). Rows follow the segment families' order.
    """
    total_customers = len(segmented)
    total_revenue = float(segmented["monetary"].sum())
    grouped = segmented.groupby("segment", observed=True)
    profile = grouped.agg(
        customers=("monetary", "size"), revenue=("monetary", "sum"),
        recency_mean=("recency", "mean"), recency_median=("recency", "median"),
        frequency_mean=("frequency", "mean"), frequency_median=("frequency", "median"),
        monetary_mean=("monetary", "mean"), monetary_median=("monetary", "median"),
    ).reset_index()
    profile["share"] = profile["customers"] / total_customers if total_customers else 0.0
    profile["revenue_share"] = profile["revenue"] / total_revenue if total_revenue else 0.0
    profile["kind"] = np.where(profile["segment"].isin(TIERS), "tier", "cluster")
    order = {name: i for i, name in enumerate(SEGMENT_FAMILIES)}
    profile["_order"] = [(order.get(base_name(s), 99), s) for s in profile["segment"]]
    profile = profile.sort_values("_order").drop(columns="_order").reset_index(drop=True)
    return profile[list(PROFILE_COLUMNS)]


def recommended_actions(segment: str, profile: Mapping[str, float]) -> list[str]:
    """The segment family's actions, worded with this segment's own figures."""
    family = base_name(segment)
    templates = _ACTIONS.get(family)
    if templates is None:
        return [f"No playbook for segment '{segment}'; review its profile by hand."]
    freq = max(float(profile["frequency_median"]), 1.0)
    values = dict(profile)
    values.update(
        spend_per_order=float(profile["monetary_median"]) / freq,
        recency_alert=max(2 * float(profile["recency_median"]), 30.0),
        cadence_days=max(float(profile["recency_median"]), 7.0),
    )
    return [t.format(**values) for t in templates]


def profiles_with_actions(segmented: pd.DataFrame) -> pd.DataFrame:
    """segment_profiles plus an 'actions' column (list of strings)."""
    profile = segment_profiles(segmented)
    profile["actions"] = [recommended_actions(row["segment"], row) for _, row in profile.iterrows()]
    return profile


# -- named RFM segments (core.scores) -----------------------------------------------------
# What each named segment means and what to do; {figures} are the segment's own medians.
NAMED_MEANING: dict[str, str] = {
    "Champions": "bought recently, buy often and spend the most",
    "Loyal": "buy regularly and spend well",
    "Potential Loyalist": "recent customers with a few orders and average spend",
    "New Customers": "made their first purchase very recently",
    "Promising": "recent shoppers who have not spent much yet",
    "Need Attention": "above-average customers who have not bought for a while",
    "About to Sleep": "below-average customers drifting away",
    "At Risk": "spent well and ordered often, but long ago",
    "Can't Lose Them": "used to be among the best customers, and have gone quiet",
    "Hibernating": "last bought long ago, rarely, and spent little",
}

_NAMED_ACTIONS: dict[str, tuple[str, ...]] = {
    "Champions": (
        "Reward them: early access, a loyalty perk, no discount needed: these {customers:,} "
        "customers bring {revenue_share:.0%} of revenue.",
        "Ask for reviews and referrals while they are keen (last order typically "
        "{recency_median:.0f} days ago, about {frequency_median:.0f} orders each).",
    ),
    "Loyal": (
        "Upsell higher-value products and invite them into a loyalty programme: they order "
        "about {frequency_median:.0f} times and spend {money_median} each.",
        "Recommend what similar customers buy; ask for reviews.",
    ),
    "Potential Loyalist": (
        "Turn them into regulars: a membership or loyalty offer with a reward on the next "
        "order (typically {frequency_median:.0f} orders so far).",
        "Recommend products related to what they bought; keep the contact personal.",
    ),
    "New Customers": (
        "Send a welcome series: onboarding, how-to content, and a reason to place a second "
        "order within a few weeks.",
        "Do not discount yet: first make the product and the brand known ({customers:,} "
        "new customers, {money_median} each so far).",
    ),
    "Promising": (
        "Build the habit: free shipping or a small gift on the next order; show bestsellers.",
        "Watch the second order: typical spend so far is {money_median}.",
    ),
    "Need Attention": (
        "Reach them now with a limited-time offer based on past purchases: typically "
        "{recency_median:.0f} days since the last order.",
        "Recommend new arrivals in the categories they bought.",
    ),
    "About to Sleep": (
        "Reconnect before they lapse: popular products and a time-limited discount "
        "(typically {recency_median:.0f} days since the last order).",
        "Keep the cost per contact low: {customers:,} customers bring {revenue_share:.0%} "
        "of revenue.",
    ),
    "At Risk": (
        "Win them back with personal e-mails about their favourite products: they spent "
        "{money_median} each, but typically {recency_median:.0f} days ago.",
        "Offer a renewal or a good reason to come back; ask what changed.",
    ),
    "Can't Lose Them": (
        "Contact them personally (call or a personal e-mail) with a strong offer: they were "
        "among the best customers ({money_median} each) and have gone quiet for about "
        "{recency_median:.0f} days.",
        "Ask why they left; do not let them go to a competitor without a conversation.",
    ),
    "Hibernating": (
        "Keep contact cheap: seasonal campaigns only; suppress those who do not respond to "
        "protect e-mail deliverability.",
        "Do not spend more to win them back than they were worth ({money_median} each).",
    ),
}

NAMED_PROFILE_COLUMNS = ("rfm_segment", "customers", "share", "revenue", "revenue_share",
                         "recency_median", "frequency_median", "monetary_median")


def named_segment_profiles(scored: pd.DataFrame, names) -> pd.DataFrame:
    """One row per named segment in ``names`` order (empty ones too): size, shares, medians.

    ``scored`` has recency, frequency, monetary and rfm_segment (core.scores.score_table).
    """
    total_customers = len(scored)
    total_revenue = float(scored["monetary"].sum()) if total_customers else 0.0
    grouped = scored.groupby("rfm_segment").agg(
        customers=("monetary", "size"), revenue=("monetary", "sum"),
        recency_median=("recency", "median"), frequency_median=("frequency", "median"),
        monetary_median=("monetary", "median"))
    names = list(dict.fromkeys([*names, *grouped.index]))
    profile = grouped.reindex(names).rename_axis("rfm_segment").reset_index()
    profile["customers"] = profile["customers"].fillna(0).astype("int64")
    profile["revenue"] = profile["revenue"].fillna(0.0)
    profile["share"] = profile["customers"] / total_customers if total_customers else 0.0
    profile["revenue_share"] = profile["revenue"] / total_revenue if total_revenue else 0.0
    return profile[list(NAMED_PROFILE_COLUMNS)]


def named_segment_actions(name: str, profile: Mapping[str, float],
                          money=lambda v: f"{v:,.2f}") -> list[str]:
    """What to do with a named segment, worded with its own figures; ``money`` formats spend."""
    templates = _NAMED_ACTIONS.get(name)
    if templates is None:
        return [f"No playbook for the segment '{name}' (a name from an edited grid); review "
                "its customers by hand."]
    if not profile.get("customers"):
        return [f"No customers in this segment now ({NAMED_MEANING[name]})."]
    values = dict(profile)
    values["money_median"] = money(float(profile["monetary_median"]))
    return [t.format(**values) for t in templates]


def named_profiles_with_actions(scored: pd.DataFrame, names, money=lambda v: f"{v:,.2f}"
                                ) -> pd.DataFrame:
    """named_segment_profiles plus 'meaning' (text) and 'actions' (list of strings)."""
    profile = named_segment_profiles(scored, names)
    profile["meaning"] = [NAMED_MEANING.get(n, "a segment from an edited grid")
                          for n in profile["rfm_segment"]]
    profile["actions"] = [named_segment_actions(row["rfm_segment"], row, money)
                          for _, row in profile.iterrows()]
    return profile
