"""One customer's card: the closest IDs to an unknown one and the customer's last orders (its
next actions come with ``SegmentationModel.explain``, from ``core.actions``)."""

from __future__ import annotations

import datetime as _dt
import difflib
from collections.abc import Iterable

import ibis
import pandas as pd

from core.io import READ_ERRORS
from core.rfm import Source, classify_lines, group_orders, scan_error

MAX_SUGGESTIONS = 5
LAST_ORDERS = 5


def closest_ids(wanted: str, ids: Iterable[str], n: int = MAX_SUGGESTIONS) -> list[str]:
    """Up to ``n`` known IDs most similar to ``wanted`` (difflib ratio >= 0.5), best first."""
    return difflib.get_close_matches(str(wanted), [str(i) for i in ids], n=n, cutoff=0.5)


def last_orders(
    source: Source, customer_id: str, n: int = LAST_ORDERS, until: _dt.datetime | None = None
) -> pd.DataFrame:
    """The customer's last ``n`` orders the cleaning rules keep, newest first.

    Columns: date (the order's timestamp), order (the invoice; with no invoice column, the
    purchase timestamp as text), value (the sum of its kept line values, rounded to cents).
    From the pipeline's per-order stage (core.rfm.group_orders), so the order's blanks are filled and the
    rules applied exactly as for RFM; ``until``: only orders up to it (the as-of date).
    InputFileError when the file cannot be scanned.
    """
    try:
        groups = group_orders(classify_lines(source), source, until=until)
        mine = groups.filter((groups.failed == 0) & (groups.customer_id == ibis.literal(str(customer_id))))
        orders = mine.group_by("purchase").aggregate(date=mine.invoice_ts.min(), value=mine.value.sum())
        frame = orders.order_by([ibis.desc("date"), ibis.desc("purchase")]).limit(n).to_pandas()
    except READ_ERRORS as exc:
        raise scan_error(source.dataset, exc) from exc
    return pd.DataFrame(
        {
            "date": pd.to_datetime(frame["date"]).dt.tz_localize(None),
            "order": frame["purchase"].astype("string"),
            "value": frame["value"].astype("float64").round(2),
        }
    )
