"""Named cleaning rules, presets, and the audit of rows removed by each rule.

Rules are predicates on the canonical table (see core.columns) that say which lines to
*keep*. They run in order: a line is counted against the first rule it fails, so the audit's
counts add up to rows in - rows out. The predicates are ibis expressions, so the same rules
run on DuckDB and on Spark.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import ibis

from core import patterns, query, statuses
from core.columns import ColumnMapping
from core.errors import ConfigError, DataValidationError

if TYPE_CHECKING:
    import pandas as pd

INVOICE_PATTERN = r"^\d{6}$"
RETURN_INVOICE_PATTERN = r"^C\d{6}$"
STOCK_CODE_PATTERN = r"^\d{5}[A-Za-z]*$"
RETURNS_CHOICES = ("drop", "net")
EARLIEST_DATE = _dt.datetime(1990, 1, 1)


@dataclass(frozen=True)
class Rule:
    """One cleaning rule: its name (the CLI's and presets'), label and description (the Data
    page, the audit), and ``keep``, the ibis expression of the lines it keeps."""

    name: str
    label: str
    description: str
    keep: Callable[[ibis.Table, CleaningConfig], ibis.BooleanValue]
    needs: str | None = None  # the column role the rule reads; skipped when unmapped
    # Reads only what a whole order shares (customer, date, status, invoice, the order's
    # amount) and the sign of the line value: core.rfm evaluates it once per order, after
    # the order's blanks are filled. Other rules read each line's own fields.
    order_level: bool = False


# What two rules each keep: the lines whose column holds a value, is above 0, or matches a pattern.
def _present(column: str) -> Callable[[ibis.Table, CleaningConfig], ibis.BooleanValue]:
    return lambda t, c: t[column].notnull()


def _positive(column: str) -> Callable[[ibis.Table, CleaningConfig], ibis.BooleanValue]:
    return lambda t, c: t[column] > 0


def _matching(column: str, pattern: str) -> Callable[[ibis.Table, CleaningConfig], ibis.BooleanValue]:
    return lambda t, c: patterns.matches(t[column], pattern)


RULES: dict[str, Rule] = {
    r.name: r
    for r in (
        Rule(
            "missing_customer",
            "Missing customer ID",
            "lines with no customer ID",
            _present("customer_id"),
            order_level=True,
        ),
        Rule(
            "unparseable_date",
            "Unparseable date",
            "lines whose date is empty or does not parse",
            _present("invoice_ts"),
            order_level=True,
        ),
        Rule(
            "date_out_of_range",
            "Date out of range",
            "dates before 1990 or after the day the data was loaded plus one (typos like 2999)",
            lambda t, c: _in_date_range(t, c),
            order_level=True,
        ),
        Rule(
            "unparseable_number",
            "Unparseable amount/price/quantity",
            "lines whose amount, price or quantity is text that is not a number",
            lambda t, c: ~t.bad_number,
        ),
        Rule(
            "not_completed_sale",
            "Not a completed sale",
            "refunded, cancelled, failed, pending, on hold, quotes, layaways, voids and blank "
            "statuses (status column; core.statuses)",
            lambda t, c: is_sale(t, c),
            needs="status",
            order_level=True,
        ),
        Rule(
            "quantity_not_positive",
            "Quantity <= 0",
            "returns and zero-quantity lines",
            _positive("quantity"),
            needs="quantity",
        ),
        Rule(
            "price_not_positive",
            "Price <= 0",
            "free items and price corrections",
            _positive("price"),
            needs="price",
        ),
        Rule(
            "amount_not_positive",
            "Amount <= 0",
            "lines whose value is zero, negative or missing",
            lambda t, c: (t.line_value > 0) | t.order_line,
            order_level=True,
        ),
        Rule(
            "invoice_not_six_digits",
            "Invoice not six digits",
            "cancellations (C...) and adjustments (A...)",
            _matching("invoice", INVOICE_PATTERN),
            needs="invoice",
            order_level=True,
        ),
        Rule(
            "stock_code_not_product",
            "Stock code not a product",
            "postage, manual, discount, bank charges and other non-product codes",
            _matching("product", STOCK_CODE_PATTERN),
            needs="product",
        ),
    )
}

GENERIC = (
    "missing_customer",
    "unparseable_date",
    "date_out_of_range",
    "unparseable_number",
    "not_completed_sale",
    "quantity_not_positive",
    "price_not_positive",
    "amount_not_positive",
)
PRESETS: dict[str, tuple[str, ...]] = {
    "generic": GENERIC,
    "online-retail": GENERIC + ("invoice_not_six_digits", "stock_code_not_product"),
}


def suggest_preset(mapping: ColumnMapping, table: ibis.Table | None = None, sample_rows: int = 1000) -> str:
    """'online-retail' when the file has invoice and stock-code columns, else 'generic'.

    Given the ``table``, its values must have the shape too (on the first ``sample_rows``
    lines): nine in ten invoices six digits (C/A prefixes allowed) and half the products
    five digits first, so a Stripe 'Invoice ID' + 'Description' is not taken for it.
    """
    if not (mapping.invoice and mapping.product):
        return "generic"
    if table is None:
        return "online-retail"
    sample = table.select(
        invoice=table[mapping.invoice].cast("string"), product=table[mapping.product].cast("string")
    ).head(sample_rows)
    row = query.first_row(
        sample.aggregate(
            n_invoice=sample.invoice.count(),
            retail_invoice=sample.invoice.re_search(r"^[CA]?\d{6}(\.0)?$").sum(),
            n_product=sample["product"].count(),
            retail_product=sample["product"].re_search(r"^\d{5}").sum(),
        )
    )
    shaped = (row["retail_invoice"] or 0) >= 0.9 * row["n_invoice"] and (
        row["retail_product"] or 0
    ) >= 0.5 * row["n_product"]
    return "online-retail" if shaped and row["n_invoice"] else "generic"


def status_values_in(t: ibis.Table) -> list[str | None]:
    """The distinct status values of a canonical table (one query)."""
    return [row["status"] for row in query.rows(t.select(status=t.status).distinct())]


def is_sale(t: ibis.Table, config: CleaningConfig) -> ibis.BooleanValue:
    """Whether a line's status is a completed sale, by ``core.statuses.status_verdict`` over
    the status values as written (``config.sale_values`` when the pipeline settled them, else
    read from ``t`` here). Unknown and blank values are not kept: only a sale is."""
    values = config.sale_values
    if values is None:
        values = config.with_status_values(status_values_in(t)).sale_values
    return t.status.isin(list(values)) if values else ibis.literal(False)


def _in_date_range(t: ibis.Table, config: CleaningConfig) -> ibis.BooleanValue:
    keep = t.invoice_ts >= EARLIEST_DATE
    if config.loaded_on is not None:
        latest = _dt.datetime.combine(config.loaded_on, _dt.time()) + _dt.timedelta(days=2)
        keep &= t.invoice_ts < latest
    return keep


@dataclass(frozen=True)
class CleaningConfig:
    """Which rules run, in order, and what happens to returns ('drop' or 'net').

    ``sale_statuses`` / ``not_sale_statuses``: status values decided by the user or an export
    profile (they win over the vocabulary of ``core.statuses``; stored normalised);
    ``loaded_on``: the day the data was loaded (dates after the next day are out of range;
    None: no upper bound). Set by whoever reads the file (``core.rfm.rfm_from_file``).
    ``sale_values``: the status values *as written* in the file that are sales, settled by the
    pipeline from the file's values (``with_status_values``); None: not settled yet.
    ``drop_duplicates``: remove every exact copy of a line (default: only where the key must
    be unique, see ``duplicate_lines``); ``unique_key``: columns whose values must be unique
    per line (an export profile's key), () for none.
    """

    rules: tuple[str, ...] = PRESETS["online-retail"]
    returns: str = "drop"
    sale_statuses: tuple[str, ...] = ()
    not_sale_statuses: tuple[str, ...] = ()
    loaded_on: _dt.date | None = None
    sale_values: tuple[str, ...] | None = None
    drop_duplicates: bool = False
    unique_key: tuple[str, ...] = ()

    def __post_init__(self):
        for name in ("sale_statuses", "not_sale_statuses"):
            object.__setattr__(self, name, statuses.parse_status_list(getattr(self, name)))
        statuses.check_decisions(self.sale_statuses, self.not_sale_statuses)
        object.__setattr__(self, "unique_key", tuple(self.unique_key))
        unknown = [r for r in self.rules if r not in RULES]
        if unknown:
            raise ConfigError(f"unknown cleaning rule(s) {unknown}; rules are {list(RULES)}")
        if self.returns not in RETURNS_CHOICES:
            raise ConfigError(f"returns must be one of {RETURNS_CHOICES}, not '{self.returns}'")

    def verdict(self, value: object) -> str | None:
        """statuses.SALE, statuses.NOT_SALE or None (unknown) for a status value as written."""
        return statuses.status_verdict(value, self.sale_statuses, self.not_sale_statuses)

    def with_status_values(self, values: Sequence[str | None]) -> CleaningConfig:
        """This config with ``sale_values`` settled from the status values a file holds."""
        return replace(
            self, sale_values=tuple(v for v in values if v is not None and self.verdict(v) == statuses.SALE)
        )

    @classmethod
    def preset(cls, name: str, returns: str = "drop", **options) -> CleaningConfig:
        """A preset's rules; ``options``: any other field (sale_statuses, loaded_on, ...)."""
        if name not in PRESETS:
            raise ConfigError(f"unknown preset '{name}'; presets are {list(PRESETS)}")
        return cls(rules=PRESETS[name], returns=returns, **options)

    def applicable(self, mapping: ColumnMapping) -> tuple[Rule, ...]:
        """The enabled rules whose column the mapping has, in the canonical order."""
        mapped = mapping.as_dict()
        enabled = set(self.rules)
        return tuple(
            r for name, r in RULES.items() if name in enabled and (r.needs is None or mapped.get(r.needs))
        )


def is_return(
    table: ibis.Table, rules: Sequence[Rule], config: CleaningConfig | None = None
) -> ibis.BooleanValue:
    """A returned line to net: negative value, and valid by every rule but the sign rules."""
    config = config or CleaningConfig()
    sign_rules = {"quantity_not_positive", "amount_not_positive", "invoice_not_six_digits"}
    cond = (table.line_value < 0).fill_null(False)
    for rule in rules:
        if rule.name == "invoice_not_six_digits":
            cond &= patterns.matches(table.invoice, RETURN_INVOICE_PATTERN).fill_null(False)
        elif rule.name not in sign_rules:
            cond &= rule.keep(table, config).fill_null(False)
    return cond


def status_counts(groups: ibis.Table, config: CleaningConfig) -> tuple[statuses.StatusCount, ...]:
    """Each status value as written in ``groups`` (core.rfm.order_groups: ``status``,
    ``lines``, ``value``), its lines, their value and its verdict; most lines first. Blank
    statuses are left out (the status rule counts them)."""
    rows = query.rows(
        groups.group_by("status")
        .aggregate(lines=groups.lines.sum(), revenue=groups.value.sum())
        .order_by(ibis.desc("lines"), "status")
    )
    return tuple(
        statuses.StatusCount(
            row["status"],
            int(row["lines"]),
            round(float(row["revenue"] or 0), 2),
            config.verdict(row["status"]),
        )
        for row in rows
        if row["status"] is not None
    )


@dataclass(frozen=True)
class Duplicates:
    """Exact copies of a line in a file: how many, how many removed, and why.

    ``key``: the columns whose values must be unique per line (an export profile's key, or the
    order ID of a file with one row per order), () when none must be; ``removed`` is
    ``copies`` when a key must be unique or the user asked to drop copies, else 0 (kept, the
    seed's way, as Online Retail's repeated lines)."""

    copies: int = 0
    removed: int = 0
    key: tuple[str, ...] = ()
    asked: bool = False  # removed because the user asked (drop_duplicates)
    checked: bool = True  # False: a file of items not asked to drop copies (not scanned)


def duplicate_lines(
    table: ibis.Table, config: CleaningConfig, mapping: ColumnMapping, source: str = "the file"
) -> tuple[ibis.Table, Duplicates]:
    """The raw table with the exact copies of a line removed where they must go, and the count.

    Copies go when ``config.unique_key`` is given, when the file has one row per order (an
    amount column is the value, and the invoice column's every order is one distinct row: two
    overlapping downloads pasted together must not count an order twice), or when
    ``config.drop_duplicates``. A file valued by quantity x price lists items: a repeated
    line may be a repeated item (Online Retail), so its copies are kept, and not even counted
    unless asked to drop them (counting is a scan of every column: a fifth more time on a
    million-line Parquet file, measured, for a number that changes nothing). Raises DataValidationError when
    two *different* rows share a ``unique_key`` value: which one is right is not guessed.
    """
    if not (config.unique_key or config.drop_duplicates or (mapping.invoice and mapping.amount)):
        return table, Duplicates(checked=False)
    distinct = table.group_by(list(table.columns)).aggregate(copies=ibis._.count())
    row = query.first_row(distinct.aggregate(lines=distinct.copies.sum(), rows=distinct.count()))
    copies = int(row["lines"] or 0) - int(row["rows"] or 0)
    key = config.unique_key
    if key:
        clash = query.rows(
            distinct.group_by(list(key)).aggregate(n=ibis._.count()).filter(ibis._.n > 1).limit(1)
        )
        if clash:
            value = ", ".join(f"{c}={clash[0][c]!r}" for c in key)
            raise DataValidationError(
                f"{source}: {clash[0]['n']} different lines share the key {value}, which must be "
                "unique; remove the wrong lines, or read the file with --profile none"
            )
    elif copies and mapping.invoice and mapping.amount:
        # Only lines that carry an order ID: a line without one is no order to count once.
        invoice = mapping.invoice
        written = table[invoice].cast("string").strip()
        has_id = written.notnull() & (written != "")
        ided = distinct.filter(
            distinct[invoice].cast("string").strip().notnull()
            & (distinct[invoice].cast("string").strip() != "")
        )
        per_order = ided.group_by(invoice).aggregate(n=ibis._.count())
        most = query.first_row(per_order.aggregate(most=per_order.n.max()))["most"]
        if most == 1:
            id_copies = query.first_row(ided.aggregate(n=ided.copies.sum() - ided.count()))["n"]
            if id_copies:
                kept = table.filter(has_id).distinct().union(table.filter(~has_id.fill_null(False)))
                return kept, Duplicates(copies, int(id_copies), (invoice,))
    if copies and (key or config.drop_duplicates):
        return table.distinct(), Duplicates(copies, copies, key, not key)
    return table, Duplicates(copies, 0, key)


def read_removals(total_rows: int, duplicates: Duplicates) -> tuple[tuple[str, str, int], ...]:
    """The audit's first rows (name, label, rows removed): lines left out while reading, before
    the rules: totals / subtotal rows (core.header) and exact copies (``duplicate_lines``)."""
    out = []
    if total_rows:
        out.append(("total_row", "Totals or subtotal row", total_rows))
    if duplicates.removed:
        why = f"{' + '.join(duplicates.key)} must be unique" if duplicates.key else "drop duplicates is on"
        out.append(("duplicate_copy", f"Exact copy of a line ({why})", duplicates.removed))
    return tuple(out)


@dataclass(frozen=True)
class CleaningAudit:
    """Rows in, rows removed by each rule in order, rows out, customers out."""

    rows_in: int
    removed: tuple[tuple[str, str, int], ...]  # (rule name, label, rows removed)
    rows_out: int
    customers_out: int
    returns_netted: int = 0
    filled_from_order: int = 0  # lines whose blank order-level fields came from their order
    # each status value as written: lines, their value, verdict (core.statuses; never unknown
    # here: the pipeline refuses an unknown value before an audit is made)
    status_values: tuple[statuses.StatusCount, ...] = ()
    duplicates: Duplicates = Duplicates()  # exact copies of a line: counted, removed or kept
    header_row: int = 1  # the row the header was read from (title rows above it skipped)
    footer_lines: int = 0  # a report's footer lines below the table, left out (not rows read)
    readings: tuple[str, ...] = ()  # how numbers and dates were read (core.values)
    line_value: str = ""  # which column(s) the line value came from

    def to_frame(self) -> pd.DataFrame:
        """The audit as a table: one row per step (rows read, removed by each rule, netted,
        filled, kept, customers) with its label and count (removed counts negative)."""
        import pandas as pd

        rows = [("rows_in", "Rows read", self.rows_in)]
        rows += [(name, f"removed: {label}", -n) for name, label, n in self.removed]
        if self.returns_netted:
            rows.append(("returns_netted", "returns netted (kept as negative value)", self.returns_netted))
        if self.filled_from_order:
            rows.append(("filled_from_order", "filled from the order's first line", self.filled_from_order))
        rows.append(("rows_out", "Rows kept", self.rows_out))
        rows.append(("customers_out", "Customers", self.customers_out))
        return pd.DataFrame(rows, columns=["step", "description", "rows"])

    def notes(self) -> list[str]:
        """What was decided while reading, one sentence each (for the CLI and the Data page)."""
        out = [f"line value: {self.line_value}"] if self.line_value else []
        out += [f"read {r}" for r in self.readings]
        if self.filled_from_order:
            out.append(
                f"{self.filled_from_order:,} lines had blank order fields filled from the order's first line"
            )
        return out

    def dominant_rule(self) -> tuple[str, int] | None:
        """The rule that removed the most rows (label, rows), for 'nothing left' messages."""
        if not self.removed:
            return None
        name, label, n = max(self.removed, key=lambda r: r[2])
        return label, n
