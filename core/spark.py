"""RFM on Apache Spark: the engine's own ibis expressions, run by ibis's PySpark backend.

``core.rfm.rfm_from_file(path, options, engine="spark")`` (``python -m core rfm --engine spark
FILE``) reads the file here. Nothing about RFM is written twice: the file becomes a Spark
DataFrame, ibis wraps it as a table, and the pipeline's stages (core.rfm: classify_lines,
group_orders, customer_aggregates, rfm_from_aggregates) run the same column mapping, value
reading, cleaning rules and RFM expressions that they run on DuckDB.
The one dialect difference is date parsing of text dates: Spark has no TRY_STRPTIME, so
this module gives ``core.columns`` a parser that reads DuckDB's formats the way DuckDB does.

Where the data is read:
- CSV/TSV and Parquet are scanned by Spark (on the cluster's executors when there is one);
  a local path is first checked by ``core.io`` (missing, empty, corrupt; CSV dialect).
- Excel is read on the driver by ``core.io`` (fastexcel, core.excel) and handed to Spark as Arrow.
- URIs with a scheme (hdfs://, s3a://, abfss://, gs://, ...) go straight to Spark.

The session: an active one is reused (spark-submit, notebooks); otherwise the master is
``$SPARK_MASTER`` or, by default, ``local[2]`` with few shuffle partitions, no UI and quiet
logs. Timestamps are read and compared in UTC, like DuckDB's naive timestamps.

Requires ``pip install -r requirements-spark.txt`` and Java 17.
"""

from __future__ import annotations

import atexit
import csv
import datetime as _dt
import os
import re
import tempfile
import uuid
import warnings
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt

from core import header, values
from core.errors import ConfigError, InputFileError, first_line
from core.io import CSV_SUFFIXES, EXCEL_SUFFIXES, Dataset
from core.io import read_transactions as read_local
from core.options import ReadOptions
from core.rfm import RFMResult, rfm_from_file

# pyspark 4.3 warns on every import that it is not tested with pandas 3; the engine only
# moves Arrow-backed frames through it, which the tests check value by value.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)

MASTER_ENV = "SPARK_MASTER"
LOCAL_MASTER = "local[2]"
APP_NAME = "rfm-segmentation"
# Always: UTC so naive timestamps mean the same as on DuckDB; Arrow for results to pandas.
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
# Only when this module starts a local Spark: a laptop-sized job, no UI, no progress bars.
LOCAL_CONF = {
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}
# Errors only. pyspark's shell start-up compares the root level with the level of the
# logger it starts from (under org.apache.spark) and prints a banner unless they agree.
_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.spark.name = org.apache.spark
logger.spark.level = error
"""


# -- session ---------------------------------------------------------------------------
def get_session(master: str | None = None):
    """The active SparkSession, or a new one on ``master`` / $SPARK_MASTER / local[2].

    Under spark-submit (or in a notebook) the active session and its master are used as
    they are. Raises ConfigError when pyspark is missing or Spark cannot start.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ConfigError(
            f"the spark engine needs pyspark: pip install -r requirements-spark.txt ({exc})"
        ) from None
    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    master = master or os.environ.get(MASTER_ENV) or None
    # spark-submit starts the JVM itself and passes --master through it.
    launched_by_submit = "PYSPARK_GATEWAY_PORT" in os.environ
    if master is None and not launched_by_submit:
        master = LOCAL_MASTER
    builder = SparkSession.builder.appName(APP_NAME)
    if master:
        builder = builder.master(master)
    conf = dict(SESSION_CONF)
    if master and master.startswith("local") and not launched_by_submit:
        conf.update(LOCAL_CONF)
        conf["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile={_log4j2_file()}"
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # Py4J / JVM start-up errors carry no stable type
        raise ConfigError(
            f"cannot start Spark (master {master or 'from spark-submit'}): "
            f"{first_line(exc)}; check Java 17 and ${MASTER_ENV}"
        ) from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


def _log4j2_file() -> str:
    """A log4j2 config that shows errors only (Spark's default prints a page of WARNs)."""
    fd, path = tempfile.mkstemp(prefix="rfm-spark-log4j2-", suffix=".properties")
    with os.fdopen(fd, "w") as fh:
        fh.write(_LOG4J2)
    atexit.register(lambda: Path(path).unlink(missing_ok=True))
    return Path(path).as_uri()


def connect(session=None) -> ibis.BaseBackend:
    """An ibis PySpark backend on ``session`` (default: ``get_session()``)."""
    return ibis.pyspark.connect(session or get_session())


# -- reading ---------------------------------------------------------------------------
def _is_uri(path: str) -> bool:
    """'hdfs://...', 's3a://...', 'file:///...': read by Spark alone ('C:\\' is a local path)."""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*):", path)
    return match is not None and len(match.group(1)) > 1


def _csv_options(delimiter: str) -> dict[str, str]:
    """Spark CSV options for the dialect core.io reads: UTF-8 (core.io re-encodes other text),
    the header's delimiter, RFC 4180 quotes (a doubled quote escapes one)."""
    return {"sep": delimiter, "quote": '"', "escape": '"', "encoding": "UTF-8"}


# Every column as text (IDs keep leading zeros); quoted line breaks read as DuckDB does.
_CSV_READ = {"header": "true", "inferSchema": "false", "multiLine": "true", "mode": "PERMISSIVE"}


def read_transactions(
    path: str | os.PathLike, *, sheet: str | None = None, header_row: int | None = None, session=None
) -> Dataset:
    """A transactions file as a Dataset whose table lives on Spark, read as the DuckDB engine
    reads it: the same header row (``header_row``, 1-based, or found by core.header with the
    title rows above it skipped) and the same totals rows left out and counted.

    A local path is checked and its header row and totals found by ``core.io`` (same errors
    as the DuckDB engine). Then CSV and Parquet are scanned by Spark; Excel, and a CSV with
    lines above its header (which Spark's reader cannot skip), are read on the driver by
    ``core.io`` and handed to Spark as Arrow. A URI is read by Spark alone: CSV by its
    suffix, anything else as Parquet (a file or a folder of part files); its header must be
    its first line (ConfigError for a ``header_row`` past 1 or title rows above the header)
    and it must hold no totals rows (InputFileError). Raises InputFileError for an
    unreadable file.
    """
    text = os.fspath(path)
    if _is_uri(text):
        return _read_uri(text, header_row, session or get_session())
    local = read_local(path, sheet=sheet, header_row=header_row)  # checks; DuckDB scans lazily
    session = session or get_session()  # after the checks: a bad path fails fast
    if local.kind == "excel" or local.lines_above_header:
        frame = session.createDataFrame(local.table.to_pyarrow())  # header and totals settled
    elif local.kind == "csv":
        if local.delimiter is None:  # core.io reads every text file with the header's delimiter
            raise ValueError(f"{local.name}: core.io returned a CSV without its delimiter")
        file = Path(local.path or text).resolve()  # a re-encoded text: its UTF-8 copy
        frame = _spark_read(session, "csv", file.as_uri(), local.name, _csv_options(local.delimiter))
    else:
        frame = _spark_read(session, local.kind, Path(text).resolve().as_uri(), local.name, {})
    table = _spark_table(session, frame, local.name)
    if local.total_rows and local.kind == "csv" and not local.lines_above_header:
        table = table.filter(~header.total_row(table))  # as core.io left them out
    return replace(local, table=table)


def _read_uri(uri: str, header_row: int | None, session) -> Dataset:
    """A URI read by Spark alone (see ``read_transactions``)."""
    name = uri.rstrip("/").rsplit("/", 1)[-1] or uri
    lowered = uri.lower()
    if lowered.endswith(EXCEL_SUFFIXES):
        raise InputFileError(
            f"{uri}: Excel files are read on the driver; copy it to a local "
            "path or export the sheet as CSV or Parquet"
        )
    kind = "csv" if lowered.endswith(CSV_SUFFIXES) else "parquet"
    if header_row not in (None, 1):
        raise ConfigError(
            f"{name}: --header-row is not supported on Spark for a URI (its first "
            "line is the header); copy the file to a local path, or remove the "
            "lines above the header"
        )
    options = {"sep": "\t"} if lowered.endswith(".tsv") else {}
    if kind == "csv":
        first = [r.value for r in session.read.text(uri).limit(header.SCAN_ROWS).collect()]
        rows = list(csv.reader(first, delimiter=options.get("sep", ",")))
        if header.find_header_row(rows) > 0:
            raise ConfigError(
                f"{name}: has title rows above its header, which Spark cannot skip "
                "in a URI; copy the file to a local path (read as the DuckDB "
                "engine reads it), or remove the title rows"
            )
    table = _spark_table(session, _spark_read(session, kind, uri, name, options), name)
    if kind == "csv":
        totals = int(table.aggregate(n=header.total_row(table).sum()).to_pyarrow()["n"][0] or 0)
        if totals:
            raise InputFileError(
                f"{name}: {totals:,} row(s) are totals rows ('Total', 'Summe', "
                "...), which Spark does not leave out of a URI; copy the file to "
                "a local path (they are then left out and counted), or remove them"
            )
    return Dataset(table=table, name=name, kind=kind)


def _spark_table(session, frame, name: str) -> ibis.Table:
    """``frame`` as an ibis table on ``session``; InputFileError when it has no rows."""
    view = f"rfm_source_{uuid.uuid4().hex}"
    frame.createOrReplaceTempView(view)
    table = connect(session).table(view)
    if table.head(1).to_pyarrow().num_rows == 0:
        raise InputFileError(f"{name}: has a header but no rows; export the transactions again")
    return table


def _spark_read(session, kind: str, uri: str, name: str, options: Mapping[str, str]):
    try:
        if kind == "csv":
            return session.read.options(**_CSV_READ, **options).csv(uri)
        return session.read.parquet(uri)
    except Exception as exc:  # AnalysisException: path not found, not Parquet, ...
        raise InputFileError(
            f"{name}: Spark cannot read it as {kind.upper()} "
            f"({first_line(exc)}); check the path and the format"
        ) from exc


# -- RFM -------------------------------------------------------------------------------
def compute_rfm_file(
    path: str | os.PathLike, options: ReadOptions | None = None, *, session=None
) -> RFMResult:
    """``core.rfm.rfm_from_file(path, options, engine="spark")``: RFM of a file on Spark."""
    return rfm_from_file(path, options, engine="spark", session=session)


# -- text dates, as DuckDB reads them ----------------------------------------------------
# Each DuckDB strptime code: the digits it reads (greedy and never giving back, hence Java's
# possessive quantifiers) and the Spark pattern letter for that field.
_ONE_OR_TWO_DIGITS = r"(\d{1,2}+)"
_STRPTIME_FIELDS = {
    "%Y": (r"(\d{1,4}+)", "y"),
    "%y": (_ONE_OR_TWO_DIGITS, "yy"),
    "%m": (_ONE_OR_TWO_DIGITS, "M"),
    "%d": (_ONE_OR_TWO_DIGITS, "d"),
    "%H": (_ONE_OR_TWO_DIGITS, "H"),
    "%M": (_ONE_OR_TWO_DIGITS, "m"),
    "%S": (_ONE_OR_TWO_DIGITS, "s"),
    "%I": (_ONE_OR_TWO_DIGITS, "h"),
    "%b": (r"([A-Za-z]{3})", "MMM"),
    "%p": (r"([AaPp][Mm])", "a"),
}
# What DuckDB's TRY_CAST(text AS TIMESTAMP) accepts, in the ISO shape Spark's cast reads.
_ISO_TIMESTAMP = (
    r"^\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{1,2}(?::\d{1,2}(?:\.\d*)?)?"
    r"(?:Z|[+-]\d{2}:\d{2})?)?$"
)


def strptime_to_spark(fmt: str) -> tuple[str, str, str]:
    """A DuckDB strptime format as (regex with one group per field, replacement, Spark pattern).

    The text must match the regex (so field widths are DuckDB's); the replacement lays the
    fields out one space apart, which the Spark pattern then reads.
    """
    regex, letters = ["^"], []
    for token in re.split(r"(%[A-Za-z])", fmt):
        if token in _STRPTIME_FIELDS:
            group, letter = _STRPTIME_FIELDS[token]
            regex.append(group)
            letters.append(letter)
        elif token.startswith("%"):
            raise ValueError(f"strptime code {token} has no Spark equivalent")
        else:  # a literal; DuckDB lets a space match any run of whitespace
            regex.append("".join(r"\s+" if ch == " " else re.escape(ch) for ch in token))
    regex.append("$")
    replacement = " ".join(f"${i + 1}" for i in range(len(letters)))
    return "".join(regex), replacement, " ".join(letters)


@ibis.udf.scalar.builtin
def try_to_timestamp(text: str, fmt: str) -> _dt.datetime:  # type: ignore[empty-body]
    """Spark's TRY_TO_TIMESTAMP: ``text`` read by Spark datetime pattern ``fmt``, NULL where it
    does not fit."""


def parse_timestamp(text: ibis.Column, how: str) -> ibis.Column:
    """``core.values.parse_format`` for Spark: 'cast' or a DuckDB strptime format, DuckDB's way.

    'cast' converts a timestamp with an offset (Z, +01:00, +0100) to UTC as DuckDB does; a
    format Spark cannot mirror (%z) raises ValueError and is left out."""
    null = ibis.null(dt.Timestamp())
    if how == "cast":
        iso = text.re_replace(r"^(\d{4})[/ ](\d{1,2})[/ ](\d{1,2})", "$1-$2-$3")
        # '+0100' as '+01:00', which Spark's cast reads (and converts to the session's UTC).
        iso = iso.re_replace(r"\s*([+-]\d{2}):?(\d{2})$", "$1:$2").re_replace(r"\s*(Z|UTC)$", "Z")
        return iso.re_search(_ISO_TIMESTAMP).ifelse(iso.try_cast(dt.Timestamp()), null)
    regex, replacement, pattern = strptime_to_spark(how)
    fields = text.re_replace(regex, replacement)
    parsed = try_to_timestamp(fields, pattern).cast(dt.Timestamp())
    if "%y" in how:  # Spark reads two-digit years as 20xx; DuckDB reads 69-99 as 19xx
        parsed = (parsed.year() >= 2069).ifelse(parsed - ibis.interval(years=100), parsed)
    return text.re_search(regex).ifelse(parsed, null)


@ibis.udf.scalar.builtin
def to_utc_timestamp(local: _dt.datetime, zone: str) -> _dt.datetime:  # type: ignore[empty-body]
    """Spark's TO_UTC_TIMESTAMP: the wall-clock time ``local`` in IANA ``zone``, as UTC."""


def local_to_utc(zone: ibis.Column, local: ibis.Column) -> ibis.Column:
    """``core.values.LOCAL_TO_UTC`` for Spark: a naive local time in IANA ``zone`` as the
    naive UTC timestamp, as DuckDB's timezone() then a cast to TIMESTAMP gives it."""
    return to_utc_timestamp(local, zone).cast(dt.Timestamp())


values.DATE_PARSERS["pyspark"] = parse_timestamp
values.LOCAL_TO_UTC["pyspark"] = local_to_utc
