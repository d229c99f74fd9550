"""Checks a workbook passes before any sheet is parsed, with their bounds.

calamine holds a whole sheet in memory, so a workbook is checked first: the zip's central
directory (entry count, declared sizes), then each part that is about to be read is inflated
as a stream with a byte cap, counting its rows (and its cells, where its size leaves room for
more than the bound) and reading its ``<dimension ref=...>`` and the positions its cells name;
the declared sizes alone are not trusted (a bomb can lie about them). Over a bound, or broken,
the file is refused with an InputFileError naming the file, the part and what to do.

``check_container`` runs first (the whole file, and the parts calamine reads when it opens a
workbook); ``check_sheets`` then checks the sheets about to be parsed, and can hand each
sheet part's bytes, as they are inflated, to a ``SheetSink`` (core.excel_pieces).
"""

from __future__ import annotations

import functools
import posixpath
import re
import struct
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, cast

from isal import isal_zlib

from core import limits
from core.errors import InputFileError

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (BIFF in an OLE2 compound file)

# Bounds. Excel's own sheet limit is 1,048,576 rows (header included).
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
CHUNK_BYTES = 4 << 20  # a part is inflated this much at a time
# The names above, as a child process that checks a file must be handed them (core.excel).
BOUNDS = (
    "MAX_ROWS",
    "MAX_CELLS",
    "MAX_SHEET_XML_BYTES",
    "MAX_SHARED_STRINGS_BYTES",
    "MAX_SMALL_PART_BYTES",
    "MAX_DECLARED_BYTES",
    "MAX_ZIP_ENTRIES",
    "MAX_XLS_BYTES",
    "CHUNK_BYTES",
)

_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="\$?([A-Za-z]+)\$?(\d+)(?::\$?([A-Za-z]+)\$?(\d+))?"')
_ROOT_PREFIX = re.compile(rb"<(\w+):worksheet[\s>]")
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


@dataclass(frozen=True)
class PartStats:
    """What streaming one inflated part found: its size, and its row and cell elements."""

    inflated_bytes: int
    rows: int
    cells: int


class SheetSink(Protocol):
    """Receives a sheet part's inflated XML, chunk by chunk, while the check reads it."""

    def extend(self, data: bytes) -> None:
        """The next chunk of the part."""

    def fail(self) -> None:
        """What was received is not to be used (the part is read again: its zip entry lied
        about its size, or the check refused it)."""


# sink_for(sheet, its zip entry, every zip entry, the sheet parts' names): a sink, or None
SinkFactory = Callable[[str, zipfile.ZipInfo, list[zipfile.ZipInfo], set[str]], "SheetSink | None"]


def is_workbook(head: bytes) -> bool:
    """True when the first bytes are a zip (xlsx/xlsm/xlsb/ods) or an OLE2 file (xls)."""
    return head.startswith(ZIP_MAGIC) or head.startswith(OLE_MAGIC)


def worksheet_prefix(head: bytes) -> bytes | None:
    """The namespace prefix of a sheet part's root element (``x`` of ``<x:worksheet>``), read
    from its first bytes; None when it has none."""
    match = _ROOT_PREFIX.search(head, 0, 4096)
    return match.group(1) if match else None


def cell_bounded_bytes() -> int:
    """A sheet part at most this large cannot hold more than MAX_CELLS cells with a value."""
    return MIN_XML_CELL_BYTES * MAX_CELLS


def early_parse_bytes(info: zipfile.ZipInfo) -> int:
    """How much of a sheet part may be parsed before its check is over: a piece this small
    holds at most MAX_CELLS cells. A part declared larger than ``cell_bounded_bytes`` has its
    cells counted as it is read (a refusal stops the read), so any piece read so far may be."""
    bounded = cell_bounded_bytes()
    return MAX_SHEET_XML_BYTES if info.file_size > bounded else bounded


# -- the container and its sheets --------------------------------------------------------------


def check_container(path: Path, display: str) -> str:
    """The workbook's flavour ('xlsx', 'xlsb', 'ods', 'xls') after the container checks: the
    file's kind by its first bytes, an .xls's size, the zip's entries and declared sizes, and
    the parts calamine parses when it opens a workbook (shared strings; an .ods's every sheet).
    Raises InputFileError for what is not a workbook, is broken, or exceeds a bound."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(OLE_MAGIC):
        size = path.stat().st_size
        if size > MAX_XLS_BYTES:
            raise InputFileError(
                f"{display}: an .xls file of {size / 2**20:,.0f} MiB is over the "
                f"{MAX_XLS_BYTES >> 20} MiB limit; save it as .xlsx or export CSV"
            )
        return "xls"
    if not head.startswith(ZIP_MAGIC):
        raise InputFileError(
            f"{display}: not an Excel workbook (truncated, or another kind of "
            "file); save it again from Excel as .xlsx, or export CSV"
        )
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        kind = Path(display).suffix.lower() if Path(display).suffix.lower() in EXCEL_SUFFIXES else "Excel"
        raise InputFileError(
            f"{display}: not a valid {kind} file (truncated or corrupt zip); save it again from Excel"
        ) from exc
    if len(infos) > MAX_ZIP_ENTRIES:
        raise InputFileError(
            f"{display}: the workbook holds {len(infos):,} parts, over the "
            f"{MAX_ZIP_ENTRIES:,} limit; save it again from Excel or export CSV"
        )
    declared = sum(info.file_size for info in infos)
    if declared > MAX_DECLARED_BYTES:
        raise InputFileError(
            f"{display}: the workbook unpacks to {declared / 2**20:,.0f} MiB, over the "
            f"{MAX_DECLARED_BYTES >> 20:,} MiB limit; export the sheet as CSV or Parquet"
        )
    names = {info.filename for info in infos}
    if "xl/workbook.xml" in names:
        flavour = "xlsx"
    elif "xl/workbook.bin" in names:
        flavour = "xlsb"
    elif "content.xml" in names:
        flavour = "ods"
    else:
        raise InputFileError(
            f"{display}: a zip file but not an Excel workbook (no workbook part); "
            "save it again from Excel as .xlsx, or export CSV"
        )
    strings = "xl/sharedStrings.bin" if flavour == "xlsb" else "xl/sharedStrings.xml"
    if flavour in ("xlsx", "xlsb") and strings in names:
        # calamine reads every shared string when the workbook is opened
        _scan_part(path, display, _info(infos, strings), "its shared strings", MAX_SHARED_STRINGS_BYTES)
    if flavour == "ods":  # calamine parses every sheet of an .ods when it is opened
        stats = _scan_part(
            path,
            display,
            _info(infos, "content.xml"),
            "its content",
            MAX_SHEET_XML_BYTES,
            row_tag=b"<table:table-row",
            cell_tag=b"<table:table-cell",
            extent=_OdsExtent(display),
        )
        _check_counts(display, "the workbook", stats)
    return flavour


def check_sheets(
    path: Path,
    display: str,
    flavour: str,
    wanted: Iterable[str],
    sheets: tuple[str, ...],
    sink_for: SinkFactory | None = None,
) -> None:
    """Check each wanted sheet's part of an .xlsx or .xlsb workbook (rows, cells, where its
    cells are, size); ``sheets``: the workbook's sheet names in order, as the reader gives
    them (an .xlsb lists them in binary records). ``sink_for`` may give a sheet a SheetSink,
    which receives its part as the check inflates it; every sink is failed when a check
    refuses. Raises InputFileError."""
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    parts = _sheet_parts(path, display, infos, flavour, sheets)
    sinks: list[SheetSink] = []
    try:
        for sheet in wanted:
            part = parts.get(sheet)
            info = _info(infos, part) if part is not None else None
            if part is None or info is None:
                raise InputFileError(
                    f"{display}: sheet '{sheet}' is missing from the file (broken "
                    "workbook); save it again from Excel"
                )
            what = f"sheet '{sheet}'"
            if flavour == "xlsb":  # binary records: bound the size; cells are at least 8 bytes each
                stats = _scan_part(path, display, info, what, MAX_SHEET_XML_BYTES)
                stats = PartStats(stats.inflated_bytes, 0, stats.inflated_bytes // 8)
            else:
                sink = sink_for(sheet, info, infos, set(parts.values())) if sink_for else None
                if sink is not None:
                    sinks.append(sink)
                stats = _scan_sheet_xml(path, display, info, what, sink)
            _check_counts(display, what, stats)
    except BaseException:
        for sink in sinks:
            sink.fail()
        raise


def _scan_sheet_xml(path: Path, display: str, info, what: str, pieces: SheetSink | None = None) -> PartStats:
    """Rows and cells of a sheet part. calamine keeps only the cells that hold a value, each
    at least MIN_XML_CELL_BYTES of XML, so a part of at most cell_bounded_bytes() cannot
    exceed MAX_CELLS: its cells are counted only when its declared size is
    larger, or when it turns out larger than declared (a second pass, for a lying zip).
    ``pieces`` receives the part as it is inflated (not on a second pass: it then gives up)."""
    bounded = cell_bounded_bytes()
    count_cells = info is None or info.file_size > bounded
    extent = _CellExtent(display, what)
    scan = functools.partial(_scan_part, path, display, info, what, MAX_SHEET_XML_BYTES)
    stats = scan(
        row_tag=b"<row",
        cell_tag=b"<c" if count_cells else None,
        read_dimension=True,
        sink=pieces,
        extent=extent,
    )
    if not extent.exact and extent.last_column * MAX_ROWS > MAX_CELLS:
        # a wide sheet: its rectangle depends on its last row, found by reading every reference
        scan(extent=_CellExtent(display, what, every=True))
    if count_cells or stats.rows > MAX_ROWS:
        return stats
    if stats.inflated_bytes > bounded:  # the zip directory understated the size: count them
        if pieces is not None:
            pieces.fail()
        return scan(row_tag=b"<row", cell_tag=b"<c", read_dimension=True)
    return PartStats(stats.inflated_bytes, stats.rows, stats.inflated_bytes // MIN_XML_CELL_BYTES)


def _check_counts(display: str, what: str, stats: PartStats) -> None:
    if stats.rows > MAX_ROWS:
        raise InputFileError(
            f"{display}: {what} has more than {MAX_ROWS:,} rows (Excel's own "
            "limit); the file is broken or hostile: export the data as CSV or Parquet"
        )
    if stats.cells > MAX_CELLS:
        raise InputFileError(
            f"{display}: {what} has about {stats.cells:,} cells, over the "
            f"{MAX_CELLS:,} limit; export the data as CSV or Parquet"
        )


def _sheet_parts(path: Path, display: str, infos, flavour: str, sheets: tuple[str, ...]) -> dict[str, str]:
    """Sheet name -> the zip part holding it, from workbook.xml and its relationships."""
    book = "xl/workbook.bin" if flavour == "xlsb" else "xl/workbook.xml"
    rels_name = posixpath.join(posixpath.dirname(book), "_rels", posixpath.basename(book) + ".rels")
    rels = _small_xml(path, display, infos, rels_name)
    targets = {}
    for rel in rels.iter():
        if rel.tag.endswith("Relationship") and rel.get("Id"):
            target = rel.get("Target", "")
            target = (
                target.lstrip("/")
                if target.startswith("/")
                else posixpath.normpath(posixpath.join("xl", target))
            )
            targets[rel.get("Id")] = target
    if flavour == "xlsb":
        # The sheet list is in binary records; calamine names them. Map by relationship order.
        sheet_targets = [t for t in targets.values() if "/worksheets/" in t]
        return dict(zip(sheets, sheet_targets))
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
        raise InputFileError(
            f"{display}: the workbook has no {name} part (broken workbook); save it again from Excel"
        )
    data = bytearray()
    _scan_part(path, display, info, name, MAX_SMALL_PART_BYTES, sink=data)
    try:
        return ET.fromstring(bytes(data))
    except ET.ParseError as exc:
        raise InputFileError(
            f"{display}: its {name} is broken XML ({exc}); save the workbook again from Excel"
        ) from exc


def _info(infos, name: str):
    return next((i for i in infos if i.filename == name), None)


def _scan_part(
    path: Path,
    display: str,
    info,
    what: str,
    limit: int,
    *,
    row_tag: bytes | None = None,
    cell_tag: bytes | None = None,
    read_dimension: bool = False,
    sink: bytearray | SheetSink | None = None,
    extent: _CellExtent | _OdsExtent | None = None,
) -> PartStats:
    """Inflate one zip entry as a stream, at most ``limit`` bytes, counting tags; ``sink`` (a
    bytearray, or a SheetSink) receives the inflated bytes, ``extent`` too (it refuses cells placed
    beyond the bounds, see _CellExtent).

    The compressed data is read from the entry's local header on: neither its declared
    compressed nor uncompressed size is trusted. The next chunk is inflated in a helper
    thread while this one is counted (ISA-L inflates with the GIL released). A tag split
    across two chunks is counted once, from the bytes around the seam.
    """
    if info is None:
        raise InputFileError(
            f"{display}: {what} is missing from the file (broken workbook); save it again from Excel"
        )
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise InputFileError(
            f"{display}: {what} uses an unsupported zip compression; save the workbook again from Excel"
        )
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
                            "file is too large or hostile: export the data as CSV or Parquet"
                        )
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
    """The entry's content in chunks of at most CHUNK_BYTES bytes (fh: the zip file, opened)."""
    fh.seek(info.header_offset)
    local = fh.read(30)
    if len(local) < 30 or not local.startswith(ZIP_MAGIC):
        raise InputFileError(f"{display}: {what} is damaged (bad zip entry); save it again from Excel")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    fh.seek(name_len + extra_len, 1)
    if info.compress_type == zipfile.ZIP_STORED:
        left = info.compress_size
        while left > 0:
            out = fh.read(min(CHUNK_BYTES, left))
            if not out:
                raise InputFileError(f"{display}: {what} is truncated; save it again from Excel")
            left -= len(out)
            yield out
        return
    inflater = isal_zlib.decompressobj(-15)  # raw deflate, as zip entries hold it
    while not inflater.eof:
        data = inflater.unconsumed_tail or fh.read(CHUNK_BYTES)
        if not data:
            raise InputFileError(
                f"{display}: {what} is truncated (the file is cut off); save it again from Excel"
            )
        try:
            out = inflater.decompress(data, CHUNK_BYTES)
        except isal_zlib.error as exc:  # type: ignore[misc]  # isal's stub types it loosely
            raise InputFileError(f"{display}: {what} is damaged ({exc}); save it again from Excel") from exc
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
        raise InputFileError(
            f"{display}: {what} declares columns up to {last_col.decode()} "
            f"({_column_number(last_col):,}), over the {limits.MAX_COLUMNS:,}-column "
            "limit; delete the empty or unneeded columns, or export the data as CSV"
        )


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
        """The next chunk of the inflated sheet XML."""
        buf = self.carry + data
        end = max(0, len(buf) - _REF_BYTES)
        self._scan(buf, end)
        self.carry = buf[end:]

    def _scan(self, buf: bytes, end: int) -> None:
        pattern = _REF if self.every else _FAR_REF
        for match in pattern.finditer(buf, 0, end):
            start = match.start()
            if start and buf[start - 1 : start] not in (b" ", b"\t", b"\n", b"\r"):
                continue  # another attribute ending in r (none in a sheet part, but be sure)
            ref = _REF.match(buf, start)
            if ref is None:
                continue
            letters, digits = ref.groups()
            row = int(digits) if 0 < len(digits) <= 12 else (0 if not digits else 10**12)
            column = _column_number(letters) if len(letters) <= 4 else 10**6
            self.last_row = max(self.last_row, row)
            self.last_column = max(self.last_column, column)
            self.far_row = self.far_row or row >= 1_000_000

    def close(self) -> None:
        """The part's end: the last bytes read, then ``check``."""
        self._scan(self.carry, len(self.carry))
        self.carry = b""
        self.check()

    @property
    def exact(self) -> bool:
        """Whether last_row is known: every reference was read, or a far row was seen."""
        return self.every or self.far_row

    def check(self) -> None:
        """Refuse the extent read so far when over a bound (InputFileError)."""
        _check_extent(self.display, self.what, self.last_row, self.last_column)


def _check_extent(display: str, what: str, last_row: int, last_column: int) -> None:
    """Refuse cells placed past the row limit, the column limit, or a rectangle from A1 of
    more than MAX_CELLS (what the reader would allocate)."""
    if last_row > MAX_ROWS:
        raise InputFileError(
            f"{display}: {what} has a cell in row {last_row:,}, past the "
            f"{MAX_ROWS:,} rows of a sheet (Excel's limit); the file is broken or "
            "hostile: export the data as CSV or Parquet"
        )
    if last_column > limits.MAX_COLUMNS:
        raise InputFileError(
            f"{display}: {what} has a cell in column {last_column:,}, over the "
            f"{limits.MAX_COLUMNS:,}-column limit; delete the empty or unneeded "
            "columns, or export the data as CSV"
        )
    if last_row * last_column > MAX_CELLS:
        raise InputFileError(
            f"{display}: {what} spans {last_row:,} rows x {last_column:,} "
            f"columns ({last_row * last_column:,} cells), over the {MAX_CELLS:,} "
            "limit; delete the stray far cells, or export the data as CSV"
        )


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
        """The next chunk of the inflated content XML (InputFileError: broken, or over a bound)."""
        self._parse(lambda: self.parser.feed(data))

    def close(self) -> None:
        """The part's end: the last table checked (InputFileError)."""
        self._parse(self.parser.close)

    def _parse(self, step: Callable[[], object]) -> None:
        try:
            step()
            self._events()
        except ET.ParseError as exc:
            raise InputFileError(
                f"{self.display}: its content is broken XML ({exc}); save the workbook again"
            ) from exc

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
    return int(text) if text.isdigit() and len(text) <= 12 else 10**12
