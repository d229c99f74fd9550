"""One customer's card: the closest IDs to an unknown one, the fences a VIP crossed, and the
next actions worded for that one customer (not for the whole segment)."""
from __future__ import annotations

import difflib
from typing import Iterable, Mapping

import pandas as pd

from core.clustering import base_name
from core.outliers import TIER_FEATURES, Fence

MAX_SUGGESTIONS = 5

# Per segment family, what to do with ONE customer; filled with that customer's own figures.
_CUSTOMER_ACTIONS: dict[str, tuple[str, ...]] = {
    "Elite": (
        "Assign a named account manager to this customer: {monetary:,.2f} spent over "
        "{frequency:,.0f} orders.",
        "Invite them to early access and the VIP programme; no discount needed.",
        "Watch their recency (last purchase {recency:,.0f} days ago): if they go quiet for "
        "longer than usual, call them personally.",
    ),
    "High_Spender": (
        "Offer premium bundles and concierge service: {monetary:,.2f} spent, about "
        "{per_order:,.2f} per order.",
        "Nudge their next order with a replenishment reminder or a loyalty tier "
        "({frequency:,.0f} orders so far).",
    ),
    "Power_Shopper": (
        "Reward their frequency ({frequency:,.0f} orders): points or a free-shipping threshold.",
        "Raise their basket with cross-sell and volume pricing: about {per_order:,.2f} per order.",
        "Ask them for a review or a referral while they are active (last purchase "
        "{recency:,.0f} days ago).",
    ),
    "Premium": (
        "Keep this customer close: loyalty perks and a first look at new products.",
        "No blanket discount: send personal recommendations (last purchase {recency:,.0f} days "
        "ago, {monetary:,.2f} spent).",
    ),
    "Regular": (
        "Move them up: a loyalty reward after their next order ({frequency:,.0f} orders so far).",
        "Send recommendations based on what they bought before.",
    ),
    "Occasional": (
        "Build the habit: a second-purchase offer ({frequency:,.0f} order(s) so far, the last "
        "{recency:,.0f} days ago).",
        "Include them in seasonal campaigns with bestsellers; keep the cost of contact low.",
    ),
    "Lapsed": (
        "Win them back with a time-limited reactivation offer: last purchase {recency:,.0f} "
        "days ago.",
        "Do not spend more to win them back than they were worth: {monetary:,.2f} in total.",
    ),
}
_FALLBACK = ("Look at this customer's last orders before contacting them: last purchase "
             "{recency:,.0f} days ago, {frequency:,.0f} orders, {monetary:,.2f} spent.",)


def closest_ids(wanted: str, ids: Iterable[str], n: int = MAX_SUGGESTIONS) -> list[str]:
    """Up to ``n`` known IDs most similar to ``wanted`` (difflib ratio >= 0.5), best first."""
    return difflib.get_close_matches(str(wanted), [str(i) for i in ids], n=n, cutoff=0.5)


def fences_crossed(fences: Mapping[str, Fence], frequency: float, monetary: float) -> pd.DataFrame:
    """The IQR fences of a VIP tier, one row per tier feature: its value, the fence, crossed or not."""
    values = {"frequency": float(frequency), "monetary": float(monetary)}
    rows = []
    for feature in TIER_FEATURES:
        fence, value = fences[feature], values[feature]
        side = "above the upper fence" if value > fence.high else \
            "below the lower fence" if value < fence.low else "inside"
        rows.append({"measure": feature, "this customer": value, "lower fence": fence.low,
                     "upper fence": fence.high, "crossed": side})
    return pd.DataFrame(rows)


def customer_actions(segment: str, recency: float, frequency: float,
                     monetary: float) -> tuple[str, ...]:
    """Next actions for one customer of ``segment`` (a tier or a cluster name), with its figures."""
    templates = _CUSTOMER_ACTIONS.get(base_name(str(segment)), _FALLBACK)
    figures = {"recency": float(recency), "frequency": float(frequency),
               "monetary": float(monetary),
               "per_order": float(monetary) / max(float(frequency), 1.0)}
    return tuple(t.format(**figures) for t in templates)
