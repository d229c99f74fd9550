"""Canonical column roles, auto-detection of a file's columns, and the canonical table.

Column names live here and nowhere else. A raw table (whatever the file called its columns)
becomes the *canonical* table with these columns:

    customer_id  string     customer as text: leading zeros kept, Excel's 12347.0 -> 12347
    invoice_ts   timestamp  purchase timestamp (NULL where the date did not parse)
    invoice      string     invoice / order id (NULL when the file has none)
    quantity     float64    NULL when the file has an amount column instead
    price        float64    NULL when the file has an amount column instead
    line_value   float64    quantity * price, or the mapped amount
    product      string     stock code (NULL when unmapped)
    country      string     (NULL when unmapped)
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Callable, Mapping

import ibis
import ibis.expr.datatypes as dt

from core.errors import ColumnMappingError, DataValidationError

ROLES = ("customer", "date", "invoice", "quantity", "price", "amount", "product", "country")
CANONICAL = ("customer_id", "invoice_ts", "invoice", "quantity", "price", "line_value",
             "product", "country")
RFM_COLUMNS = ("customer_id", "recency", "frequency", "monetary")

# Normalised names (lower case, no spaces/underscores/dashes/dots) each role is found under,
# most specific first.
_ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "customer": ("customerid", "customer", "custid", "cust", "clientid", "client",
                 "customerno", "customernumber", "userid", "buyerid", "memberid", "accountid"),
    "date": ("invoicedate", "orderdate", "transactiondate", "purchasedate", "saledate",
             "date", "datetime", "timestamp", "orderdatetime", "time", "createdat"),
    "invoice": ("invoice", "invoiceno", "invoiceid", "invoicenumber", "orderid", "orderno",
                "ordernumber", "order", "transactionid", "receiptid", "basketid"),
    "quantity": ("quantity", "qty", "units", "count", "itemsquantity", "quantityordered"),
    "price": ("price", "unitprice", "priceeach", "itemprice", "unitcost", "priceperunit"),
    "amount": ("amount", "revenue", "sales", "dollarvalue", "total", "totalamount",
               "linetotal", "ordervalue", "value", "totalprice", "spend", "netsales"),
    "product": ("stockcode", "sku", "productid", "productcode", "itemcode", "product",
                "itemid", "description"),
    "country": ("country", "countryname", "region", "market"),
}
_NUMERIC_ROLES = ("quantity", "price", "amount")

# Text date formats tried in order when a plain cast to TIMESTAMP fails (DuckDB strptime).
DATE_FORMATS = (
    # Two-digit years first: %Y would read '10' as the year 10, while %y refuses '2010'.
    "%m/%d/%y %H:%M", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%y", "%m/%d/%Y",
    "%d/%m/%y %H:%M", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%y", "%d/%m/%Y",
    "%d.%m.%Y %H:%M", "%d.%m.%Y", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d",
    "%d-%m-%Y %H:%M", "%d-%m-%Y", "%Y%m%d",
)


@ibis.udf.scalar.builtin
def try_strptime(text: str, fmt: str) -> datetime:  # DuckDB's TRY_STRPTIME
    ...


# Date parsers of backends without DuckDB's TRY_STRPTIME, by ibis backend name:
# parse(text, how) with how 'cast' or one of DATE_FORMATS. core.spark adds 'pyspark'.
DATE_PARSERS: dict[str, Callable[[ibis.Column, str], ibis.Column]] = {}


@ibis.udf.scalar.builtin(name="trim")
def _trim(text: str) -> str:  # plain TRIM: ibis's strip() trims a character list, ~1.5x slower
    ...


def normalise(name: str) -> str:
    """Lower case with spaces, underscores, dashes and dots removed: 'Customer ID' -> 'customerid'."""
    return re.sub(r"[\s_\-\.]+", "", str(name)).lower()


@dataclass(frozen=True)
class ColumnMapping:
    """Which source column plays each role; ``None`` where the file has none."""

    customer: str | None = None
    date: str | None = None
    invoice: str | None = None
    quantity: str | None = None
    price: str | None = None
    amount: str | None = None
    product: str | None = None
    country: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def with_overrides(self, overrides: Mapping[str, str | None]) -> "ColumnMapping":
        unknown = set(overrides) - set(ROLES)
        if unknown:
            raise ColumnMappingError(f"unknown column role(s) {sorted(unknown)}; roles are {list(ROLES)}")
        return replace(self, **{k: (v or None) for k, v in overrides.items()})

    def check(self, columns: list[str], source: str = "the file") -> "ColumnMapping":
        """Raise ColumnMappingError unless every mapped column exists and the roles suffice."""
        found = ", ".join(columns)
        for role, column in self.as_dict().items():
            if column is not None and column not in columns:
                raise ColumnMappingError(
                    f"{source}: column '{column}' mapped to {role} does not exist; "
                    f"columns found: {found}")
        missing = [r for r in ("customer", "date") if getattr(self, r) is None]
        if self.amount is None and (self.quantity is None or self.price is None):
            missing.append("amount (or quantity and price)")
        if missing:
            flags = " ".join(f"--{m.split()[0]} COLUMN" for m in missing)
            raise ColumnMappingError(
                f"{source}: cannot find the {', '.join(missing)} column; columns found: {found}; "
                f"choose the column for that role (command line: {flags})")
        used = [c for c in self.as_dict().values() if c is not None]
        dupes = sorted({c for c in used if used.count(c) > 1})
        if dupes:
            raise ColumnMappingError(f"{source}: column(s) {dupes} are mapped to more than one role")
        return self


def _looks_numeric(values: list) -> bool:
    seen = [v for v in values if v is not None and str(v).strip() != ""]
    if not seen:
        return True
    ok = 0
    for v in seen:
        try:
            float(str(v).replace(",", ""))
            ok += 1
        except ValueError:
            pass
    return ok >= 0.9 * len(seen)


def detect_columns(table: ibis.Table, sample_rows: int = 200) -> ColumnMapping:
    """Guess each role from normalised column names, checking numeric roles on a sample.

    Returns a mapping that may miss required roles: call ``ColumnMapping.check`` after
    applying the user's overrides.
    """
    columns = list(table.columns)
    sample = table.head(sample_rows).to_pyarrow().to_pydict()
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(normalise(c), c)
    taken: set[str] = set()
    chosen: dict[str, str] = {}
    for role in ROLES:
        for candidate in _ROLE_NAMES[role]:
            column = by_norm.get(candidate)
            if column is None or column in taken:
                continue
            if role in _NUMERIC_ROLES and not (
                table.schema()[column].is_numeric() or _looks_numeric(sample[column])
            ):
                continue
            chosen[role] = column
            taken.add(column)
            break
    if "quantity" in chosen and "price" in chosen:
        chosen.pop("amount", None)  # quantity * price is the line value; an amount column is redundant
    return ColumnMapping(**chosen)


def _customer_text(col: ibis.Column) -> ibis.Column:
    """Customer IDs as text; an integral float (Excel's 12347.0) loses its '.0'.

    Text input is expected already trimmed with '' as NULL (see ``_trimmed``).
    """
    if col.type().is_floating():
        # No floor(): ibis casts it to BIGINT, which fails on NaN even in an untaken branch.
        as_int = col.try_cast("int64")
        integral = as_int.cast("float64") == col
        text = integral.ifelse(as_int.cast("string"), col.cast("string"))
        finite = ~(col.isnan() | col.isinf())  # a NaN id (Parquet from Polars/Spark) is missing
        return finite.ifelse(text, ibis.null("string"))
    if not col.type().is_string():
        return col.cast("string")
    # The regex runs only on IDs ending in 0 (cheap test first); no backreference in the
    # replacement, since DuckDB writes it \1 and Spark $1.
    zero_decimal = col.re_search(r"^\d+\.0+$").ifelse(col.re_replace(r"\.0+$", ""), col)
    return col.endswith("0").ifelse(zero_decimal, col)


def _trimmed(col: ibis.Column) -> ibis.Column:
    """Text without surrounding blanks, '' as NULL; numbers and timestamps as they are."""
    if not col.type().is_string():
        return col
    return _trim(col).nullif("")


def _number(col: ibis.Column) -> ibis.Column:
    """float64 from a number or text ('1,234.5' too); NULL where it is not a number."""
    if col.type().is_numeric():
        return col.cast("float64")
    return col.replace(",", "").try_cast("float64")


def _finite(col: ibis.Column) -> ibis.Column:
    """NaN and infinity (a float file's, or the text 'nan') become NULL, so the cleaning rules
    drop them instead of letting a NaN pass 'price > 0' and poison monetary."""
    return (col.isnan() | col.isinf()).ifelse(ibis.null("float64"), col)


def _text(col: ibis.Column) -> ibis.Column:
    if col.type().is_floating():
        return _customer_text(col)
    return col.cast("string")


def _timestamp(table: ibis.Table, column: str, source: str) -> ibis.Column:
    """The date column as a timestamp; text is parsed with the format that fits the data best."""
    col = table[column]
    if col.type().is_timestamp():
        return col.cast(dt.Timestamp())
    if col.type().is_date():
        return col.cast(dt.Timestamp())
    text = _trim(col.cast("string"))
    sample = table.select(v=text).filter(ibis._.v.notnull() & (ibis._.v != "")).head(1000)
    candidates = ("cast",) + DATE_FORMATS
    stats = sample.aggregate(
        n=sample.v.count(),
        **{f"p{i}": _plausible(_parse(sample.v, how)).sum() for i, how in enumerate(candidates)})
    row = stats.to_pyarrow().to_pylist()[0]
    if row["n"] == 0:
        raise DataValidationError(
            f"{source}: date column '{column}' is empty; map another column with --date")
    best = max(range(len(candidates)), key=lambda i: (row[f"p{i}"], -i))
    if row[f"p{best}"] == 0:
        example = sample.head(1).to_pyarrow().to_pydict()["v"][0]
        raise DataValidationError(
            f"{source}: dates in column '{column}' do not parse (e.g. '{example}'); use "
            f"ISO dates like 2011-12-09 12:50 or map another column with --date")
    return _parse(text, candidates[best])


def _plausible(parsed: ibis.Column) -> ibis.BooleanValue:
    """A parsed date counts only with a year from 1900 to 2199 (not '12/1/09' as year 12)."""
    return parsed.year().between(1900, 2199).fill_null(False)


def _parse(text: ibis.Column, how: str) -> ibis.Column:
    """Parse text with a candidate: 'cast' (ISO and the like) or a strptime format."""
    backend_parser = DATE_PARSERS.get(ibis.get_backend(text).name)
    if backend_parser is not None:
        return backend_parser(text, how)
    if how == "cast":
        return text.try_cast(dt.Timestamp())
    return try_strptime(text, how)


def to_canonical(table: ibis.Table, mapping: ColumnMapping, source: str = "the file",
                 carry: tuple[str, ...] = ()) -> ibis.Table:
    """Rename and type the mapped columns into the canonical schema (see module docstring).

    Two projections: the first trims and casts each source column once, the second derives
    from those columns, so no cast or trim is written (and run) twice per line. ``carry``:
    source columns passed through as text (trimmed, '' as NULL) named carry_0, carry_1, ...
    """
    mapping.check(list(table.columns), source)
    m = mapping
    null_text, null_number = ibis.null("string"), ibis.null("float64")
    typed = table.select(
        customer=_trimmed(table[m.customer]),
        invoice_ts=_timestamp(table, m.date, source),
        invoice=_trimmed(table[m.invoice]) if m.invoice else null_text,
        quantity=_number(_trimmed(table[m.quantity])) if m.quantity else null_number,
        price=_number(_trimmed(table[m.price])) if m.price else null_number,
        amount=_number(_trimmed(table[m.amount])) if m.amount else null_number,
        product=_trimmed(table[m.product]) if m.product else null_text,
        country=_trimmed(table[m.country]) if m.country else null_text,
        **{f"carry_{i}": _trimmed(_text(table[c])) for i, c in enumerate(carry)},
    )
    quantity, price = _finite(typed.quantity), _finite(typed.price)
    return typed.select(
        customer_id=_customer_text(typed.customer),
        invoice_ts=typed.invoice_ts,
        invoice=_text(typed.invoice),
        quantity=quantity,
        price=price,
        line_value=_finite(typed.amount) if m.amount else quantity * price,
        product=_text(typed.product),
        country=_text(typed.country),
        **{f"carry_{i}": typed[f"carry_{i}"] for i in range(len(carry))},
    )


def resolve_mapping(table: ibis.Table, overrides: Mapping[str, str | None] | None = None,
                    source: str = "the file") -> ColumnMapping:
    """Detected roles with the user's overrides applied, checked against the file's columns.

    An override of None leaves the detected column; an empty string unmaps the role.
    """
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    return detect_columns(table).with_overrides(overrides).check(list(table.columns), source)
