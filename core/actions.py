"""What to do with each segment and with each customer: the one home of every action.

Three playbooks, each keyed by segment:
- ``SEGMENT_PLAYBOOK``: per segment family (three VIP tiers, four cluster families), worded
  for the whole segment with its own profile ("typically last bought 212 days ago"); the
  Segments page and the HTML report show it (``profiles_with_actions``).
- ``CUSTOMER_PLAYBOOK``: the same families, worded for ONE customer with its own figures
  ("last purchase 12 days ago"); ``SegmentationModel.explain`` gives it, so the API, the
  CLI's ``score`` and the lookup card say the same thing.
- ``NAMED_PLAYBOOK``: per named RFM segment (core.scores), worded with the segment's medians.
A new family or segment gets its actions here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from core.clustering import base_name
from core.insights import named_segment_profiles, segment_profiles

# Per segment family, what to do with the whole segment; {figures} from its profile.
SEGMENT_PLAYBOOK: dict[str, tuple[str, ...]] = {
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
        "Reach them with seasonal campaigns and bestsellers; typical spend is {monetary_median:,.0f}.",
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

# Per segment family, what to do with ONE customer; filled with that customer's own figures.
CUSTOMER_PLAYBOOK: dict[str, tuple[str, ...]] = {
    "Elite": (
        "Assign a named account manager to this customer: {monetary} spent over {frequency:,.0f} orders.",
        "Invite them to early access and the VIP programme; no discount needed.",
        "Watch their recency (last purchase {recency:,.0f} days ago): if they go quiet for "
        "longer than usual, call them personally.",
    ),
    "High_Spender": (
        "Offer premium bundles and concierge service: {monetary} spent, about {per_order} per order.",
        "Nudge their next order with a replenishment reminder or a loyalty tier "
        "({frequency:,.0f} orders so far).",
    ),
    "Power_Shopper": (
        "Reward their frequency ({frequency:,.0f} orders): points or a free-shipping threshold.",
        "Raise their basket with cross-sell and volume pricing: about {per_order} per order.",
        "Ask them for a review or a referral while they are active (last purchase {recency:,.0f} days ago).",
    ),
    "Premium": (
        "Keep this customer close: loyalty perks and a first look at new products.",
        "No blanket discount: send personal recommendations (last purchase {recency:,.0f} days "
        "ago, {monetary} spent).",
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
        "Win them back with a time-limited reactivation offer: last purchase {recency:,.0f} days ago.",
        "Do not spend more to win them back than they were worth: {monetary} in total.",
    ),
}
_FALLBACK = (
    "Look at this customer's last orders before contacting them: last purchase "
    "{recency:,.0f} days ago, {frequency:,.0f} orders, {monetary} spent.",
)

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

NAMED_PLAYBOOK: dict[str, tuple[str, ...]] = {
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
        "Keep the cost per contact low: {customers:,} customers bring {revenue_share:.0%} of revenue.",
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


def recommended_actions(segment: str, profile: Mapping[str, float]) -> list[str]:
    """The segment family's actions, worded with this segment's own figures."""
    family = base_name(segment)
    templates = SEGMENT_PLAYBOOK.get(family)
    if templates is None:
        return [f"No playbook for segment '{segment}'; review its profile by hand."]
    freq = max(float(profile["frequency_median"]), 1.0)
    values = dict(profile)
    values.update(
        spend_per_order=float(profile["monetary_median"]) / freq,
        recency_alert=max(2 * float(profile["recency_median"]), 30.0),
        cadence_days=max(float(profile["recency_median"]), 7.0),
    )
    return [template.format(**values) for template in templates]


def customer_actions(
    segment: str,
    recency: float,
    frequency: float,
    monetary: float,
    money: Callable[[float], str] = lambda v: f"{v:,.2f}",
) -> tuple[str, ...]:
    """Next actions for one customer of ``segment`` (a tier or a cluster name), with its figures;
    ``money`` formats spend (e.g. in the file's currency; default: two decimals)."""
    templates = CUSTOMER_PLAYBOOK.get(base_name(str(segment)), _FALLBACK)
    figures = {
        "recency": float(recency),
        "frequency": float(frequency),
        "monetary": money(float(monetary)),
        "per_order": money(float(monetary) / max(float(frequency), 1.0)),
    }
    return tuple(template.format(**figures) for template in templates)


def profiles_with_actions(segmented: pd.DataFrame) -> pd.DataFrame:
    """segment_profiles plus an 'actions' column (list of strings)."""
    profile = segment_profiles(segmented)
    profile["actions"] = [recommended_actions(row["segment"], row) for _, row in profile.iterrows()]
    return profile


def named_segment_actions(name: str, profile: Mapping[str, float], money=lambda v: f"{v:,.2f}") -> list[str]:
    """What to do with a named segment, worded with its own figures; ``money`` formats spend."""
    templates = NAMED_PLAYBOOK.get(name)
    if templates is None:
        return [
            f"No playbook for the segment '{name}' (a name from an edited grid); review "
            "its customers by hand."
        ]
    if not profile.get("customers"):
        return [f"No customers in this segment now ({NAMED_MEANING[name]})."]
    values = dict(profile)
    values["money_median"] = money(float(profile["monetary_median"]))
    return [template.format(**values) for template in templates]


def named_profiles_with_actions(scored: pd.DataFrame, names, money=lambda v: f"{v:,.2f}") -> pd.DataFrame:
    """named_segment_profiles plus 'meaning' (text) and 'actions' (list of strings)."""
    profile = named_segment_profiles(scored, names)
    profile["meaning"] = [
        NAMED_MEANING.get(n, "a segment from an edited grid") for n in profile["rfm_segment"]
    ]
    profile["actions"] = [
        named_segment_actions(row["rfm_segment"], row, money) for _, row in profile.iterrows()
    ]
    return profile
