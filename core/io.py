"""Read a transactions file (CSV/TSV/TXT, Excel .xlsx, Parquet) into DuckDB.

One loader for the CLI and the dashboard. Files are read by DuckDB where they lie (CSV and
Parquet are scanned lazily, never loaded row by row into pandas); Excel goes through
fastexcel into an Arrow table that DuckDB queries (``core.excel``). Text that is not UTF-8 (UTF-16,
cp1252, latin-1) is read through a streamed UTF-8 copy in a private temporary folder.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import re
import stat
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import ibis

from core import excel, header, limits, query
from core.columns import detect_columns
from core.errors import InputFileError, first_line
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
    path: str | None = None  # the file the table scans (a UTF-8 copy of a re-encoded text)
    delimiter: str | None = None  # a text file's delimiter: ';' hints at decimal commas, day-first
    encoding: str | None = None  # a text file's encoding as read
    lines_above_header: int = 0  # a text file's lines above its header (Excel's "sep=;")
    header_row: int = 1  # the row the header was read from (title rows above skipped)
    total_rows: int = 0  # totals / subtotal rows left out of ``table`` (core.header)
    footer_lines: int = 0  # a report's footer lines below the table, left out (core.header)
    # Keeps a temporary UTF-8 copy alive as long as the table that scans it.
    tempdir: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    @property
    def columns(self) -> list[str]:
        """The table's column names, in order."""
        return list(self.table.columns)

    def line_of(self, row: int) -> str:
        """Where the ``row``-th data row (1 = the first under the header) is, as the user's
        editor or spreadsheet numbers it: 'line 7', 'row 7 of sheet 'Data'', 'row 6'."""
        if self.kind == "csv" and self.path:
            record = row + 1 + self.lines_above_header  # 1 = the first line
            return f"line {_physical_line(Path(self.path), record, self.delimiter or ','):,}"
        if self.kind == "excel" and self.sheet and self.sheet != excel.ALL_SHEETS:
            return f"row {row + 1:,} of sheet '{self.sheet}'"
        return f"data row {row:,}"


def connect() -> ibis.BaseBackend:
    """A fresh in-process DuckDB connection.

    Statistics propagation is off: DuckDB 2.0 folds isnan(col) to false on a Parquet float
    column whose statistics carry no NaN flag, so a real NaN would pass the cleaning rules.
    """
    con = ibis.duckdb.connect()
    con.raw_sql("SET disabled_optimizers = 'statistics_propagation'")
    # DuckDB draws a progress bar on stdout for long queries: it would corrupt `-o -` output.
    con.raw_sql("SET enable_progress_bar = false")
    # Timestamps with an offset are converted to UTC (core.values); naive ones stay as they are.
    con.raw_sql("SET TimeZone = 'UTC'")
    return con


def _kind(path: Path, head: bytes) -> str:
    suffix = path.suffix.lower()
    if head.startswith(b"PAR1"):
        return "parquet"
    if excel.is_workbook(head):
        return "excel"
    if suffix in EXCEL_SUFFIXES:
        raise InputFileError(
            f"{path.name}: not a valid {suffix} workbook (truncated or not Excel); "
            "save it again from Excel as .xlsx, or export CSV"
        )
    if suffix in PARQUET_SUFFIXES:
        raise InputFileError(
            f"{path.name}: not a valid Parquet file (no PAR1 header); write it again or export CSV"
        )
    if b"\x00" in head:
        raise InputFileError(
            f"{path.name}: looks like a binary file, not CSV text; upload one of {', '.join(SUPPORTED)}"
        )
    return "csv"


# Delimiters a text export uses; the header line decides which one (see ``_csv_dialect``).
DELIMITERS = (",", ";", "\t", "|")
_HEAD_BYTES = 4 << 20
_MARK_BLOCK_BYTES = 8 << 20


def _encoding(path: Path) -> str:
    """'utf-16' (BOM), 'utf-8' when the start of the file decodes as UTF-8 (BOM or not), else
    'cp1252' (Windows Western: Excel's 'CSV' on a German or French PC), or 'latin-1' when the
    bytes are not cp1252 either."""
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not merely a character cut at the buffer's end
            try:
                head.decode("cp1252")
                return "cp1252"
            except UnicodeDecodeError:
                return "latin-1"
    return "utf-8"


def marks_in_text(path: str | os.PathLike, marks: Sequence[str]) -> tuple[str, ...]:
    """The ``marks`` (short texts: currency signs) that occur anywhere in a UTF-8 text file,
    in the order given. The bytes are searched in blocks, nothing is parsed (a block of ASCII
    only cannot hold a mark that is not): a mark absent here is in no value of the file, so
    no query over the file need look for it."""
    raw = {mark: mark.encode("utf-8") for mark in marks}
    # One byte ('$') is found by memchr, six times faster than by a compiled literal; a longer
    # mark by a compiled literal, faster than ``find`` (half the time for 'CHF').
    left = {
        mark: (functools.partial(_holds_byte, text) if len(text) == 1 else re.compile(re.escape(text)).search)
        for mark, text in raw.items()
    }
    overlap = max((len(text) for text in raw.values()), default=1) - 1  # a mark across blocks
    tail = b""
    with open(path, "rb") as fh:
        while left and (block := fh.read(_MARK_BLOCK_BYTES)):
            data = tail + block
            ascii_only = data.isascii()
            for mark in [
                mark
                for mark, found in left.items()
                if (raw[mark].isascii() or not ascii_only) and found(data)
            ]:
                del left[mark]
            tail = data[len(data) - overlap :] if overlap else b""
    return tuple(mark for mark in marks if mark not in left)


def _holds_byte(byte: bytes, data: bytes) -> bool:
    return data.find(byte) >= 0


def _utf8_copy(path: Path, encoding: str, tempdir: tempfile.TemporaryDirectory) -> Path:
    """The file re-encoded as UTF-8 (streamed), for DuckDB, which reads UTF-8 only here."""
    target = Path(tempdir.name) / (path.stem + ".utf8.csv")
    with (
        path.open("r", encoding=encoding, errors="strict", newline="") as src,
        target.open("w", encoding="utf-8", newline="") as dst,
    ):
        try:
            for block in iter(lambda: src.read(1 << 20), ""):
                dst.write(block)
        except UnicodeDecodeError as exc:
            raise InputFileError(
                f"{path.name}: is not valid {encoding} text ({exc.reason}); export it again as UTF-8 CSV"
            ) from exc
    return target


@dataclass(frozen=True)
class CsvDialect:
    """How a text file is read: its delimiter, its column names, the lines above its header."""

    delimiter: str
    columns: tuple[str, ...]
    skip: int = 0  # lines above the header: Excel's "sep=;" hint line


# Excel writes (and honours) a first line "sep=;" naming the delimiter of the lines after it.
_SEP_HINT = re.compile(r'^"?sep=(.)"?\r?\n', re.IGNORECASE)


def csv_dialect(path: Path, display: str, skip: int = 0) -> CsvDialect:
    """Delimiter and column names from the header line (of a UTF-8 file), ``skip`` lines down
    (title lines above it, core.header).

    The delimiter is the one an Excel "sep=X" first line names (that line is then skipped),
    else the candidate that splits the header into the most fields (quotes respected), so one
    broken data line can never change how the whole file is read. The header is read whole,
    however long (up to the line limit). Raises InputFileError for an empty file and for
    column names the engine cannot tell apart or too many (``check_column_names``).
    """
    head = _head_lines(path, display, 2 + skip)
    if not head.strip():
        raise InputFileError(f"{display}: the file is empty; export the transactions again")
    hint = _SEP_HINT.match(head)
    if hint:
        head = head[hint.end() :]
        candidates: tuple[str, ...] = (hint.group(1),)
    else:
        candidates = DELIMITERS
    titles = max(skip - (1 if hint else 0), 0)  # the "sep=" line counts among the lines above
    if titles:
        head = "".join(head.splitlines(keepends=True)[titles:])
    best: list[str] = []
    delimiter = candidates[0]
    for candidate in candidates:
        try:
            header = next(csv.reader(io.StringIO(head), delimiter=candidate))
        except (csv.Error, StopIteration):
            continue
        if len(header) > len(best):
            best, delimiter = header, candidate
    names = [h.strip() or f"column_{i + 1}" for i, h in enumerate(best)]
    check_column_names(names, display, "the header row")
    return CsvDialect(delimiter, tuple(names), skip=max(skip, 1 if hint else 0))


def _head_lines(path: Path, display: str, lines: int) -> str:
    """The file's first ``lines`` lines as text (the header may be longer than any buffer)."""
    head = ""
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as fh:
        while head.count("\n") < lines:
            block = fh.read(1 << 16)
            if not block:
                break
            head += block
            if len(head) > limits.MAX_LINE_BYTES:
                raise InputFileError(
                    f"{display}: the header line is longer than "
                    f"{limits.MAX_LINE_BYTES >> 20} MiB; export the file again"
                )
    return head


def check_column_names(names: list[str], display: str, where: str = "the file") -> None:
    """Refuse more columns than limits.MAX_COLUMNS, a repeated name, and names that differ only
    in case (the engine's column names are case-insensitive: 'Customer ID' is 'customer id')."""
    if len(names) > limits.MAX_COLUMNS:
        raise InputFileError(
            f"{display}: {where} has {len(names):,} columns, over the "
            f"{limits.MAX_COLUMNS:,}-column limit; export only the columns needed"
        )
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputFileError(
            f"{display}: {where} repeats the column name(s) {dupes}; "
            "rename them so each column has its own name"
        )
    by_case: dict[str, list[str]] = {}
    for name in names:
        by_case.setdefault(name.lower(), []).append(name)
    alike = [group for group in by_case.values() if len(group) > 1]
    if alike:
        raise InputFileError(
            f"{display}: {where} has column names that differ only in case "
            f"{alike[0]}, which the engine does not tell apart; rename one"
        )


# DuckDB's own line limit (its max_line_size default): files whose lines all fit are read with it.
ENGINE_LINE_BYTES = 2_000_000


def line_limit(path: Path, display: str) -> int | None:
    """The line limit to read ``path`` with: None (the engine's default) when every line is
    shorter than ENGINE_LINE_BYTES, else limits.MAX_LINE_BYTES (a larger buffer costs memory);
    InputFileError for a line longer than half of that. A line past the reader's limit would
    be dropped (the last one) or fail (any other), so it is found first: every aligned block
    of half the limit must hold a line break, which costs a few bytes read per block."""
    if _breaks_every(path, ENGINE_LINE_BYTES // 2) is None:
        return None
    half = limits.MAX_LINE_BYTES // 2
    start = _breaks_every(path, half)
    if start is not None:
        raise InputFileError(
            f"{display}: a line near byte {start:,} is longer than "
            f"{half / 2**20:g} MiB; no transaction line is that long: fix "
            "that line or export the file again"
        )
    return limits.MAX_LINE_BYTES


def _breaks_every(path: Path, block: int) -> int | None:
    """The start of the first aligned ``block`` of the file without a line break, or None."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        for start in range(0, size - block + 1, block):
            fh.seek(start)
            left = block
            while left > 0:
                data = fh.read(min(1 << 16, left))
                if b"\n" in data or b"\r" in data:
                    break
                left -= len(data)
            else:
                return start
    return None


def _read_csv(con, path: Path, display: str, skip: int = 0) -> tuple[ibis.Table, CsvDialect]:
    """Every column as text (the roles decide the types later; IDs keep leading zeros).

    The dialect is fixed from the header (no sniffing): quoted fields may hold line breaks
    (RFC 4180), and a line with too many or too few fields is an error naming its line.
    """
    dialect = csv_dialect(path, display, skip)
    longest = line_limit(path, display)
    try:
        table = con.read_csv(
            str(path),
            auto_detect=False,
            header=True,
            skip=dialect.skip,
            delim=dialect.delimiter,
            quote='"',
            escape='"',
            **({"max_line_size": longest} if longest else {}),
            columns={c: "VARCHAR" for c in dialect.columns},
        )
    except Exception as exc:  # DuckDB's reader errors carry no stable type
        raise InputFileError(read_error_message(display, exc, path, dialect.delimiter)) from exc
    return table, dialect


def read_error_message(
    name: str, exc: Exception, path: str | os.PathLike | None = None, delimiter: str = ","
) -> str:
    """A DuckDB CSV error as one line naming the file and the line: what is wrong, what to do.

    DuckDB counts records; with the file's ``path`` the record is turned into the line an
    editor shows (quoted fields with line breaks make the two differ).
    """
    text = str(exc)
    record = re.search(r"CSV Error on Line: (\d+)", text)
    if record is None:
        return f"{name}: cannot be read ({first_line(exc)}); check it is a text file with a header row"
    line = int(record.group(1))
    if path is not None:
        line = _physical_line(Path(path), line, delimiter)
    original = re.search(r"Original Line: ?(.*)", text)
    problem = re.search(r"(Expected Number of Columns: \d+ Found: \d+|Value with unterminated quote)", text)
    what = problem.group(1) if problem else first_line(exc)
    shown = f" '{original.group(1)[:80]}'" if original and original.group(1) else ""
    return f"{name}: line {line}{shown} is broken ({what}); fix that line or export the file again"


def _physical_line(path: Path, record: int, delimiter: str) -> int:
    """The line on which the ``record``-th record (1 = the header) of a UTF-8 CSV starts."""
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            for _ in range(record - 1):
                next(reader)
        except (StopIteration, csv.Error):
            return record
        return reader.line_num + 1


def _read_parquet(con, path: Path) -> tuple[ibis.Table, bool]:
    """The file's table, and whether it has no rows (its first row is read: a corrupt file fails
    here). Its columns are checked from its footer before the engine reads it."""
    try:
        leaves, names = _parquet_columns(con, path)
    except Exception as exc:
        raise InputFileError(
            f"{path.name}: corrupt or unreadable Parquet file "
            f"({first_line(exc)}); write it again or export CSV"
        ) from exc
    if leaves > limits.MAX_COLUMNS:
        check_column_names([""] * leaves, path.name)
    check_column_names(names, path.name)
    try:
        table = con.read_parquet(str(path))
        empty = query.arrow(table.head(1)).num_rows == 0
    except Exception as exc:
        raise InputFileError(
            f"{path.name}: corrupt or unreadable Parquet file "
            f"({first_line(exc)}); write it again or export CSV"
        ) from exc
    return table, empty


def _parquet_columns(con, path: Path) -> tuple[int, list[str]]:
    """From a Parquet file's footer: how many leaf columns the engine would read, and the
    top-level column names (none past limits.MAX_COLUMNS leaves). DuckDB's parquet_schema lists
    the schema's elements depth first, each group with its number of children."""
    quoted = "'" + str(path).replace("'", "''") + "'"
    elements = con.raw_sql(f"SELECT name, num_children FROM parquet_schema({quoted})").fetchall()
    leaves = sum(1 for _, children in elements[1:] if not children)
    if leaves > limits.MAX_COLUMNS:
        return leaves, []
    names, pending = [], [elements[0][1]]  # per open group (the root first): children to come
    for name, children in elements[1:]:
        while pending[-1] == 0:
            pending.pop()
        if len(pending) == 1:
            names.append(name)
        pending[-1] -= 1
        if children:
            pending.append(children)
    return leaves, names


def check_plain_file(path: str | os.PathLike) -> None:
    """Refuse what is not a plain file: a symbolic link, a FIFO, device or folder, and a file
    with other hard links. A folder that is served to visitors (the server data folder) takes
    only these, or a link in it would show any file the server can read (/etc/passwd)."""
    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise InputFileError(f"{path.name}: no such file on the server") from None
    if stat.S_ISLNK(info.st_mode):
        raise InputFileError(
            f"{path.name}: is a symbolic link; the data folder takes plain files only: copy the file in"
        )
    if not stat.S_ISREG(info.st_mode):
        raise InputFileError(f"{path.name}: is not a regular file; the data folder takes plain files only")
    if info.st_nlink > 1:
        raise InputFileError(
            f"{path.name}: has other hard links; the data folder takes plain files only: copy the file in"
        )


def list_sheets(path: str | os.PathLike) -> list[str]:
    """Names of the sheets of a workbook, in workbook order."""
    return list(excel.sheet_names(path))


def _read_excel(
    con, path: Path, sheet: str | None, display: str, header_row: int | None, workbooks: excel.WorkbookReader
) -> tuple[ibis.Table, tuple[str, ...], str, int, bool]:
    """The sheet, the workbook's sheets, the sheet read, its header row (core.header: title
    rows above it skipped) and whether its last rows hold a totals row."""

    def identity_columns(arrow) -> list[str]:  # once per parse (ui.workbooks keeps the result)
        check_column_names(arrow.column_names, display, "the sheet")
        raw = _registered(con, arrow)
        detected = detect_columns(raw).as_dict()
        con.con.unregister(raw.get_name())
        return [name for role in ("customer", "invoice", "product") if (name := detected[role])]

    arrow, sheets, sheet = workbooks(path, sheet, display, identity_columns)
    first = [list(r.values()) for r in arrow.slice(0, header.SCAN_ROWS).to_pylist()]
    row = header.table_header_row(arrow.column_names, first, header_row, display)
    arrow = header.promote_header(arrow, row)
    tail = [list(r.values()) for r in arrow.slice(max(0, arrow.num_rows - 50)).to_pylist()]
    return _registered(con, arrow), sheets, sheet, row, header.may_hold_totals(tail)


def _registered(con, arrow) -> ibis.Table:
    """An Arrow table as a DuckDB view: DuckDB scans it in place, no copy."""
    name = f"sheet_{uuid.uuid4().hex}"
    con.con.register(name, arrow)
    return con.table(name)


def read_transactions(
    source: str | os.PathLike,
    *,
    name: str | None = None,
    sheet: str | None = None,
    con: ibis.BaseBackend | None = None,
    header_row: int | None = None,
    workbooks: excel.WorkbookReader | None = None,
) -> Dataset:
    """Read a transactions file from a path (``name``: how messages call it, default its name).

    ``sheet`` picks an Excel sheet (default the first; ``"all"`` stacks sheets of the same
    columns). Text files in UTF-16, cp1252 or latin-1 are read through a UTF-8 copy. Raises
    InputFileError for a missing, empty, corrupt or unsupported file, and for a file with a
    header but no rows. ``header_row`` (1-based) says where the header is (default: found by
    core.header, title rows above it skipped); totals rows are left out and counted.
    ``workbooks`` reads a workbook (default ``core.excel.read_workbook``: from the file, each
    time; the dashboard passes one that keeps its last reads, ui.workbooks).
    """
    con = con or connect()
    path = Path(source)
    display = Path(name).name if name else path.name
    if not path.exists():
        raise InputFileError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, not a file")
    if path.stat().st_size == 0:
        raise InputFileError(f"{display}: the file is empty; export the transactions again")
    with path.open("rb") as fh:
        head = fh.read(8192)
    encoding = None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 ("Unicode Text" from Excel)
        encoding = "utf-16"
    kind = "csv" if encoding else _kind(Path(display), head)
    sheets: tuple[str, ...] = ()
    tempdir = None
    delimiter = None
    above = 0
    scanned = path
    row, totals, footer_lines = 1, False, 0
    if kind == "csv":
        encoding = encoding or _encoding(path)
        if encoding != "utf-8":
            tempdir = tempfile.TemporaryDirectory(prefix="rfm-text-")
            scanned = _utf8_copy(path, encoding, tempdir)
        row, skip = header.csv_header_line(scanned, display, header_row)
        footer = header.csv_footer_start(scanned)
        if footer is not None:  # a report's footer lines (eBay): read the table above them
            footer_lines = header.footer_line_count(scanned, footer)
            tempdir = tempdir or tempfile.TemporaryDirectory(prefix="rfm-text-")
            scanned = header.without_footer(scanned, footer, tempdir.name)
        table, dialect = _read_csv(con, scanned, display, skip)
        delimiter, above = dialect.delimiter, dialect.skip
        totals = header.may_hold_totals(header.csv_tail_rows(scanned, delimiter))
    elif kind == "parquet":
        header.check_parquet_header(header_row, display)
        table, empty = _read_parquet(con, path)
    else:
        table, sheets, sheet, row, totals = _read_excel(
            con, path, sheet, display, header_row, workbooks or excel.read_workbook
        )
    total_rows = 0
    if totals:  # only a file that ends on a totals row pays for the count
        flagged = header.total_row(table)
        total_rows = int(query.first_row(table.aggregate(n=flagged.sum()))["n"] or 0)
        table = table.filter(~flagged)
    if kind != "excel":
        sheet = None
    if kind != "parquet":  # (a Parquet file's first row was read above)
        try:
            empty = query.arrow(table.head(1)).num_rows == 0
        except Exception as exc:
            raise InputFileError(
                read_error_message(display, exc, scanned if kind == "csv" else None, delimiter or ",")
            ) from exc
    if empty:
        raise InputFileError(f"{display}: has a header but no rows; export the transactions again")
    return Dataset(
        table=table,
        name=display,
        kind=kind,
        sheets=sheets,
        sheet=sheet,
        path=str(scanned),
        delimiter=delimiter,
        encoding=encoding,
        lines_above_header=above,
        header_row=row,
        total_rows=total_rows,
        footer_lines=footer_lines,
        tempdir=tempdir,
    )
