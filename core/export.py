"""Exports for spreadsheets: CSV and Excel with formula injection neutralised.

A cell that starts with = + - @ (or a tab / carriage return) is run as a formula by Excel,
LibreOffice and Google Sheets. Text cells starting so get a leading apostrophe; numbers are
left alone (a negative number is data, not a formula). A text cell holding a line break
(CR or LF) is quoted, so it can never start a new row of its own.

``write_output`` is the one way a file is written for the user (CLI ``-o``): it refuses
targets that are not regular files or that are one of the inputs, and writes a real
workbook for ``.xlsx``.
"""

from __future__ import annotations

import csv
import io
import os
import stat
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Union

import pyarrow as pa

from core.atomic import atomic_output
from core.errors import ConfigError

EXCEL_MAX_ROWS = 1_048_576  # Excel's own sheet limit, header row included

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

if TYPE_CHECKING:
    import pandas as pd
# What can be written: a pandas DataFrame, or an Arrow table (the CLI's RFM: no pandas import).
Frame = Union["pd.DataFrame", pa.Table]


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells cannot be read as spreadsheet formulas."""
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        text = series.astype("string")
        risky = text.str.startswith(FORMULA_PREFIXES).fillna(False)
        if risky.any():
            out[column] = text.where(~risky, "'" + text)
    out.columns = [("'" + c) if str(c).startswith(FORMULA_PREFIXES) else c for c in out.columns]
    return out


def _safe_cell(value):
    """One cell as ``neutralise_formulas`` writes it."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) else value


def _has_carriage_return(frame: pd.DataFrame) -> bool:
    import pandas as pd

    for column in frame.columns:
        series = frame[column]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
            if series.astype("string").str.contains("\r", regex=False).fillna(False).any():
                return True
    return any("\r" in str(c) for c in frame.columns)


def to_csv_text(frame: Frame) -> str:
    """Neutralised CSV text, rows ending in LF, every field holding CR or LF quoted.

    Python's csv writer quotes a field holding LF (the line terminator) but not a lone CR,
    which spreadsheet programs also read as a line break: a frame with a CR anywhere is
    written row by row with CRLF as the quoting terminator, each row then ended with LF.
    """
    if isinstance(frame, pa.Table):
        header = [_safe_cell(str(c)) for c in frame.column_names]
        fast = _arrow_rows_text(frame)
        if fast is not None:
            return _rows_text([header], any("\r" in c for c in header)) + fast
        columns = [[_safe_cell(v) for v in column.to_pylist()] for column in frame.columns]
        rows = [header, *zip(*columns)] if columns else [header]
        return _rows_text(rows, any("\r" in v for row in rows for v in row if isinstance(v, str)))
    safe = neutralise_formulas(frame)
    if not _has_carriage_return(safe):
        return safe.to_csv(index=False, lineterminator="\n")
    header = [str(c) for c in safe.columns]
    return _rows_text(
        [header, *safe.astype(object).where(safe.notna(), "").itertuples(index=False, name=None)], True
    )


# Arrow writes a float64 with the same shortest round-trip digits as Python's repr; the two
# differ only in layout (Arrow: '30', '1e+15', '1e-7'; repr: '30.0', '1000000000000000.0',
# '1e-07'). repr writes digits without an exponent from 1e-4 up to (not including) 1e16.
_FIXED_LOW, _FIXED_HIGH = 1e-4, 1e16
_QUOTED = ("\r", "\n", ",", '"')  # what the csv writer quotes (or cannot write plainly)


def _arrow_rows_text(table: pa.Table) -> str | None:
    """The data rows as ``_rows_text`` writes them, built column by column with Arrow, or None
    when a cell needs what only the row-by-row path does: quoting, a line break, a float
    outside repr's fixed-point range or that Arrow writes with an exponent, a column of another
    type than text, whole numbers or float64, or a single column (the csv writer quotes a lone
    empty field). 40,000 customers: a hundredth of a second instead of a tenth.
    """
    import pyarrow.compute as pc

    if table.num_columns < 2:
        return None
    cells = []
    for column in table.columns:
        kind = column.type
        if pa.types.is_integer(kind):
            text = pc.cast(column, pa.string())
        elif pa.types.is_float64(kind):
            size = pc.abs(column)
            fixed = pc.or_(
                pc.equal(size, _scalar(0.0)),
                pc.and_(pc.greater_equal(size, _scalar(_FIXED_LOW)), pc.less(size, _scalar(_FIXED_HIGH))),
            )
            if pc.all(fixed).as_py() not in (True, None):  # NaN and infinity are not fixed
                return None
            text = pc.cast(column, pa.string())
            if pc.any(pc.match_substring(text, "e")).as_py():
                return None
            whole = pc.invert(pc.match_substring(text, "."))  # '30' is repr's '30.0'
            text = pc.if_else(whole, pc.binary_join_element_wise(text, _scalar(".0"), _scalar("")), text)
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            text = column.cast(pa.string())
            for mark in _QUOTED:
                if pc.any(pc.match_substring(text, mark)).as_py():
                    return None
            risky = pc.starts_with(text, FORMULA_PREFIXES[0])
            for prefix in FORMULA_PREFIXES[1:]:
                risky = pc.or_(risky, pc.starts_with(text, prefix))
            text = pc.if_else(risky, pc.binary_join_element_wise(_scalar("'"), text, _scalar("")), text)
        else:
            return None
        cells.append(pc.fill_null(text, _scalar("")))
    rows = pc.binary_join_element_wise(*cells, _scalar(",")).to_pylist()
    return "\n".join(rows) + "\n" if rows else ""


def _scalar(value: str | float) -> pa.Scalar:
    """A string or float64 scalar built from its bytes: pyarrow imports pandas to convert a
    Python value (pa.scalar, or a str or float handed to pyarrow.compute), and the rfm command
    imports no pandas (a third of its time)."""
    if isinstance(value, str):
        data = value.encode("utf-8")
        buffers = [None, pa.py_buffer(struct.pack("<ii", 0, len(data))), pa.py_buffer(data)]
        return pa.Array.from_buffers(pa.string(), 1, buffers)[0]
    return pa.Array.from_buffers(pa.float64(), 1, [None, pa.py_buffer(struct.pack("<d", value))])[0]


def _rows_text(rows, carriage_return: bool) -> str:
    """CSV text of ``rows`` (None as empty), each row ended with LF; see ``to_csv_text``."""
    buffer = io.StringIO()
    if not carriage_return:
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        return buffer.getvalue()
    row_buffer = io.StringIO()
    writer = csv.writer(row_buffer, lineterminator="\r\n")
    for row in rows:
        row_buffer.seek(0)
        row_buffer.truncate()
        writer.writerow(row)
        buffer.write(row_buffer.getvalue()[:-2] + "\n")
    return buffer.getvalue()


def to_csv_bytes(frame: Frame) -> bytes:
    """``to_csv_text(frame)`` as UTF-8 bytes (formulas neutralised as there)."""
    return to_csv_text(frame).encode("utf-8")


def to_excel_bytes(frame: Frame, sheet_name: str = "customers") -> bytes:
    """A real .xlsx workbook; text is written as text, never as a formula or a link."""
    import pandas as pd

    if isinstance(frame, pa.Table):
        frame = frame.to_pandas()
    if len(frame) + 1 > EXCEL_MAX_ROWS:
        raise ConfigError(
            f"{len(frame):,} rows do not fit in an Excel sheet "
            f"({EXCEL_MAX_ROWS:,} rows at most); write a .csv instead"
        )
    buffer = io.BytesIO()
    options = {"strings_to_formulas": False, "strings_to_urls": False}
    with pd.ExcelWriter(buffer, engine="xlsxwriter", engine_kwargs={"options": options}) as writer:
        neutralise_formulas(frame).to_excel(writer, index=False, sheet_name=sheet_name[:31])
    return buffer.getvalue()


def write_csv(frame: Frame, path: str | os.PathLike) -> None:
    """Write a neutralised CSV atomically (temp file + rename)."""
    with atomic_output(path) as tmp:
        tmp.write_bytes(to_csv_bytes(frame))


def check_output_path(path: str | os.PathLike, inputs: Iterable[str | os.PathLike] = ()) -> Path:
    """``path`` if a file may be written there, else ConfigError saying why and what to do.

    Refused: a symbolic link (it would be replaced by a regular file; name its target
    instead), anything that exists and is not a regular file (a FIFO, a device, a folder),
    and any of ``inputs`` (the run would overwrite what it reads).
    """
    target = Path(path)
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        info = None
    if info is not None and stat.S_ISLNK(info.st_mode):
        raise ConfigError(
            f"{target}: output is a symbolic link (to {os.readlink(target)}); give the real file's path as -o"
        )
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise ConfigError(
            f"{target}: output exists and is not a regular file (a folder, FIFO or "
            "device); choose a file name"
        )
    for source in inputs:
        source = Path(source)
        same = (
            info is not None and source.exists() and os.path.samefile(source, target)
        ) or source.resolve() == target.resolve()
        if same:
            raise ConfigError(f"{target}: output is the input file {source}; choose another -o")
    return target


def write_output(
    frame: Frame,
    path: str | os.PathLike,
    inputs: Iterable[str | os.PathLike] = (),
    sheet_name: str = "customers",
) -> str:
    """Write ``frame`` for the user: .xlsx as a workbook, anything else as CSV; returns the kind."""
    target = check_output_path(path, inputs)
    if target.suffix.lower() == ".xlsx":
        data, kind = to_excel_bytes(frame, sheet_name), "Excel workbook"
    else:
        data, kind = to_csv_bytes(frame), "CSV"
    with atomic_output(target) as tmp:
        tmp.write_bytes(data)
    return kind
