"""Where a report's header row is, and which of its rows are totals.

Reports saved from Excel or a shop's back office often start with title rows ("Sales report",
"Period: 01/01/2024 - 31/03/2024", a blank line) above the header, and end with a TOTAL row.
The header is the first row that is about as wide as the table (title rows hold one or two
cells); ``--header-row N`` / the Data page's control override it. Totals and subtotal rows are
rows whose first non-blank cell is a totals label (``TOTAL_LABELS``): they are not sales.
Some reports also write lines below the table (eBay's orders report: how many records were
downloaded, the seller's ID): a text file's trailing footer lines (``FOOTER_LINES``, with the
blank lines around them) are left out before the table is read (``csv_footer_start``).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from pathlib import Path

import ibis

from core.errors import ConfigError, InputFileError
from core.statuses import normalise_status

# The first cell of a totals or subtotal row, by language (compared through normalise_status:
# case, accents and punctuation such as a trailing ':' ignored).
TOTAL_LABELS: dict[str, tuple[str, ...]] = {
    "en": ("total", "totals", "grand total", "sub total", "subtotal", "sum", "overall total", "total sales"),
    "fr": ("total général", "sous total", "totaux", "total ventes"),
    "de": ("summe", "gesamt", "gesamtsumme", "zwischensumme", "endsumme", "gesamtbetrag", "insgesamt"),
    "es": ("total general", "totales", "suma"),
    "it": ("totale", "totale generale", "subtotale", "somma", "totali"),
    "nl": ("totaal", "subtotaal", "eindtotaal", "som", "totaal generaal"),
    "pt": ("total geral", "soma", "totais"),
}
TOTAL_WORDS = frozenset(normalise_status(w) for group in TOTAL_LABELS.values() for w in group)
# Lines a report writes below its table, matched on the line's non-blank cells joined by a
# blank: eBay's orders report ends with '3,record(s) downloaded' and 'Seller ID: name'.
FOOTER_LINES = (
    re.compile(r"^\d[\d,.]*\s+records?(\(s\))?\s+downloaded\b", re.IGNORECASE),
    re.compile(r"^seller id\s*:", re.IGNORECASE),
)
SCAN_ROWS = 30  # rows looked at for the header (title blocks are a few rows)
_HEAD_BYTES = 1 << 16
_TAIL_BYTES = 1 << 16
_DELIMITERS = (",", ";", "\t", "|")


def is_total_label(text: object) -> bool:
    """'Grand Total:', 'Summe', 'Total général' -> True; 'Totally Tea Ltd' -> False."""
    return text is not None and normalise_status(text) in TOTAL_WORDS


def find_header_row(rows: Sequence[Sequence[object]]) -> int:
    """The index (0-based) of the header among a table's first rows (cells as read).

    Candidates hold at least two non-blank cells and at least 60% as many as the widest of
    ``rows`` (title rows above a header hold one or two). The header is the first candidate
    that holds no number or date and is not narrower than the next candidate (the table under
    it); else the first candidate (a header with blank names); 0 when there is none."""
    filled = [sum(1 for c in row if c is not None and str(c).strip()) for row in rows]
    if not filled:
        return 0
    need = max(2, math.ceil(0.6 * max(filled)))
    candidates = [i for i, n in enumerate(filled) if n >= need]
    for i, j in zip(candidates, candidates[1:] + [None]):
        if filled[i] >= (filled[j] if j is not None else 0) and not any(
            _VALUE.match(str(c).strip()) for c in rows[i] if c is not None
        ):
            return i
    return candidates[0] if candidates else 0


# A cell that is data, not a column name: a number or a date.
_VALUE = re.compile(r"^([-+(]?[\d.,\s']+\)?|\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}.*)$")


def check_header_row(header_row: int | None, display: str) -> None:
    """Refuse a header row that is not a positive row number (ConfigError)."""
    if header_row is not None and (not isinstance(header_row, int) or header_row < 1):
        raise ConfigError(
            f"{display}: header row {header_row!r} is not a row number; give "
            "--header-row 1 for the first row, 3 for the third"
        )


def check_parquet_header(header_row: int | None, display: str) -> None:
    """A Parquet file names its columns: only row 1 (or none given) is its header."""
    check_header_row(header_row, display)
    if header_row not in (None, 1):
        raise ConfigError(f"{display}: a Parquet file names its columns itself; leave out --header-row")


def _records(text: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    out = []
    try:
        for row in reader:
            out.append(row)
            if len(out) >= SCAN_ROWS:
                break
    except csv.Error:
        pass
    return out


def csv_header_line(path: str | Path, display: str, header_row: int | None = None) -> tuple[int, int]:
    """(header row as a spreadsheet numbers it, physical lines above it) of a UTF-8 text file.

    ``header_row`` (1-based) forces it; else ``find_header_row`` over the first rows, read
    with the delimiter that makes the widest row (a title line has no delimiters to tell)."""
    check_header_row(header_row, display)
    with Path(path).open("r", encoding="utf-8-sig", errors="replace", newline="") as fh:
        head = fh.read(_HEAD_BYTES)
    if header_row is None:
        best: list[list[str]] = []
        for delimiter in _DELIMITERS:
            rows = _records(head, delimiter)
            if rows and max(map(len, rows)) > (max(map(len, best)) if best else 0):
                best = rows
        index = find_header_row(best)
    else:
        index = header_row - 1
    reader = csv.reader(io.StringIO(head))
    lines = 0
    try:
        for _ in range(index):
            next(reader)
        lines = reader.line_num
    except StopIteration:
        raise InputFileError(
            f"{display}: has no row {index + 1} to take as the header; give a smaller --header-row"
        ) from None
    except csv.Error:
        lines = index
    return index + 1, lines


def table_header_row(
    names: Sequence[str], rows: Sequence[Sequence[object]], header_row: int | None, display: str
) -> int:
    """The header's row (1-based) of a sheet read with its first row as ``names`` (unnamed
    columns called 'column_N') and ``rows`` the rows under it."""
    check_header_row(header_row, display)
    if header_row is not None:
        if header_row > len(rows) + 1:
            raise InputFileError(
                f"{display}: has no row {header_row} to take as the header; give a smaller --header-row"
            )
        return header_row
    first = [None if re.fullmatch(r"column_\d+", str(n)) else n for n in names]
    return find_header_row([first, *rows[: SCAN_ROWS - 1]]) + 1


def promote_header(table, header_row: int):
    """An Arrow table read with its first sheet row as names, re-headed on ``header_row``
    (1-based): that row's cells become the names (blank: 'column_N'), the rows above dropped.
    Every column becomes text as written (the roles decide types later)."""
    import pyarrow as pa

    if header_row <= 1:
        return table
    text = (
        table.cast(pa.schema([(f.name, pa.string()) for f in table.schema]), safe=False)
        if any(not pa.types.is_string(f.type) for f in table.schema)
        else table
    )
    names_row = text.slice(header_row - 2, 1).to_pylist()[0]
    names = []
    for i, column in enumerate(text.column_names):
        value = names_row[column]
        names.append(str(value).strip() if value is not None and str(value).strip() else f"column_{i + 1}")
    body = text.slice(header_row - 1)
    return pa.table(body.columns, names=names)


def may_hold_totals(tail_rows: Sequence[Sequence[object]]) -> bool:
    """Whether a table's last rows hold a totals row (its first non-blank cell a label):
    reports that total anything put a grand total at the end."""
    for row in tail_rows:
        first = next((c for c in row if c is not None and str(c).strip()), None)
        if is_total_label(first):
            return True
    return False


def csv_tail_rows(path: str | Path, delimiter: str) -> list[list[str]]:
    """The last rows of a UTF-8 text file (its last 64 KiB, the first partial line dropped)."""
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - _TAIL_BYTES))
        tail = fh.read().decode("utf-8", errors="replace")
    if size > _TAIL_BYTES:
        tail = tail.split("\n", 1)[-1]
    try:
        return list(csv.reader(io.StringIO(tail), delimiter=delimiter))
    except csv.Error:
        return []


def is_footer_line(line: str) -> bool:
    """Whether one line of text is a report's footer: at most two non-blank cells (whichever
    of , ; tab | splits it most) that read as a FOOTER_LINES pattern. A data row never is."""
    cells = max((next(csv.reader([line], delimiter=d), []) for d in _DELIMITERS), key=len)
    filled = [c.strip() for c in cells if c.strip()]
    return 0 < len(filled) <= 2 and any(p.match(" ".join(filled)) for p in FOOTER_LINES)


def csv_footer_start(path: str | Path) -> int | None:
    """The byte offset where a UTF-8 text file's footer starts: the blank and footer lines
    (``is_footer_line``) after its last other line, when at least one footer line is among
    them; None when the file ends on its table (the usual case: only its last 64 KiB is read)."""
    path = Path(path)
    size = path.stat().st_size
    start = max(0, size - _TAIL_BYTES)
    with path.open("rb") as fh:
        fh.seek(start)
        tail = fh.read()
    lines = tail.split(b"\n")
    offset, cut, footer = start + len(tail), None, False
    for raw in reversed(lines[1:] if start else lines):
        offset -= len(raw) + 1
        text = raw.decode("utf-8", errors="replace").strip("\r\ufeff")
        if not text.strip(" \t,;|\"'"):
            cut = offset + 1
            continue
        if not is_footer_line(text):
            break
        footer, cut = True, offset + 1
    return cut if footer else None


def footer_line_count(path: str | Path, footer_start: int) -> int:
    """How many non-blank lines a text file holds from ``footer_start`` (``csv_footer_start``)
    to its end: the footer lines left out, for the reading summary."""
    with Path(path).open("rb") as fh:
        fh.seek(footer_start)
        return sum(1 for raw in fh.read().split(b"\n") if raw.strip(b" \t,;|\"'\r"))


def without_footer(path: str | Path, footer_start: int, folder: str | Path) -> Path:
    """A copy of the text file in ``folder`` ending where its footer starts (streamed)."""
    source = Path(path)
    target = Path(folder) / (source.stem + ".body" + source.suffix)
    left = footer_start
    with source.open("rb") as src, target.open("wb") as dst:
        while left > 0:
            block = src.read(min(left, 1 << 20))
            if not block:
                break
            dst.write(block)
            left -= len(block)
    return target


def total_row(table: ibis.Table) -> ibis.BooleanValue:
    """Per raw row, whether its first non-blank cell is a totals label (as an engine
    expression over the table's columns as text, lower case, accents kept as written)."""
    cells = [table[c].cast("string").strip() for c in table.columns]
    first = ibis.coalesce(*[ibis.ifelse(c == "", ibis.null("string"), c) for c in cells])
    plain = first.lower().re_replace(r"[\s:._\-]+", " ").strip()
    return plain.isin(sorted(_engine_labels())).fill_null(False)


def _engine_labels() -> set[str]:
    """TOTAL_LABELS as the engine compares them: lower case, with and without accents."""
    out = set()
    for group in TOTAL_LABELS.values():
        for label in group:
            lowered = " ".join(re.sub(r"[\s:._\-]+", " ", label.lower()).split())
            out |= {lowered, normalise_status(label)}
    return out
