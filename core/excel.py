"""Read Excel workbooks (.xlsx, .xlsm, .xlsb, .xls, .ods) into Arrow through fastexcel.

fastexcel is the Rust calamine reader that writes Arrow columns directly: no Python object
per cell. A column's type is decided from all its cells (``schema_sample_rows=None``):
numbers become float64, Excel date cells timestamps, and a column mixing numbers and text
(``536365`` and ``C536379``) becomes text, each number written without a spurious ``.0``.
Text dates stay text: the column date rules of ``core.columns`` parse them.

The main path (``parse_workbook``): check the workbook (core.workbook_checks: bounds, zip
bombs, refused before parsing), open it, parse the sheet (a large .xlsx sheet in pieces on
every core, core.excel_pieces), name its columns, stack ``"all"`` sheets. It runs in a child
process with memory and CPU limits (``parse_isolated``); ``read_workbook`` adds the identity
columns as text. Nothing is kept between reads: a caller that reads one file several times
passes a ``WorkbookReader`` that keeps what it read (ui.workbooks).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from core import excel_pieces, limits, workbook_checks
from core.errors import InputFileError
from core.workbook_checks import EXCEL_SUFFIXES, is_workbook  # noqa: F401  (re-exported: core.io)

ALL_SHEETS = "all"  # the sheet choice that stacks every sheet (same columns required)

# (table, the workbook's sheet names in order, the sheet read: a name or ALL_SHEETS)
WorkbookRead = tuple[pa.Table, tuple[str, ...], str]
# text_columns(table) -> the identity columns to read as text (see identity_as_text)
TextColumns = Callable[[pa.Table], Iterable[str]]


class WorkbookReader(Protocol):
    """What core.io calls to read a workbook: ``read_workbook``'s contract. The default reads
    the file each time; ui.workbooks keeps the last reads, the command line starts one early."""

    def __call__(
        self, path: Path, sheet: str | None, display: str, text_columns: TextColumns | None
    ) -> WorkbookRead:
        """The workbook read as ``read_workbook(path, sheet, display, text_columns)`` reads it."""
        ...


def sheet_names(path: str | os.PathLike, display: str | None = None) -> tuple[str, ...]:
    """The workbook's sheet names in order; the workbook is checked first (InputFileError)."""
    path = Path(path)
    display = display or path.name
    if PARSE_IN_CHILD:
        return _in_child(path, display, {"names": True})[1]
    workbook_checks.check_container(path, display)
    return tuple(_open(path, display).sheet_names)


def read_workbook(
    path: str | Path,
    sheet: str | None = None,
    display: str | None = None,
    text_columns: TextColumns | None = None,
) -> WorkbookRead:
    """One sheet (default the first) or ``"all"`` sheets stacked, as an Arrow table, read
    from the file now (nothing kept): ``parse_isolated``, then ``text_columns(table)``, the
    identity columns, as text (``identity_as_text``). ``display``: how messages call the file.

    Returns (table, the workbook's sheet names, the sheet read). Raises InputFileError for a
    file that is not a workbook, is broken, or exceeds a bound, for an unknown sheet, an
    empty sheet, and sheets of different columns when stacking.
    """
    path = Path(path)
    return with_text_columns(parse_isolated(path, sheet, display or path.name), text_columns)


def parse_workbook(path: Path, sheet: str | None, display: str) -> WorkbookRead:
    """The workbook checked, then the sheet parsed, in this process (``read_workbook``'s
    contract without the identity columns; ``parse_isolated`` runs it in a child)."""
    flavour = workbook_checks.check_container(path, display)
    reader = _open(path, display)
    sheets = tuple(reader.sheet_names)
    if not sheets:
        raise InputFileError(f"{display}: the workbook has no sheets")
    chosen = sheets[0] if sheet is None else sheet
    if chosen != ALL_SHEETS and chosen not in sheets:
        raise InputFileError(
            f"{display}: no sheet '{chosen}'; sheets are {list(sheets)} (or '{ALL_SHEETS}' to stack them)"
        )
    wanted = sheets if chosen == ALL_SHEETS else (chosen,)
    with excel_pieces.PieceParser(path, _parse_piece) as pieces:
        if flavour in ("xlsx", "xlsb"):  # (.ods and .xls: check_container checked them whole)
            workbook_checks.check_sheets(path, display, flavour, wanted, sheets, pieces.sink_for)
        tables = [_named(_in_pieces_or_whole(pieces.table(name), reader, name, display)) for name in wanted]
    return _stacked(tables, wanted, display), sheets, chosen


def with_text_columns(read: WorkbookRead, text_columns: TextColumns | None) -> WorkbookRead:
    """A read with ``text_columns(table)`` as text (``identity_as_text``); None: as it is."""
    if text_columns is None:
        return read
    table, sheets, chosen = read
    return identity_as_text(table, list(text_columns(table))), sheets, chosen


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


def file_identity(path: str | Path) -> tuple:
    """What tells one version of a file from another: its real path, device, inode, size and
    modification time (OSError for a missing file). For callers that keep reads."""
    stat = Path(path).stat()
    return (os.path.realpath(path), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


# -- the sheets -------------------------------------------------------------------------------


def _open(path: Path, display: str):
    import fastexcel

    try:
        return fastexcel.read_excel(path)
    except fastexcel.FastExcelError as exc:
        raise InputFileError(
            f"{display}: not a readable workbook ({_reason(exc)}); save it again from Excel, or export CSV"
        ) from exc


def _in_pieces_or_whole(pieces: pa.Table | None, reader, name: str, display: str) -> pa.Table:
    """The sheet as the pieces gave it, else parsed whole (InputFileError: unreadable, empty)."""
    if pieces is not None:
        return pieces
    import fastexcel

    try:
        batch = _parse_sheet(reader, name, last=True)
    except fastexcel.FastExcelError as exc:
        raise InputFileError(
            f"{display}: sheet '{name}' cannot be read ({_reason(exc)}); "
            "save the workbook again from Excel, or export the sheet as CSV"
        ) from exc
    if batch.num_columns == 0 or batch.num_rows == 0:
        raise InputFileError(f"{display}: sheet '{name}' is empty")
    return pa.Table.from_batches([batch])


def _parse_sheet(reader, name: str, *, last: bool) -> pa.RecordBatch:
    """The sheet as Arrow: each column's type from all its cells; whitespace-only rows at the
    end dropped (``last``: only at the sheet's real end, not at the end of a piece)."""
    return reader.load_sheet(
        name, schema_sample_rows=None, dtype_coercion="coerce", skip_whitespace_tail_rows=last, eager=True
    )


def _parse_piece(piece: Path, sheet: str, last: bool) -> pa.RecordBatch:
    """One piece workbook's sheet (core.excel_pieces.ParsePiece)."""
    import fastexcel

    return _parse_sheet(fastexcel.read_excel(piece), sheet, last=last)


def _named(table: pa.Table) -> pa.Table:
    return table.rename_columns([_header(i, c) for i, c in enumerate(table.column_names)])


def _header(index: int, name: str) -> str:
    if name.startswith("__UNNAMED__") or not name.strip():
        return f"column_{index + 1}"
    return name.strip()


def _reason(exc: Exception) -> str:
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    return lines[0][:200] if lines else type(exc).__name__


def _stacked(tables: list[pa.Table], names: Iterable[str], display: str) -> pa.Table:
    """One sheet as it is; several stacked, when their columns are the same (InputFileError
    naming the first sheet that differs)."""
    first = tables[0].column_names
    for name, table in zip(names, tables):
        if table.column_names != first:
            raise InputFileError(
                f"{display}: sheet '{name}' has columns {table.column_names}, not the first "
                f"sheet's {first}; read one sheet at a time with --sheet NAME"
            )
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(_as_text_where_mixed(tables), promote_options="permissive")


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


# -- the parse in a child process -------------------------------------------------------------
#
# A reader that panics, aborts (an allocation refused) or runs away must not take the server
# with it: the check and the parse run in a fresh interpreter with an address-space and a CPU
# limit (resource.setrlimit, set by the child on itself before it reads the file), which
# writes the table as an Arrow IPC file; the parent maps that file (no copy). The bounds the
# check uses are handed over as they are in this process (a test may have changed them).

PARSE_IN_CHILD = True
_CHILD = "from core.excel import child_main; child_main()"


def parse_isolated(path: Path, sheet: str | None, display: str) -> WorkbookRead:
    """``parse_workbook`` in a child process when PARSE_IN_CHILD, else here: a reader that
    dies or runs over its limits is then an InputFileError, not the end of this process."""
    if not PARSE_IN_CHILD:
        return parse_workbook(path, sheet, display)
    table, sheets, chosen = _in_child(path, display, {"sheet": sheet})
    if table is None:  # (only a request for the sheet names is answered without a table)
        raise InputFileError(f"{display}: the workbook's reader gave no table; export the sheet as CSV")
    return table, sheets, chosen


def _in_child(path: Path, display: str, request: dict) -> tuple[pa.Table | None, tuple[str, ...], str]:
    """Run the request ({"sheet": ...} to read one, {"names": True} for the sheet names) in a
    child process; InputFileError for what the child refused, and for a child that died."""
    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "RUST_BACKTRACE": "0",
        "PYTHONPATH": os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH")) if p),
    }
    with tempfile.TemporaryDirectory(prefix="rfm-workbook-") as scratch:
        out = Path(scratch) / "sheet.arrow"
        request = {
            **request,
            "path": str(path),
            "display": display,
            "out": str(out),
            "bounds": {name: getattr(workbook_checks, name) for name in workbook_checks.BOUNDS},
            "pieces": {name: getattr(excel_pieces, name) for name in excel_pieces.SETTINGS},
            "max_columns": limits.MAX_COLUMNS,
            "memory": limits.WORKBOOK_MEMORY_BYTES,
            "cpu": limits.WORKBOOK_CPU_SECONDS,
        }
        try:
            done = subprocess.run(
                [sys.executable, "-c", _CHILD],
                input=json.dumps(request),
                capture_output=True,
                text=True,
                env=env,
                cwd=root,
                timeout=limits.WORKBOOK_WALL_SECONDS,
            )
        except subprocess.TimeoutExpired:
            raise InputFileError(
                f"{display}: reading the workbook took over {limits.WORKBOOK_WALL_SECONDS} s and "
                "was stopped; export the sheet as CSV or Parquet"
            ) from None
        answer = _answer(done.stdout)
        if done.returncode != 0 or answer is None:
            raise InputFileError(
                f"{display}: the workbook's reader stopped ({_how(done.returncode)}) within its "
                f"limits ({limits.WORKBOOK_MEMORY_BYTES >> 30} GiB of memory, "
                f"{limits.WORKBOOK_CPU_SECONDS} s of CPU); the file is too large, broken or "
                "hostile: export the sheet as CSV or Parquet"
            )
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
    for module, settings in ((workbook_checks, request["bounds"]), (excel_pieces, request["pieces"])):
        for name, value in settings.items():
            setattr(module, name, value)
    limits.MAX_COLUMNS = request["max_columns"]
    path, display = Path(request["path"]), request["display"]
    try:
        if request.get("names"):
            workbook_checks.check_container(path, display)
            print(json.dumps({"sheets": list(_open(path, display).sheet_names)}))
            return
        table, sheets, chosen = parse_workbook(path, request["sheet"], display)
    except InputFileError as exc:
        print(json.dumps({"error": str(exc)}))
        return
    with pa.OSFile(request["out"], "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    print(json.dumps({"sheets": list(sheets), "chosen": chosen}))
