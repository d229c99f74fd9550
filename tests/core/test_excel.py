"""Excel reading (core/excel.py through core/io.py): column types, identity columns as text,
date cells and text dates, sheets, and hostile or broken workbooks refused before parsing.

Workbooks are written here, cell by cell (xlsxwriter), or part by part (zipfile) where the
test needs a file Excel would never write: a zip bomb, a broken sheet.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import excel, excel_pieces, workbook_checks
from core.cli import WorkbookReadAhead, main
from core.errors import InputFileError
from core.io import list_sheets, read_transactions

ROOT = Path(__file__).resolve().parents[2]
HEADER = ["Invoice", "StockCode", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]


def _retail_workbook(path: Path, sheets: dict[str, list[tuple]]) -> Path:
    """An Online-Retail-shaped workbook: numbers, text and date cells as Excel stores them."""
    book = xlsxwriter.Workbook(str(path))
    when = book.add_format({"num_format": "dd/mm/yyyy hh:mm"})
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, HEADER)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, dt.datetime):
                    sheet.write_datetime(r, c, value, when)
                elif isinstance(value, str):
                    sheet.write_string(r, c, value)  # as text, even when it looks like a number
                else:
                    sheet.write_number(r, c, value)
    book.close()
    return path


ROWS_2010 = [
    (536365, "85123A", 6, dt.datetime(2010, 12, 1, 8, 26), 2.55, 12347, "United Kingdom"),
    ("C536379", "D", -1, dt.datetime(2010, 12, 1, 9, 41), 27.5, 12347, "United Kingdom"),
    (536366, 22633, 3, dt.datetime(2010, 12, 2, 10, 0), 1.85, "00017", "France"),
    (536367, "84879", 2, dt.datetime(2010, 12, 3, 11, 15), 1.5, None, "France"),
]
ROWS_2011 = [
    (540001, "22423", 1, dt.datetime(2011, 1, 4, 9, 0), 10.0, 12347, "United Kingdom"),
    (540002, "22423", 4, dt.datetime(2011, 1, 5, 9, 30), 10.0, 12348.0, "Norway"),
]


def _values(dataset) -> dict[str, list]:
    return dataset.table.to_pyarrow().to_pydict()


def test_mixed_identity_columns_keep_every_value_as_text(tmp_path, duck):
    path = _retail_workbook(tmp_path / "retail.xlsx", {"2010": ROWS_2010})
    values = _values(read_transactions(path, con=duck))
    # a number and a text invoice in one column: both survive, the number without '.0'
    assert values["Invoice"] == ["536365", "C536379", "536366", "536367"]
    assert values["StockCode"] == ["85123A", "D", "22633", "84879"]
    # text '00017' keeps its zeros; the number 12347 is '12347', not '12347.0'; blank is NULL
    assert values["Customer ID"] == ["12347", "12347", "00017", None]
    assert values["Quantity"] == [6.0, -1.0, 3.0, 2.0]
    assert values["Price"] == [2.55, 27.5, 1.85, 1.5]


def test_numeric_customer_column_is_read_as_text(tmp_path, duck):
    path = _retail_workbook(tmp_path / "retail.xlsx", {"2011": ROWS_2011})
    dataset = read_transactions(path, con=duck)
    assert dataset.table.schema()["Customer ID"].is_string()
    assert _values(dataset)["Customer ID"] == ["12347", "12348"]
    assert _values(dataset)["Invoice"] == ["540001", "540002"]
    again = read_transactions(path, con=duck)  # the kept table: identity columns still text
    assert _values(again)["Customer ID"] == ["12347", "12348"]


def test_date_cells_are_timestamps_and_text_dates_stay_text(tmp_path, duck):
    book = xlsxwriter.Workbook(str(tmp_path / "dates.xlsx"))
    sheet = book.add_worksheet("orders")
    sheet.write_row(0, 0, ["cust", "order_date", "typed_date", "amount"])
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    rows = [
        ("A1", dt.datetime(2024, 3, 1, 14, 30), "01.03.2024 14:30", 10.0),
        ("A2", dt.datetime(2024, 3, 2), "02.03.2024", 20.0),
    ]
    for r, (cust, when_value, text, amount) in enumerate(rows, start=1):
        sheet.write_string(r, 0, cust)
        sheet.write_datetime(r, 1, when_value, when)
        sheet.write_string(r, 2, text)
        sheet.write_number(r, 3, amount)
    book.close()
    dataset = read_transactions(tmp_path / "dates.xlsx", con=duck)
    assert dataset.table.schema()["order_date"].is_timestamp()
    values = _values(dataset)
    assert values["order_date"] == [dt.datetime(2024, 3, 1, 14, 30), dt.datetime(2024, 3, 2)]
    assert values["typed_date"] == ["01.03.2024 14:30", "02.03.2024"]


def test_rfm_from_an_excel_file_matches_a_hand_computation(tmp_path, capsys):
    path = _retail_workbook(tmp_path / "retail.xlsx", {"2010": ROWS_2010, "2011": ROWS_2011})
    out = tmp_path / "rfm.csv"
    assert main(["rfm", str(path), "--sheet", "all", "--preset", "generic", "-o", str(out)]) == 0
    lines = out.read_text().splitlines()
    # generic rules: the C invoice (quantity -1) and the line without a customer are removed.
    # As of the latest purchase, 2011-01-05 09:30.
    # 12347: 536365 (6 * 2.55) and 540001 (1 * 10) -> F 2, M 25.30, last 2011-01-04 09:00 -> R 1
    # 00017: 536366 (3 * 1.85) -> F 1, M 5.55, last 2010-12-02 10:00 -> R 33 (34 days less 30 min)
    # 12348: 540002 (4 * 10) -> F 1, M 40, R 0
    assert lines[0] == "customer_id,recency,frequency,monetary"
    rows = {line.split(",")[0]: line.split(",")[1:] for line in lines[1:]}
    assert set(rows) == {"12347", "00017", "12348"}
    assert rows["12347"][:2] == ["1", "2"] and float(rows["12347"][2]) == pytest.approx(25.30)
    assert rows["00017"][:2] == ["33", "1"] and float(rows["00017"][2]) == pytest.approx(5.55)
    assert rows["12348"][:2] == ["0", "1"] and float(rows["12348"][2]) == pytest.approx(40.0)


def test_sheets_one_by_name_and_all_stacked(tmp_path, duck):
    path = _retail_workbook(tmp_path / "retail.xlsx", {"2010": ROWS_2010, "2011": ROWS_2011})
    assert list_sheets(path) == ["2010", "2011"]
    first = read_transactions(path, con=duck)
    assert first.sheets == ("2010", "2011") and first.sheet == "2010"
    assert _values(first)["Invoice"] == ["536365", "C536379", "536366", "536367"]
    second = read_transactions(path, sheet="2011", con=duck)
    assert _values(second)["Invoice"] == ["540001", "540002"]
    both = read_transactions(path, sheet="all", con=duck)
    assert both.sheet == "all"
    assert _values(both)["Invoice"] == ["536365", "C536379", "536366", "536367", "540001", "540002"]
    assert _values(both)["Customer ID"] == ["12347", "12347", "00017", None, "12347", "12348"]


# -- hand-built workbooks: the parts Excel writes, with a sheet part we choose -----------------

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    '<sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><worksheet '
    'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{dimension}<sheetData>'
)
_SHEET_TAIL = "</sheetData></worksheet>"
_HEADER_ROW = (
    '<row><c t="inlineStr"><is><t>cust</t></is></c><c t="inlineStr"><is><t>order_date</t></is></c>'
    '<c t="inlineStr"><is><t>amount</t></is></c></row>'
)


def _data_row(i: int) -> str:
    return (
        f'<row><c t="inlineStr"><is><t>C{i % 97}</t></is></c>'
        f'<c t="inlineStr"><is><t>2024-01-{1 + i % 28:02d}</t></is></c><c><v>{i % 50 + 1}</v></c></row>'
    )


def _hand_workbook(
    path: Path,
    rows: int,
    *,
    dimension: str = "",
    sheet_part: bool = True,
    cut_sheet_at: int | None = None,
    filler: str = "",
) -> Path:
    """A minimal .xlsx whose one sheet has a header row and ``rows`` data rows, streamed into
    the zip so that a sheet of a million rows never exists in this process's memory."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES)
        zf.writestr("_rels/.rels", _ROOT_RELS)
        zf.writestr("xl/workbook.xml", _WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        if not sheet_part:
            return path
        text = _SHEET_HEAD.format(dimension=dimension) + _HEADER_ROW + filler
        if cut_sheet_at is not None:
            body = text + "".join(_data_row(i) for i in range(rows)) + _SHEET_TAIL
            zf.writestr("xl/worksheets/sheet1.xml", body[:cut_sheet_at])
            return path
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(text.encode())
            block = "".join(_data_row(i) for i in range(1000)).encode()
            for _ in range(rows // 1000):
                part.write(block)
            part.write("".join(_data_row(i) for i in range(rows % 1000)).encode())
            part.write(_SHEET_TAIL.encode())
    return path


def test_hand_built_workbook_is_read(tmp_path, duck):
    path = _hand_workbook(tmp_path / "small.xlsx", 3, dimension='<dimension ref="A1:C4"/>')
    values = _values(read_transactions(path, con=duck))
    assert values["cust"] == ["C0", "C1", "C2"]
    assert values["order_date"] == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert values["amount"] == [1.0, 2.0, 3.0]


def test_declared_dimension_over_excels_row_limit_is_refused(tmp_path, duck):
    path = _hand_workbook(tmp_path / "tall.xlsx", 2, dimension='<dimension ref="A1:C14700000"/>')
    with pytest.raises(InputFileError, match=r"tall.xlsx: sheet 'Data' has more than 1,048,576 rows"):
        read_transactions(path, con=duck)


BOMB_ROWS = 1_300_000  # past Excel's 1,048,576 rows, no dimension: only streaming finds out


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    return _hand_workbook(tmp_path_factory.mktemp("bomb") / "bomb.xlsx", BOMB_ROWS)


def test_bomb_is_small_on_disk_and_large_inflated(bomb):
    with zipfile.ZipFile(bomb) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    assert bomb.stat().st_size < 8 << 20 and info.file_size > 90 << 20


def test_row_bomb_is_refused_before_parsing_with_low_memory(bomb):
    # A fresh interpreter, so the peak RSS is this read's alone (the test process is larger).
    script = textwrap.dedent(f"""
        import resource, sys
        from core.errors import InputFileError
        from core.io import read_transactions
        try:
            read_transactions({str(bomb)!r})
            print("READ")
        except InputFileError as exc:
            print("REFUSED", exc)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """)
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    verdict, peak_kib = done.stdout.strip().splitlines()
    assert verdict.startswith("REFUSED bomb.xlsx: sheet 'Data' has more than 1,048,576 rows")
    assert int(peak_kib) < 1 << 20  # KiB: under 1 GiB


def _understated(workbook: Path, target: Path, size: int) -> Path:
    """A copy of ``workbook`` whose central directory says the sheet part inflates to ``size``."""
    data = bytearray(workbook.read_bytes())
    with zipfile.ZipFile(workbook) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    central = data.rfind(b"PK\x01\x02", 0, data.rfind(b"PK\x05\x06"))
    while not data[central + 46 : central + 46 + len(info.filename)] == info.filename.encode():
        central = data.rfind(b"PK\x01\x02", 0, central)
    data[central + 24 : central + 28] = size.to_bytes(4, "little")  # its uncompressed size
    target.write_bytes(bytes(data))
    with zipfile.ZipFile(target) as zf:
        assert zf.getinfo("xl/worksheets/sheet1.xml").file_size == size
    return target


def test_declared_sizes_that_lie_do_not_hide_the_bomb(bomb, tmp_path, duck):
    """The central directory says the sheet inflates to 1 KiB: the rows are counted anyway."""
    liar = _understated(bomb, tmp_path / "liar.xlsx", 1024)
    with pytest.raises(InputFileError, match="has more than 1,048,576 rows"):
        read_transactions(liar, con=duck)


def test_cli_refuses_the_bomb_with_one_line(bomb, capsys):
    assert main(["rfm", str(bomb), "-o", "-"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "bomb.xlsx" in captured.err and "1,048,576 rows" in captured.err


def test_sheet_xml_over_the_byte_cap_is_refused(tmp_path, duck, monkeypatch):
    monkeypatch.setattr(workbook_checks, "MAX_SHEET_XML_BYTES", 1 << 20)
    filler = "<!--" + "x" * (2 << 20) + "-->"  # 2 MiB of XML in a sheet of 3 rows
    path = _hand_workbook(tmp_path / "wide.xlsx", 3, filler=filler)
    with pytest.raises(InputFileError, match="wide.xlsx: sheet 'Data' unpacks to more than 1 MiB"):
        read_transactions(path, con=duck)


def test_too_many_cells_are_refused(tmp_path, duck, monkeypatch):
    monkeypatch.setattr(workbook_checks, "MAX_CELLS", 100)
    path = _hand_workbook(tmp_path / "cells.xlsx", 40)  # 41 rows of 3 cells = 123 cells
    with pytest.raises(InputFileError, match="cells.xlsx: sheet 'Data' has about 123 cells"):
        read_transactions(path, con=duck)


def test_too_many_cells_are_counted_when_the_declared_size_lies(tmp_path, duck, monkeypatch):
    # 100 cells of at least 14 bytes fit in 1,400 bytes: a sheet declared that small is not
    # counted cell by cell, unless it inflates to more, as this one (about 4 KiB) does.
    monkeypatch.setattr(workbook_checks, "MAX_CELLS", 100)
    honest = _hand_workbook(tmp_path / "cells.xlsx", 40)  # 41 rows of 3 cells = 123 cells
    with zipfile.ZipFile(honest) as zf:
        assert zf.getinfo("xl/worksheets/sheet1.xml").file_size > 14 * 100
    liar = _understated(honest, tmp_path / "small.xlsx", 1000)
    with pytest.raises(InputFileError, match="small.xlsx: sheet 'Data' has about 123 cells"):
        read_transactions(liar, con=duck)


@pytest.mark.parametrize("chunk", [5, 7, 64])
def test_tags_cut_between_chunks_are_counted_once(tmp_path, duck, monkeypatch, chunk):
    # 41 rows of 3 cells, inflated a few bytes at a time: every <row and <c crosses a seam
    # somewhere, and the counts must still be exact (one more than the bound is refused).
    monkeypatch.setattr(workbook_checks, "CHUNK_BYTES", chunk)
    path = _hand_workbook(tmp_path / "seams.xlsx", 40)
    monkeypatch.setattr(workbook_checks, "MAX_ROWS", 41)
    monkeypatch.setattr(workbook_checks, "MAX_CELLS", 123)
    assert _values(read_transactions(path, con=duck))["amount"][:2] == [1.0, 2.0]
    monkeypatch.setattr(workbook_checks, "MAX_ROWS", 40)
    again = tmp_path / "again.xlsx"  # another file: the first read is kept for its own
    again.write_bytes(path.read_bytes())
    with pytest.raises(InputFileError, match="again.xlsx: sheet 'Data' has more than 40 rows"):
        read_transactions(again, con=duck)
    monkeypatch.setattr(workbook_checks, "MAX_ROWS", 41)
    monkeypatch.setattr(workbook_checks, "MAX_CELLS", 122)
    third = tmp_path / "third.xlsx"
    third.write_bytes(path.read_bytes())
    with pytest.raises(InputFileError, match="third.xlsx: sheet 'Data' has about 123 cells"):
        read_transactions(third, con=duck)


def test_truncated_sheet_xml_is_an_input_error(tmp_path, duck):
    path = _hand_workbook(tmp_path / "cut.xlsx", 50, cut_sheet_at=900)
    with pytest.raises(InputFileError, match="cut.xlsx: sheet 'Data' cannot be read"):
        read_transactions(path, con=duck)


def test_missing_sheet_part_is_an_input_error(tmp_path, duck):
    path = _hand_workbook(tmp_path / "hollow.xlsx", 0, sheet_part=False)
    with pytest.raises(InputFileError, match="hollow.xlsx: sheet 'Data' is missing from the file"):
        read_transactions(path, con=duck)


def test_cut_off_file_and_other_kinds_are_input_errors(tmp_path, duck):
    good = _hand_workbook(tmp_path / "good.xlsx", 100)
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(good.read_bytes()[:600])
    with pytest.raises(InputFileError, match="cut.xlsx: not a valid .xlsx file"):
        read_transactions(cut, con=duck)
    png = tmp_path / "picture.xlsx"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    with pytest.raises(InputFileError, match="picture.xlsx: not a valid .xlsx workbook"):
        read_transactions(png, con=duck)
    archive = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("notes.txt", "hello")
    with pytest.raises(InputFileError, match="archive.xlsx: a zip file but not an Excel workbook"):
        read_transactions(archive, con=duck)


# -- OpenDocument (.ods): the same reader, the content part bounded the same way -------------


def _ods(path: Path, rows: list[tuple[str, str, float]]) -> Path:
    """A minimal OpenDocument spreadsheet: mimetype first and stored, then content.xml."""
    from tests.core.test_workbook_extent import ods, ods_row

    return ods(path, "".join(ods_row(*row) for row in [("cust", "order_date", "amount"), *rows]))


def test_ods_is_read_with_ids_as_text(tmp_path, duck):
    path = _ods(tmp_path / "orders.ods", [("00017", "2024-01-02", 12.5), ("A9", "2024-01-03", 4.0)])
    dataset = read_transactions(path, con=duck)
    assert dataset.kind == "excel" and dataset.sheets == ("Orders",)
    values = _values(dataset)
    assert values["cust"] == ["00017", "A9"]
    assert values["order_date"] == ["2024-01-02", "2024-01-03"]
    assert values["amount"] == [12.5, 4.0]


def test_ods_with_too_many_rows_is_refused(tmp_path, duck, monkeypatch):
    monkeypatch.setattr(workbook_checks, "MAX_ROWS", 10)
    path = _ods(tmp_path / "long.ods", [(f"C{i}", "2024-01-02", 1.0) for i in range(20)])
    with pytest.raises(InputFileError, match="long.ods: sheet 'Orders' has a cell in row 11, past"):
        read_transactions(path, con=duck)


# -- read ahead: the command line starts the read before importing the engine --------------


def _no_second_read(monkeypatch):
    """Fail any read of a workbook from its file from now on (the read ahead must serve it)."""

    def refuse(*args, **kwargs):
        raise AssertionError("the workbook was read again")

    monkeypatch.setattr(excel, "read_workbook", refuse)
    monkeypatch.setattr(excel, "parse_isolated", refuse)


def test_a_read_started_ahead_gives_the_same_table(tmp_path, duck, monkeypatch):
    path = _retail_workbook(tmp_path / "ahead.xlsx", {"2010": ROWS_2010, "2011": ROWS_2011})
    ahead = WorkbookReadAhead(path, "2011")
    assert ahead.parse is not None
    ahead.parse.result()  # the parse is over before the read asks for it
    _no_second_read(monkeypatch)
    values = _values(read_transactions(path, sheet="2011", con=duck, workbooks=ahead))
    assert values["Invoice"] == ["540001", "540002"]
    assert values["Customer ID"] == ["12347", "12348"]
    assert values["Quantity"] == [1.0, 4.0]


def test_a_read_ahead_serves_only_its_own_file_and_sheet_once(tmp_path, duck):
    path = _retail_workbook(tmp_path / "ahead.xlsx", {"2010": ROWS_2010, "2011": ROWS_2011})
    ahead = WorkbookReadAhead(path, "2011")
    other = _values(read_transactions(path, sheet="2010", con=duck, workbooks=ahead))
    assert other["Invoice"] == ["536365", "C536379", "536366", "536367"]
    assert ahead.parse is None  # handed over (and dropped) at the first read
    again = _values(read_transactions(path, sheet="2011", con=duck, workbooks=ahead))
    assert again["Invoice"] == ["540001", "540002"]  # read from the file


def test_a_read_ahead_refusal_is_raised_by_the_read(tmp_path, duck, monkeypatch):
    monkeypatch.setattr(workbook_checks, "MAX_CELLS", 100)
    path = _hand_workbook(tmp_path / "cells.xlsx", 40)  # 123 cells
    ahead = WorkbookReadAhead(path, None)
    with pytest.raises(InputFileError, match="cells.xlsx: sheet 'Data' has about 123 cells"):
        read_transactions(path, con=duck, workbooks=ahead)


def test_read_ahead_of_a_file_that_is_not_a_workbook_does_nothing(tmp_path, duck):
    text = tmp_path / "orders.xlsx"
    text.write_text("cust,order_date,amount\nA,2024-01-02,1\n")
    assert WorkbookReadAhead(text, None).parse is None
    assert WorkbookReadAhead(tmp_path / "missing.xlsx", None).parse is None
    with pytest.raises(InputFileError, match="orders.xlsx: not a valid .xlsx workbook"):
        read_transactions(text, con=duck, workbooks=WorkbookReadAhead(text, None))


def test_the_rfm_command_reads_the_workbook_it_started_ahead(tmp_path, monkeypatch, capsys):
    path = _retail_workbook(tmp_path / "ahead.xlsx", {"2010": ROWS_2010})
    monkeypatch.setattr(excel, "read_workbook", lambda *a: pytest.fail("read again"))
    assert main(["rfm", str(path), "-o", "-"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split(",")[0] == "customer_id" and len(out) == 3  # 12347 and 00017


def test_core_keeps_no_read_between_calls(tmp_path, duck, monkeypatch):
    # The engine's default reads the file each time: keeping reads is the caller's (ui.workbooks).
    path = _retail_workbook(tmp_path / "twice.xlsx", {"2011": ROWS_2011})
    parses = []
    real = excel.parse_isolated
    monkeypatch.setattr(excel, "parse_isolated", lambda *a: parses.append(a) or real(*a))
    first = _values(read_transactions(path, con=duck))
    assert _values(read_transactions(path, con=duck)) == first
    assert len(parses) == 2


# -- a large sheet parsed in pieces, one per core ---------------------------------------------


@pytest.fixture
def in_pieces(monkeypatch):
    """Every .xlsx sheet is parsed in pieces (as a large one on a machine of ``n`` cores); the
    returned list records each piece-wise read's table, or None where it parsed whole."""
    monkeypatch.setattr(excel_pieces, "SPLIT_MIN_BYTES", 0)
    monkeypatch.setattr(excel_pieces, "workers", lambda: 2)
    monkeypatch.setattr(excel, "PARSE_IN_CHILD", False)  # the spy sees this process's reads
    outcomes = []
    real = excel_pieces.SheetPieces.finish

    def spy(self):
        outcomes.append(real(self))
        return outcomes[-1]

    monkeypatch.setattr(excel_pieces.SheetPieces, "finish", spy)
    return outcomes


def _whole(path: Path, sheet: str | None = None):
    """The sheet parsed in one piece: the reference the pieces must equal."""
    saved = excel_pieces.SPLIT_MIN_BYTES
    excel_pieces.SPLIT_MIN_BYTES = 1 << 60
    try:
        return excel.parse_workbook(path, sheet, path.name)[0]
    finally:
        excel_pieces.SPLIT_MIN_BYTES = saved


def _many_retail_rows(n: int) -> list[tuple]:
    rows = []
    for i in range(n):
        invoice = f"C{540000 + i}" if i % 7 == 3 else 540000 + i
        customer = None if i % 5 == 4 else ("00017" if i % 11 == 0 else 12000 + i % 13)
        rows.append(
            (
                invoice,
                "85123A" if i % 2 else 22633,
                i % 9 + 1,
                dt.datetime(2011, 1, 1, 8, 0) + dt.timedelta(hours=i),
                1.25 + i % 4,
                customer,
                "France" if i % 3 else "United Kingdom",
            )
        )
    return rows


def test_a_large_sheet_read_in_pieces_has_every_record(tmp_path, in_pieces):
    rows = _many_retail_rows(400)
    path = _retail_workbook(tmp_path / "retail.xlsx", {"Online Retail": rows})
    table, sheets, chosen = excel.read_workbook(path, text_columns=lambda t: ["Invoice", "Customer ID"])
    assert len(in_pieces) == 1 and in_pieces[0] is not None  # it was read in pieces
    got = table.to_pydict()
    assert table.num_rows == 400
    assert got["Invoice"] == [str(r[0]) for r in rows]
    assert got["Customer ID"] == [None if r[5] is None else str(r[5]) for r in rows]
    assert got["InvoiceDate"] == [r[3] for r in rows]
    assert got["Quantity"] == [float(r[2]) for r in rows]
    assert got["Price"] == [r[4] for r in rows]
    assert got["Country"] == [r[6] for r in rows]
    assert table.equals(_whole(path))


def test_the_switch_off_parses_every_sheet_whole(tmp_path, in_pieces, monkeypatch):
    rows = _many_retail_rows(400)
    path = _retail_workbook(tmp_path / "retail.xlsx", {"Online Retail": rows})
    monkeypatch.setattr(excel_pieces, "ENABLED", False)
    table = excel.parse_workbook(path, None, path.name)[0]
    assert in_pieces == []  # no sheet was cut
    assert table.num_rows == 400 and table.column("Quantity").to_pylist() == [float(r[2]) for r in rows]


@pytest.mark.parametrize("value, enabled", [("0", False), ("1", True), (None, True)])
def test_the_switch_is_read_from_the_environment(value, enabled):
    env = {k: v for k, v in os.environ.items() if k != "RFM_EXCEL_PIECES"}
    if value is not None:
        env["RFM_EXCEL_PIECES"] = value
    probe = "from core import excel_pieces; print(excel_pieces.ENABLED)"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT, check=True
    )
    assert done.stdout.strip() == str(enabled)


def test_pieces_that_disagree_on_a_column_type_are_read_whole(tmp_path, in_pieces):
    # Invoices are numbers in the first piece (the cut falls near row 200) and some text in
    # the second: only the whole sheet knows the column is text.
    rows = [
        (540000 + i if i < 350 else f"C{540000 + i}",) + r[1:] for i, r in enumerate(_many_retail_rows(400))
    ]
    rows = [(r[0], r[1], r[2], r[3], r[4], 12347, r[6]) for r in rows]
    path = _retail_workbook(tmp_path / "mixed.xlsx", {"Online Retail": rows})
    table = excel.parse_workbook(path, None, path.name)[0]
    assert in_pieces == [None]
    assert table.column("Invoice").type == "string"
    assert table.column("Invoice").to_pylist()[348:352] == ["540348", "540349", "C540350", "C540351"]
    assert table.equals(_whole(path))


def test_a_column_empty_in_one_piece_takes_the_others_type(tmp_path, in_pieces):
    rows = [r[:5] + ((None if i < 250 else 12347.0),) + r[6:] for i, r in enumerate(_many_retail_rows(400))]
    path = _retail_workbook(tmp_path / "late.xlsx", {"Online Retail": rows})
    table = excel.parse_workbook(path, None, path.name)[0]
    assert in_pieces[0] is not None
    assert table.column("Customer ID").to_pylist() == [None] * 250 + [12347.0] * 150
    assert table.equals(_whole(path))


def test_an_empty_row_at_the_cut_is_kept(tmp_path, in_pieces):
    # Rows 2-401 with rows 150-260 empty except one: the cut moves to two rows that follow
    # each other, so the blank rows stay blank rows of the table, where they were.
    rows = _many_retail_rows(400)
    rows = [r if not 150 <= i <= 260 or i == 200 else (None,) * 7 for i, r in enumerate(rows)]
    path = _retail_workbook(tmp_path / "gaps.xlsx", {"Online Retail": rows})
    table = excel.parse_workbook(path, None, path.name)[0]
    assert in_pieces[0] is not None
    invoices = table.column("Invoice").to_pylist()
    assert len(invoices) == 400
    assert [i for i, v in enumerate(invoices) if v is None] == [i for i in range(150, 261) if i != 200]
    assert table.equals(_whole(path))


def _styled_blanks(path: Path, rows: list[tuple], blank_rows: range) -> Path:
    """A retail workbook whose ``blank_rows`` hold only formatted empty cells (as a sheet whose
    columns were formatted down past the data): row elements without a value."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Online Retail")
    when = book.add_format({"num_format": "dd/mm/yyyy hh:mm"})
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, HEADER)
    for r, row in enumerate(rows, start=1):
        if r - 1 in blank_rows:
            for c in range(len(HEADER)):
                sheet.write_blank(r, c, None, bold)
            continue
        for c, value in enumerate(row):
            if isinstance(value, dt.datetime):
                sheet.write_datetime(r, c, value, when)
            elif value is not None:
                sheet.write(r, c, value)
    book.close()
    return path


def test_formatted_empty_rows_before_a_cut_are_empty_rows(tmp_path, in_pieces):
    rows = _many_retail_rows(400)
    path = _styled_blanks(tmp_path / "styled.xlsx", rows, range(150, 300))
    table = excel.parse_workbook(path, None, path.name)[0]
    assert in_pieces[0] is not None
    assert table.num_rows == 400
    countries = table.column("Country").to_pylist()
    assert countries[:150] == [r[6] for r in rows[:150]] and countries[300:] == [r[6] for r in rows[300:]]
    assert countries[150:300] == [None] * 150
    assert table.equals(_whole(path))


def test_formatted_empty_rows_at_the_end_are_not_rows(tmp_path, in_pieces):
    # Everything after the cut is formatted but empty: the sheet ends with its last value.
    rows = _many_retail_rows(400)
    path = _styled_blanks(tmp_path / "tail.xlsx", rows, range(120, 400))
    table = excel.parse_workbook(path, None, path.name)[0]
    assert table.num_rows == 120
    assert table.column("Country").to_pylist() == [r[6] for r in rows[:120]]
    assert table.equals(_whole(path))


def test_blank_text_rows_at_the_cut_are_kept(tmp_path, in_pieces):
    # Rows of blanks ('  ') around the cut and at the end are rows of the table, as read whole.
    rows = _many_retail_rows(400)
    rows = [("  ",) * 7 if 150 <= i <= 260 or i >= 395 else r for i, r in enumerate(rows)]
    path = _retail_workbook(tmp_path / "blanks.xlsx", {"Online Retail": rows})
    table = excel.parse_workbook(path, None, path.name)[0]
    assert in_pieces[0] is not None
    assert table.num_rows == 400
    assert table.column("Country").to_pylist()[148:152] == [rows[148][6], rows[149][6], "  ", "  "]
    assert table.column("Country").to_pylist()[394:] == [rows[394][6]] + ["  "] * 5
    assert table.equals(_whole(path))


def test_all_sheets_are_stacked_from_pieces(tmp_path, in_pieces):
    rows = _many_retail_rows(300)
    path = _retail_workbook(tmp_path / "two.xlsx", {"2010": rows[:140], "2011": rows[140:]})
    table = excel.parse_workbook(path, excel.ALL_SHEETS, path.name)[0]
    assert len(in_pieces) == 2 and all(t is not None for t in in_pieces)
    assert table.num_rows == 300
    assert table.column("Country").to_pylist() == [r[6] for r in rows]
    saved = excel_pieces.SPLIT_MIN_BYTES
    excel_pieces.SPLIT_MIN_BYTES = 1 << 60
    try:
        assert table.equals(excel.parse_workbook(path, excel.ALL_SHEETS, path.name)[0])
    finally:
        excel_pieces.SPLIT_MIN_BYTES = saved


def test_a_prefixed_sheet_with_rows_and_refs_is_read_in_pieces(tmp_path, in_pieces):
    # A sheet written with a namespace prefix (<x:row r="2"><x:c r="A2">): the pieces' header
    # rows are renumbered in the same markup.
    def cell(ref: str, value) -> str:
        if isinstance(value, str):
            return f'<x:c r="{ref}" t="inlineStr"><x:is><x:t>{value}</x:t></x:is></x:c>'
        return f'<x:c r="{ref}"><x:v>{value}</x:v></x:c>'

    body = ['<x:row r="1">' + cell("A1", "cust") + cell("B1", "amount") + "</x:row>"]
    for r in range(2, 302):
        body.append(f'<x:row r="{r}">' + cell(f"A{r}", f"K{r % 17}") + cell(f"B{r}", r * 0.5) + "</x:row>")
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><x:worksheet xmlns:x="http://schemas.'
        'openxmlformats.org/spreadsheetml/2006/main"><x:dimension ref="A1:B301"/><x:sheetData>'
        + "".join(body)
        + "</x:sheetData></x:worksheet>"
    )
    path = tmp_path / "prefixed.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES)
        zf.writestr("_rels/.rels", _ROOT_RELS)
        zf.writestr("xl/workbook.xml", _WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        zf.writestr("xl/worksheets/sheet1.xml", sheet)
    table = excel.parse_workbook(path, None, path.name)[0]
    assert in_pieces[0] is not None
    assert table.to_pydict() == {
        "cust": [f"K{r % 17}" for r in range(2, 302)],
        "amount": [r * 0.5 for r in range(2, 302)],
    }


_CELLS = {
    "number": st.one_of(st.none(), st.integers(-(10**6), 10**6), st.floats(-1e9, 1e9, allow_nan=False)),
    "text": st.one_of(st.none(), st.sampled_from(["C536379", "85123A", "  ", "00017", "x y"])),
    "date": st.one_of(
        st.none(),
        st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2030, 1, 1)).map(
            lambda d: d.replace(microsecond=0)
        ),
    ),
    "formatted": st.just(Ellipsis),  # a formatted cell with no value
}


@st.composite
def _sheets(draw):
    kinds = draw(st.lists(st.sampled_from(["number", "text", "date", "mixed"]), min_size=1, max_size=4))
    cell = {
        k: st.one_of(
            _CELLS["formatted"], _CELLS[k] if k != "mixed" else st.one_of(_CELLS["number"], _CELLS["text"])
        )
        for k in kinds
    }
    rows = draw(st.lists(st.tuples(*[cell[k] for k in kinds]), min_size=2, max_size=80))
    return [f"col{i}" for i in range(len(kinds))], rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sheet=_sheets(), workers=st.integers(2, 4), inline=st.booleans())
def test_pieces_equal_the_whole_sheet(tmp_path, monkeypatch, sheet, workers, inline):
    # Any sheet: numbers, text, dates, blanks and empty rows anywhere, shared or inline
    # strings, 2-4 pieces: read in pieces (or, where they disagree, whole) it is the same table
    # as read whole.
    header, rows = sheet
    path = tmp_path / f"any-{workers}-{inline}.xlsx"
    book = xlsxwriter.Workbook(str(path), {"constant_memory": inline})
    page = book.add_worksheet("Data")
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    bold = book.add_format({"bold": True})
    page.write_row(0, 0, header)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is Ellipsis:
                page.write_blank(r, c, None, bold)
            elif isinstance(value, dt.datetime):
                page.write_datetime(r, c, value, when)
            elif isinstance(value, str):
                page.write_string(r, c, value)
            elif value is not None:
                page.write_number(r, c, value)
    book.close()

    def read():
        try:
            return excel.parse_workbook(path, None, path.name)[0]
        except InputFileError as exc:
            return str(exc)

    whole = read()
    monkeypatch.setattr(excel_pieces, "SPLIT_MIN_BYTES", 0)
    monkeypatch.setattr(excel_pieces, "workers", lambda: workers)
    pieces = read()
    monkeypatch.undo()
    assert pieces == whole if isinstance(whole, str) else pieces.equals(whole)


def test_a_sheet_over_the_row_bound_is_refused_while_cut_into_pieces(tmp_path, in_pieces, monkeypatch):
    path = _retail_workbook(tmp_path / "long.xlsx", {"Online Retail": _many_retail_rows(400)})
    monkeypatch.setattr(workbook_checks, "MAX_ROWS", 300)
    with pytest.raises(InputFileError, match="more than 300 rows"):
        excel.read_workbook(path)
    assert in_pieces == []  # refused by the check, nothing stacked


@pytest.mark.parametrize(
    "values, text",
    [
        (
            [12347.0, 12347.5, None, float("nan"), float("inf"), -3.0],
            ["12347", "12347.5", None, None, None, "-3"],
        ),
        ([12347.0, None, 17.0], ["12347", None, "17"]),  # all whole: no fraction written
        ([None, None], [None, None]),
    ],
)
def test_numeric_ids_as_text(values, text):
    import pyarrow as pa

    table = excel.identity_as_text(pa.table({"id": pa.array(values, pa.float64())}), ["id"])
    assert table.column("id").to_pylist() == text


@pytest.mark.parametrize("count", [1, 2, 3, 4, 8])
def test_piece_shares_cover_the_sheet_and_finish_together(count):
    shares = excel_pieces.piece_shares(count)
    assert len(shares) == count and sum(shares) == pytest.approx(1)
    # piece k starts parsing once the check read it (the last when the check ends): each
    # then takes its share of the parse; all end at the same time
    check, started = excel_pieces.CHECK_SHARE, 0.0
    ends = []
    for k, share in enumerate(shares):
        started += share
        ends.append((check * started if k < count - 1 else check) + share)
    assert ends == pytest.approx([ends[0]] * count)


def test_a_stored_zip_written_as_a_stream_reads_back(tmp_path):
    # The pieces' writer: entries of any size (one empty, one in many writes, a non-ASCII
    # name), read back by Python's zipfile with their CRCs checked.
    import zipfile as zf_module

    entries = {
        "xl/workbook.xml": b"<workbook/>",
        "empty.xml": b"",
        "xl/worksheets/sheet1.xml": bytes(range(256)) * 40_000,
        "feuille é.xml": "é".encode(),
    }
    writer = excel_pieces.StoredZip(tmp_path / "piece.xlsx")
    for name, data in entries.items():
        writer.begin(name)
        for at in range(0, len(data), 65_536):
            writer.write(memoryview(data)[at : at + 65_536])
        writer.end()
    writer.close()
    with zf_module.ZipFile(tmp_path / "piece.xlsx") as back:
        assert back.testzip() is None
        assert {i.filename: (i.compress_type, back.read(i)) for i in back.infolist()} == {
            name: (zf_module.ZIP_STORED, data) for name, data in entries.items()
        }
