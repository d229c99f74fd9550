"""Read Excel workbooks (.xlsx, .xlsm, .xlsb, .xls, .ods) into Arrow through fastexcel.

fastexcel is the Rust calamine reader that writes Arrow columns directly: no Python object
per cell. A column's type is decided from all its cells (``schema_sample_rows=None``):
numbers become float64, Excel date cells timestamps, and a column mixing numbers and text
(``536365`` and ``C536379``) becomes text, each number written without a spurious ``.0``.
Text dates stay text: the column date rules of ``core.columns`` parse them.

A workbook is checked before any sheet is parsed, because calamine holds a whole sheet in
memory: the zip's central directory (entry count, declared sizes), then each part that is
about to be read is inflated as a stream with a byte cap, counting its rows (and its cells,
where its size leaves room for more than the bound) and reading its ``<dimension ref=...>``;
the declared sizes alone are not trusted (a bomb can lie about them). Over a bound, or
broken, the file is refused with an InputFileError.
"""
from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pyarrow as pa
import pyarrow.compute as pc
from isal import isal_zlib

from core import limits
from core.errors import InputFileError

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
ALL_SHEETS = "all"  # the sheet choice that stacks every sheet (same columns required)

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (BIFF in an OLE2 compound file)

# Bounds, checked before parsing. Excel's own sheet limit is 1,048,576 rows (header included).
MAX_ROWS = 1_048_576
# Cells calamine may hold at once (about 32 bytes each plus text): 1M lines of 24 columns.
MAX_CELLS = 25_000_000
MIN_XML_CELL_BYTES = 14  # <c><v>1</></c>: the shortest XML of a cell with a value
MAX_SHEET_XML_BYTES = 1 << 30  # one inflated sheet part (a 1M-line, 8-column sheet is ~0.2 GiB)
MAX_SHARED_STRINGS_BYTES = 512 << 20
MAX_SMALL_PART_BYTES = 16 << 20  # workbook.xml and its relationships
MAX_DECLARED_BYTES = 2 << 30  # sum of every entry's declared size (central directory)
MAX_ZIP_ENTRIES = 10_000
MAX_XLS_BYTES = 256 << 20  # .xls is not compressed: memory follows the file size

_CHUNK = 4 << 20
# A sheet part this large (inflated) is parsed in pieces, one per core, in parallel (see
# _Pieces): calamine parses a sheet on one core, and 1M lines take seconds.
SPLIT_MIN_BYTES = 48 << 20
# The last workbooks read, by (file identity, sheet), with their identity columns as text: the
# dashboard reads one upload for its columns, its preview and RFM, and a 1M-line sheet takes
# seconds to parse. Arrow tables are immutable, so sharing one is safe; two entries bound the
# memory held.
_RECENT: dict[tuple, tuple[pa.Table, tuple[str, ...], str]] = {}
_RECENT_LOCK = threading.Lock()
_RECENT_ENTRIES = 2
_AHEAD: dict[tuple, Future] = {}  # reads started by read_ahead, by (file identity, sheet, display)
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="\$?([A-Za-z]+)\$?(\d+)(?::\$?([A-Za-z]+)\$?(\d+))?"')
_ROOT_PREFIX = re.compile(rb"<(\w+):worksheet[\s>]")
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


@dataclass(frozen=True)
class PartStats:
    """What streaming one inflated part found: its size, and its row and cell elements."""

    inflated_bytes: int
    rows: int
    cells: int


def is_workbook(head: bytes) -> bool:
    """True when the first bytes are a zip (xlsx/xlsm/xlsb/ods) or an OLE2 file (xls)."""
    return head.startswith(ZIP_MAGIC) or head.startswith(OLE_MAGIC)


def sheet_names(path: str | os.PathLike, display: str | None = None) -> tuple[str, ...]:
    """The workbook's sheet names in order; the workbook is checked first (see module doc)."""
    path = Path(path)
    display = display or path.name
    if PARSE_IN_CHILD:
        return _in_child(path, display, {"names": True})[1]
    _check_container(path, display)
    return tuple(_open(path, display).sheet_names)


def read_workbook(path: str | Path, sheet: str | None = None, display: str | None = None,
                  text_columns: Callable[[pa.Table], Iterable[str]] | None = None,
                  ) -> tuple[pa.Table, tuple[str, ...], str]:
    """One sheet (default the first) or ``"all"`` sheets stacked, as an Arrow table.

    ``text_columns(table)`` names the identity columns to read as text (``identity_as_text``).
    Returns (table, the workbook's sheet names, the sheet read); the last reads are kept, so
    reading the same file again returns the same table at once. Raises InputFileError for a
    file that is not a workbook, is broken, or exceeds a bound, for an unknown sheet, an
    empty sheet, and sheets of different columns when stacking.
    """
    path = Path(path)
    display = display or path.name
    identity = _identity(path)
    with _RECENT_LOCK:
        if (identity, sheet) in _RECENT:
            return _RECENT[(identity, sheet)]
        ahead = _AHEAD.pop((identity, sheet, display), None)
    table, sheets, chosen = ahead.result() if ahead else read_isolated(path, sheet, display)
    if text_columns is not None:
        table = identity_as_text(table, list(text_columns(table)))
    result = (table, sheets, chosen)
    with _RECENT_LOCK:
        # by the sheet asked for and the sheet read: None (the first) is then found by name
        _RECENT[(identity, sheet)] = _RECENT[(identity, result[2])] = result
        while len(_RECENT) > 2 * _RECENT_ENTRIES:
            _RECENT.pop(next(iter(_RECENT)))
    return result


def read_ahead(path: str | Path, sheet: str | None = None, display: str | None = None) -> None:
    """Start reading a workbook in a background thread, for the next ``read_workbook`` of the
    same file, sheet and display name, which then waits for it (and raises its errors).

    The Rust reader releases the GIL: the command line starts the read before importing the
    engine, so the two overlap. Not a workbook (by its first bytes), or unreadable: nothing.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            if not is_workbook(fh.read(8)):
                return
        key = (_identity(path), sheet, display or path.name)
    except OSError:
        return
    future: Future = Future()

    def read() -> None:
        try:
            future.set_result(read_isolated(path, sheet, key[2]))
        except BaseException as exc:  # handed to the reader that waits for it
            future.set_exception(exc)

    with _RECENT_LOCK:
        _AHEAD[key] = future
    threading.Thread(target=read, name="read-ahead", daemon=True).start()


def _identity(path: Path) -> tuple:
    """What tells one version of a file from another: its real path, inode, size and mtime."""
    stat = path.stat()
    return (os.path.realpath(path), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def read_isolated(path: Path, sheet: str | None, display: str
                  ) -> tuple[pa.Table, tuple[str, ...], str]:
    """``_read_workbook`` (check, then parse), in a child process when PARSE_IN_CHILD."""
    if not PARSE_IN_CHILD:
        return _read_workbook(path, sheet, display)
    return _in_child(path, display, {"sheet": sheet})


def _read_workbook(path: Path, sheet: str | None, display: str) -> tuple[pa.Table, tuple[str, ...], str]:
    flavour = _check_container(path, display)
    reader = _open(path, display)
    sheets = tuple(reader.sheet_names)
    if not sheets:
        raise InputFileError(f"{display}: the workbook has no sheets")
    chosen = sheets[0] if sheet is None else sheet
    if chosen != ALL_SHEETS and chosen not in sheets:
        raise InputFileError(f"{display}: no sheet '{chosen}'; sheets are {list(sheets)} "
                             f"(or '{ALL_SHEETS}' to stack them)")
    wanted = sheets if chosen == ALL_SHEETS else (chosen,)
    pool = ThreadPoolExecutor(max_workers=_workers(), thread_name_prefix="sheet-piece")
    try:
        with tempfile.TemporaryDirectory(prefix="rfm-sheet-") as scratch:
            split = {}
            if flavour in ("xlsx", "xlsb"):
                split = _check_sheet_parts(path, display, flavour, wanted, Path(scratch), pool)
            tables = [(name in split and split[name].finish()) or _load_sheet(reader, name, display)
                      for name in wanted]
    finally:  # a refused sheet does not wait for a piece being parsed
        pool.shutdown(wait=False, cancel_futures=True)
    first = tables[0].column_names
    for name, table in zip(wanted, tables):
        if table.column_names != first:
            raise InputFileError(
                f"{display}: sheet '{name}' has columns {table.column_names}, not the first "
                f"sheet's {first}; read one sheet at a time with --sheet NAME")
    table = tables[0] if len(tables) == 1 else pa.concat_tables(_as_text_where_mixed(tables),
                                                                 promote_options="permissive")
    return table, sheets, chosen


def _as_text_where_mixed(tables: list[pa.Table]) -> list[pa.Table]:
    """Sheets to stack: a column that is text in one sheet and not in another becomes text in
    all (one sheet's invoices all numbers, the next's with a 'C536379')."""
    for index, name in enumerate(tables[0].column_names):
        types = {t.schema.field(index).type for t in tables}
        if len(types) > 1 and any(pa.types.is_string(ty) or pa.types.is_large_string(ty) for ty in types):
            tables = [t.set_column(index, name, _any_text(t.column(index))) for t in tables]
    return tables


def _any_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        return _number_text(column)
    return pc.cast(column, pa.string())


def identity_as_text(table: pa.Table, columns: list[str]) -> pa.Table:
    """The named numeric columns as text, integral values without '.0' (12347.0 -> '12347').

    Identity columns (customer, invoice, product) are text: an Excel sheet stores an ID as a
    number, and a number is not an ID (no arithmetic, and '00017' must stay as written).
    """
    for name in columns:
        index = table.column_names.index(name)
        column = table.column(index)
        if not (pa.types.is_floating(column.type) or pa.types.is_integer(column.type)):
            continue
        table = table.set_column(index, name, _number_text(column))
    return table


def _number_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_integer(column.type):
        return pc.cast(column, pa.string())
    finite = pc.is_finite(column)
    integral = pc.and_(finite, pc.equal(pc.floor(column), column))
    as_int = pc.cast(pc.if_else(integral, column, 0.0), pa.int64(), safe=False)
    text = pc.cast(as_int, pa.string())
    if pc.all(pc.or_(integral, pc.invert(finite))).as_py() is False:  # some have a fraction
        text = pc.if_else(integral, text, pc.cast(column, pa.string()))
    return pc.if_else(finite, text, pa.scalar(None, pa.string()))


# -- reading ----------------------------------------------------------------------------------

def _open(path: Path, display: str):
    import fastexcel

    try:
        return fastexcel.read_excel(path)
    except fastexcel.FastExcelError as exc:
        raise InputFileError(f"{display}: not a readable workbook ({_reason(exc)}); "
                             "save it again from Excel, or export CSV") from exc


def _load_sheet(reader, name: str, display: str) -> pa.Table:
    import fastexcel

    try:
        batch = _parse_sheet(reader, name, last=True)
    except fastexcel.FastExcelError as exc:
        raise InputFileError(f"{display}: sheet '{name}' cannot be read ({_reason(exc)}); "
                             "save the workbook again from Excel, or export the sheet as CSV") from exc
    if batch.num_columns == 0 or batch.num_rows == 0:
        raise InputFileError(f"{display}: sheet '{name}' is empty")
    return _named(pa.Table.from_batches([batch]))


def _parse_sheet(reader, name: str, *, last: bool) -> pa.RecordBatch:
    """The sheet as Arrow: each column's type from all its cells; whitespace-only rows at the
    end dropped (``last``: only at the sheet's real end, not at the end of a piece)."""
    return reader.load_sheet(name, schema_sample_rows=None, dtype_coercion="coerce",
                             skip_whitespace_tail_rows=last, eager=True)


def _named(table: pa.Table) -> pa.Table:
    return table.rename_columns([_header(i, c) for i, c in enumerate(table.column_names)])


def _header(index: int, name: str) -> str:
    if name.startswith("__UNNAMED__") or not name.strip():
        return f"column_{index + 1}"
    return name.strip()


def _reason(exc: Exception) -> str:
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    return lines[0][:200] if lines else type(exc).__name__


# -- a large sheet parsed in pieces -----------------------------------------------------------
#
# calamine parses one sheet on one core. A large .xlsx sheet is cut between two rows into one
# piece per core while the pre-parse check inflates it: each piece is a small uncompressed
# workbook (the original's parts, the sheet's rows from the cut on, and a copy of its header
# row numbered just above them), parsed as soon as it is complete, in parallel (fastexcel
# releases the GIL). The result is the same table as one parse, or none: the sheet is then
# parsed whole. To be the same table: a cut falls only between two rows numbered one after
# the other; a piece's table has at most the rows between its cuts (rows out of order would
# stretch it), and where its last rows hold no value (formatted empty cells) they are added
# as empty rows, as the whole sheet has them; the pieces' column names must agree, and their
# types (a column's type is decided from all its cells in each piece: the same in every
# piece means the same over the whole sheet; a piece where the column has no value takes
# the others' type).

_SHEET_DATA = re.compile(rb"<(\w+:)?sheetData\b[^>]*?(/?)>")
_ROW_NUMBER = re.compile(rb'\sr="(\d+)"')
_CELL_REF = re.compile(rb'(<(?:\w+:)?c\b[^>]*?\sr=")([A-Za-z]{1,3})\d+(")')
_DIMENSION_ELEMENT = re.compile(rb"<(?:\w+:)?dimension\b[^>]*/>")
_EMPTY_SHEET = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns='
                b'"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>')
# Parts a piece never needs (pictures, embedded files, printer settings): not copied.
_UNNEEDED = ("xl/media/", "xl/embeddings/", "xl/printerSettings/", "docProps/thumbnail")
_MAX_COPIED_BYTES = 64 << 20  # what a piece may copy besides the sheet and its shared strings
_HOLD = 512  # bytes held back at a chunk's end: a row's start tag may continue in the next
_MAX_CUT_SEARCH = 16 << 20  # past its target, a cut not found by then is given up


# Inflating and cutting a part takes about this share of the time parsing it takes (1.1 s
# against 5.6 s for 1M lines): the earlier pieces start parsing while the check goes on.
_CHECK_SHARE = 0.2


def _shares(count: int) -> list[float]:
    """Each piece's share of the sheet, so that the pieces finish together: piece k starts
    when the check has read it (the last when the check ends), on a core of its own."""
    q = 1 / (1 + _CHECK_SHARE)
    total = (1 + _CHECK_SHARE) / (1 + sum(q ** k for k in range(1, count)))
    return [total * q ** (k + 1) for k in range(count - 1)] + [total - _CHECK_SHARE]


def _workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _splits(info, infos, sheet_parts: Iterable[str], scratch: Path) -> bool:
    """Whether a sheet part is large enough to parse in pieces, with the cores and the disk,
    and the parts each piece copies (all but the sheets and the unneeded) are small."""
    if info is None or info.file_size < SPLIT_MIN_BYTES or _workers() < 2:
        return False
    sheet_parts = set(sheet_parts)
    copied = sum(i.file_size for i in infos if i.filename not in sheet_parts
                 and not i.filename.startswith(_UNNEEDED)
                 and not i.filename.endswith("sharedStrings.xml"))
    return copied <= _MAX_COPIED_BYTES and shutil.disk_usage(scratch).free > 2 * info.file_size


class _StoredZip:
    """A zip of uncompressed entries, written as a stream (a piece): each entry's CRC is
    computed by ISA-L as it is written, then set in its local header. Entries and the file
    stay under 4 GiB (a sheet part is at most MAX_SHEET_XML_BYTES): no ZIP64."""

    _LOCAL = struct.Struct("<IHHHHHIIIHH")
    _CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
    _END = struct.Struct("<IHHHHIIH")
    _DATE = 0x21  # 1980-01-01

    def __init__(self, path: Path):
        self.fh = path.open("wb")
        self.entries: list[tuple[bytes, int, int, int]] = []  # name, offset, crc, size
        self.name, self.start, self.crc, self.size = b"", 0, 0, 0

    def begin(self, name: str) -> None:
        self.name, self.start, self.crc, self.size = name.encode(), self.fh.tell(), 0, 0
        self.fh.write(self._LOCAL.pack(0x04034B50, 20, 0x800, 0, 0, self._DATE, 0, 0, 0,
                                       len(self.name), 0) + self.name)

    def write(self, data) -> None:
        self.crc = isal_zlib.crc32(data, self.crc)
        self.size += len(data)
        self.fh.write(data)

    def end(self) -> None:
        if self.start + self.size >= 1 << 32:
            raise OSError("a piece over 4 GiB")
        end = self.fh.tell()
        self.fh.seek(self.start + 14)
        self.fh.write(struct.pack("<III", self.crc, self.size, self.size))
        self.fh.seek(end)
        self.entries.append((self.name, self.start, self.crc, self.size))

    def close(self) -> None:
        if self.fh.closed:
            return
        try:
            directory = self.fh.tell()
            for name, offset, crc, size in self.entries:
                self.fh.write(self._CENTRAL.pack(0x02014B50, 20, 20, 0x800, 0, 0, self._DATE, crc,
                                                 size, size, len(name), 0, 0, 0, 0, 0, offset) + name)
            self.fh.write(self._END.pack(0x06054B50, 0, 0, len(self.entries), len(self.entries),
                                         self.fh.tell() - directory, directory, 0))
        finally:
            self.fh.close()


class _Pieces:
    """Receives a sheet part's XML as the check inflates it (``extend``) and writes it into
    piece workbooks, each parsed in ``pool`` once complete. ``early_bytes``: a piece at most
    this large may be parsed before the check of the whole part is over (its cells are then
    bounded by its size); the others wait for ``finish``."""

    def __init__(self, path: Path, sheet: str, part: str, sheet_parts: Iterable[str],
                 scratch: Path, count: int, declared: int, early_bytes: int,
                 pool: ThreadPoolExecutor, name: str = "piece"):
        self.path, self.sheet, self.part, self.scratch, self.name = path, sheet, part, scratch, name
        self.sheet_parts = set(sheet_parts)
        cut, self.targets = 0.0, []
        for share in _shares(count)[:-1]:
            cut += share
            self.targets.append(int(declared * cut))
        self.early_bytes, self.pool = early_bytes, pool
        self.failed = False
        self.head: bytes | None = None  # the sheet's start, once _start has read it
        self.header = self.row_tag = self.close = b""  # set by _start with head
        self.offset = 0       # the sheet XML written so far: where ``carry`` starts
        self.carry = b""      # received, not written yet
        self.last_row: int | None = None  # the number of the last complete row start tag written
        self.pieces: list[tuple[Path, int, Future | None]] = []  # file, first row, parse
        self.waiting: list[int] = []  # pieces complete, to parse after the check
        self.zip: _StoredZip | None = None
        self.piece_bytes = 0

    # receiving --------------------------------------------------------------------------
    def extend(self, data: bytes) -> None:
        if self.failed:
            return
        try:
            at = 0
            if self.head is None:
                start = self._start(data)
                if start is None:
                    return self.fail()
                at = start
            self._advance(data, at)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            self.fail()  # the scratch disk, or a part not copied: the sheet is parsed whole

    def _start(self, data: bytes) -> int | None:
        """Piece 0 opened with the sheet's start up to its first row (the header); where the
        rest of ``data`` starts, or None to give up."""
        opened = _SHEET_DATA.search(data, 0, _SPLIT_HEAD)
        if opened is None or opened.group(2):
            return None
        prefix = opened.group(1) or b""
        root = _ROOT_PREFIX.search(data, 0, 4096)
        self.row_tag = b"<" + prefix + b"row"
        end_tag = b"</" + prefix + b"row>"
        header_end = data.find(end_tag, opened.end(), _SPLIT_HEAD)
        if not data.startswith(self.row_tag, opened.end()) or header_end < 0:
            return None  # the first row is empty (self-closing), or too long
        header_end += len(end_tag)
        self.header = data[opened.end():header_end]
        number = _row_number(self.header, 0, self.row_tag)
        if number is None:
            return None
        self.head = _DIMENSION_ELEMENT.sub(b"", data[:opened.end()])
        self.close = (b"</" + prefix + b"sheetData></" + (root.group(1) + b":" if root else b"")
                      + b"worksheet>")
        self._open(self.header, number + 1)
        self.last_row, self.offset = number, header_end
        return header_end

    def _advance(self, data: bytes, at: int) -> None:
        """Write ``data[at:]`` (after what is carried), cutting where a target is passed. Bytes
        are written from ``data`` itself (no copies), except near a cut."""
        buf = data
        if self.carry:
            if self._due(len(self.carry) + len(data) - at):
                buf, at = self.carry + data[at:], 0  # a cut may fall on the seam
            else:
                self._write(self.carry, 0, len(self.carry))
        self.carry = b""
        while self._due(len(buf) - at):
            cut = self._find_cut(buf, at + max(0, self.target - self.offset))
            if cut is None:
                if self.offset + len(buf) - at - self.target > _MAX_CUT_SEARCH:
                    return self.fail()
                break
            position, number = cut
            self._write(buf, at, position)
            at = position
            self._complete(last=False)
            self._open(_numbered(self.header, number - 1), number)
        end = max(at, len(buf) - _HOLD)
        self._write(buf, at, end)
        self.carry = buf[end:]

    def _due(self, pending: int) -> bool:
        """Whether the ``pending`` bytes from ``offset`` on pass the next cut's target."""
        return len(self.pieces) <= len(self.targets) and self.offset + pending > self.target

    @property
    def target(self) -> int:
        return self.targets[len(self.pieces) - 1]

    def _find_cut(self, buf: bytes, start: int) -> tuple[int, int] | None:
        """The first complete row start tag at or after ``start`` numbered one after the row
        before it: (its offset in buf, its number)."""
        before = buf.rfind(self.row_tag, 0, start)
        previous = _row_number(buf, before, self.row_tag) if before >= 0 else self.last_row
        position = buf.find(self.row_tag, start)
        while position >= 0 and buf.find(b">", position) >= 0:
            number = _row_number(buf, position, self.row_tag)
            if number is not None and previous is not None and number == previous + 1:
                return position, number
            previous = number
            position = buf.find(self.row_tag, position + 1)
        return None

    def _write(self, buf: bytes, start: int, end: int) -> None:
        """``buf[start:end]`` into the open piece; the last complete row start tag in it is
        noted (``last_row``)."""
        if end <= start:
            return
        self.zip.write(memoryview(buf)[start:end])
        self.piece_bytes += end - start
        self.offset += end - start
        tag = buf.rfind(self.row_tag, start, end)
        while tag >= 0 and buf.find(b">", tag, end) < 0:  # cut at the end: the one before
            tag = buf.rfind(self.row_tag, start, tag)
        if tag >= 0:
            self.last_row = _row_number(buf, tag, self.row_tag)

    # pieces -----------------------------------------------------------------------------
    def _open(self, header: bytes, first_row: int) -> None:
        index = len(self.pieces)
        piece = self.scratch / f"{self.name}-{index}.xlsx"
        self.zip = _StoredZip(piece)
        with zipfile.ZipFile(self.path) as source:
            for info in source.infolist():
                name = info.filename
                if name == self.part or info.is_dir() or name.startswith(_UNNEEDED):
                    continue
                self.zip.begin(name)
                if name in self.sheet_parts:
                    self.zip.write(_EMPTY_SHEET)
                else:
                    with source.open(info) as src:
                        while chunk := src.read(_CHUNK):
                            self.zip.write(chunk)
                self.zip.end()
        self.zip.begin(self.part)
        self.zip.write(self.head)
        self.zip.write(header)
        self.pieces.append((piece, first_row, None))
        self.piece_bytes = 0

    def _complete(self, last: bool) -> None:
        self.zip.write(b"" if last else self.close)
        self.zip.end()
        self.zip.close()
        index = len(self.pieces) - 1
        if not last and self.piece_bytes <= self.early_bytes:
            self._parse(index, last)
        else:
            self.waiting.append(index)

    def _parse(self, index: int, last: bool) -> None:
        piece, first_row, _ = self.pieces[index]
        self.pieces[index] = (piece, first_row, self.pool.submit(_parse_piece, piece, self.sheet, last))

    def fail(self) -> None:
        self.failed = True
        if self.zip is not None:
            self.zip.close()

    def finish(self) -> pa.Table | None:
        """After the check passed: the last piece completed, every piece parsed, and the
        pieces as one table (None: parse the sheet whole)."""
        if self.failed or self.head is None:
            self.fail()
            return None
        try:
            self._write(self.carry, 0, len(self.carry))
            self._complete(last=True)
        except (OSError, ValueError):
            self.fail()
            return None
        for index in self.waiting:
            self._parse(index, index == len(self.pieces) - 1)
        import fastexcel

        batches = []
        for index, (piece, first_row, parse) in enumerate(self.pieces):
            try:
                batch = parse.result()
            except fastexcel.FastExcelError:
                return None  # parsed whole instead, which reports the error as it is
            finally:
                piece.unlink(missing_ok=True)
            last = index == len(self.pieces) - 1
            rows = (self.last_row + 1 if last else self.pieces[index + 1][1]) - first_row
            if batch.num_rows > rows or (index and not batch.num_rows):
                return None  # rows out of order; or a piece after the first with no value
            if batch.num_rows < rows and not last:  # its last rows hold no value (a row
                batch = _with_empty_rows(batch, rows - batch.num_rows)  # with a later one)
            batches.append(batch)
        return _combine(batches)


_SPLIT_HEAD = 4 << 20  # the sheet's start (up to its first row) must be in its first chunk


def _parse_piece(piece: Path, sheet: str, last: bool) -> pa.RecordBatch:
    import fastexcel

    return _parse_sheet(fastexcel.read_excel(piece), sheet, last=last)


def _row_number(data: bytes, position: int, row_tag: bytes) -> int | None:
    """The r="N" of the row start tag at ``position`` (None: not a row tag, or no number)."""
    after = position + len(row_tag)
    if data[after:after + 1] not in (b" ", b"\t", b"\n", b"\r"):
        return None
    end = data.find(b">", after)
    match = _ROW_NUMBER.search(data, after, end) if end >= 0 else None
    return int(match.group(1)) if match else None


def _with_empty_rows(batch: pa.RecordBatch, count: int) -> pa.RecordBatch:
    """``batch`` and ``count`` rows of nulls: a piece's last rows that hold no value, which
    the whole sheet has as empty rows (a later row holds values)."""
    columns = [pa.concat_arrays([column, pa.nulls(count, column.type)]) for column in batch.columns]
    schema = pa.schema([field.with_nullable(True) for field in batch.schema])
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _numbered(header: bytes, row: int) -> bytes:
    """The header row element moved to row ``row`` (its r and its cells' references)."""
    number = str(row).encode()
    header = _ROW_NUMBER.sub(b' r="' + number + b'"', header, count=1)
    return _CELL_REF.sub(lambda m: m.group(1) + m.group(2) + number + m.group(3), header)


def _combine(batches: list[pa.RecordBatch]) -> pa.Table | None:
    """The pieces as one table, or None when their columns disagree: names, or types (a
    column with no value in a piece, which the reader types as text, takes the others' type)."""
    names = batches[0].schema.names
    if any(b.schema.names != names for b in batches):
        return None
    batches = [b for b in batches if b.num_rows]  # a piece of no row has no say in the types
    if not batches:
        return None
    fields = []
    for index, name in enumerate(names):
        valued = [b for b in batches if b.column(index).null_count < b.num_rows]
        types = {b.schema.field(index).type for b in valued or batches}
        if len(types) > 1:
            return None
        column_type = types.pop()
        nullable = any(b.schema.field(index).nullable or b.schema.field(index).type != column_type
                       for b in batches)
        fields.append(pa.field(name, column_type, nullable=nullable))
    schema = pa.schema(fields)
    tables = [pa.Table.from_batches([b]).cast(schema) for b in batches]
    return _named(pa.concat_tables(tables))


# -- checks before parsing --------------------------------------------------------------------

def _check_container(path: Path, display: str) -> str:
    """The workbook's flavour ('xlsx', 'xlsb', 'ods', 'xls') after the container checks."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(OLE_MAGIC):
        size = path.stat().st_size
        if size > MAX_XLS_BYTES:
            raise InputFileError(f"{display}: an .xls file of {size / 2**20:,.0f} MiB is over the "
                                 f"{MAX_XLS_BYTES >> 20} MiB limit; save it as .xlsx or export CSV")
        return "xls"
    if not head.startswith(ZIP_MAGIC):
        raise InputFileError(f"{display}: not an Excel workbook (truncated, or another kind of "
                             "file); save it again from Excel as .xlsx, or export CSV")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        kind = Path(display).suffix.lower() if Path(display).suffix.lower() in EXCEL_SUFFIXES else "Excel"
        raise InputFileError(f"{display}: not a valid {kind} file (truncated or corrupt zip); "
                             "save it again from Excel") from exc
    if len(infos) > MAX_ZIP_ENTRIES:
        raise InputFileError(f"{display}: the workbook holds {len(infos):,} parts, over the "
                             f"{MAX_ZIP_ENTRIES:,} limit; save it again from Excel or export CSV")
    declared = sum(info.file_size for info in infos)
    if declared > MAX_DECLARED_BYTES:
        raise InputFileError(
            f"{display}: the workbook unpacks to {declared / 2**20:,.0f} MiB, over the "
            f"{MAX_DECLARED_BYTES >> 20:,} MiB limit; export the sheet as CSV or Parquet")
    names = {info.filename for info in infos}
    if "xl/workbook.xml" in names:
        flavour = "xlsx"
    elif "xl/workbook.bin" in names:
        flavour = "xlsb"
    elif "content.xml" in names:
        flavour = "ods"
    else:
        raise InputFileError(f"{display}: a zip file but not an Excel workbook (no workbook part); "
                             "save it again from Excel as .xlsx, or export CSV")
    strings = "xl/sharedStrings.bin" if flavour == "xlsb" else "xl/sharedStrings.xml"
    if flavour in ("xlsx", "xlsb") and strings in names:
        # calamine reads every shared string when the workbook is opened
        _scan_part(path, display, _info(infos, strings), "its shared strings",
                   MAX_SHARED_STRINGS_BYTES)
    if flavour == "ods":  # calamine parses every sheet of an .ods when it is opened
        stats = _scan_part(path, display, _info(infos, "content.xml"), "its content",
                           MAX_SHEET_XML_BYTES, row_tag=b"<table:table-row", cell_tag=b"<table:table-cell",
                           extent=_OdsExtent(display))
        _check_counts(display, "the workbook", stats)
    return flavour


def _check_sheet_parts(path: Path, display: str, flavour: str, wanted: tuple[str, ...],
                       scratch: Path, pool: ThreadPoolExecutor) -> dict[str, _Pieces]:
    """Check each wanted sheet's part (rows, cells, size); returns the sheets cut into pieces
    on the way (SPLIT_MIN_BYTES, in ``scratch``, parsed in ``pool``)."""
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    parts = _sheet_parts(path, display, infos, flavour)
    split: dict[str, _Pieces] = {}
    try:
        _check_each_sheet(path, display, flavour, wanted, infos, parts, scratch, pool, split)
    except BaseException:
        for pieces in split.values():
            pieces.fail()
        raise
    return split


def _check_each_sheet(path: Path, display: str, flavour: str, wanted: tuple[str, ...], infos,
                      parts: dict[str, str], scratch: Path, pool: ThreadPoolExecutor,
                      split: dict[str, _Pieces]) -> None:
    for sheet in wanted:
        part = parts.get(sheet)
        info = _info(infos, part) if part is not None else None
        if part is None or info is None:
            raise InputFileError(f"{display}: sheet '{sheet}' is missing from the file (broken "
                                 "workbook); save it again from Excel")
        if flavour == "xlsb":  # binary records: bound the size; cells are at least 8 bytes each
            stats = _scan_part(path, display, info, f"sheet '{sheet}'",
                               MAX_SHEET_XML_BYTES, row_tag=None, cell_tag=None)
            stats = PartStats(stats.inflated_bytes, 0, stats.inflated_bytes // 8)
        elif flavour == "xlsx" and _splits(info, infos, parts.values(), scratch):
            # cells are counted as the part is read when its size allows more than the bound;
            # otherwise its size bounds them, up to the size the zip declares
            bounded = _cell_bounded_bytes()
            early = MAX_SHEET_XML_BYTES if info.file_size > bounded else bounded
            pieces = _Pieces(path, sheet, part, parts.values(), scratch, _workers(),
                             info.file_size, early, pool, name=f"sheet{len(split)}")
            split[sheet] = pieces
            stats = _scan_sheet_xml(path, display, info, f"sheet '{sheet}'", pieces)
        else:
            stats = _scan_sheet_xml(path, display, info, f"sheet '{sheet}'")
        _check_counts(display, f"sheet '{sheet}'", stats)


def _scan_sheet_xml(path: Path, display: str, info, what: str,
                    pieces: _Pieces | None = None) -> PartStats:
    """Rows and cells of a sheet part. calamine keeps only the cells that hold a value, each
    at least MIN_XML_CELL_BYTES of XML, so a part of at most _cell_bounded_bytes() cannot
    exceed MAX_CELLS: its cells are counted only when its declared size is
    larger, or when it turns out larger than declared (a second pass, for a lying zip).
    ``pieces`` receives the part as it is inflated (not on a second pass: it then gives up)."""
    bounded = _cell_bounded_bytes()
    count_cells = info is None or info.file_size > bounded
    extent = _CellExtent(display, what)
    stats = _scan_part(path, display, info, what, MAX_SHEET_XML_BYTES, row_tag=b"<row",
                       cell_tag=b"<c" if count_cells else None, read_dimension=True, sink=pieces,
                       extent=extent)
    if not extent.exact and extent.last_column * MAX_ROWS > MAX_CELLS:
        # a wide sheet: its rectangle depends on its last row, found by reading every reference
        _scan_part(path, display, info, what, MAX_SHEET_XML_BYTES,
                   extent=_CellExtent(display, what, every=True))
    if count_cells or stats.rows > MAX_ROWS:
        return stats
    if stats.inflated_bytes > bounded:  # the zip directory understated the size: count them
        if pieces is not None:
            pieces.fail()
        return _scan_part(path, display, info, what, MAX_SHEET_XML_BYTES, row_tag=b"<row",
                          cell_tag=b"<c", read_dimension=True)
    return PartStats(stats.inflated_bytes, stats.rows, stats.inflated_bytes // MIN_XML_CELL_BYTES)


def _cell_bounded_bytes() -> int:
    """A sheet part at most this large cannot hold more than MAX_CELLS cells with a value."""
    return MIN_XML_CELL_BYTES * MAX_CELLS


def _check_counts(display: str, what: str, stats: PartStats) -> None:
    if stats.rows > MAX_ROWS:
        raise InputFileError(f"{display}: {what} has more than {MAX_ROWS:,} rows (Excel's own "
                             "limit); the file is broken or hostile: export the data as CSV or Parquet")
    if stats.cells > MAX_CELLS:
        raise InputFileError(f"{display}: {what} has about {stats.cells:,} cells, over the "
                             f"{MAX_CELLS:,} limit; export the data as CSV or Parquet")


def _sheet_parts(path: Path, display: str, infos, flavour: str) -> dict[str, str]:
    """Sheet name -> the zip part holding it, from workbook.xml and its relationships."""
    book = "xl/workbook.bin" if flavour == "xlsb" else "xl/workbook.xml"
    rels_name = posixpath.join(posixpath.dirname(book), "_rels", posixpath.basename(book) + ".rels")
    rels = _small_xml(path, display, infos, rels_name)
    targets = {}
    for rel in rels.iter():
        if rel.tag.endswith("Relationship") and rel.get("Id"):
            target = rel.get("Target", "")
            target = target.lstrip("/") if target.startswith("/") else \
                posixpath.normpath(posixpath.join("xl", target))
            targets[rel.get("Id")] = target
    if flavour == "xlsb":
        # The sheet list is in binary records; calamine names them. Map by relationship order.
        from_reader = tuple(_open(path, display).sheet_names)
        sheet_targets = [t for t in targets.values() if "/worksheets/" in t]
        return dict(zip(from_reader, sheet_targets))
    workbook = _small_xml(path, display, infos, book)
    parts: dict[str, str] = {}
    for node in workbook.iter():
        if node.tag.endswith("}sheet") or node.tag == "sheet":
            rid = node.get(f"{{{_REL_NS}}}id") or node.get("id")
            name = node.get("name")
            if name is not None and rid in targets:
                parts[name] = targets[rid]
    return parts


def _small_xml(path: Path, display: str, infos, name: str) -> ET.Element:
    info = _info(infos, name)
    if info is None:
        raise InputFileError(f"{display}: the workbook has no {name} part (broken workbook); "
                             "save it again from Excel")
    data = bytearray()
    _scan_part(path, display, info, name, MAX_SMALL_PART_BYTES, sink=data)
    try:
        return ET.fromstring(bytes(data))
    except ET.ParseError as exc:
        raise InputFileError(f"{display}: its {name} is broken XML ({exc}); "
                             "save the workbook again from Excel") from exc


def _info(infos, name: str):
    return next((i for i in infos if i.filename == name), None)


def _scan_part(path: Path, display: str, info, what: str, limit: int, *,
               row_tag: bytes | None = None, cell_tag: bytes | None = None,
               read_dimension: bool = False, sink: bytearray | _Pieces | None = None,
               extent: _CellExtent | _OdsExtent | None = None) -> PartStats:
    """Inflate one zip entry as a stream, at most ``limit`` bytes, counting tags; ``sink`` (a
    bytearray, or _Pieces) receives the inflated bytes, ``extent`` too (it refuses cells placed
    beyond the bounds, see _CellExtent).

    The compressed data is read from the entry's local header on: neither its declared
    compressed nor uncompressed size is trusted. The next chunk is inflated in a helper
    thread while this one is counted (ISA-L inflates with the GIL released). A tag split
    across two chunks is counted once, from the bytes around the seam.
    """
    if info is None:
        raise InputFileError(f"{display}: {what} is missing from the file (broken workbook); "
                             "save it again from Excel")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise InputFileError(f"{display}: {what} uses an unsupported zip compression; "
                             "save the workbook again from Excel")
    rows = cells = inflated = 0
    previous = b""
    first = True
    with path.open("rb") as fh:
        chunks = _inflated_chunks(fh, info, display, what)
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="inflate") as pool:
                pending = pool.submit(next, chunks, None)
                while (out := pending.result()) is not None:
                    pending = pool.submit(next, chunks, None)
                    inflated += len(out)
                    if inflated > limit:
                        raise InputFileError(
                            f"{display}: {what} unpacks to more than {limit / 2**20:,.0f} MiB; the "
                            "file is too large or hostile: export the data as CSV or Parquet")
                    if extent is not None:
                        extent.extend(out)
                    if sink is not None:
                        sink.extend(out)
                    if first and (row_tag or read_dimension):
                        first = False
                        prefix = _ROOT_PREFIX.search(out[:4096])
                        if prefix and row_tag == b"<row":  # <x:worksheet>: <x:row>, <x:c>
                            row_tag = b"<" + prefix.group(1) + b":row"
                            cell_tag = cell_tag and b"<" + prefix.group(1) + b":c"
                        if read_dimension:
                            _check_dimension(display, what, out[:65536])
                    if row_tag is not None:
                        rows += _count(row_tag, previous, out)
                        if cell_tag is not None:  # also counts <col> etc.: an upper bound
                            cells += _count(cell_tag, previous, out)
                        # what a tag cut by the next seam may start in (a short chunk too)
                        previous = out if len(out) >= 16 else previous[-16:] + out
                        if rows > MAX_ROWS or cells > MAX_CELLS:
                            break  # enough to refuse: no need to inflate the rest
        finally:
            chunks.close()
    if extent is not None:
        extent.close()
    return PartStats(inflated, rows, cells)


def _count(tag: bytes, previous: bytes, out: bytes) -> int:
    """Occurrences of ``tag`` in ``out`` plus those that start in ``previous`` and end in it."""
    seam = len(tag) - 1
    return out.count(tag) + ((previous[-seam:] + out[:seam]).count(tag) if previous else 0)


def _inflated_chunks(fh, info, display: str, what: str) -> Generator[bytes, None, None]:
    """The entry's content in chunks of at most _CHUNK bytes (fh: the zip file, opened)."""
    fh.seek(info.header_offset)
    local = fh.read(30)
    if len(local) < 30 or not local.startswith(ZIP_MAGIC):
        raise InputFileError(f"{display}: {what} is damaged (bad zip entry); save it again from Excel")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    fh.seek(name_len + extra_len, 1)
    if info.compress_type == zipfile.ZIP_STORED:
        left = info.compress_size
        while left > 0:
            out = fh.read(min(_CHUNK, left))
            if not out:
                raise InputFileError(f"{display}: {what} is truncated; save it again from Excel")
            left -= len(out)
            yield out
        return
    inflater = isal_zlib.decompressobj(-15)  # raw deflate, as zip entries hold it
    while not inflater.eof:
        data = inflater.unconsumed_tail or fh.read(_CHUNK)
        if not data:
            raise InputFileError(f"{display}: {what} is truncated (the file is cut off); "
                                 "save it again from Excel")
        try:
            out = inflater.decompress(data, _CHUNK)
        except isal_zlib.error as exc:  # type: ignore[misc]  # isal's stub types it loosely
            raise InputFileError(f"{display}: {what} is damaged ({exc}); "
                                 "save it again from Excel") from exc
        if out:
            yield out


def _check_dimension(display: str, what: str, head: bytes) -> None:
    match = _DIMENSION.search(head)
    if not match:
        return
    first_col, first_row, last_col, last_row = match.groups()
    last_col, last_row = last_col or first_col, last_row or first_row
    rows = int(last_row) - int(first_row) + 1
    cols = _column_number(last_col) - _column_number(first_col) + 1
    _check_counts(display, what, PartStats(0, max(rows, int(last_row)), max(rows, 0) * max(cols, 0)))
    if _column_number(last_col) > limits.MAX_COLUMNS:
        raise InputFileError(f"{display}: {what} declares columns up to {last_col.decode()} "
                             f"({_column_number(last_col):,}), over the {limits.MAX_COLUMNS:,}-column "
                             "limit; delete the empty or unneeded columns, or export the data as CSV")


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters.upper():
        number = number * 26 + (ch - ord("A") + 1)
    return number


# -- where the cells are ----------------------------------------------------------------------
#
# calamine allocates a sheet as the rectangle from its first to its last cell (rows x columns),
# whatever holds a value: cells A1 and XFD1048576 are 17 billion cells (512 GiB). So the
# positions the cells name are checked, not only how many there are.

# A cell reference (r="XFD2") or row number (r="7") that is far: a column from X on (24 and
# more: 23 columns of 1,048,576 rows stay under MAX_CELLS), or a row from 1,000,000 on. Real
# transaction sheets have none, so scanning for them costs one pass of a rare pattern.
_FAR_REF = re.compile(rb'r="(?:[A-Za-z]{2}|[X-Zx-z]|[A-Za-z]?\d{7})')
_REF = re.compile(rb'r="([A-Za-z]*)(\d*)"')
_REF_BYTES = 32  # longer than any reference: what a chunk's end holds for the next


class _CellExtent:
    """The extent of an .xlsx sheet's cells from the r="..." of its rows and cells, fed the
    inflated XML chunk by chunk; ``close`` refuses a sheet past MAX_ROWS, the column limit, or
    a rectangle from A1 of more than MAX_CELLS. ``every``: read every reference (the second
    pass for a wide sheet, which needs its last row exactly)."""

    def __init__(self, display: str, what: str, every: bool = False):
        self.display, self.what, self.every = display, what, every
        self.carry = b""
        self.last_row = self.last_column = 0
        self.far_row = False  # a row from 1,000,000 on was seen: last_row is exact

    def extend(self, data: bytes) -> None:
        buf = self.carry + data
        end = max(0, len(buf) - _REF_BYTES)
        self._scan(buf, end)
        self.carry = buf[end:]

    def _scan(self, buf: bytes, end: int) -> None:
        pattern = _REF if self.every else _FAR_REF
        for match in pattern.finditer(buf, 0, end):
            start = match.start()
            if start and buf[start - 1:start] not in (b" ", b"\t", b"\n", b"\r"):
                continue  # another attribute ending in r (none in a sheet part, but be sure)
            ref = _REF.match(buf, start)
            if ref is None:
                continue
            letters, digits = ref.groups()
            row = int(digits) if 0 < len(digits) <= 12 else (0 if not digits else 10 ** 12)
            column = _column_number(letters) if len(letters) <= 4 else 10 ** 6
            self.last_row = max(self.last_row, row)
            self.last_column = max(self.last_column, column)
            self.far_row = self.far_row or row >= 1_000_000

    def close(self) -> None:
        self._scan(self.carry, len(self.carry))
        self.carry = b""
        self.check()

    @property
    def exact(self) -> bool:
        """Whether last_row is known: every reference was read, or a far row was seen."""
        return self.every or self.far_row

    def check(self) -> None:
        _check_extent(self.display, self.what, self.last_row, self.last_column)


def _check_extent(display: str, what: str, last_row: int, last_column: int) -> None:
    """Refuse cells placed past the row limit, the column limit, or a rectangle from A1 of
    more than MAX_CELLS (what the reader would allocate)."""
    if last_row > MAX_ROWS:
        raise InputFileError(f"{display}: {what} has a cell in row {last_row:,}, past the "
                             f"{MAX_ROWS:,} rows of a sheet (Excel's limit); the file is broken or "
                             "hostile: export the data as CSV or Parquet")
    if last_column > limits.MAX_COLUMNS:
        raise InputFileError(f"{display}: {what} has a cell in column {last_column:,}, over the "
                             f"{limits.MAX_COLUMNS:,}-column limit; delete the empty or unneeded "
                             "columns, or export the data as CSV")
    if last_row * last_column > MAX_CELLS:
        raise InputFileError(f"{display}: {what} spans {last_row:,} rows x {last_column:,} "
                             f"columns ({last_row * last_column:,} cells), over the {MAX_CELLS:,} "
                             "limit; delete the stray far cells, or export the data as CSV")


_ODS_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_ODS_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_ODS_TEXT_P = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}p"


class _OdsExtent:
    """The extent of each table of an .ods content part, repeats included: a row or cell with
    ``number-rows-repeated`` / ``number-columns-repeated`` stands for that many (an 895-byte
    file can say 2,000,000 rows). Rows and columns count up to the last one that holds a value
    (empty repeats at the end, which spreadsheets write for formatting, do not count). Streams
    the XML (no tree is kept); ``close`` checks the last table."""

    def __init__(self, display: str):
        self.display = display
        self.parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
        self.table: str | None = None
        self.row = self.column = 0
        self.row_repeat = self.cell_repeat = 1
        self.row_valued = self.cell_valued = False
        self.last_row = self.last_column = 0

    def extend(self, data: bytes) -> None:
        try:
            self.parser.feed(data)
            self._events()
        except ET.ParseError as exc:
            raise InputFileError(f"{self.display}: its content is broken XML ({exc}); save the "
                                 "workbook again") from exc

    def close(self) -> None:
        try:
            self.parser.close()
            self._events()
        except ET.ParseError as exc:
            raise InputFileError(f"{self.display}: its content is broken XML ({exc}); save the "
                                 "workbook again") from exc

    def _events(self) -> None:
        # only "start" and "end" events are asked for: each comes with an element
        for event, item in self.parser.read_events():  # type: ignore[misc]
            element = cast(ET.Element, item)
            tag = element.tag
            if event == "start":
                if tag == _ODS_TABLE + "table":
                    self.table = element.get(_ODS_TABLE + "name", "?")
                    self.row = self.last_row = self.last_column = 0
                elif tag == _ODS_TABLE + "table-row":
                    self.row_repeat = _repeat(element.get(_ODS_TABLE + "number-rows-repeated"))
                    self.column, self.row_valued = 0, False
                elif tag in (_ODS_TABLE + "table-cell", _ODS_TABLE + "covered-table-cell"):
                    self.cell_repeat = _repeat(element.get(_ODS_TABLE + "number-columns-repeated"))
                    self.cell_valued = element.get(_ODS_OFFICE + "value-type") is not None
                elif tag == _ODS_TEXT_P:
                    self.cell_valued = True
                continue
            if tag in (_ODS_TABLE + "table-cell", _ODS_TABLE + "covered-table-cell"):
                self.column += self.cell_repeat
                if self.cell_valued:
                    self.row_valued = True
                    self.last_column = max(self.last_column, self.column)
                    if self.last_column > limits.MAX_COLUMNS:
                        self._check()
                element.clear()
            elif tag == _ODS_TABLE + "table-row":
                self.row += self.row_repeat
                if self.row_valued:
                    self.last_row = self.row
                    if self.last_row > MAX_ROWS or self.last_row * self.last_column > MAX_CELLS:
                        self._check()
                element.clear()
            elif tag == _ODS_TABLE + "table":
                self._check()
                element.clear()

    def _check(self) -> None:
        _check_extent(self.display, f"sheet '{self.table}'", self.last_row, self.last_column)


def _repeat(text: str | None) -> int:
    """A repeat count as written (at least 1); an absurd one is kept large, to be refused."""
    if not text:
        return 1
    text = text.strip()
    return int(text) if text.isdigit() and len(text) <= 12 else 10 ** 12


# -- the parse in a child process -------------------------------------------------------------
#
# A reader that panics, aborts (an allocation refused) or runs away must not take the server
# with it: the check and the parse run in a fresh interpreter with an address-space and a CPU
# limit (resource.setrlimit, set by the child on itself before it reads the file), which
# writes the table as an Arrow IPC file; the parent maps that file (no copy). The bounds the
# check uses are handed over as they are in this process (a test may have changed them).

PARSE_IN_CHILD = True
_BOUNDS = ("MAX_ROWS", "MAX_CELLS", "MAX_SHEET_XML_BYTES", "MAX_SHARED_STRINGS_BYTES",
           "MAX_SMALL_PART_BYTES", "MAX_DECLARED_BYTES", "MAX_ZIP_ENTRIES", "MAX_XLS_BYTES",
           "SPLIT_MIN_BYTES", "_CHUNK")
_CHILD = "from core.excel import child_main; child_main()"


def _in_child(path: Path, display: str, request: dict) -> tuple[pa.Table | None, tuple[str, ...], str]:
    """Run the request ({"sheet": ...} to read one, {"names": True} for the sheet names) in a
    child process; InputFileError for what the child refused, and for a child that died."""
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "RUST_BACKTRACE": "0",
           "PYTHONPATH": os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH")) if p)}
    with tempfile.TemporaryDirectory(prefix="rfm-workbook-") as scratch:
        out = Path(scratch) / "sheet.arrow"
        request = {**request, "path": str(path), "display": display, "out": str(out),
                   "bounds": {name: globals()[name] for name in _BOUNDS},
                   "max_columns": limits.MAX_COLUMNS, "memory": limits.WORKBOOK_MEMORY_BYTES,
                   "cpu": limits.WORKBOOK_CPU_SECONDS}
        try:
            done = subprocess.run([sys.executable, "-c", _CHILD], input=json.dumps(request),
                                  capture_output=True, text=True, env=env, cwd=root,
                                  timeout=limits.WORKBOOK_WALL_SECONDS)
        except subprocess.TimeoutExpired:
            raise InputFileError(
                f"{display}: reading the workbook took over {limits.WORKBOOK_WALL_SECONDS} s and "
                "was stopped; export the sheet as CSV or Parquet") from None
        answer = _answer(done.stdout)
        if done.returncode != 0 or answer is None:
            raise InputFileError(
                f"{display}: the workbook's reader stopped ({_how(done.returncode)}) within its "
                f"limits ({limits.WORKBOOK_MEMORY_BYTES >> 30} GiB of memory, "
                f"{limits.WORKBOOK_CPU_SECONDS} s of CPU); the file is too large, broken or "
                "hostile: export the sheet as CSV or Parquet")
        if "error" in answer:
            raise InputFileError(answer["error"])
        sheets = tuple(answer["sheets"])
        if request.get("names"):
            return None, sheets, ""
        # the mapping outlives the folder: the table's buffers keep it
        table = pa.ipc.open_file(pa.memory_map(str(out))).read_all()
        return table, sheets, answer["chosen"]


def _answer(stdout: str) -> dict | None:
    lines = stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else None
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def _how(returncode: int) -> str:
    if returncode == -24 or returncode == 128 + 24:
        return "out of CPU time"
    if returncode in (-6, 134, -9, 137):
        return "out of memory, or aborted"
    return f"exit status {returncode}"


def child_main() -> None:
    """The child's side of ``_in_child``: the request on stdin, one JSON line on stdout."""
    import resource

    request = json.loads(sys.stdin.read())
    memory, cpu = request["memory"], request["cpu"]
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    globals().update(request["bounds"])
    limits.MAX_COLUMNS = request["max_columns"]
    path, display = Path(request["path"]), request["display"]
    try:
        if request.get("names"):
            _check_container(path, display)
            print(json.dumps({"sheets": list(_open(path, display).sheet_names)}))
            return
        table, sheets, chosen = _read_workbook(path, request["sheet"], display)
    except InputFileError as exc:
        print(json.dumps({"error": str(exc)}))
        return
    with pa.OSFile(request["out"], "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    print(json.dumps({"sheets": list(sheets), "chosen": chosen}))
