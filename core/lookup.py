"""One customer's card: the closest IDs to an unknown one, the customer's last orders, and the next actions worded for that one customer (not for the whole
segment)."""
from __future__ import annotations

import datetime as _dt
import difflib
from typing import Callable, Iterable

import ibis
import pandas as pd

from core.clustering import base_name
from core.io import READ_ERRORS
from core.rfm import Source, classify_lines, group_orders, scan_error

MAX_SUGGESTIONS = 5
LAST_ORDERS = 5

# Per segment family, what to do with ONE customer; filled with that customer's own figures.
_CUSTOMER_ACTIONS: dict[str, tuple[str, ...]] = {
    "Elite": (
        "Assign a named account manager to this customer: {monetary} spent over "
        "{frequency:,.0f} orders.",
        "Invite them to early access and the VIP programme; no discount needed.",
        "Watch their recency (last purchase {recency:,.0f} days ago): if they go quiet for "
        "longer than usual, call them personally.",
    ),
    "High_Spender": (
        "Offer premium bundles and concierge service: {monetary} spent, about "
        "{per_order} per order.",
        "Nudge their next order with a replenishment reminder or a loyalty tier "
        "({frequency:,.0f} orders so far).",
    ),
    "Power_Shopper": (
        "Reward their frequency ({frequency:,.0f} orders): points or a free-shipping threshold.",
        "Raise their basket with cross-sell and volume pricing: about {per_order} per order.",
        "Ask them for a review or a referral while they are active (last purchase "
        "{recency:,.0f} days ago).",
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
        "Win them back with a time-limited reactivation offer: last purchase {recency:,.0f} "
        "days ago.",
        "Do not spend more to win them back than they were worth: {monetary} in total.",
    ),
}
_FALLBACK = ("Look at this customer's last orders before contacting them: last purchase "
             "{recency:,.0f} days ago, {frequency:,.0f} orders, {monetary} spent.",)


def closest_ids(wanted: str, ids: Iterable[str], n: int = MAX_SUGGESTIONS) -> list[str]:
    """Up to ``n`` known IDs most similar to ``wanted`` (difflib ratio >= 0.5), best first."""
    return difflib.get_close_matches(str(wanted), [str(i) for i in ids], n=n, cutoff=0.5)


def customer_actions(segment: str, recency: float, frequency: float, monetary: float,
                     money: Callable[[float], str] = lambda v: f"{v:,.2f}") -> tuple[str, ...]:
    """Next actions for one customer of ``segment`` (a tier or a cluster name), with its figures;
    ``money`` formats spend (e.g. in the file's currency)."""
    templates = _CUSTOMER_ACTIONS.get(base_name(str(segment)), _FALLBACK)
    per_order = float(monetary) / max(float(frequency), 1.0)
    figures = {"recency": float(recency), "frequency": float(frequency),
               "monetary": money(float(monetary)), "per_order": money(per_order)}
    return tuple(t.format(**figures) for t in templates)


def last_orders(source: Source, customer_id: str, n: int = LAST_ORDERS,
                until: _dt.datetime | None = None) -> pd.DataFrame:
    """The customer's last ``n`` orders the cleaning rules keep, newest first.

    Columns: date (the order's timestamp), order (the invoice; with no invoice column, the
    purchase timestamp as text), value (the sum of its kept line values, rounded to cents).
    From the pipeline's per-order stage (core.rfm.group_orders), so the order's blanks are filled and the
    rules applied exactly as for RFM; ``until``: only orders up to it (the as-of date).
    InputFileError when the file cannot be scanned.
    """
    try:
        groups = group_orders(classify_lines(source), source, until=until)
        mine = groups.filter((groups.failed == 0)
                             & (groups.customer_id == ibis.literal(str(customer_id))))
        orders = mine.group_by("purchase").aggregate(date=mine.invoice_ts.min(),
                                                    value=mine.value.sum())
        frame = orders.order_by([ibis.desc("date"), ibis.desc("purchase")]).limit(n).to_pandas()
    except READ_ERRORS as exc:
        raise scan_error(source.dataset, exc) from exc
    return pd.DataFrame({"date": pd.to_datetime(frame["date"]).dt.tz_localize(None),
                         "order": frame["purchase"].astype("string"),
                         "value": frame["value"].astype("float64").round(2)})
