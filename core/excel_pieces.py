"""A large .xlsx sheet parsed in pieces, one per core, in parallel.

Contract: for a sheet, ``PieceParser.table`` gives the same Arrow table as one parse of the
whole sheet (the same rows, in order, the same column names and types), or None: the sheet
is then parsed whole (core.excel). It never gives another table. Every doubt (a cut that
cannot be placed, rows out of order, pieces whose column names or types disagree, a scratch
disk error, a piece the reader refuses) gives None.

Why: calamine parses one sheet on one core; 1M lines take seconds. While the pre-parse check
(core.workbook_checks) inflates a large sheet part, its XML is cut between two rows into one
piece per core: each piece is a small uncompressed workbook (the original's parts, the
sheet's rows from the cut on, and a copy of its header row numbered just above them), parsed
as soon as it is complete (fastexcel releases the GIL). To be the same table: a cut falls
only between two rows numbered one after the other; a piece's table has at most the rows
between its cuts (rows out of order would stretch it), and where its last rows hold no value
(formatted empty cells) they are added as empty rows, as the whole sheet has them; the
pieces' column names must agree, and their types (a column's type is decided from all its
cells in each piece: the same in every piece means the same over the whole sheet; a piece
where the column has no value takes the others' type).

The switch: ``RFM_EXCEL_PIECES=0`` in the environment (read here, once) or ``ENABLED =
False`` turns it off; sheet parts under SPLIT_MIN_BYTES inflated are always parsed whole.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
from isal import isal_zlib

from core import workbook_checks

ENABLED = os.environ.get("RFM_EXCEL_PIECES", "1") != "0"
# A sheet part this large (inflated) is parsed in pieces.
SPLIT_MIN_BYTES = 48 << 20
# The names above, as a child process that reads a workbook must be handed them (core.excel).
SETTINGS = ("ENABLED", "SPLIT_MIN_BYTES")

# parse(piece workbook, sheet name, whether the piece ends the sheet) -> its Arrow batch
ParsePiece = Callable[[Path, str, bool], pa.RecordBatch]

_SHEET_DATA = re.compile(rb"<(\w+:)?sheetData\b[^>]*?(/?)>")
_ROW_NUMBER = re.compile(rb'\sr="(\d+)"')
_CELL_REF = re.compile(rb'(<(?:\w+:)?c\b[^>]*?\sr=")([A-Za-z]{1,3})\d+(")')
_DIMENSION_ELEMENT = re.compile(rb"<(?:\w+:)?dimension\b[^>]*/>")
_EMPTY_SHEET = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns='
    b'"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>'
)
# Parts a piece never needs (pictures, embedded files, printer settings): not copied.
_UNNEEDED = ("xl/media/", "xl/embeddings/", "xl/printerSettings/", "docProps/thumbnail")
_MAX_COPIED_BYTES = 64 << 20  # what a piece may copy besides the sheet and its shared strings
_HOLD = 512  # bytes held back at a chunk's end: a row's start tag may continue in the next
_MAX_CUT_SEARCH = 16 << 20  # past its target, a cut not found by then is given up
_SPLIT_HEAD = 4 << 20  # the sheet's start (up to its first row) must be in its first chunk


class PieceParser:
    """The piece parses of one workbook read, as a context manager (its scratch folder and
    threads live until it exits; a refused sheet does not wait for a piece being parsed).
    ``sink_for`` is the SinkFactory core.workbook_checks.check_sheets takes: it cuts a large
    .xlsx sheet while the check reads it; ``table(sheet)``, once the check passed, is that
    sheet's table as one parse gives it, or None (see the module's contract). ``parse`` reads
    one piece workbook. Off (ENABLED false): no sheet is cut, ``table`` is always None."""

    def __init__(self, path: Path, parse: ParsePiece):
        self.path, self.parse = path, parse
        self.sheets: dict[str, SheetPieces] = {}
        self.scratch: tempfile.TemporaryDirectory | None = None
        self.pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> PieceParser:
        if ENABLED:
            self.pool = ThreadPoolExecutor(max_workers=workers(), thread_name_prefix="sheet-piece")
            self.scratch = tempfile.TemporaryDirectory(prefix="rfm-sheet-")
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if self.scratch is not None:
                self.scratch.cleanup()
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=False, cancel_futures=True)

    def sink_for(
        self, sheet: str, info: zipfile.ZipInfo, infos: list[zipfile.ZipInfo], sheet_parts: set[str]
    ) -> SheetPieces | None:
        """The cutter of a sheet part large enough to parse in pieces, else None."""
        if self.pool is None or self.scratch is None:
            return None
        scratch = Path(self.scratch.name)
        if not _splits(info, infos, sheet_parts, scratch):
            return None
        pieces = SheetPieces(
            self.path,
            sheet,
            info.filename,
            sheet_parts,
            scratch,
            workers(),
            info.file_size,
            workbook_checks.early_parse_bytes(info),
            self.pool,
            self.parse,
            name=f"sheet{len(self.sheets)}",
        )
        self.sheets[sheet] = pieces
        return pieces

    def table(self, sheet: str) -> pa.Table | None:
        """After the check passed: the sheet's pieces as one table, with the reader's column
        names as it gives them (unnamed ones not renamed yet), or None: parse it whole."""
        pieces = self.sheets.get(sheet)
        return pieces.finish() if pieces is not None else None


# Inflating and cutting a part takes about this share of the time parsing it takes (1.1 s
# against 5.6 s for 1M lines): the earlier pieces start parsing while the check goes on.
CHECK_SHARE = 0.2


def piece_shares(count: int) -> list[float]:
    """Each piece's share of the sheet, so that the pieces finish together: piece k starts
    when the check has read it (the last when the check ends), on a core of its own."""
    q = 1 / (1 + CHECK_SHARE)
    total = (1 + CHECK_SHARE) / (1 + sum(q**k for k in range(1, count)))
    return [total * q ** (k + 1) for k in range(count - 1)] + [total - CHECK_SHARE]


def workers() -> int:
    """The cores this process may run on: one piece each."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _splits(
    info: zipfile.ZipInfo, infos: list[zipfile.ZipInfo], sheet_parts: Iterable[str], scratch: Path
) -> bool:
    """Whether a sheet part is large enough to parse in pieces, with the cores and the disk,
    and the parts each piece copies (all but the sheets and the unneeded) are small."""
    if info.file_size < SPLIT_MIN_BYTES or workers() < 2:
        return False
    sheet_parts = set(sheet_parts)
    copied = sum(
        i.file_size
        for i in infos
        if i.filename not in sheet_parts
        and not i.filename.startswith(_UNNEEDED)
        and not i.filename.endswith("sharedStrings.xml")
    )
    return copied <= _MAX_COPIED_BYTES and shutil.disk_usage(scratch).free > 2 * info.file_size


class StoredZip:
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
        """Start an entry named ``name``."""
        self.name, self.start, self.crc, self.size = name.encode(), self.fh.tell(), 0, 0
        self.fh.write(
            self._LOCAL.pack(0x04034B50, 20, 0x800, 0, 0, self._DATE, 0, 0, 0, len(self.name), 0) + self.name
        )

    def write(self, data) -> None:
        """Append ``data`` (bytes-like) to the entry begun."""
        self.crc = isal_zlib.crc32(data, self.crc)
        self.size += len(data)
        self.fh.write(data)

    def end(self) -> None:
        """End the entry begun: its CRC and size written into its local header."""
        if self.start + self.size >= 1 << 32:
            raise OSError("a piece over 4 GiB")
        end = self.fh.tell()
        self.fh.seek(self.start + 14)
        self.fh.write(struct.pack("<III", self.crc, self.size, self.size))
        self.fh.seek(end)
        self.entries.append((self.name, self.start, self.crc, self.size))

    def close(self) -> None:
        """Write the central directory and close the file (again: nothing)."""
        if self.fh.closed:
            return
        try:
            directory = self.fh.tell()
            for name, offset, crc, size in self.entries:
                self.fh.write(
                    self._CENTRAL.pack(
                        0x02014B50,
                        20,
                        20,
                        0x800,
                        0,
                        0,
                        self._DATE,
                        crc,
                        size,
                        size,
                        len(name),
                        0,
                        0,
                        0,
                        0,
                        0,
                        offset,
                    )
                    + name
                )
            self.fh.write(
                self._END.pack(
                    0x06054B50,
                    0,
                    0,
                    len(self.entries),
                    len(self.entries),
                    self.fh.tell() - directory,
                    directory,
                    0,
                )
            )
        finally:
            self.fh.close()


class SheetPieces:
    """Receives a sheet part's XML as the check inflates it (``extend``) and writes it into
    piece workbooks, each parsed in ``pool`` once complete. ``early_bytes``: a piece at most
    this large may be parsed before the check of the whole part is over (its cells are then
    bounded by its size); the others wait for ``finish``."""

    def __init__(
        self,
        path: Path,
        sheet: str,
        part: str,
        sheet_parts: Iterable[str],
        scratch: Path,
        count: int,
        declared: int,
        early_bytes: int,
        pool: ThreadPoolExecutor,
        parse: ParsePiece,
        name: str = "piece",
    ):
        self.path, self.sheet, self.part, self.scratch, self.name = path, sheet, part, scratch, name
        self.parse = parse
        self.sheet_parts = set(sheet_parts)
        cut, self.targets = 0.0, []
        for share in piece_shares(count)[:-1]:
            cut += share
            self.targets.append(int(declared * cut))
        self.early_bytes, self.pool = early_bytes, pool
        self.failed = False
        self.head: bytes | None = None  # the sheet's start, once _start has read it
        self.header = self.row_tag = self.close = b""  # set by _start with head
        self.offset = 0  # the sheet XML written so far: where ``carry`` starts
        self.carry = b""  # received, not written yet
        self.last_row: int | None = None  # the number of the last complete row start tag written
        self.pieces: list[tuple[Path, int, Future | None]] = []  # file, first row, parse
        self.waiting: list[int] = []  # pieces complete, to parse after the check
        self.zip: StoredZip | None = None
        self.piece_bytes = 0

    # receiving --------------------------------------------------------------------------
    def extend(self, data: bytes) -> None:
        """The next chunk of the sheet part, as the check inflated it (a SheetSink)."""
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
        root = workbook_checks.worksheet_prefix(data)
        self.row_tag = b"<" + prefix + b"row"
        end_tag = b"</" + prefix + b"row>"
        header_end = data.find(end_tag, opened.end(), _SPLIT_HEAD)
        if not data.startswith(self.row_tag, opened.end()) or header_end < 0:
            return None  # the first row is empty (self-closing), or too long
        header_end += len(end_tag)
        self.header = data[opened.end() : header_end]
        number = _row_number(self.header, 0, self.row_tag)
        if number is None:
            return None
        self.head = _DIMENSION_ELEMENT.sub(b"", data[: opened.end()])
        self.close = b"</" + prefix + b"sheetData></" + (root + b":" if root else b"") + b"worksheet>"
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
        """Where the next cut is due, in bytes of the sheet part."""
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
        self.writer.write(memoryview(buf)[start:end])
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
        self.zip = StoredZip(piece)
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
                        while chunk := src.read(workbook_checks.CHUNK_BYTES):
                            self.zip.write(chunk)
                self.zip.end()
        self.zip.begin(self.part)
        self.zip.write(self.head)
        self.zip.write(header)
        self.pieces.append((piece, first_row, None))
        self.piece_bytes = 0

    @property
    def writer(self) -> StoredZip:
        """The piece being written (ValueError before the first is opened: give up)."""
        if self.zip is None:
            raise ValueError("no piece open")
        return self.zip

    def _complete(self, last: bool) -> None:
        self.writer.write(b"" if last else self.close)
        self.writer.end()
        self.writer.close()
        index = len(self.pieces) - 1
        if not last and self.piece_bytes <= self.early_bytes:
            self._parse(index, last)
        else:
            self.waiting.append(index)

    def _parse(self, index: int, last: bool) -> None:
        piece, first_row, _ = self.pieces[index]
        self.pieces[index] = (piece, first_row, self.pool.submit(self.parse, piece, self.sheet, last))

    def fail(self) -> None:
        """Give up: the sheet is parsed whole (a SheetSink; also on any doubt here)."""
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
            if parse is None or self.last_row is None:
                return None  # (not parsed; a row start tag without its number)
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


def _row_number(data: bytes, position: int, row_tag: bytes) -> int | None:
    """The r="N" of the row start tag at ``position`` (None: not a row tag, or no number)."""
    after = position + len(row_tag)
    if data[after : after + 1] not in (b" ", b"\t", b"\n", b"\r"):
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
        nullable = any(
            b.schema.field(index).nullable or b.schema.field(index).type != column_type for b in batches
        )
        fields.append(pa.field(name, column_type, nullable=nullable))
    schema = pa.schema(fields)
    tables = [pa.Table.from_batches([b]).cast(schema) for b in batches]
    return pa.concat_tables(tables)
