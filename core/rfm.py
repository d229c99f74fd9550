"""The one pipeline from a file to Recency, Frequency, Monetary per customer.

Every consumer (RFM, movement over time, campaign exports, the report, Spark) starts from the
stage it needs; none re-derives an earlier one:

    open_source(path, options)       read and map the file, settle its rules   -> Source
    classify_lines(source)           one row per line: canonical columns, the first
                                     line-level rule each line fails
    group_orders(lines, source)      one row per group of an order's lines: order blanks
                                     filled, order-level rules, failed / returned
    line_counts(orders, rules)       what became of the lines: kept, netted, removed per
                                     rule, filled from their order (the audit's counts)
    customer_aggregates(orders, ...) one row per customer with a kept or netted line: kept
                                     purchases, first / last purchase, values
    rfm_from_aggregates(agg, as_of)  one row per customer with a kept line: R, F, M

``Source.rfm(as_of)`` runs them all and adds the cleaning audit (``RFMResult``).

Definitions (DESIGN.md):
- line value = quantity * price, or the mapped amount;
- monetary   = sum of the line values of the kept lines (with returns netted: plus the
  returned lines' negative values, floored at 0), rounded to cents;
- frequency  = distinct invoices; with no invoice column, distinct purchase timestamps;
- recency    = whole days (floor) from the customer's last purchase to the as-of date;
- as-of      = given, or by default the latest purchase timestamp in the cleaned data.

The line scan runs once (in ``group_orders``); the audit and the RFM table come from the same
pass. The stages are ibis expressions: they run on DuckDB here and on Spark through ibis's
PySpark backend.
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa

from core import query, statuses, values
from core.cleaning import (
    CleaningAudit,
    CleaningConfig,
    Duplicates,
    Rule,
    duplicate_lines,
    is_return,
    read_removals,
    status_counts,
    status_values_in,
)
from core.columns import (
    RFM_COLUMNS,
    ColumnMapping,
    customer_id,
    dates_as_stored,
    decide_readings,
    resolve,
    to_canonical,
)
from core.errors import ConfigError, DataValidationError, InputFileError
from core.excel import WorkbookReader
from core.io import READ_ERRORS, Dataset, marks_in_text, read_error_message, read_transactions
from core.options import ReadOptions, parse_as_of
from core.profiles import ProfileReading, column_of, read_profile

SECONDS_PER_DAY = 86_400
# Line values are summed as exact decimals (to a millionth): float sums in parallel depend on
# the order the threads add them in, and a total on a half cent would round either way.
VALUE = dt.Decimal(38, 6)


@dataclass(frozen=True)
class RFMResult:
    """One row per customer (customer_id, recency, frequency, monetary), with its audit.

    ``table`` is the result as Arrow; ``rfm`` the same as a pandas DataFrame (made on first
    use: the command line writes the Arrow table and never imports pandas).
    """

    table: pa.Table
    audit: CleaningAudit
    as_of: _dt.datetime
    first_purchase: _dt.datetime
    last_purchase: _dt.datetime
    readings: values.Readings | None = None  # how numbers and dates were read
    mapping: ColumnMapping | None = None  # the columns used
    reading: tuple[str, ...] = ()  # how the file was read (profile, identity, ...)

    @functools.cached_property
    def rfm(self):
        """customer_id (string), recency, frequency (int64), monetary (float64), a pandas frame."""
        import pandas as pd

        frame = self.table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
        return frame.astype(
            {"customer_id": "string", "recency": "int64", "frequency": "int64", "monetary": "float64"}
        )[list(RFM_COLUMNS)].reset_index(drop=True)


# -- read --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """A file read and mapped, with its cleaning rules and the options it was read by.

    What every consumer of a file starts from (RFM, movement over time, campaign exports,
    the report), so the file is read, mapped and configured one way only. ``open_source``
    makes it from a path; ``cleaning`` is the rules the options settled (default: the
    online-retail preset with no upper date bound).
    """

    dataset: Dataset
    mapping: ColumnMapping
    cleaning: CleaningConfig = field(default_factory=CleaningConfig)
    options: ReadOptions = field(default_factory=ReadOptions)
    reading: ProfileReading | None = None  # the export profile and what reading decided
    duplicates: Duplicates = field(default_factory=Duplicates)  # copies removed or counted

    @functools.cached_property
    def readings(self) -> values.Readings:
        """How numbers and dates of the mapped columns read (decided over whole columns, once)."""
        return decide_readings(
            self.dataset.table,
            self.mapping,
            self.dataset.name,
            delimiter=self.dataset.delimiter,
            decimal=self.options.decimal,
            date_format=self.options.date_format,
        )

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The cleaning rules that apply to this file's mapping, in audit order."""
        return self.cleaning.applicable(self.mapping)

    def rfm(self, as_of: _dt.datetime | str | None = None) -> RFMResult:
        """RFM per customer at ``as_of`` (default: the options' as-of, else the latest kept
        purchase), with the cleaning audit. An as-of before the latest kept purchase means "as
        the data stood then": only the lines up to it are cleaned and counted (the audit too).
        Raises DataValidationError when no line survives cleaning (naming the rule that
        removed the most, or the as-of date when nothing had been bought by then)."""
        return compute_rfm(self, parse_as_of(as_of) or self.options.as_of)


def open_source(
    path: str | os.PathLike,
    options: ReadOptions | None = None,
    *,
    engine: str = "duckdb",
    name: str | None = None,
    con: ibis.BaseBackend | None = None,
    session=None,
    workbooks: WorkbookReader | None = None,
) -> Source:
    """Read and map a file and settle its cleaning rules, as ``options`` say.

    ``engine``: 'duckdb' (``con``: a connection, default a new one) or 'spark' (``session``:
    a SparkSession). ``name``: how messages call the file. The day loaded is today unless
    the options give it (the edge: the stages below never read the clock). ``workbooks``:
    how the duckdb engine reads a workbook (core.io.read_transactions; default: from the
    file, once). Raises the errors of core.errors.
    """
    options = options or ReadOptions()
    if engine == "spark":
        from core import spark

        dataset = spark.read_transactions(
            path, sheet=options.sheet, header_row=options.header_row, session=session
        )
    elif engine == "duckdb":
        dataset = read_transactions(
            path, name=name, sheet=options.sheet, con=con, header_row=options.header_row, workbooks=workbooks
        )
    else:
        raise ConfigError(f"engine must be 'duckdb' or 'spark', not '{engine}'")
    overrides = {role: column or "" for role, column in options.mapping}

    def mapped(raw: Dataset) -> tuple[Dataset, ColumnMapping, ProfileReading]:
        """``read_mapped`` with the options, a bad row its queries reach as InputFileError."""
        try:
            return read_mapped(raw, overrides, options.profile, options.date_format)
        except READ_ERRORS as exc:  # a reading query reached a bad row the first look did not see
            raise scan_error(raw, exc) from exc

    raw = dataset
    dataset, mapping, reading = mapped(raw)
    cleaning = options.cleaning_for(mapping, dataset.table, _dt.date.today())
    cleaning = with_profile(cleaning, reading, raw.columns)
    # Exact copies go before any stage reads the lines (core.cleaning.duplicate_lines), and
    # are judged on the file's own columns: a profile's derived columns (an order total kept
    # on the order's first row only) would tell two copies apart. The invoice must be a column
    # of the file for the one-row-per-order test.
    raw_mapping = mapping if mapping.invoice in raw.columns else replace(mapping, invoice=None)
    table, duplicates = duplicate_lines(raw.table, cleaning, raw_mapping, raw.name)
    if duplicates.removed:  # read again from the lines without their copies
        dataset, mapping, reading = mapped(replace(raw, table=table))
    return Source(dataset, mapping, cleaning, options, reading, duplicates)


def with_profile(cleaning: CleaningConfig, reading: ProfileReading, columns: Sequence[str]) -> CleaningConfig:
    """The cleaning rules with what the export profile says: its sale / not-sale statuses
    added to the user's decisions (the user's win where both speak of one value), and its
    unique key (columns of the file) for core.cleaning.duplicate_lines."""
    profile = reading.profile
    if profile is None:
        return cleaning
    user_sales, user_not = set(cleaning.sale_statuses), set(cleaning.not_sale_statuses)
    sales = [s for s in statuses.parse_status_list(profile.sales) if s not in user_not]
    not_sales = [s for s in statuses.parse_status_list(profile.not_sales) if s not in user_sales]
    key = tuple(column for column in (column_of(list(columns), name) for name in profile.unique) if column)
    return replace(
        cleaning,
        sale_statuses=tuple(dict.fromkeys((*cleaning.sale_statuses, *sales))),
        not_sale_statuses=tuple(dict.fromkeys((*cleaning.not_sale_statuses, *not_sales))),
        unique_key=cleaning.unique_key or (key if len(key) == len(profile.unique) else ()),
    )


def read_mapped(
    dataset: Dataset,
    overrides: Mapping[str, str | None] | None = None,
    profile: str | None = None,
    date_format: str | None = None,
    *,
    check: bool = True,
) -> tuple[Dataset, ColumnMapping, ProfileReading]:
    """The dataset prepared by its export profile (core.profiles), its column mapping, and
    the reading (profile, sentences of what was decided: identity, value basis, time, moved
    roles, currency). Without a profile, a placeholder customer ID falls back to the file's
    e-mail column when it has one (core.identity). ``check=False``: the mapping may miss
    required roles (core.columns.resolve)."""
    from core import identity, money

    user = dict(overrides or {})
    given = user.pop("customer", None)
    # Not a column of the file: a customer column an earlier reading derived (a mapping read
    # back), derived again; any other name is refused by the check.
    derived = bool(given) and given not in dataset.columns
    reading = read_profile(dataset.table, profile, overrides, dataset.name, date_format=date_format)
    dataset = replace(dataset, table=reading.table)
    mapping, moved = resolve(
        dataset.table, user, dataset.name, base=reading.roles if reading.profile else None, check=False
    )
    sentences = [*reading.sentences, *moved]
    if reading.profile is None and (given is None or derived):
        email = identity.email_column(dataset.columns, mapping.customer)
        if email is not None:
            customer, table, said = identity.settle(
                dataset.table,
                id_column=mapping.customer,
                email_column=email,
                invoice=mapping.invoice,
                source=dataset.name,
            )
            dataset = replace(dataset, table=table)
            mapping = replace(mapping, customer=customer)
            sentences.append(said)
    if given is not None and given != mapping.customer:  # the user's choice ('' unmaps)
        mapping = replace(mapping, customer=given or None)
    if check:
        mapping.check(dataset.columns, dataset.name)
    # Only values read as text can hold a currency mark; a text file's bytes then say which
    # marks it holds at all, for less than a scan (numbers read as numbers: neither).
    value_columns = [c for c in (mapping.amount, mapping.price) if c]
    as_text = any(c in dataset.columns and dataset.table[c].type().is_string() for c in value_columns)
    may_hold = (
        marks_in_text(dataset.path, tuple(money.VALUE_MARKS))
        if as_text and dataset.kind == "csv" and dataset.path
        else None
    )
    code, said = money.stated_currency(
        dataset.table,
        reading.profile.currency if reading.profile else None,
        value_columns,
        may_hold,
    )
    sentences.append(said)
    return dataset, mapping, replace(reading, table=dataset.table, sentences=tuple(sentences), currency=code)


def rfm_from_file(path: str | os.PathLike, options: ReadOptions | None = None, **opening: Any) -> RFMResult:
    """The one path from a file to RFM: ``open_source(path, options, **opening).rfm()`` (read,
    map, decide how values read, clean, compute at the options' as-of); ``opening``: the
    keywords of open_source (engine, name, con, session, workbooks). Raises the errors of
    core.errors."""
    return open_source(path, options, **opening).rfm()


# -- classify lines: one row per line ------------------------------------------------------
def classify_lines(source: Source, attributes: Sequence[str] = ()) -> ibis.Table:
    """One row per line of the file: its canonical columns and the line-level rules it fails.

    Columns: those of ``core.columns.to_canonical`` (customer as read, invoice_ts, invoice,
    quantity, price, amount, line_value, status, product, country, bad_number, date_blank,
    amount_blank; ``attributes`` as attribute_0, attribute_1, ... text), plus
    ``failed_line``: ``first_line_rule_failed`` (a line without a customer is not tested when
    the missing-customer rule comes first: ``customer_rule_first``); and ``return_line``: with
    returns netted, the line-level half of a return (core.cleaning.is_return), else false.
    Order-level rules and an order's blanks are left to ``group_orders``.
    """
    source.mapping.check(source.dataset.columns, source.dataset.name)
    canonical = to_canonical(
        source.dataset.table, source.mapping, source.dataset.name, source.readings, attributes
    ).view()
    line_rules = [(i + 1, rule) for i, rule in enumerate(source.rules) if not rule.order_level]
    failed_line = first_line_rule_failed(canonical, source, customer_rule_first(source))
    return_line = (
        is_return(canonical, [rule for _, rule in line_rules], source.cleaning)
        if source.cleaning.returns == "net"
        else ibis.literal(False)
    )
    return canonical.mutate(failed_line=failed_line, return_line=return_line)


def first_line_rule_failed(
    lines: ibis.Table, source: Source, untested_without_customer: int = 0
) -> ibis.Value:
    """Per line of ``lines`` (canonical columns), the 1-based position in ``source.rules`` of
    the first line-level rule it fails, 0 when it passes them all. With
    ``untested_without_customer`` (``customer_rule_first``), a line without a customer gets
    that position and its line-level rules are not tested: the product pattern is a third of
    the line scan, and such a line is removed by that rule unless its order gives it a
    customer (``group_orders`` then tests it again)."""
    cases = [
        (~rule.keep(lines, source.cleaning).fill_null(False), i + 1)
        for i, rule in enumerate(source.rules)
        if not rule.order_level
    ]
    if untested_without_customer and cases:
        cases.insert(0, (lines.customer.isnull(), untested_without_customer))
    return ibis.cases(*cases, else_=0) if cases else ibis.literal(0)


def customer_rule_first(source: Source) -> int:
    """The position (1-based, in ``source.rules``) of the missing-customer rule when it is the
    first rule a line without a customer fails whatever its other fields hold: the rule is on,
    no line-level rule comes before it, and returns are not netted (a return is judged on
    every rule). 0 otherwise."""
    if source.cleaning.returns == "net":
        return 0
    for i, rule in enumerate(source.rules):
        if rule.name == "missing_customer":
            return i + 1
        if not rule.order_level:
            return 0
    return 0


# -- group orders: one row per group of an order's lines ----------------------------------
def group_orders(lines: ibis.Table, source: Source, until: _dt.datetime | None = None) -> ibis.Table:
    """The lines grouped per order, the order's blanks filled, every rule applied.

    ``lines``: ``classify_lines(source)``. One group per (invoice, customer as read,
    timestamp, status, blank flags, first line-level rule failed, return candidate, sign of
    the line value): usually one or two per order; the customer becomes customer_id text per
    group, not per line. An order's blanks (customer, date, status, country: ``order_fields``;
    a blank amount on a line of an order whose amount is given) are filled over these groups
    (a window per invoice over groups, not over every line, and only when some order holds a
    blank and a value of one field: ``_may_fill``) when the order's values agree on one; the
    order-level rules (Rule.order_level) then run on the filled groups. The status rule
    judges the status values as written (core.statuses); a value it does not know raises
    UnknownStatusError (each with its lines and revenue) until the options decide it.
    ``until``: only the groups with a timestamp (after filling) up to it.

    Returns one row per group: customer_id (text), invoice, invoice_ts (filled), status,
    purchase (what one purchase is: ``purchase_key``), failed (the 1-based position in
    ``source.rules`` of the first rule failed, 0 for kept), returned (a return netted),
    lines (how many), filled_lines (lines that took a blank from their order), value (the
    lines' exact sum, VALUE; 0 for an order line), and each attribute_i of the lines as its
    largest value (the lines of a group share their timestamp).
    """
    cleaning, mapping, rules = source.cleaning, source.mapping, source.rules
    net = cleaning.returns == "net"
    # What an unmapped role or a rule not in use would make constant is no key: it is added after.
    # So is what other keys decide: with dates stored as dates, a blank date is a NULL timestamp.
    stored = dates_as_stored(source.dataset.table[mapping.date])
    constants = dict(
        status=ibis.null("string"),
        country_blank=ibis.literal(True),
        amount_blank=ibis.literal(True),
        return_line=ibis.literal(False),
    )

    def grouped(lines: ibis.Table, country_range: bool = False) -> ibis.Table:
        """The lines grouped (materialised), with the country's range per group if asked."""
        keys = {name: lines[name] for name in ("invoice", "customer", "invoice_ts", "failed_line")}
        if not stored:  # else a blank date is a NULL invoice_ts, added after
            keys["date_blank"] = lines.date_blank
        keys["line_value"] = lines.line_value.sign()  # what the rules read of it: its sign
        if mapping.status:
            keys["status"] = lines.status
        if mapping.country:
            keys["country_blank"] = lines.country_blank
        if mapping.amount:
            keys["amount_blank"] = lines.amount_blank
        if net:  # the line-level half of a return; the order-level half below
            keys["return_line"] = lines.return_line
        aggregates = dict(lines=lines.count(), value=values.exact(lines.line_value, VALUE).sum())
        if mapping.amount:
            aggregates["amount_max"] = lines.amount.max()
        aggregates.update(
            {name: lines[name].max() for name in lines.columns if name.startswith("attribute_")}
        )
        if country_range:
            aggregates.update(country_hi=lines.country.max(), country_lo=lines.country.min())
        # Materialised: DuckDB would otherwise run the line scan twice, once more for the window.
        out = lines.group_by(**keys).aggregate(**aggregates).cache()
        derived = {"date_blank": out.invoice_ts.isnull()} if stored else {}
        return out.mutate(**derived, **{name: value for name, value in constants.items() if name not in keys})

    orders = grouped(lines)
    if mapping.invoice and _may_fill(orders, mapping):  # else the window would change nothing
        untested = customer_rule_first(source)
        if mapping.country or untested:
            # Grouped again (a second scan) only here, when some order may take a blank's
            # value: with the lines' highest and lowest country per group (a fifth of the line
            # scan), and with every line-level rule tested on the lines without a customer,
            # which their order may now give one (classify_lines left them untested).
            if untested:
                lines = lines.mutate(failed_line=first_line_rule_failed(lines, source))
            orders = grouped(lines, country_range=bool(mapping.country))
        blanks = {
            name: (blank, orders.country_hi, orders.country_lo)
            if name == "country"
            else (blank, orders[name], orders[name])
            for name, blank in order_fields(orders, mapping).items()
        }
        fills, filled, order_line = fill_from_order(
            orders, blanks, (orders.amount_blank, orders.amount_max) if mapping.amount else None
        )
        # Materialised: whatever reads the groups after (the status check below, then each
        # consumer's queries: RFM, movement, campaign, lookup) would otherwise run the window
        # again.
        orders = orders.mutate(filled=filled, order_line=order_line, **fills).cache()
    else:
        orders = orders.mutate(filled=ibis.literal(False), order_line=ibis.literal(False))
    orders = orders.mutate(customer_id=customer_id(orders.customer))
    if until is not None:
        orders = orders.filter(orders.invoice_ts <= ibis.literal(until))
    unknown = []
    if mapping.status and any(rule.name == "not_completed_sale" for rule in rules):
        written = status_values_in(orders)  # the values as written, judged once (core.statuses)
        cleaning = cleaning.with_status_values(written)
        unknown = [v for v in written if v is not None and cleaning.verdict(v) is None]
    order_rules = [rule for rule in rules if rule.order_level]
    failed = (
        ibis.cases(
            *[
                (
                    (~rule.keep(orders, cleaning).fill_null(False))
                    if rule.order_level
                    else orders.failed_line == i + 1,
                    i + 1,
                )
                for i, rule in enumerate(rules)
            ],
            else_=0,
        )
        if rules
        else ibis.literal(0)
    )
    returned = (orders.return_line & is_return(orders, order_rules, cleaning)) if net else ibis.literal(False)
    orders = orders.mutate(
        failed=failed,
        returned=returned,
        purchase=purchase_key(orders, mapping),
        filled_lines=orders.filled.ifelse(orders.lines, 0),
        value=orders.order_line.ifelse(ibis.literal(0, VALUE), orders.value),
    )
    if unknown and mapping.status:  # never kept silently: refused until decided
        statuses.refuse_unknown(
            status_counts(orders.filter(orders.status.isin(unknown)), cleaning),
            mapping.status,
            source.dataset.name,
        )
    return orders


def order_fields(orders: ibis.Table, mapping: ColumnMapping) -> dict[str, ibis.Value]:
    """The order-level fields an order's lines fill (customer, date, status and country where
    mapped; listed here only), each as whether it is blank on a group of ``group_orders``."""
    blanks = {"customer": orders.customer.isnull(), "invoice_ts": orders.date_blank}
    if mapping.status:
        blanks["status"] = orders.status.isnull()
    if mapping.country:  # country_blank: the group's lines have no country, or all have one
        blanks["country"] = orders.country_blank
    return blanks


def fill_from_order(
    table: ibis.Table, blanks: Mapping[str, tuple], amount: tuple | None = None
) -> tuple[dict, ibis.Value, ibis.Value]:
    """An order's blank fields taken from the order's other rows (a window per invoice).

    ``table`` has an ``invoice`` column; its rows are groups of lines of one order.
    ``blanks``: field -> (blank, highest, lowest): whether the row's field is blank, and the
    field's largest and smallest value on the row. A blank is taken only when the order's
    values agree on one: an order is one customer. ``amount``: (blank, value) of a mapped
    amount: a blank amount on a row of an order whose amount is given is an order line.
    Returns the filled fields that are columns of ``table``, whether the row took any field,
    and whether it is an order line.
    """
    order = ibis.window(group_by=table.invoice)
    in_order = table.invoice.notnull()
    fills, filled = {}, ibis.literal(False)
    for name, (blank, highest, lowest) in blanks.items():
        from_order = highest.max().over(order)
        take = in_order & blank & (from_order == lowest.min().over(order)).fill_null(False)
        if name in table.columns:
            fills[name] = take.ifelse(from_order, table[name])
        filled |= take
    order_line = (
        ibis.literal(False)
        if amount is None
        else in_order & amount[0] & amount[1].max().over(order).notnull()
    )
    return fills, filled, order_line


def _may_fill(orders: ibis.Table, mapping: ColumnMapping) -> bool:
    """Whether ``fill_from_order`` over the groups could fill anything (one query over them).

    A blank field is filled only from a value of its order, and an order line needs an order
    whose amount is given: with no order holding both a blank and a value of one field
    (``order_fields``) or both a blank and a given amount, every field stays as it is and no
    row is filled or an order line. Online Retail exports leave whole invoices without a
    customer, so this is false there and the window per invoice (a group-by and a join back)
    is not run. Asked as: is there a group blank in a field whose invoice has a group given
    in it (a semi-join per field, which stops at the first; cheaper than a group per invoice).
    """
    invoiced = orders.filter(orders.invoice.notnull())
    pairs = [(blank, ~blank) for blank in order_fields(invoiced, mapping).values()]
    if mapping.amount:
        pairs.append((invoiced.amount_blank, invoiced.amount_max.notnull()))

    def invoices(where: ibis.BooleanValue) -> ibis.Table:
        return invoiced.filter(where).select("invoice")

    # The given side first: DuckDB hashes the right side, and blanks are the fewer.
    both = [invoices(given).semi_join(invoices(blank), "invoice") for blank, given in pairs]
    return bool(query.rows(ibis.union(*both).limit(1)))


def purchase_key(orders: ibis.Table, mapping: ColumnMapping) -> ibis.Column:
    """What one purchase is: the invoice, else (no invoice column, or none on the order's
    lines) the timestamp."""
    timestamp_key = orders.invoice_ts.cast("string")
    return orders.invoice.fill_null(timestamp_key) if mapping.invoice else timestamp_key


# -- customer aggregates: one row per customer ----------------------------------------------
# What line_counts and customer_aggregates read of a group_orders row.
COUNTED = ("customer_id", "invoice_ts", "purchase", "failed", "returned", "lines", "filled_lines", "value")


def customer_aggregates(orders: ibis.Table, by: Sequence[str] = ()) -> ibis.Table:
    """One row per customer (per ``by`` columns and customer) with a kept or a netted line,
    from ``group_orders`` rows (removed lines never move R, F or M: ``line_counts`` counts them).

    Columns: customer_id, the ``by`` columns, kept_lines, returned_lines, first_ts and
    last_ts (first and last kept purchase), frequency (distinct kept purchases),
    purchases_value (the kept lines' exact sum) and returns_value (the netted returns' sum,
    NULL without any).
    """
    counted = orders.filter((orders.failed == 0) | orders.returned)
    kept = counted.failed == 0
    return counted.group_by([*by, "customer_id"]).aggregate(
        kept_lines=counted.lines.sum(where=kept).fill_null(0),
        returned_lines=counted.lines.sum(where=counted.returned).fill_null(0),
        first_ts=counted.invoice_ts.min(where=kept),
        last_ts=counted.invoice_ts.max(where=kept),
        frequency=counted.purchase.nunique(where=kept),
        purchases_value=counted.value.sum(where=kept),
        returns_value=counted.value.sum(where=counted.returned),
    )


@dataclass(frozen=True)
class LineCounts:
    """What became of the lines of ``group_orders`` rows: kept, netted as returns, removed by
    each rule (in order; returns netted left out), filled from their order; and the first and
    last kept purchase (None without any)."""

    kept: int
    returned: int
    removed: tuple[int, ...]
    filled: int
    first: _dt.datetime | None
    last: _dt.datetime | None


def line_counts(orders: ibis.Table, rules: Sequence[Rule]) -> LineCounts:
    """``LineCounts`` of ``group_orders`` rows over ``rules`` (one query: a row per outcome)."""
    kept = orders.failed == 0
    rows = query.rows(
        orders.group_by(["failed", "returned"]).aggregate(
            lines=orders.lines.sum(),
            filled=orders.filled_lines.sum(),
            first=orders.invoice_ts.min(where=kept),
            last=orders.invoice_ts.max(where=kept),
        )
    )
    kept_rows = [row for row in rows if row["failed"] == 0]
    firsts = [row["first"] for row in kept_rows if row["first"] is not None]
    lasts = [row["last"] for row in kept_rows if row["last"] is not None]
    return LineCounts(
        kept=sum(int(row["lines"]) for row in kept_rows),
        returned=sum(int(row["lines"]) for row in rows if row["returned"]),
        removed=tuple(
            sum(int(row["lines"]) for row in rows if row["failed"] == i + 1 and not row["returned"])
            for i in range(len(rules))
        ),
        filled=sum(int(row["filled"] or 0) for row in rows),
        first=min(firsts) if firsts else None,
        last=max(lasts) if lasts else None,
    )


# -- rfm: one row per customer with a kept line ----------------------------------------------
def money(total: ibis.Value) -> ibis.Value:
    """A customer's exact total as monetary: rounded to cents (half away from zero) in
    decimal, floored at 0, as float64."""
    return ibis.greatest(total.round(2), 0).cast("float64")


def rfm_from_aggregates(aggregates: ibis.Table, as_of: _dt.datetime | str) -> ibis.Table:
    """customer_id, recency, frequency, monetary for the customers with a kept line, ordered.

    ``as_of``: the date recency is measured to, or the name of a column of ``aggregates``
    holding each row's date (``customer_aggregates(..., by=[name])``), then kept as the
    first column and the first sort key.
    """
    buyers = aggregates.filter(aggregates.kept_lines > 0)
    per_row = isinstance(as_of, str)
    reference = buyers[as_of] if per_row else ibis.literal(as_of)
    seconds = reference.delta(buyers.last_ts, unit="second")
    monetary = buyers.purchases_value + buyers.returns_value.fill_null(0)
    return buyers.select(
        **({as_of: buyers[as_of]} if isinstance(as_of, str) else {}),
        customer_id=buyers.customer_id,
        recency=(seconds // SECONDS_PER_DAY).cast("int64"),
        frequency=buyers.frequency.cast("int64"),
        monetary=money(monetary),
    ).order_by([as_of, "customer_id"] if per_row else ["customer_id"])


# -- the whole pipeline with its audit -------------------------------------------------------
def compute_rfm(
    source: Source, as_of: _dt.datetime | None = None, *, until: _dt.datetime | None = None
) -> RFMResult:
    """``Source.rfm``: every stage once, the audit from the same pass. ``until``: the lines
    counted end there (an as-of before the latest purchase)."""
    dataset, mapping, cleaning = source.dataset, source.mapping, source.cleaning
    rules = source.rules
    lines = None
    try:
        lines = classify_lines(source)
        orders = group_orders(lines, source, until)
        # The line scan runs once (in group_orders); the rest works on the (few) groups, each
        # classified once: materialised with what the counts and the customers read, which
        # costs less than classifying them again for each.
        orders = orders.select(*COUNTED, *(["status"] if mapping.status else [])).cache()
        counts = line_counts(orders, rules)
        status_values = status_counts(orders, cleaning) if mapping.status else ()
    except values.UNHELD_ERRORS as exc:  # a line value past what VALUE holds
        raise values.unheld_value_error(dataset, lines, exc) or scan_error(dataset, exc) from exc
    except READ_ERRORS as exc:  # the scan reached a bad row the reader's first look did not see
        raise scan_error(dataset, exc) from exc
    removed = read_removals(dataset.total_rows, source.duplicates) + tuple(
        (rule.name, rule.label, n) for rule, n in zip(rules, counts.removed, strict=True)
    )
    rows_out, returned = counts.kept, counts.returned
    line_value = (
        f"amount column '{mapping.amount}'"
        if mapping.amount
        else f"quantity x price ('{mapping.quantity}' x '{mapping.price}')"
    )
    audit = CleaningAudit(
        rows_in=rows_out + returned + sum(n for *_, n in removed),
        removed=removed,
        rows_out=rows_out,
        customers_out=0,  # set below: the customers with a kept line are the RFM table's rows
        returns_netted=returned,
        filled_from_order=counts.filled,
        status_values=status_values,
        readings=tuple(source.readings.lines()),
        line_value=line_value,
        duplicates=source.duplicates,
        header_row=dataset.header_row,
        footer_lines=dataset.footer_lines,
    )
    if rows_out == 0 and until is not None:
        raise DataValidationError(
            f"{dataset.name}: no purchase on or before the as-of date "
            f"{until:%Y-%m-%d %H:%M}; give a later as-of date"
        )
    if rows_out == 0:
        label, n = audit.dominant_rule() or ("(no rule)", 0)
        raise DataValidationError(
            f"{dataset.name}: no valid rows left after cleaning; '{label}' removed {n:,} of "
            f"{audit.rows_in:,} rows; check the column mapping or switch that rule off"
        )
    last = naive_utc(counts.last)
    if as_of is None:
        as_of = last
    elif as_of < last:  # as the data stood then: clean and count only the lines up to as_of
        return compute_rfm(source, as_of, until=as_of)
    try:
        table = query.arrow(rfm_from_aggregates(customer_aggregates(orders), as_of).select(*RFM_COLUMNS))
    except values.UNHELD_ERRORS as exc:  # a customer's total past what VALUE holds
        raise values.unheld_value_error(dataset, lines, exc) or scan_error(dataset, exc) from exc
    audit = replace(audit, customers_out=table.num_rows)
    return RFMResult(
        table=table,
        audit=audit,
        as_of=as_of,
        first_purchase=naive_utc(counts.first),
        last_purchase=last,
        readings=source.readings,
        mapping=mapping,
        reading=source.reading.sentences if source.reading else (),
    )


def scan_error(dataset: Dataset, exc: Exception) -> InputFileError:
    """The InputFileError for a scan that reached a row the reader's first look did not see."""
    return InputFileError(
        read_error_message(
            dataset.name, exc, dataset.path if dataset.kind == "csv" else None, dataset.delimiter or ","
        )
    )


def naive_utc(value) -> _dt.datetime:
    """A timestamp from the engine as a naive datetime (engine timestamps are UTC)."""
    if hasattr(value, "to_pydatetime"):  # a pandas Timestamp
        value = value.to_pydatetime()
    if value.tzinfo is not None:
        value = value.astimezone(_dt.UTC).replace(tzinfo=None)
    return value
