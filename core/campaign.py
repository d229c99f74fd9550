"""Campaign-ready exports: one row per customer with dates, orders, value, scores, segments
and the file's own customer attributes (email, name, country, ...).

The per-customer dates and attributes come from the pipeline's orders (core.rfm.group_orders,
with the attribute columns carried): customer IDs and filled order fields are the RFM table's,
first/last purchase are taken over the lines the cleaning rules keep, and each attribute is
the latest non-empty value by date (ties: the larger text), over every dated line of the
customer, so a refunded order's email still counts.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Sequence

import ibis
import pandas as pd

from core.columns import ColumnMapping, normalise
from core.errors import ColumnMappingError
from core.rfm import Source, classify_lines, group_orders

# ISO timestamp with microseconds: fixed width, so "latest" is a max over "<ts><value>" text.
_TS_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
_TS_WIDTH = 26
_ATTRIBUTE_HINTS = (
    "email",
    "mail",
    "name",
    "country",
    "phone",
    "city",
    "company",
    "acceptsmarketing",
    "province",
    "zip",
    "postcode",
    "state",
)
# line-item and product fields are not about the customer ('Lineitem name', 'Product name')
_NOT_CUSTOMER = ("lineitem", "item", "product", "sku", "vendor", "discount", "shippingmethod")
MEASURE_COLUMNS = (
    "first_purchase",
    "last_purchase",
    "recency",
    "orders",
    "revenue",
    "average_order_value",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    "tier",
    "cluster",
    "segment",
    # customer lifetime value (core.clv.VALUE_COLUMNS), when the table carries it
    "expected_purchases",
    "p_alive",
    "expected_spend",
    "clv",
)


def suggest_attribute_columns(columns: Sequence[str], mapping: ColumnMapping) -> list[str]:
    """The file's columns that look like customer attributes (email, name, country, ...).

    Columns mapped to a transaction role (date, invoice, amounts, status, product) are left out:
    a Shopify 'Name' is the order number, not the customer's name.
    """
    mapped = {v for k, v in mapping.as_dict().items() if v and k not in ("customer", "country")}
    out = []
    for column in columns:
        key = normalise(column)
        if column in mapped or key.startswith(_NOT_CUSTOMER):
            continue
        if any(hint in key for hint in _ATTRIBUTE_HINTS):
            out.append(column)
    return out


def email_column(columns: Iterable[str]) -> str | None:
    """The first column whose name says e-mail ('Email', 'E-mail address', 'customer_email')."""
    for column in columns:
        if "email" in normalise(column) or normalise(column) in ("mail", "emailaddress"):
            return column
    return None


def customer_attributes(
    source: Source, attributes: Sequence[str] = (), as_of: _dt.datetime | None = None
) -> pd.DataFrame:
    """Per customer: first_purchase, last_purchase and the latest non-empty value of each column.

    From the pipeline's orders with ``attributes`` carried (the lines of an order group share
    their timestamp, so each group's largest value stands for its lines). Lines after
    ``as_of`` are not counted (the data as it stood then). Raises ColumnMappingError naming
    a column the file does not have.
    """
    dataset = source.dataset
    attributes = tuple(dict.fromkeys(attributes))
    missing = [c for c in attributes if c not in dataset.columns]
    if missing:
        raise ColumnMappingError(
            f"{dataset.name}: no column '{missing[0]}' to export; the file has {', '.join(dataset.columns)}"
        )
    orders = group_orders(classify_lines(source, attributes), source)
    dated = orders.customer_id.notnull() & orders.invoice_ts.notnull()
    if as_of is not None:
        dated &= orders.invoice_ts <= ibis.literal(as_of)
    orders = orders.filter(dated)
    kept = orders.failed == 0
    ts_text = orders.invoice_ts.strftime(_TS_FORMAT)
    aggregates = dict(
        first_purchase=orders.invoice_ts.min(where=kept), last_purchase=orders.invoice_ts.max(where=kept)
    )
    for i in range(len(attributes)):
        value = orders[f"attribute_{i}"]
        aggregates[f"attribute_{i}"] = ts_text.concat(value).max(where=value.notnull())
    frame = orders.group_by("customer_id").aggregate(**aggregates).to_pandas()
    out = pd.DataFrame({"customer_id": frame["customer_id"].astype("string")})
    for i, column in enumerate(attributes):
        out[column] = frame[f"attribute_{i}"].astype("string").str.slice(_TS_WIDTH)
    out["first_purchase"] = pd.to_datetime(frame["first_purchase"])
    out["last_purchase"] = pd.to_datetime(frame["last_purchase"])
    return out.sort_values("customer_id").reset_index(drop=True)


def campaign_table(scored: pd.DataFrame, attributes: pd.DataFrame) -> pd.DataFrame:
    """One row per customer of ``scored``: attributes first, then dates, value, scores, segments.

    ``scored`` is the segmented table with scores (customer_id, recency, frequency, monetary,
    tier, cluster, segment, r_score, f_score, m_score, rfm_segment); ``attributes`` comes from
    ``customer_attributes``. Customers without a kept line there keep empty attributes.
    """
    merged = scored.merge(attributes, on="customer_id", how="left", validate="one_to_one")
    attr_columns = [
        c for c in attributes.columns if c not in ("customer_id", "first_purchase", "last_purchase")
    ]
    merged["orders"] = merged["frequency"].astype("int64")
    merged["revenue"] = merged["monetary"].astype("float64")
    merged["average_order_value"] = (merged["revenue"] / merged["orders"]).round(2)
    columns = ["customer_id", *attr_columns, *[c for c in MEASURE_COLUMNS if c in merged.columns]]
    return merged[columns]


def email_tool_frame(table: pd.DataFrame, email: str) -> tuple[pd.DataFrame, int]:
    """The table with the e-mail column first and only the rows that have an e-mail.

    Returns the frame and how many customers were left out for having no e-mail.
    """
    if email not in table.columns:
        raise ColumnMappingError(
            f"no e-mail column '{email}' in the export; pick it among the customer columns"
        )
    has_email = table[email].astype("string").str.strip().fillna("").str.len() > 0
    ordered = table[[email, *[c for c in table.columns if c != email]]]
    return ordered[has_email.to_numpy()].reset_index(drop=True), int((~has_email).sum())


def file_stem(name: str) -> str:
    """A safe file-name stem from a segment name ('Can't Lose Them' -> 'can_t_lose_them')."""
    return re.sub(r"[^A-Za-z0-9]+", "_", str(name)).strip("_").lower() or "segment"
