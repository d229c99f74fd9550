"""Reading numbers and dates as people write them, decided per column over the whole column.

Numbers: `1,234.50`, `1.234,50`, `12,50`, `€12,50`, `$1,234.50`, `USD 10`, `(12.00)` (= -12),
`12,50-`. A column's decimal mark is decided from all its values in one aggregate pass that
counts the values of each shape:
- both marks present: the last one is the decimal (`1.234,50` -> comma);
- one mark followed by other than three digits is a decimal (`12,50`, `3.5`), as is a mark
  after a lone 0 (`0,500`); repeated marks are thousands (`1,234,567` -> point);
- only `1,234`-like values: the file's hint decides (a `;` delimiter means comma), else point.
A column whose values point both ways is refused (DataValidationError) unless the user forces
the mark. Text that does not fit the decided shape is NULL and counted by the cleaning rule
"unparseable amount/price/quantity": it is never read as a different number.

Dates: the order (year-first, day-first, month-first) and the separator are decided from the
shapes of all the column's values: a value whose first field is above 12 can only be
day-first, one whose second field is above 12 only month-first. The order that reads the most
values wins; a column that fits both (every value has both fields <= 12) is *ambiguous*: it is
read as the user says (``date_format``), else by the file's locale hint (a `;` delimiter or a
decimal comma: day-first), else month-first, and the reading says so. Values with and without
a time of day are read in the same order. Timestamps with an offset (`+01:00`, `+0100`, `Z`)
are converted to UTC (the connection's time zone is UTC, see core.io.connect); naive ones
stay as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import ibis
import ibis.expr.datatypes as dt

from core import patterns, query
from core.errors import ConfigError, DataValidationError

DECIMAL_CHOICES = (",", ".")
DATE_FORMAT_CHOICES = ("dayfirst", "monthfirst")
CURRENCY_CODES = (
    "USD",
    "EUR",
    "GBP",
    "CHF",
    "JPY",
    "CAD",
    "AUD",
    "NZD",
    "SEK",
    "NOK",
    "DKK",
    "PLN",
    "CZK",
    "HUF",
    "INR",
    "CNY",
    "BRL",
    "MXN",
    "ZAR",
)
# Currency marks and codes, blanks (also the no-break spaces and apostrophes used as thousands
# separators) are dropped before the shape of a number is looked at.
_NOISE = r"(?i)(\b(" + "|".join(CURRENCY_CODES) + r")\b|[€$£¥₹\s\x{00A0}\x{202F}'’])"
_NEGATIVE = r"^\(.*\)$|^-|-$"
_SIGNS = r"^[(+\-]+|[)\-]+$"

# Shapes of a number's text (after _NOISE and _SIGNS are removed), and which mark they mean.
NUMBER_SHAPES: dict[str, tuple[str, str | None]] = {
    "comma_decimal": (r"^\d*,(\d{1,2}|\d{4,})$|^0,\d+$", ","),
    "dot_thousands_comma_decimal": (r"^\d{1,3}(\.\d{3})+,\d*$", ","),
    "dot_thousands": (r"^\d{1,3}(\.\d{3}){2,}$", ","),
    "dot_decimal": (r"^\d*\.(\d{1,2}|\d{4,})$|^0\.\d+$", "."),
    "comma_thousands_dot_decimal": (r"^\d{1,3}(,\d{3})+\.\d*$", "."),
    "comma_thousands": (r"^\d{1,3}(,\d{3}){2,}$", "."),
}
_SIMPLE = {".": r"^-?\d+(\.\d+)?$", ",": r"^-?\d+(,\d+)?$"}
# What a number may look like once its decimal mark is known.
_VALID = {".": r"^(\d+|\d{1,3}(,\d{3})+)?(\.\d+)?$", ",": r"^(\d+|\d{1,3}(\.\d{3})+)?(,\d+)?$"}

# Date shapes: how the text starts. Day/month fields above 12 tell the order apart.
_FIELD_GT12 = r"(1[3-9]|2\d|3[01])"
DATE_SHAPES: dict[str, str] = {
    "iso": r"^\d{4}-\d{1,2}-\d{1,2}([ T]|$)",
    "year_first": r"^\d{4}[/.]\d{1,2}[/.]\d{1,2}(\s|$)",
    "compact": r"^\d{8}$",
    "dmy_slash": r"^\d{1,2}/\d{1,2}/\d{2,4}(\s|$)",
    "dmy_dot": r"^\d{1,2}\.\d{1,2}\.\d{2,4}(\s|$)",
    "dmy_dash": r"^\d{1,2}-\d{1,2}-\d{2,4}(\s|$)",
    "day_only": r"^" + _FIELD_GT12 + r"[/.\-]\d{1,2}[/.\-]\d{2,4}(\s|$)",
    "month_only": r"^\d{1,2}[/.\-]" + _FIELD_GT12 + r"[/.\-]\d{2,4}(\s|$)",
}
_SEPARATORS = {"dmy_slash": "/", "dmy_dot": ".", "dmy_dash": "-"}
# A character test each shape needs (cheaper than its regex, which runs only where it holds).
_DATE_SHAPE_NEEDS: dict[str, Callable[[ibis.Column], ibis.Column]] = {
    "year_first": lambda text: text.contains("/") | text.contains("."),
    "compact": lambda text: text.length() == 8,
    "dmy_slash": lambda text: text.contains("/"),
    "dmy_dot": lambda text: text.contains("."),
    "dmy_dash": lambda text: text.contains("-"),
    "day_only": lambda text: text.contains("/") | text.contains(".") | text.contains("-"),
    "month_only": lambda text: text.contains("/") | text.contains(".") | text.contains("-"),
}
# Times of day after the date; two-digit years first: %Y would read '24' as the year 24.
_TIMES = ("", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p")
_OFFSET = r"\d:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|UTC|[+-]\d{2}(:?\d{2})?)$"
_ISO_WITH_OFFSET = (
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M %z",
    "%Y-%m-%dT%H:%M:%S.%f%z",
)


@ibis.udf.scalar.builtin
def try_strptime(text: str, fmt: str) -> datetime:  # type: ignore[empty-body]
    """DuckDB's TRY_STRPTIME: ``text`` read by strptime ``fmt`` as a naive timestamp, NULL where
    it does not fit."""


@ibis.udf.scalar.builtin(name="try_strptime")
def try_strptime_tz(text: str, fmt: str) -> dt.Timestamp(timezone="UTC"):  # type: ignore[valid-type, empty-body]
    """DuckDB's TRY_STRPTIME for a format with %z: a TIMESTAMPTZ (UTC), NULL where it does not fit."""


@ibis.udf.scalar.builtin(name="trim")
def trim(text: str) -> str:  # type: ignore[empty-body]
    """SQL's plain TRIM of spaces (ibis's strip() trims a character list, ~1.5x slower)."""


def blank(col: ibis.Column) -> ibis.BooleanValue:
    """Whether a cell is empty: NULL, or text of blanks only (``trim(col).nullif('')`` is NULL).

    On DuckDB a text that starts with an ASCII letter or digit is not blank by a GLOB on its
    first character, and only the other texts are trimmed: TRIM reads and copies every text,
    twice the time of the test over a column of countries.
    """
    if not col.type().is_string():
        return col.isnull()
    if not patterns.has_glob(col):
        return trim(col).nullif("").isnull()
    return ibis.cases(
        (col.isnull(), True), (patterns.glob(col, "[0-9A-Za-z]*"), False), else_=trim(col) == ""
    )


# Date parsers of backends without DuckDB's TRY_STRPTIME, by ibis backend name:
# parse(text, how) with how 'cast' or a strptime format. core.spark adds 'pyspark'; a
# format the backend cannot read raises ValueError and is left out.
DATE_PARSERS: dict[str, Callable[[ibis.Column, str], ibis.Column]] = {}
# By backend name: (IANA zone, naive local timestamp) -> the naive UTC timestamp, where the
# backend has no DuckDB timezone() (core.spark registers Spark's to_utc_timestamp).
LOCAL_TO_UTC: dict[str, Callable[[ibis.Column, ibis.Column], ibis.Column]] = {}


class ReadingError(DataValidationError):
    """A column's values cannot be read as the role needs: ``control`` is the choice that fixes
    it ('decimal' or 'date'), ``column`` the column, ``reason`` the message without advice."""

    def __init__(self, message: str, *, column: str, control: str, reason: str):
        super().__init__(message)
        self.column = column
        self.control = control
        self.reason = reason


# -- the decisions ---------------------------------------------------------------------------
@dataclass(frozen=True)
class NumberReading:
    """How one numeric column is read: its decimal mark and why."""

    column: str
    decimal: str | None  # None: the column is already numeric
    reason: str

    def describe(self) -> str:
        """One sentence for the audit: the column, its decimal mark and why."""
        if self.decimal is None:
            return f"'{self.column}': numbers as stored"
        mark = "comma" if self.decimal == "," else "point"
        return f"'{self.column}': decimal {mark} ({self.reason})"


@dataclass(frozen=True)
class DateReading:
    """How the date column is read: order ('as stored', 'year-first', 'day-first',
    'month-first'), the strptime formats tried, and whether day/month was ambiguous."""

    column: str
    order: str
    formats: tuple[str, ...]
    ambiguous: bool
    reason: str

    def describe(self) -> str:
        """One sentence for the audit: the column, the order and why."""
        return f"'{self.column}': dates {self.order} ({self.reason})"


@dataclass(frozen=True)
class Readings:
    """The per-column reading decisions of one file, for the audit and the Data page."""

    numbers: tuple[NumberReading, ...]
    date: DateReading | None
    locale_hint: str | None  # 'comma' (a ';' file or decimal commas) or None

    def number(self, column: str) -> NumberReading:
        """How number column ``column`` is read. ValueError when ``decide`` was not given it
        (a caller's mistake: the readings belong to another mapping)."""
        reading = next((n for n in self.numbers if n.column == column), None)
        if reading is None:
            raise ValueError(
                f"no number reading for column '{column}': decide() was given "
                f"{[n.column for n in self.numbers]}"
            )
        return reading

    def date_of(self, column: str) -> DateReading:
        """How date column ``column`` is read. ValueError when ``decide`` was given another
        date column or none (a caller's mistake: the readings belong to another mapping)."""
        if self.date is None or self.date.column != column:
            raise ValueError(
                f"no date reading for column '{column}': decide() was given "
                f"{self.date.column if self.date else 'no date column'}"
            )
        return self.date

    def lines(self) -> list[str]:
        """One sentence per column: how its numbers or dates are read (for the audit)."""
        out = [n.describe() for n in self.numbers]
        if self.date is not None:
            out.append(self.date.describe())
        return out


def check_choices(decimal: str | None, date_format: str | None) -> None:
    """ConfigError naming the bad value of ``decimal`` or ``date_format``."""
    if decimal not in (None, *DECIMAL_CHOICES):
        raise ConfigError(f"decimal mark must be ',' or '.', not '{decimal}'")
    if date_format not in (None, *DATE_FORMAT_CHOICES):
        raise ConfigError(f"date format must be 'dayfirst' or 'monthfirst', not '{date_format}'")


def number_body(text: ibis.Column) -> ibis.Column:
    """The digits and marks of a number's text: currency, blanks and signs removed."""
    return text.re_replace(_NOISE, "").re_replace(_SIGNS, "")


def decide(
    table: ibis.Table,
    numeric_columns: Sequence[str],
    date_column: str | None,
    *,
    source: str = "the file",
    delimiter: str | None = None,
    decimal: str | None = None,
    date_format: str | None = None,
) -> Readings:
    """Decide how each numeric column and the date column are read, from all their values.

    One aggregate pass counts, per text column, the values of each shape. ``decimal`` (',' or
    '.') and ``date_format`` ('dayfirst' / 'monthfirst') are the user's choices: ``decimal``
    forces every text number column, ``date_format`` decides an ambiguous date column.
    Raises DataValidationError for a number column that mixes both decimal marks (unless
    forced) and for a date column none of whose values is a date.
    """
    check_choices(decimal, date_format)
    schema = table.schema()
    text_numbers = [c for c in numeric_columns if not schema[c].is_numeric()]
    date_is_text = date_column is not None and not (
        schema[date_column].is_timestamp() or schema[date_column].is_date()
    )
    counts: dict[str, ibis.Value] = {}
    texts = text_numbers + ([date_column] if date_is_text and date_column is not None else [])
    rows, lines = table, ibis.literal(1)

    def text_of(i: int) -> ibis.Column:
        return table[texts[i]].cast("string")

    if texts and _values_repeat(table, texts):
        # The shapes are tested once per distinct text of each column, and each count weighs
        # a text by its number of lines: one scan and one grouping, then the regexes run on
        # the few thousand texts of repeated prices, quantities and timestamps, not every line.
        fields = ibis.array(
            [
                ibis.struct({"k": ibis.literal(i, "int16"), "v": table[c].cast("string")})
                for i, c in enumerate(texts)
            ]
        )
        long = table.select(f=fields.unnest()).unpack("f")
        rows = long.group_by(["k", "v"]).aggregate(n=long.count())
        lines = rows.n

        def text_of(i: int) -> ibis.Column:
            return (rows.k == i).ifelse(rows.v, ibis.null("string"))

    def count(where: ibis.Column) -> ibis.Value:
        return where.ifelse(lines, 0).sum()

    # Each regex runs only where it can matter (CASE is lazy), behind a cheap test of a
    # character the shape needs: a value casts a comma vote only with a ',' or two '.'
    # (1.234.567), a point vote only with a '.' or two ','; an ISO date is not tested for the
    # other shapes, and a day/month shape needs its separator.
    # A plain value (digits, marks, a leading '-') is matched as written, by the shapes with an
    # optional sign; only the others are cleaned first (number_body).
    for i in range(len(text_numbers)):
        text = trim(text_of(i))
        plain = text.re_search(r"^-?[\d.,]+$")
        for mark, other in ((",", "."), (".", ",")):
            pattern = "|".join(f"(?:{p})" for p, m in NUMBER_SHAPES.values() if m == mark)
            vote = ibis.cases(
                (text.re_search(pattern.replace("^", "^-?")), True),
                (plain, False),
                else_=number_body(text).re_search(pattern),
            )
            could = text.contains(mark) | text.like(f"%{other}%{other}%")
            counts[f"n{i}_{mark}"] = count(could.ifelse(vote, False))
    if date_is_text:
        text = trim(text_of(len(text_numbers))).nullif("")
        counts["d_values"] = count(text.notnull())
        iso = text.re_search(DATE_SHAPES["iso"])
        counts["d_iso"] = count(iso)
        for shape, pattern in DATE_SHAPES.items():
            if shape != "iso":
                could = _DATE_SHAPE_NEEDS[shape](text)
                counts[f"d_{shape}"] = count(iso.ifelse(False, could.ifelse(text.re_search(pattern), False)))
    row = {k: int(v or 0) for k, v in (query.first_row(rows.aggregate(**counts)) if counts else {}).items()}

    numbers = []
    for column in numeric_columns:
        if column not in text_numbers:
            numbers.append(NumberReading(column, None, "numbers as stored"))
            continue
        votes = {mark: row[f"n{text_numbers.index(column)}_{mark}"] for mark in DECIMAL_CHOICES}
        numbers.append(_decide_decimal(column, votes, decimal, delimiter, source))
    comma_hint = delimiter == ";" or any(n.decimal == "," and "forced" not in n.reason for n in numbers)
    date = None
    if date_column is not None:
        date = (
            _decide_date(date_column, row, date_format, comma_hint, source)
            if date_is_text
            else DateReading(date_column, "as stored", (), False, "a date column")
        )
    return Readings(tuple(numbers), date, "comma" if comma_hint else None)


# Texts of the first lines looked at to choose how decide() counts (never what it decides):
# when few of them are distinct, counting distinct texts is cheaper than testing every line.
_REPEAT_SAMPLE_LINES = 5000
_REPEAT_SHARE = 0.25


def _values_repeat(table: ibis.Table, columns: Sequence[str]) -> bool:
    """True when the first lines of ``columns`` hold at most _REPEAT_SHARE distinct texts."""
    sample = query.arrow(table.head(_REPEAT_SAMPLE_LINES).select(*columns))
    if sample.num_rows == 0:
        return False
    distinct = sum(len(sample[c].unique()) for c in columns)
    return distinct <= _REPEAT_SHARE * sample.num_rows * len(columns)


def _decide_decimal(
    column: str, votes: Mapping[str, int], forced: str | None, delimiter: str | None, source: str
) -> NumberReading:
    if forced is not None:
        return NumberReading(column, forced, "forced")
    comma, point = votes[","], votes["."]
    if comma and point:
        reason = (
            f"column '{column}' writes numbers both ways ({comma:,} values read as "
            f"decimal comma, {point:,} as decimal point)"
        )
        raise ReadingError(
            f"{source}: {reason}; choose the decimal mark (command line: --decimal , or --decimal .)",
            column=column,
            control="decimal",
            reason=reason,
        )
    if comma or point:
        mark = "," if comma else "."
        return NumberReading(column, mark, f"{max(comma, point):,} values show it")
    if delimiter == ";":
        return NumberReading(column, ",", "no value shows it; the file's ';' delimiter means comma")
    return NumberReading(column, ".", "no value shows it; point by default")


def _decide_date(
    column: str, row: Mapping[str, int], forced: str | None, comma_hint: bool, source: str
) -> DateReading:
    n = row["d_values"]
    if n == 0:
        raise ReadingError(
            f"{source}: date column '{column}' is empty; map another column as the date",
            column=column,
            control="date",
            reason=f"date column '{column}' is empty",
        )
    dmy = max(_SEPARATORS, key=lambda s: row[f"d_{s}"])
    shapes = {
        "iso": row["d_iso"],
        "year_first": row["d_year_first"],
        "compact": row["d_compact"],
        "day_month": row[f"d_{dmy}"],
    }
    best = max(shapes, key=lambda s: shapes[s])
    if shapes[best] == 0:
        reason = (
            f"dates in column '{column}' do not parse (no value looks like a date such "
            "as 2011-12-09, 09/12/2011 or 09.12.2011 14:30)"
        )
        raise ReadingError(
            f"{source}: {reason}; map another column as the date",
            column=column,
            control="date",
            reason=reason,
        )
    if best == "iso":
        return DateReading(
            column,
            "year-first",
            ("cast",) + _ISO_WITH_OFFSET,
            False,
            f"ISO dates, {shapes[best]:,} of {n:,} values",
        )
    if best == "year_first":
        formats = tuple(f"%Y{s}%m{s}%d{t}" for s in "/." for t in _TIMES)
        return DateReading(column, "year-first", formats, False, f"{shapes[best]:,} of {n:,} values")
    if best == "compact":
        return DateReading(column, "year-first", ("%Y%m%d",), False, f"{shapes[best]:,} of {n:,} values")
    day_only, month_only = row["d_day_only"], row["d_month_only"]
    ambiguous = day_only == month_only
    if forced is not None:
        order = forced
        reason = "chosen" + (
            " (both orders fit every value)"
            if ambiguous
            else f"; {day_only:,} values fit only day-first, {month_only:,} only month-first"
        )
    elif not ambiguous:
        order = "dayfirst" if day_only > month_only else "monthfirst"
        reason = f"{max(day_only, month_only):,} values fit only {_ORDER_NAMES[order]}" + (
            f", {min(day_only, month_only):,} only the other" if min(day_only, month_only) else ""
        )
    else:
        order = "dayfirst" if comma_hint else "monthfirst"
        reason = (
            "ambiguous: every value fits day-first and month-first; read "
            + (
                "day-first from the file's locale (';' delimiter or decimal comma)"
                if comma_hint
                else "month-first by default"
            )
            + "; choose the date format to change it"
        )
    first, second = ("%d", "%m") if order == "dayfirst" else ("%m", "%d")
    sep = _SEPARATORS[dmy]
    formats = tuple(f"{first}{sep}{second}{sep}{year}{t}" for t in _TIMES for year in ("%y", "%Y"))
    return DateReading(column, _ORDER_NAMES[order], formats, ambiguous, reason)


_ORDER_NAMES = {"dayfirst": "day-first", "monthfirst": "month-first"}
# Every strptime format a decision can choose (for tests and other backends' parsers).
DATE_FORMATS = tuple(
    dict.fromkeys(
        _ISO_WITH_OFFSET
        + ("%Y%m%d",)
        + tuple(f"%Y{s}%m{s}%d{t}" for s in "/." for t in _TIMES)
        + tuple(
            f"{a}{s}{b}{s}{y}{t}"
            for a, b in (("%d", "%m"), ("%m", "%d"))
            for s in "/.-"
            for t in _TIMES
            for y in ("%y", "%Y")
        )
    )
)


# -- the expressions -----------------------------------------------------------------------
def parse_number(text: ibis.Column, decimal: str) -> ibis.Column:
    """float64 from trimmed text with the given decimal mark; NULL where it does not fit."""
    body = number_body(text)
    valid = body.re_search(_VALID[decimal]) & body.re_search(r"\d")
    plain = body.replace(",", "") if decimal == "." else body.replace(".", "").replace(",", ".")
    value = plain.try_cast("float64")
    signed = text.re_search(_NEGATIVE).ifelse(-value, value)
    written = valid.ifelse(signed, ibis.null("float64"))
    # Most values are plain ('12.50', '-3'): one regex and a cast, not the whole path above.
    simple = text.re_search(_SIMPLE[decimal])
    direct = (text if decimal == "." else text.replace(",", ".")).try_cast("float64")
    return simple.ifelse(direct, written)


def parse_date(text: ibis.Column, reading: DateReading) -> ibis.Column:
    """A timestamp (UTC where the text had an offset) from trimmed text; NULL where it does not fit.

    Each format is tried only on the values of its shape (a CASE on regexes, each behind a
    cheap test for ':', which a shape with a time of day needs and one without refuses; the
    shapes do not overlap, so one value fits at most one format). COALESCE over the formats
    would run every strptime on every value, and a strptime that fails is far dearer than a
    regex. An ISO reading first sends the values that cannot carry an offset straight to the
    timestamp cast, which is what they would reach after the offset formats.
    """
    branches, fallback = [], ibis.null(dt.Timestamp())
    for how in reading.formats:
        parsed = parse_format(text, how)
        if parsed is None:
            continue
        if how == "cast":
            fallback = parsed
        else:
            timed = "%H" in how or "%I" in how
            could = text.contains(":") if timed else ~text.contains(":")
            branches.append((could.ifelse(text.re_search(format_shape(how)), False), parsed))
    parsed = ibis.cases(*branches, else_=fallback) if branches else fallback
    if "cast" in reading.formats:
        parsed = _without_offset(text).ifelse(_cast_naive(text), parsed)
    return _plausible(parsed)


def _without_offset(text: ibis.Column) -> ibis.Column:
    """True where the text cannot end in an offset: an offset (+01:00, -0500, +01) puts its sign
    in the last six characters, and Z / UTC end the text (see _OFFSET and the %z formats)."""
    tail = text.right(6)
    return ~(tail.contains("+") | tail.contains("-") | text.endswith("Z") | text.endswith("UTC"))


def _cast_naive(text: ibis.Column) -> ibis.Column:
    """The timestamp cast of text without an offset (parse_format's 'cast' past its offset test)."""
    backend_parser = DATE_PARSERS.get(ibis.get_backend(text).name)
    if backend_parser is not None:
        return backend_parser(text, "cast")
    return text.try_cast(dt.Timestamp())


_SHAPES = {
    "%d": r"\d{1,2}",
    "%m": r"\d{1,2}",
    "%H": r"\d{1,2}",
    "%M": r"\d{1,2}",
    "%S": r"\d{1,2}",
    "%I": r"\d{1,2}",
    "%Y": r"\d{4}",
    "%y": r"\d{2}",
    "%p": r"(AM|PM|am|pm)",
    "%z": r"[+-]\d{2}(:?\d{2})?",
    "%f": r"\d+",
}


def format_shape(fmt: str) -> str:
    """An anchored regex of the text a strptime format reads ('%d/%m/%Y' -> two digits, ...)."""
    out = ["^"]
    for token in re.split(r"(%[A-Za-z])", fmt):
        if token in _SHAPES:
            out.append(_SHAPES[token])
        elif token:
            out.append("".join(r"\s+" if ch == " " else re.escape(ch) for ch in token))
    return "".join(out) + "$"


_FIRST_PLAUSIBLE, _AFTER_PLAUSIBLE = datetime(1000, 1, 1), datetime(3000, 1, 1)


def _plausible(parsed: ibis.Column) -> ibis.Column:
    """Only years 1000-2999: '12/1/09' read with %Y is the year 9, not a date."""
    plausible = (parsed >= _FIRST_PLAUSIBLE) & (parsed < _AFTER_PLAUSIBLE)
    return plausible.ifelse(parsed, ibis.null(dt.Timestamp()))


def parse_format(text: ibis.Column, how: str) -> ibis.Column | None:
    """Text parsed by one candidate: 'cast' (ISO, offsets to UTC) or a strptime format; None
    when the backend cannot read that format."""
    backend_parser = DATE_PARSERS.get(ibis.get_backend(text).name)
    if backend_parser is not None:
        try:
            return backend_parser(text, how)
        except ValueError:  # a format this backend cannot read
            return None
    if how == "cast":  # an offset converts to UTC (via TIMESTAMPTZ, only where there is one:
        # that cast is slow, and a plain TIMESTAMP cast would drop the offset)
        with_offset = text.re_search(_OFFSET)
        return with_offset.ifelse(
            text.try_cast(dt.Timestamp(timezone="UTC")).cast(dt.Timestamp()), text.try_cast(dt.Timestamp())
        )
    if "%z" in how:
        return try_strptime_tz(text, how).cast(dt.Timestamp())
    return try_strptime(text, how)


# -- a date with its time of day and time zone in other columns ---------------------------
# Time-zone names exports write (Square, PayPal, Rails-style 'Eastern Time (US & Canada)')
# as IANA zones; IANA names themselves pass as they are. Abbreviations are fixed offsets
# (PST is UTC-8 all year; a file writes PDT when it means summer time).
ZONE_NAMES: dict[str, str] = {
    "eastern time (us & canada)": "America/New_York",
    "central time (us & canada)": "America/Chicago",
    "mountain time (us & canada)": "America/Denver",
    "pacific time (us & canada)": "America/Los_Angeles",
    "alaska": "America/Anchorage",
    "hawaii": "Pacific/Honolulu",
    "arizona": "America/Phoenix",
    "atlantic time (canada)": "America/Halifax",
    "newfoundland": "America/St_Johns",
    "london": "Europe/London",
    "edinburgh": "Europe/London",
    "dublin": "Europe/Dublin",
    "paris": "Europe/Paris",
    "berlin": "Europe/Berlin",
    "madrid": "Europe/Madrid",
    "rome": "Europe/Rome",
    "amsterdam": "Europe/Amsterdam",
    "brussels": "Europe/Brussels",
    "vienna": "Europe/Vienna",
    "zurich": "Europe/Zurich",
    "bern": "Europe/Zurich",
    "stockholm": "Europe/Stockholm",
    "copenhagen": "Europe/Copenhagen",
    "lisbon": "Europe/Lisbon",
    "sydney": "Australia/Sydney",
    "melbourne": "Australia/Melbourne",
    "brisbane": "Australia/Brisbane",
    "perth": "Australia/Perth",
    "tokyo": "Asia/Tokyo",
    "auckland": "Pacific/Auckland",
    "utc": "UTC",
    "gmt": "UTC",
    "z": "UTC",
    "pst": "Etc/GMT+8",
    "pdt": "Etc/GMT+7",
    "mst": "Etc/GMT+7",
    "mdt": "Etc/GMT+6",
    "cst": "Etc/GMT+6",
    "cdt": "Etc/GMT+5",
    "est": "Etc/GMT+5",
    "edt": "Etc/GMT+4",
    "bst": "Etc/GMT-1",
    "cet": "Etc/GMT-1",
    "cest": "Etc/GMT-2",
    "eet": "Etc/GMT-2",
    "eest": "Etc/GMT-3",
    "aest": "Etc/GMT-10",
    "aedt": "Etc/GMT-11",
    "jst": "Etc/GMT-9",
}


def iana_zone(name: str) -> str | None:
    """The IANA zone of a time-zone text ('Eastern Time (US & Canada)', 'Europe/Paris', 'PST',
    '+01:00', 'UTC-5', 'GMT-05:00'), or None when it is not one. Offsets must be whole hours."""
    import zoneinfo

    text = " ".join(str(name).split())
    if text.lower() in ZONE_NAMES:
        return ZONE_NAMES[text.lower()]
    if text in zoneinfo.available_timezones():
        return text
    offset = re.fullmatch(r"(?i)(?:utc|gmt)?\s*([+-])(\d{1,2})(?::?00)?", text)
    if offset:
        hours = int(offset.group(2))
        if hours == 0:
            return "UTC"
        return f"Etc/GMT{'-' if offset.group(1) == '+' else '+'}{hours}"  # Etc signs are inverted
    return None


@ibis.udf.scalar.builtin(name="timezone")
def _in_zone(zone: str, local: datetime) -> dt.Timestamp(timezone="UTC"):  # type: ignore[valid-type, empty-body]
    ...  # DuckDB's timezone()


def _local_to_utc(zone: ibis.Column, local: ibis.Column) -> ibis.Column:
    """DuckDB: a naive local time in IANA ``zone`` as the naive UTC timestamp."""
    return _in_zone(zone, local).cast(dt.Timestamp())


def combine_date_time(
    table: ibis.Table,
    date: str,
    time: str | None = None,
    zone: str | None = None,
    fmt: str | None = None,
    *,
    source: str = "the file",
    date_format: str | None = None,
) -> tuple[str, ibis.Table, str]:
    """One timestamp column from a date column, its time-of-day column and its time-zone
    column (UTC when a zone is given; naive otherwise), read by the strptime ``fmt`` or, with
    none, as the date column's values decide (``decide``; ``date_format`` settles an ambiguous
    order). Returns the new column's name, the table with it, and the sentence saying how.
    Raises ReadingError for a time-zone value that is not a zone (naming it).
    """
    text = trim(table[date].cast("string")).nullif("")
    parts = [date]
    if time is not None:
        clock = trim(table[time].cast("string")).nullif("")
        text = clock.isnull().ifelse(text, text.concat(" ", clock))
        parts.append(time)
    name = " + ".join(parts) + (f" ({zone})" if zone else "")
    work = table.mutate(**{name: text})
    if fmt is not None:
        parsed = parse_format(work[name], fmt)
        if parsed is None:
            backend = ibis.get_backend(work).name
            raise ConfigError(
                f"{source}: dates written as {fmt} cannot be read on the {backend} "
                "engine; use the DuckDB engine for this file (leave out --engine)"
            )
        stamp = _plausible(parsed)
        how = f"dates as {fmt}"
    else:
        reading = decide(work, [], name, source=source, date_format=date_format).date_of(name)
        stamp = parse_date(work[name], reading)
        how = reading.describe()
    if zone is not None:
        written = [
            r["z"]
            for r in query.rows(
                table.select(z=trim(table[zone].cast("string")).nullif("")).distinct().limit(1000)
            )
            if r["z"] is not None
        ]
        zones = {}
        for value in written:
            iana = iana_zone(value)
            if iana is None:
                reason = f"time zone '{value}' in column '{zone}' is not a time zone"
                raise ReadingError(
                    f"{source}: {reason}; write it as an IANA name such as "
                    "Europe/Paris or an offset such as +01:00",
                    column=zone,
                    control="date",
                    reason=reason,
                )
            zones[value] = iana
        written_zone = trim(work[zone].cast("string"))
        iana_expr = (
            written_zone.cases(*zones.items(), else_=ibis.null("string")) if zones else ibis.null("string")
        )
        to_utc = LOCAL_TO_UTC.get(ibis.get_backend(work).name, _local_to_utc)
        stamp = iana_expr.isnull().ifelse(stamp, to_utc(iana_expr, stamp))
        how += f"; local times converted to UTC by '{zone}'"
    parts_said = " and ".join(f"'{p}'" for p in parts)
    sentence = f"purchase time from {parts_said}" + (f" in '{zone}'" if zone else "") + f": {how}"
    return name, work.mutate(**{name: stamp}), sentence


# -- what the engine holds exactly --------------------------------------------------------------
#
# Line values are summed as DECIMAL(38, 6) (core.rfm.VALUE): exact to a millionth, under 1e32 in
# absolute value. A value past that is never read as anything else (a try_cast made it NULL, so
# the customer's spend was 0): the cast fails, and the line is named.

MAX_LINE_VALUE = 1e32
# DuckDB's errors for a value that does not fit a decimal, and a sum that overflows it.
UNHELD_ERRORS = (duckdb.ConversionException, duckdb.OutOfRangeException)


def exact(value: ibis.Value, decimal_type: dt.Decimal) -> ibis.Value:
    """``value`` as the exact decimal type; a value it cannot hold fails the query (one of
    UNHELD_ERRORS), which ``unheld_value_error`` turns into a message naming the line."""
    return value.cast(decimal_type)


def unheld_value_error(dataset, lines: ibis.Table | None, exc: Exception) -> DataValidationError | None:
    """The message for a line value (or a customer's total) past MAX_LINE_VALUE, naming the
    first such line (as an editor numbers it) or customer; None when there is none (the
    error was another conversion)."""
    if lines is None:
        return None
    numbered = lines.mutate(row=ibis.row_number())
    far = numbered.filter(numbered.line_value.abs() >= MAX_LINE_VALUE)
    first = query.rows(far.order_by("row").select("row", "line_value").limit(1))
    if first:
        row = first[0]
        where = dataset.line_of(int(row["row"]) + 1)
        return DataValidationError(
            f"{dataset.name}: {where} has a line value of {row['line_value']:.6g}, past the "
            f"{MAX_LINE_VALUE:.0e} the engine sums exactly; fix that line (a misplaced decimal "
            "mark, or an ID in a price column?)"
        )
    totals = lines.group_by("customer").aggregate(total=lines.line_value.sum())
    big = totals.filter(totals.total.abs() >= MAX_LINE_VALUE)
    first = query.rows(big.order_by(big.total.abs().desc()).limit(1))
    if first:
        row = first[0]
        return DataValidationError(
            f"{dataset.name}: customer {row['customer']}'s line values add up to "
            f"{row['total']:.6g}, past the {MAX_LINE_VALUE:.0e} the engine sums exactly; "
            "check that customer's lines"
        )
    return None
