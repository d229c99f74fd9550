"""Named cleaning rules, presets, and the audit of rows removed by each rule.

Rules are predicates on the canonical table (see core.columns) that say which lines to
*keep*. They run in order: a line is counted against the first rule it fails, so the audit's
counts add up to rows in - rows out. The predicates are ibis expressions, so the same rules
run on DuckDB and on Spark.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import ibis
import pandas as pd

from core.columns import ColumnMapping
from core.errors import ConfigError

INVOICE_PATTERN = r"^\d{6}$"
RETURN_INVOICE_PATTERN = r"^C\d{6}$"
STOCK_CODE_PATTERN = r"^\d{5}[A-Za-z]?$"
RETURNS_CHOICES = ("drop", "net")


@dataclass(frozen=True)
class Rule:
    name: str
    label: str
    description: str
    keep: Callable[[ibis.Table], ibis.BooleanValue]
    needs: str | None = None  # the column role the rule reads; skipped when unmapped


RULES: dict[str, Rule] = {r.name: r for r in (
    Rule("missing_customer", "Missing customer ID", "lines with no customer ID",
         lambda t: t.customer_id.notnull()),
    Rule("unparseable_date", "Unparseable date", "lines whose date is empty or does not parse",
         lambda t: t.invoice_ts.notnull()),
    Rule("quantity_not_positive", "Quantity <= 0", "returns and zero-quantity lines",
         lambda t: t.quantity > 0, needs="quantity"),
    Rule("price_not_positive", "Price <= 0", "free items and price corrections",
         lambda t: t.price > 0, needs="price"),
    Rule("amount_not_positive", "Amount <= 0", "lines whose value is zero, negative or missing",
         lambda t: t.line_value > 0),
    Rule("invoice_not_six_digits", "Invoice not six digits",
         "cancellations (C...) and adjustments (A...)",
         lambda t: t.invoice.re_search(INVOICE_PATTERN), needs="invoice"),
    Rule("stock_code_not_product", "Stock code not a product",
         "postage, manual, discount, bank charges and other non-product codes",
         lambda t: t.product.re_search(STOCK_CODE_PATTERN), needs="product"),
)}

GENERIC = ("missing_customer", "unparseable_date", "quantity_not_positive", "price_not_positive",
           "amount_not_positive")
PRESETS: dict[str, tuple[str, ...]] = {
    "generic": GENERIC,
    "online-retail": GENERIC + ("invoice_not_six_digits", "stock_code_not_product"),
}


def suggest_preset(mapping: ColumnMapping) -> str:
    """'online-retail' when the file has the invoice + stock code shape, else 'generic'."""
    return "online-retail" if mapping.invoice and mapping.product else "generic"


@dataclass(frozen=True)
class CleaningConfig:
    """Which rules run, in order, and what happens to returns ('drop' or 'net')."""

    rules: tuple[str, ...] = PRESETS["online-retail"]
    returns: str = "drop"

    def __post_init__(self):
        unknown = [r for r in self.rules if r not in RULES]
        if unknown:
            raise ConfigError(f"unknown cleaning rule(s) {unknown}; rules are {list(RULES)}")
        if self.returns not in RETURNS_CHOICES:
            raise ConfigError(f"returns must be one of {RETURNS_CHOICES}, not '{self.returns}'")

    @classmethod
    def preset(cls, name: str, returns: str = "drop") -> "CleaningConfig":
        if name not in PRESETS:
            raise ConfigError(f"unknown preset '{name}'; presets are {list(PRESETS)}")
        return cls(rules=PRESETS[name], returns=returns)

    def applicable(self, mapping: ColumnMapping) -> tuple[Rule, ...]:
        """The enabled rules whose column the mapping has, in the canonical order."""
        mapped = mapping.as_dict()
        enabled = set(self.rules)
        return tuple(r for name, r in RULES.items()
                     if name in enabled and (r.needs is None or mapped.get(r.needs)))


def failed_rule_index(table: ibis.Table, rules: Sequence[Rule]) -> ibis.IntegerValue:
    """1-based index of the first rule a line fails, 0 for a kept line (NULL counts as failing)."""
    branches = [(~rule.keep(table).fill_null(False), i + 1) for i, rule in enumerate(rules)]
    if not branches:
        return ibis.literal(0)
    return ibis.cases(*branches, else_=0)


def is_return(table: ibis.Table, rules: Sequence[Rule]) -> ibis.BooleanValue:
    """A returned line to net: negative value, and valid by every rule but the sign rules."""
    sign_rules = {"quantity_not_positive", "amount_not_positive", "invoice_not_six_digits"}
    cond = (table.line_value < 0).fill_null(False)
    for rule in rules:
        if rule.name == "invoice_not_six_digits":
            cond &= table.invoice.re_search(RETURN_INVOICE_PATTERN).fill_null(False)
        elif rule.name not in sign_rules:
            cond &= rule.keep(table).fill_null(False)
    return cond


@dataclass(frozen=True)
class CleaningAudit:
    """Rows in, rows removed by each rule in order, rows out, customers out."""

    rows_in: int
    removed: tuple[tuple[str, str, int], ...]  # (rule name, label, rows removed)
    rows_out: int
    customers_out: int
    returns_netted: int = 0

    def to_frame(self) -> pd.DataFrame:
        rows = [("rows_in", "Rows read", self.rows_in)]
        rows += [(name, f"removed: {label}", -n) for name, label, n in self.removed]
        if self.returns_netted:
            rows.append(("returns_netted", "returns netted (kept as negative value)",
                         self.returns_netted))
        rows.append(("rows_out", "Rows kept", self.rows_out))
        rows.append(("customers_out", "Customers", self.customers_out))
        return pd.DataFrame(rows, columns=["step", "description", "rows"])

    def dominant_rule(self) -> tuple[str, int] | None:
        """The rule that removed the most rows (label, rows), for 'nothing left' messages."""
        if not self.removed:
            return None
        name, label, n = max(self.removed, key=lambda r: r[2])
        return label, n
