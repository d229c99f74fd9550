"""Named cleaning rules, presets, and the audit of rows removed by each rule.

Rules are predicates on the canonical table (see core.columns) that say which lines to
*keep*. They run in order: a line is counted against the first rule it fails, so the audit's
counts add up to rows in - rows out. The predicates are ibis expressions, so the same rules
run on DuckDB and on Spark.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Callable, Sequence

import ibis

from core import query
from core.columns import ColumnMapping
from core.errors import ConfigError

INVOICE_PATTERN = r"^\d{6}$"
RETURN_INVOICE_PATTERN = r"^C\d{6}$"
STOCK_CODE_PATTERN = r"^\d{5}[A-Za-z]*$"
RETURNS_CHOICES = ("drop", "net")
# Status values (compared in lower case, blanks and '-'/'_' as spaces) of completed sales, and
# of lines that are not a sale; any other value is kept and listed in the audit.
COMPLETED = ("paid", "completed", "complete", "succeeded", "settled", "captured", "fulfilled",
             "shipped", "delivered", "closed")
NOT_COMPLETED = ("refunded", "failed", "pending", "voided", "void", "cancelled", "canceled",
                 "declined", "expired")
EARLIEST_DATE = _dt.datetime(1990, 1, 1)


@dataclass(frozen=True)
class Rule:
    name: str
    label: str
    description: str
    keep: Callable[[ibis.Table, "CleaningConfig"], ibis.BooleanValue]
    needs: str | None = None  # the column role the rule reads; skipped when unmapped
    # Reads only what a whole order shares (customer, date, status, invoice, the order's
    # amount) and the sign of the line value: core.rfm evaluates it once per order, after
    # the order's blanks are filled. Other rules read each line's own fields.
    order_level: bool = False


RULES: dict[str, Rule] = {r.name: r for r in (
    Rule("missing_customer", "Missing customer ID", "lines with no customer ID",
         lambda t, c: t.customer_id.notnull(), order_level=True),
    Rule("unparseable_date", "Unparseable date", "lines whose date is empty or does not parse",
         lambda t, c: t.invoice_ts.notnull(), order_level=True),
    Rule("date_out_of_range", "Date out of range",
         "dates before 1990 or after the day the data was loaded plus one (typos like 2999)",
         lambda t, c: _in_date_range(t, c), order_level=True),
    Rule("unparseable_number", "Unparseable amount/price/quantity",
         "lines whose amount, price or quantity is text that is not a number",
         lambda t, c: ~t.bad_number),
    Rule("not_completed_sale", "Not a completed sale",
         "refunded, failed, pending, voided, cancelled, declined or expired (status column)",
         lambda t, c: ~normalised_status(t.status).isin(list(c.not_completed)), needs="status",
         order_level=True),
    Rule("quantity_not_positive", "Quantity <= 0", "returns and zero-quantity lines",
         lambda t, c: t.quantity > 0, needs="quantity"),
    Rule("price_not_positive", "Price <= 0", "free items and price corrections",
         lambda t, c: t.price > 0, needs="price"),
    Rule("amount_not_positive", "Amount <= 0", "lines whose value is zero, negative or missing",
         lambda t, c: (t.line_value > 0) | t.order_line, order_level=True),
    Rule("invoice_not_six_digits", "Invoice not six digits",
         "cancellations (C...) and adjustments (A...)",
         lambda t, c: t.invoice.re_search(INVOICE_PATTERN), needs="invoice", order_level=True),
    Rule("stock_code_not_product", "Stock code not a product",
         "postage, manual, discount, bank charges and other non-product codes",
         lambda t, c: t.product.re_search(STOCK_CODE_PATTERN), needs="product"),
)}

GENERIC = ("missing_customer", "unparseable_date", "date_out_of_range", "unparseable_number",
           "not_completed_sale", "quantity_not_positive", "price_not_positive",
           "amount_not_positive")
PRESETS: dict[str, tuple[str, ...]] = {
    "generic": GENERIC,
    "online-retail": GENERIC + ("invoice_not_six_digits", "stock_code_not_product"),
}


def suggest_preset(mapping: ColumnMapping, table: ibis.Table | None = None,
                   sample_rows: int = 1000) -> str:
    """'online-retail' when the file has invoice and stock-code columns, else 'generic'.

    Given the ``table``, its values must have the shape too (on the first ``sample_rows``
    lines): nine in ten invoices six digits (C/A prefixes allowed) and half the products
    five digits first, so a Stripe 'Invoice ID' + 'Description' is not taken for it.
    """
    if not (mapping.invoice and mapping.product):
        return "generic"
    if table is None:
        return "online-retail"
    sample = table.select(invoice=table[mapping.invoice].cast("string"),
                          product=table[mapping.product].cast("string")).head(sample_rows)
    row = query.first_row(sample.aggregate(
        n_invoice=sample.invoice.count(),
        retail_invoice=sample.invoice.re_search(r"^[CA]?\d{6}(\.0)?$").sum(),
        n_product=sample["product"].count(),
        retail_product=sample["product"].re_search(r"^\d{5}").sum(),
    ))
    shaped = (row["retail_invoice"] or 0) >= 0.9 * row["n_invoice"] and \
        (row["retail_product"] or 0) >= 0.5 * row["n_product"]
    return "online-retail" if shaped and row["n_invoice"] else "generic"


def normalise_status(value: str) -> str:
    """'Partially_Refunded ' -> 'partially refunded': how status values are compared."""
    return " ".join(str(value).lower().replace("_", " ").replace("-", " ").split())


def normalised_status(status: ibis.Column) -> ibis.Column:
    """``normalise_status`` as an engine expression."""
    return status.lower().re_replace(r"[_\-\s]+", " ").strip()


def _in_date_range(t: ibis.Table, config: "CleaningConfig") -> ibis.BooleanValue:
    keep = t.invoice_ts >= EARLIEST_DATE
    if config.loaded_on is not None:
        latest = _dt.datetime.combine(config.loaded_on, _dt.time()) + _dt.timedelta(days=2)
        keep &= t.invoice_ts < latest
    return keep


@dataclass(frozen=True)
class CleaningConfig:
    """Which rules run, in order, and what happens to returns ('drop' or 'net').

    ``not_completed``: status values (compared by ``normalise_status``) of lines that are not
    a sale; ``loaded_on``: the day the data was loaded (dates after the next day are out of
    range; None: no upper bound). Set by whoever reads the file (``core.rfm.rfm_from_file``).
    """

    rules: tuple[str, ...] = PRESETS["online-retail"]
    returns: str = "drop"
    not_completed: tuple[str, ...] = NOT_COMPLETED
    loaded_on: _dt.date | None = None

    def __post_init__(self):
        object.__setattr__(self, "not_completed",
                           tuple(normalise_status(v) for v in self.not_completed))
        unknown = [r for r in self.rules if r not in RULES]
        if unknown:
            raise ConfigError(f"unknown cleaning rule(s) {unknown}; rules are {list(RULES)}")
        if self.returns not in RETURNS_CHOICES:
            raise ConfigError(f"returns must be one of {RETURNS_CHOICES}, not '{self.returns}'")

    @classmethod
    def preset(cls, name: str, returns: str = "drop", **options) -> "CleaningConfig":
        """A preset's rules; ``options``: not_completed, loaded_on."""
        if name not in PRESETS:
            raise ConfigError(f"unknown preset '{name}'; presets are {list(PRESETS)}")
        return cls(rules=PRESETS[name], returns=returns, **options)

    def applicable(self, mapping: ColumnMapping) -> tuple[Rule, ...]:
        """The enabled rules whose column the mapping has, in the canonical order."""
        mapped = mapping.as_dict()
        enabled = set(self.rules)
        return tuple(r for name, r in RULES.items()
                     if name in enabled and (r.needs is None or mapped.get(r.needs)))


def is_return(table: ibis.Table, rules: Sequence[Rule],
              config: CleaningConfig | None = None) -> ibis.BooleanValue:
    """A returned line to net: negative value, and valid by every rule but the sign rules."""
    config = config or CleaningConfig()
    sign_rules = {"quantity_not_positive", "amount_not_positive", "invoice_not_six_digits"}
    cond = (table.line_value < 0).fill_null(False)
    for rule in rules:
        if rule.name == "invoice_not_six_digits":
            cond &= table.invoice.re_search(RETURN_INVOICE_PATTERN).fill_null(False)
        elif rule.name not in sign_rules:
            cond &= rule.keep(table, config).fill_null(False)
    return cond


@dataclass(frozen=True)
class CleaningAudit:
    """Rows in, rows removed by each rule in order, rows out, customers out."""

    rows_in: int
    removed: tuple[tuple[str, str, int], ...]  # (rule name, label, rows removed)
    rows_out: int
    customers_out: int
    returns_netted: int = 0
    filled_from_order: int = 0  # lines whose blank order-level fields came from their order
    # (status value as written, lines, 'counts' | 'not a sale' | 'unknown: kept') per value
    status_values: tuple[tuple[str, int, str], ...] = ()
    readings: tuple[str, ...] = ()  # how numbers and dates were read (core.values)
    line_value: str = ""  # which column(s) the line value came from

    def to_frame(self) -> "pd.DataFrame":
        import pandas as pd

        rows = [("rows_in", "Rows read", self.rows_in)]
        rows += [(name, f"removed: {label}", -n) for name, label, n in self.removed]
        if self.returns_netted:
            rows.append(("returns_netted", "returns netted (kept as negative value)",
                         self.returns_netted))
        if self.filled_from_order:
            rows.append(("filled_from_order", "filled from the order's first line",
                         self.filled_from_order))
        rows.append(("rows_out", "Rows kept", self.rows_out))
        rows.append(("customers_out", "Customers", self.customers_out))
        return pd.DataFrame(rows, columns=["step", "description", "rows"])

    def unknown_statuses(self) -> list[str]:
        return [value for value, _, verdict in self.status_values if verdict.startswith("unknown")]

    def notes(self) -> list[str]:
        """What was decided while reading, one sentence each (for the CLI and the Data page)."""
        out = [f"line value: {self.line_value}"] if self.line_value else []
        out += [f"read {r}" for r in self.readings]
        if self.filled_from_order:
            out.append(f"{self.filled_from_order:,} lines had blank order fields filled from "
                       "the order's first line")
        unknown = self.unknown_statuses()
        if unknown:
            out.append(f"status values kept but not known as sales: {', '.join(unknown)}")
        return out

    def dominant_rule(self) -> tuple[str, int] | None:
        """The rule that removed the most rows (label, rows), for 'nothing left' messages."""
        if not self.removed:
            return None
        name, label, n = max(self.removed, key=lambda r: r[2])
        return label, n
