"""Read a transactions file (CSV/TSV/TXT, Excel .xlsx, Parquet) into DuckDB.

One loader for the CLI and the dashboard. Files are read by DuckDB where they lie (CSV and
Parquet are scanned lazily, never loaded row by row into pandas); Excel goes through
fastexcel into an Arrow table that DuckDB queries (``core.excel``). Uploads arrive as bytes and are
written to a private temporary file first, so a large upload is never held twice.
"""
from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import ibis
import ibis.backends.duckdb  # noqa: F401  loaded here, not lazily on the first connect()

from core import excel
from core.columns import detect_columns
from core.errors import InputFileError
from core.excel import ALL_SHEETS, EXCEL_SUFFIXES  # noqa: F401  (re-exported: pages, spark)

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
SUPPORTED = CSV_SUFFIXES + EXCEL_SUFFIXES + PARQUET_SUFFIXES
# DuckDB errors that mean the file's content is bad. Scans are lazy, so they can surface after
# read_transactions returned, when a query reaches the bad row (e.g. a row with extra fields
# past the sniffer's sample): whoever runs the scan turns them into InputFileError.
READ_ERRORS = (duckdb.InvalidInputException, duckdb.ConversionException, duckdb.IOException)


@dataclass
class Dataset:
    """A raw table as read from a file, with where it came from."""

    table: ibis.Table
    name: str
    kind: str  # "csv" | "excel" | "parquet"
    sheets: tuple[str, ...] = ()
    sheet: str | None = None
    # Keeps the temporary copy of an upload alive as long as the table that scans it.
    _tempdir: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    @property
    def columns(self) -> list[str]:
        return list(self.table.columns)


def connect() -> ibis.BaseBackend:
    """A fresh in-process DuckDB connection.

    Statistics propagation is off: DuckDB 2.0 folds isnan(col) to false on a Parquet float
    column whose statistics carry no NaN flag, so a real NaN would pass the cleaning rules.
    """
    con = ibis.duckdb.connect()
    con.raw_sql("SET disabled_optimizers = 'statistics_propagation'")
    # DuckDB draws a progress bar on stdout for long queries: it would corrupt `-o -` output.
    con.raw_sql("SET enable_progress_bar = false")
    return con


def _kind(path: Path, head: bytes) -> str:
    suffix = path.suffix.lower()
    if head.startswith(b"PAR1"):
        return "parquet"
    if excel.is_workbook(head):
        return "excel"
    if suffix in EXCEL_SUFFIXES:
        raise InputFileError(f"{path.name}: not a valid {suffix} workbook (truncated or not Excel); "
                             "save it again from Excel as .xlsx, or export CSV")
    if suffix in PARQUET_SUFFIXES:
        raise InputFileError(f"{path.name}: not a valid Parquet file (no PAR1 header); "
                             "write it again or export CSV")
    if b"\x00" in head:
        raise InputFileError(f"{path.name}: looks like a binary file, not CSV text; "
                             f"upload one of {', '.join(SUPPORTED)}")
    return "csv"


def _encoding(path: Path) -> str:
    """'utf-8' when the start of the file decodes as UTF-8 (BOM or not), else 'latin-1'."""
    with path.open("rb") as fh:
        head = fh.read(4 << 20)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not merely a character cut at the buffer's end
            return "latin-1"
    return "utf-8"


def _read_csv(con, path: Path) -> ibis.Table:
    # Every column as text: the roles decide the types later, and IDs keep leading zeros.
    try:
        return con.read_csv(str(path), all_varchar=True, header=True,
                            encoding=_encoding(path), null_padding=True)
    except Exception as exc:  # DuckDB's sniffer errors carry no stable type
        raise InputFileError(f"{path.name}: cannot be read as CSV ({_first_line(exc)}); "
                             "check it is a text file with a header row") from exc


def _read_parquet(con, path: Path) -> ibis.Table:
    try:
        table = con.read_parquet(str(path))
        table.head(1).to_pyarrow()
    except Exception as exc:
        raise InputFileError(f"{path.name}: corrupt or unreadable Parquet file "
                             f"({_first_line(exc)}); write it again or export CSV") from exc
    return table


def list_sheets(path: str | os.PathLike) -> list[str]:
    """Names of the sheets of a workbook, in workbook order."""
    return list(excel.sheet_names(path))


def _read_excel(con, path: Path, sheet: str | None, display: str) -> tuple[ibis.Table, tuple[str, ...], str]:
    arrow, sheets, sheet = excel.read_workbook(path, sheet, display)
    name = f"sheet_{uuid.uuid4().hex}"
    con.con.register(name, arrow)  # DuckDB scans the Arrow table in place, no copy
    detected = detect_columns(con.table(name)).as_dict()
    identity = [detected[role] for role in ("customer", "invoice", "product") if detected[role]]
    as_text = excel.identity_as_text(arrow, identity)
    if as_text is not arrow:
        con.con.unregister(name)
        con.con.register(name, as_text)
    return con.table(name), sheets, sheet


def read_transactions(source: str | os.PathLike | bytes, *, name: str | None = None,
                      sheet: str | None = None, con: ibis.BaseBackend | None = None) -> Dataset:
    """Read a transactions file from a path, or from bytes (an upload, with its file ``name``).

    ``sheet`` picks an Excel sheet (default the first; ``"all"`` stacks sheets of the same
    columns). Raises InputFileError for a missing, empty, corrupt or unsupported file, and for
    a file with a header but no rows.
    """
    con = con or connect()
    tempdir = None
    if isinstance(source, (bytes, bytearray, memoryview)):
        display = Path(name or "upload.csv").name
        tempdir = tempfile.TemporaryDirectory(prefix="rfm-upload-")
        path = Path(tempdir.name) / display
        path.write_bytes(bytes(source))
    else:
        path = Path(source)
        display = name or path.name
        if not path.exists():
            raise InputFileError(f"{path}: no such file; check the path")
        if path.is_dir():
            raise InputFileError(f"{path}: is a folder, not a file")
    if path.stat().st_size == 0:
        raise InputFileError(f"{display}: the file is empty; export the transactions again")
    with path.open("rb") as fh:
        head = fh.read(8192)
    kind = _kind(Path(display), head)
    sheets: tuple[str, ...] = ()
    if kind == "csv":
        table = _read_csv(con, path)
    elif kind == "parquet":
        table = _read_parquet(con, path)
    else:
        table, sheets, sheet = _read_excel(con, path, sheet, display)
    if kind != "excel":
        sheet = None
    try:
        empty = table.head(1).to_pyarrow().num_rows == 0
    except Exception as exc:
        raise InputFileError(f"{display}: cannot be read ({_first_line(exc)})") from exc
    if empty:
        raise InputFileError(f"{display}: has a header but no rows; export the transactions again")
    return Dataset(table=table, name=display, kind=kind, sheets=sheets, sheet=sheet, _tempdir=tempdir)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
