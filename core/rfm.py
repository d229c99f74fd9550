"""Recency, Frequency, Monetary per customer, at an explicit as-of date.

Definitions (DESIGN.md):
- line value = quantity * price, or the mapped amount;
- monetary   = sum of the line values of the kept lines (with returns netted: plus the
  returned lines' negative values, floored at 0), rounded to cents;
- frequency  = distinct invoices; with no invoice column, distinct purchase timestamps;
- recency    = whole days (floor) from the customer's last purchase to the as-of date;
- as-of      = given, or by default the latest purchase timestamp in the cleaned data.

The work is one grouped scan over the file written as ibis expressions: per customer it
counts the lines each cleaning rule removed *and* aggregates the kept lines, so the audit and
the RFM table come from the same pass. The expressions run on DuckDB here and on Spark
through ibis's PySpark backend.
"""
from __future__ import annotations

import datetime as _dt
import functools
import os
from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa

from core import query, statuses, values
from core.cleaning import (CleaningAudit, CleaningConfig, duplicate_lines, is_return,
                           read_removals, status_counts, status_values_in, suggest_preset)
from core.columns import (RFM_COLUMNS, ColumnMapping, customer_text, decide_readings,
                          fill_from_order, resolve_mapping, to_canonical)
from core.errors import ConfigError, DataValidationError, InputFileError
from core.io import READ_ERRORS, Dataset, read_error_message, read_transactions

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
    mapping: ColumnMapping | None = None       # the columns used

    @functools.cached_property
    def rfm(self):
        """customer_id (string), recency, frequency (int64), monetary (float64), a pandas frame."""
        import pandas as pd

        frame = self.table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
        return frame.astype({"customer_id": "string", "recency": "int64", "frequency": "int64",
                             "monetary": "float64"})[list(RFM_COLUMNS)].reset_index(drop=True)


def parse_as_of(text: str | _dt.date | None) -> _dt.datetime | None:
    """'2011-12-09', '2011-12-09 12:50', '2011-12-09T12:50+01:00' or '...Z' (or a date) to a
    naive datetime, UTC where an offset was given (as timestamps are read); ConfigError otherwise."""
    if text is None or text == "":
        return None
    if isinstance(text, _dt.datetime):
        value = text
    elif isinstance(text, _dt.date):
        return _dt.datetime(text.year, text.month, text.day)
    else:
        try:
            value = _dt.datetime.fromisoformat(str(text).strip())
        except ValueError:
            raise ConfigError(f"as-of date '{text}' is not a date; write it as YYYY-MM-DD, "
                              "'YYYY-MM-DD HH:MM' or with an offset like 2011-12-09T12:50+01:00"
                              ) from None
    if value.tzinfo is not None:
        value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return value


def order_groups(lines: ibis.Table, cleaning: CleaningConfig, mapping: ColumnMapping,
                 until: _dt.datetime | None = None) -> tuple[ibis.Table, tuple]:
    """The lines grouped to what the rules and RFM need, order-level blanks filled per order.

    ``lines``: the canonical lines unfilled (``to_canonical(..., fill=False)``). One group per
    (invoice, customer as read, timestamp, status, blank flags, the first line-level rule
    failed, return candidate, sign of the line value): usually one or two per order; the
    customer becomes customer_id text per group, not per line. An
    order's blanks (customer, date, status, country; a blank amount on a line of an order
    whose amount is given) are then filled over these groups (a window per invoice over
    groups, not over every line, and only when some order holds a blank and a value of one
    field: ``_may_fill``) when the order's values agree on one, the order-level
    rules (Rule.order_level) run on the filled groups, and each group gets ``failed`` (the
    1-based first rule failed, 0 for kept) and ``returned``, exactly as per line.
    ``until``: only the lines with a timestamp (after filling) up to it.
    Returns the groups (customer_id, invoice, invoice_ts, status, purchase, failed, returned,
    lines, filled_lines, value) and the applicable rules in audit order.
    """
    rules = cleaning.applicable(mapping)
    t = lines
    line_rules = [(i + 1, r) for i, r in enumerate(rules) if not r.order_level]
    failed_line = (ibis.cases(*[(~r.keep(t, cleaning).fill_null(False), i) for i, r in line_rules],
                              else_=0) if line_rules else ibis.literal(0))
    net = cleaning.returns == "net"
    keys = dict(invoice=t.invoice, customer=t.customer, invoice_ts=t.invoice_ts,
                date_blank=t.date_blank, failed_line=failed_line,
                line_value=t.line_value.sign())  # what the rules read of it: its sign
    # What an unmapped role or a rule not in use would make constant is no key: it is added after.
    constants = dict(status=ibis.null("string"), country_blank=ibis.literal(True),
                     amount_blank=ibis.literal(True), return_line=ibis.literal(False))
    if mapping.status:
        keys["status"] = t.status
    if mapping.country:
        keys["country_blank"] = t.country.isnull()
    if mapping.amount:
        keys["amount_blank"] = t.amount_blank
    if net:  # the line-level half of a return (core.cleaning.is_return); the order-level below
        keys["return_line"] = is_return(t, [r for _, r in line_rules], cleaning)
    aggregates = dict(lines=t.count(), value=t.line_value.try_cast(VALUE).sum())
    if mapping.amount:
        aggregates["amount_max"] = t.amount.max()

    def grouped(**more) -> ibis.Table:
        # Materialised: DuckDB would otherwise run the line scan twice, once more for the window.
        out = t.group_by(**keys).aggregate(**aggregates, **more).cache()
        return out.mutate(**{name: value for name, value in constants.items() if name not in keys})

    g = grouped()
    filled, order_line, fills = ibis.literal(False), ibis.literal(False), {}
    if mapping.invoice and _may_fill(g, mapping):  # else the window would change nothing
        if mapping.country:
            # A country is only counted (the groups keep no country column), and the lines'
            # highest and lowest country per group cost a fifth of the line scan: they are
            # aggregated only here, when some order may take a blank's value (a second scan).
            g = grouped(country_hi=t.country.max(), country_lo=t.country.min())
        blanks = {name: (blank, g.country_hi, g.country_lo) if name == "country"
                  else (blank, g[name], g[name]) for name, blank in _blanks(g, mapping).items()}
        fills, filled, order_line = fill_from_order(
            g, blanks, (g.amount_blank, g.amount_max) if mapping.amount else None)
    g = g.mutate(filled=filled, order_line=order_line, **fills)
    g = g.mutate(customer_id=customer_text(g.customer))
    if until is not None:
        g = g.filter(g.invoice_ts <= ibis.literal(until))
    unknown = []
    if mapping.status and any(r.name == "not_completed_sale" for r in rules):
        written = status_values_in(g)  # the values as written, judged once (core.statuses)
        cleaning = cleaning.with_status_values(written)
        unknown = [v for v in written if v is not None and cleaning.verdict(v) is None]
    order_rules = [r for r in rules if r.order_level]
    failed = ibis.cases(*[((~r.keep(g, cleaning).fill_null(False)) if r.order_level
                           else g.failed_line == i + 1, i + 1) for i, r in enumerate(rules)],
                        else_=0) if rules else ibis.literal(0)
    returned = (g.return_line & is_return(g, order_rules, cleaning)) if net else ibis.literal(False)
    g = g.mutate(failed=failed, returned=returned, purchase=purchase_key(g, mapping),
                 filled_lines=g.filled.ifelse(g.lines, 0),
                 value=g.order_line.ifelse(ibis.literal(0, VALUE), g.value))
    if unknown:  # never kept silently: an unknown status value is refused until decided
        statuses.refuse_unknown(status_counts(g.filter(g.status.isin(unknown)), cleaning),
                                mapping.status)
    return g, rules


def _blanks(groups: ibis.Table, mapping: ColumnMapping) -> dict[str, ibis.Value]:
    """Per group, whether each order-level field an order's rows fill is blank (customer,
    date, status and country where mapped), by the groups' column of that field."""
    blanks = {"customer": groups.customer.isnull(), "invoice_ts": groups.date_blank}
    if mapping.status:
        blanks["status"] = groups.status.isnull()
    if mapping.country:  # country_blank: the group's lines have no country, or all have one
        blanks["country"] = groups.country_blank
    return blanks


def _may_fill(groups: ibis.Table, mapping: ColumnMapping) -> bool:
    """Whether ``fill_from_order`` over the groups could fill anything (one query over them).

    A blank field is filled only from a value of its order, and an order line needs an order
    whose amount is given: with no order holding both a blank and a value of one field
    (customer, date, status, country) or both a blank and a given amount, every field stays as
    it is and no row is filled or an order line. Online Retail exports leave whole invoices
    without a customer, so this is false there and the window per invoice (a group-by and a
    join back) is not run.
    """
    g = groups.filter(groups.invoice.notnull())
    pairs = [(blank, ~blank) for blank in _blanks(g, mapping).values()]
    if mapping.amount:
        pairs.append((g.amount_blank, g.amount_max.notnull()))
    per_order = g.group_by("invoice").aggregate(
        may=functools.reduce(lambda a, b: a | b, [blank.any() & given.any() for blank, given in pairs]))
    return bool(query.first_row(per_order.aggregate(any=per_order.may.any()))["any"])


def customer_aggregates(groups: ibis.Table, rules: tuple) -> ibis.Table:
    """Per customer, from ``order_groups``: lines removed by each rule, returns, and the kept
    lines' aggregates. Frequency counts distinct kept purchases: the invoice, or the
    timestamp where the file has no invoice column (or the line has no invoice)."""
    g = groups
    kept = g.failed == 0
    removed = {f"removed_{i + 1}": (g.failed == i + 1) & ~g.returned for i in range(len(rules))}
    return g.group_by("customer_id").aggregate(
        kept_lines=g.lines.sum(where=kept).fill_null(0),
        filled_lines=g.filled_lines.sum().fill_null(0),
        returned_lines=g.lines.sum(where=g.returned).fill_null(0),
        **{name: g.lines.sum(where=cond).fill_null(0) for name, cond in removed.items()},
        first_ts=g.invoice_ts.min(where=kept),
        last_ts=g.invoice_ts.max(where=kept),
        frequency=g.purchase.nunique(where=kept),
        purchases_value=g.value.sum(where=kept),
        returns_value=g.value.sum(where=g.returned),
    )


def money(total: ibis.Value) -> ibis.Value:
    """A customer's exact total as monetary: rounded to cents (half away from zero) in
    decimal, floored at 0, as float64."""
    return ibis.greatest(total.round(2), 0).cast("float64")


def rfm_from_aggregates(agg: ibis.Table, as_of: _dt.datetime) -> ibis.Table:
    """The RFM expression over customer aggregates, for customers with a kept line."""
    buyers = agg.filter(agg.kept_lines > 0)
    seconds = ibis.literal(as_of).delta(buyers.last_ts, unit="second")
    monetary = buyers.purchases_value + buyers.returns_value.fill_null(0)
    return buyers.select(
        customer_id=buyers.customer_id,
        recency=(seconds // SECONDS_PER_DAY).cast("int64"),
        frequency=buyers.frequency.cast("int64"),
        monetary=money(monetary),
    ).order_by("customer_id")


def compute_rfm(dataset: Dataset, mapping: ColumnMapping, cleaning: CleaningConfig | None = None,
                as_of: _dt.datetime | str | None = None, *, decimal: str | None = None,
                date_format: str | None = None, _lines_until: _dt.datetime | None = None) -> RFMResult:
    """Clean the dataset and compute RFM per customer (the step under ``rfm_from_file``).

    ``decimal`` (',' or '.') and ``date_format`` ('dayfirst' / 'monthfirst') override how
    numbers and ambiguous dates are read (core.values). An ``as_of`` before the latest kept
    purchase means "as the data stood then": only the lines with timestamp <= as_of are
    cleaned and counted (the audit too); a date alone means its midnight. Raises
    DataValidationError when no line survives cleaning (naming the rule that removed the
    most, or the as-of date when nothing had been bought by then).
    """
    cleaning = cleaning or CleaningConfig()
    as_of = parse_as_of(as_of)
    mapping.check(dataset.columns, dataset.name)
    try:
        readings = decide_readings(dataset.table, mapping, dataset.name,
                                   delimiter=dataset.delimiter, decimal=decimal,
                                   date_format=date_format)
        table, duplicates = duplicate_lines(dataset.table, cleaning, mapping,
                                            dataset.name)
        lines = to_canonical(table, mapping, dataset.name, readings, fill=False)
        groups, rules = order_groups(lines, cleaning, mapping, _lines_until)
        # The line scan runs once (in order_groups); the rest works on the (few) groups.
        if mapping.status:  # read twice (status counts): the window runs once
            groups = groups.cache()
        agg = customer_aggregates(groups, rules).cache()
        statuses_read = status_counts(groups, cleaning) if mapping.status else ()
    except statuses.UnknownStatusError as exc:
        raise statuses.UnknownStatusError(f"{dataset.name}: {exc}", unknown=exc.unknown,
                                          column=exc.column) from None
    except READ_ERRORS as exc:  # the scan reached a bad row the reader's first look did not see
        raise scan_error(dataset, exc) from exc
    totals = query.first_row(agg.aggregate(
        rows_kept=agg.kept_lines.sum(), returned=agg.returned_lines.sum(),
        filled=agg.filled_lines.sum(),
        customers=(agg.kept_lines > 0).sum(),
        first=agg.first_ts.min(), last=agg.last_ts.max(),
        **{f"removed_{i + 1}": agg[f"removed_{i + 1}"].sum() for i in range(len(rules))},
    ))
    removed = tuple((r.name, r.label, int(totals[f"removed_{i + 1}"] or 0))
                    for i, r in enumerate(rules))
    removed = read_removals(dataset.total_rows, duplicates) + removed
    rows_out = int(totals["rows_kept"] or 0)
    returned = int(totals["returned"] or 0)
    line_value = (f"amount column '{mapping.amount}'" if mapping.amount
                  else f"quantity x price ('{mapping.quantity}' x '{mapping.price}')")
    audit = CleaningAudit(rows_in=rows_out + returned + sum(n for *_, n in removed),
                          removed=removed, rows_out=rows_out,
                          customers_out=int(totals["customers"] or 0), returns_netted=returned,
                          filled_from_order=int(totals["filled"] or 0), status_values=statuses_read,
                          readings=tuple(readings.lines()), line_value=line_value,
                          duplicates=duplicates, header_row=dataset.header_row)
    if rows_out == 0 and _lines_until is not None:
        raise DataValidationError(f"{dataset.name}: no purchase on or before the as-of date "
                                  f"{_lines_until:%Y-%m-%d %H:%M}; give a later as-of date")
    if rows_out == 0:
        label, n = audit.dominant_rule() or ("(no rule)", 0)
        raise DataValidationError(
            f"{dataset.name}: no valid rows left after cleaning; '{label}' removed {n:,} of "
            f"{audit.rows_in:,} rows; check the column mapping or switch that rule off")
    last = naive_utc(totals["last"])
    if as_of is None:
        as_of = last
    elif as_of < last:  # as the data stood then: clean and count only the lines up to as_of
        return compute_rfm(dataset, mapping, cleaning, as_of, decimal=decimal,
                           date_format=date_format, _lines_until=as_of)
    table = query.arrow(rfm_from_aggregates(agg, as_of).select(*RFM_COLUMNS))
    return RFMResult(table=table, audit=audit, as_of=as_of,
                     first_purchase=naive_utc(totals["first"]), last_purchase=last,
                     readings=readings, mapping=mapping)


@dataclass(frozen=True)
class Source:
    """A file read and mapped, with the cleaning rules and how its values are to be read.

    What every consumer of a file starts from (RFM, movement over time, campaign exports,
    the report), so the file is read, mapped and configured one way only.
    """

    dataset: Dataset
    mapping: ColumnMapping
    cleaning: CleaningConfig
    decimal: str | None = None
    date_format: str | None = None

    def readings(self) -> values.Readings:
        """How numbers and dates of the mapped columns read (decided over whole columns)."""
        return decide_readings(self.dataset.table, self.mapping, self.dataset.name,
                               delimiter=self.dataset.delimiter, decimal=self.decimal,
                               date_format=self.date_format)

    def rfm(self, as_of: _dt.datetime | str | None = None) -> RFMResult:
        """RFM per customer at ``as_of`` (compute_rfm on this source)."""
        return compute_rfm(self.dataset, self.mapping, self.cleaning, as_of=as_of,
                           decimal=self.decimal, date_format=self.date_format)


def open_source(path: str | os.PathLike, *, overrides: Mapping[str, str | None] | None = None,
                sheet: str | None = None, preset: str | None = None, returns: str = "drop",
                decimal: str | None = None, date_format: str | None = None,
                engine: str = "duckdb", cleaning: CleaningConfig | None = None,
                loaded_on: _dt.date | None = None, name: str | None = None,
                con: ibis.BaseBackend | None = None, session=None,
                header_row: int | None = None, sale_statuses: Sequence[str] = (),
                not_sale_statuses: Sequence[str] = (), drop_duplicates: bool = False) -> Source:
    """Read and map a file and settle its cleaning rules (the first half of rfm_from_file).

    ``header_row``: the header's row (1-based; default found, core.header);
    ``sale_statuses`` / ``not_sale_statuses``: status values decided (core.statuses);
    ``drop_duplicates``: remove every exact copy of a line (CleaningConfig)."""
    values.check_choices(decimal, date_format)
    if engine == "spark":
        from core import spark

        dataset = spark.read_transactions(path, sheet=sheet, session=session)
    elif engine == "duckdb":
        dataset = read_transactions(path, name=name, sheet=sheet, con=con, header_row=header_row)
    else:
        raise ConfigError(f"engine must be 'duckdb' or 'spark', not '{engine}'")
    mapping = resolve_mapping(dataset.table, overrides, dataset.name)
    loaded_on = loaded_on or _dt.date.today()  # the edge: the engine below never reads the clock
    if cleaning is None:
        cleaning = CleaningConfig.preset(preset or suggest_preset(mapping, dataset.table),
                                         returns=returns, loaded_on=loaded_on,
                                         sale_statuses=tuple(sale_statuses),
                                         not_sale_statuses=tuple(not_sale_statuses),
                                         drop_duplicates=drop_duplicates)
    elif cleaning.loaded_on is None:
        cleaning = replace(cleaning, loaded_on=loaded_on)
    return Source(dataset, mapping, cleaning, decimal, date_format)


def rfm_from_file(path: str | os.PathLike, *, overrides: Mapping[str, str | None] | None = None,
                  sheet: str | None = None, preset: str | None = None, returns: str = "drop",
                  as_of: _dt.datetime | str | None = None, decimal: str | None = None,
                  date_format: str | None = None, engine: str = "duckdb",
                  cleaning: CleaningConfig | None = None, loaded_on: _dt.date | None = None,
                  name: str | None = None, con: ibis.BaseBackend | None = None,
                  session=None) -> RFMResult:
    """The one path from a file to RFM: read, map, decide how values read, clean, compute.

    ``overrides``: role -> column (None keeps the detected column, '' unmaps the role);
    ``preset`` (default: suggested from the mapping) and ``returns`` pick the cleaning rules,
    or ``cleaning`` gives them whole; ``loaded_on`` is the day the data is loaded (default
    today: dates after the next day are out of range); ``engine`` 'duckdb' or 'spark'
    (``session``: a SparkSession). ``name``: how messages call the file. Raises the errors
    of core.errors.
    """
    src = open_source(path, overrides=overrides, sheet=sheet, preset=preset, returns=returns,
                      decimal=decimal, date_format=date_format, engine=engine,
                      cleaning=cleaning, loaded_on=loaded_on, name=name, con=con,
                      session=session)
    return src.rfm(as_of)


def purchase_key(canonical: ibis.Table, mapping: ColumnMapping) -> ibis.Column:
    """What one purchase is: the invoice, else (no invoice column or none on the line) the timestamp."""
    timestamp_key = canonical.invoice_ts.cast("string")
    return canonical.invoice.fill_null(timestamp_key) if mapping.invoice else timestamp_key


def scan_error(dataset: Dataset, exc: Exception) -> InputFileError:
    """The InputFileError for a scan that reached a row the reader's first look did not see."""
    return InputFileError(read_error_message(dataset.name, exc, dataset.path if
                                             dataset.kind == "csv" else None,
                                             dataset.delimiter or ","))


def naive_utc(value) -> _dt.datetime:
    """A timestamp from the engine as a naive datetime (engine timestamps are UTC)."""
    if hasattr(value, "to_pydatetime"):  # a pandas Timestamp
        value = value.to_pydatetime()
    if value.tzinfo is not None:
        value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return value
