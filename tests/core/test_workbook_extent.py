"""Workbooks whose cells sit far apart (issue 20): refused from the cells' positions before
any reader allocates, quickly, with one clear message; and a reader that dies anyway (its
check switched off here) is an error message from its child process, never a dead caller.

Each file is generated here, part by part, as a hostile upload would be: a 2 KB .xlsx with
cells A1 and XFD1048576 (512 GiB as calamine allocates it), one with a header and a cell at
XFD2 (16,384 columns), an .ods of one row repeated 2,000,000 times.
"""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest

from core import excel, limits, workbook_checks
from core.cli import main
from core.errors import InputFileError
from core.io import read_transactions

_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def xlsx(path: Path, sheet_data: str, dimension: str = "") -> Path:
    """A minimal one-sheet .xlsx whose sheetData is ``sheet_data`` as given."""
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type='
            '"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook {_NS} xmlns:r="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Data" '
            'sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type='
            '"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><worksheet {_NS}>{dimension}'
            f"<sheetData>{sheet_data}</sheetData></worksheet>"
        ),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
    return path


def text_cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def ods(path: Path, rows_xml: str) -> Path:
    """A minimal .ods whose one table holds ``rows_xml``."""
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="Orders">{rows_xml}'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        zf.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        zf.writestr("META-INF/manifest.xml", MANIFEST, zipfile.ZIP_DEFLATED)
    return path


MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:'
    'tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry '
    'manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


def ods_cell(value) -> str:
    if isinstance(value, float):
        return (
            f'<table:table-cell office:value-type="float" office:value="{value}">'
            f"<text:p>{value}</text:p></table:table-cell>"
        )
    return f'<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>'


def ods_row(*values, repeated: int = 1) -> str:
    attr = f' table:number-rows-repeated="{repeated}"' if repeated > 1 else ""
    return f"<table:table-row{attr}>" + "".join(ods_cell(v) for v in values) + "</table:table-row>"


HEADER = text_cell("A1", "cust") + text_cell("B1", "order_date") + text_cell("C1", "amount")


def refused(path: Path, duck, match: str) -> float:
    started = time.perf_counter()
    with pytest.raises(InputFileError, match=match):
        read_transactions(path, con=duck)
    return time.perf_counter() - started


def test_cells_at_a1_and_xfd1048576_are_refused_quickly(tmp_path, duck):
    path = xlsx(
        tmp_path / "corner.xlsx",
        f'<row r="1">{text_cell("A1", "x")}</row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>',
    )
    assert path.stat().st_size < 2048
    assert (
        refused(
            path,
            duck,
            r"corner.xlsx: sheet 'Data' has a cell in column 16,384, over "
            r"the 1,000-column limit",
        )
        < 30
    )


def test_a_header_and_one_cell_at_xfd2_is_refused(tmp_path, duck):
    path = xlsx(tmp_path / "wide.xlsx", f'<row r="1">{HEADER}</row><row r="2"><c r="XFD2"><v>1</v></c></row>')
    refused(path, duck, r"wide.xlsx: sheet 'Data' has a cell in column 16,384")


def test_a_far_row_inside_a_near_row_element_is_refused(tmp_path, duck):
    # the cell names its own place: row 1's element, a cell in row 2,000,000
    path = xlsx(tmp_path / "deep.xlsx", f'<row r="1">{HEADER}<c r="A2000000"><v>1</v></c></row>')
    refused(path, duck, r"deep.xlsx: sheet 'Data' has a cell in row 2,000,000, past the")


def test_a_wide_and_tall_rectangle_is_refused_by_its_cells(tmp_path, duck):
    # 26 columns x 999,999 rows: no far row, so every reference is read for the last row
    path = xlsx(
        tmp_path / "rect.xlsx",
        f'<row r="1">{HEADER}<c r="Z1"><v>1</v></c></row><row r="999999"><c r="A999999"><v>2</v></c></row>',
    )
    refused(
        path,
        duck,
        r"rect.xlsx: sheet 'Data' spans 999,999 rows x 26 columns "
        r"\(25,999,974 cells\), over the 25,000,000 limit",
    )


def test_a_declared_dimension_past_the_column_limit_is_refused(tmp_path, duck):
    path = xlsx(tmp_path / "dim.xlsx", f'<row r="1">{HEADER}</row>', '<dimension ref="A1:ZZZ2"/>')
    refused(path, duck, r"dim.xlsx: sheet 'Data' declares columns up to ZZZ")


def test_a_sheet_at_the_bounds_is_read(tmp_path, duck):
    # 23 columns (W) and a row of 1,048,576 are inside every bound: read, not refused
    path = xlsx(
        tmp_path / "edge.xlsx",
        f'<row r="1">{HEADER}</row>'
        f'<row r="2">{text_cell("A2", "C1")}{text_cell("B2", "2024-01-02")}'
        '<c r="C2"><v>5</v></c></row>'
        '<row r="40"><c r="W40"><v>7</v></c></row>',
    )
    dataset = read_transactions(path, con=duck)
    assert len(dataset.columns) == 23


def test_an_ods_row_repeated_two_million_times_is_refused(tmp_path, duck):
    path = ods(
        tmp_path / "repeat.ods",
        ods_row("cust", "order_date", "amount") + ods_row("C1", "2024-01-02", 1.0, repeated=2_000_000),
    )
    assert path.stat().st_size < 1024
    assert (
        refused(
            path,
            duck,
            r"repeat.ods: sheet 'Orders' has a cell in row 2,000,001, past "
            r"the 1,048,576 rows of a sheet",
        )
        < 30
    )


def test_an_ods_cell_repeated_past_the_column_limit_is_refused(tmp_path, duck):
    cells = (
        '<table:table-cell table:number-columns-repeated="5000" office:value-type="float" '
        'office:value="1"><text:p>1</text:p></table:table-cell>'
    )
    path = ods(
        tmp_path / "wide.ods",
        ods_row("cust", "order_date", "amount") + f"<table:table-row>{cells}</table:table-row>",
    )
    refused(path, duck, r"wide.ods: sheet 'Orders' has a cell in column 5,000, over")


def test_empty_repeats_at_the_end_of_an_ods_do_not_count(tmp_path, duck):
    # spreadsheets write formatted empty space as huge repeats after the data: not rows
    empty = (
        '<table:table-row table:number-rows-repeated="1048570"><table:table-cell '
        'table:number-columns-repeated="1024"/></table:table-row>'
    )
    path = ods(
        tmp_path / "styled.ods",
        ods_row("cust", "order_date", "amount") + ods_row("C1", "2024-01-02", 4.0) + empty,
    )
    dataset = read_transactions(path, con=duck)
    assert dataset.columns == ["cust", "order_date", "amount"]


def test_the_cli_refuses_with_one_line_and_exit_2(tmp_path, capsys):
    path = xlsx(
        tmp_path / "corner.xlsx",
        f'<row r="1">{text_cell("A1", "x")}</row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>',
    )
    assert main(["rfm", str(path), "-o", str(tmp_path / "out.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "corner.xlsx" in err and "column 16,384" in err


def test_a_reader_that_aborts_is_a_message_and_the_caller_lives(tmp_path, monkeypatch):
    # The check is widened so the file reaches calamine, which asks for 512 GiB and aborts:
    # in its child process, with a memory limit; here, an InputFileError.
    monkeypatch.setattr(workbook_checks, "MAX_CELLS", 10**12)
    monkeypatch.setattr(limits, "MAX_COLUMNS", 10**6)
    path = xlsx(
        tmp_path / "corner.xlsx",
        f'<row r="1">{text_cell("A1", "x")}</row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>',
    )
    with pytest.raises(
        InputFileError,
        match=r"corner.xlsx: the workbook's reader stopped "
        r"\(out of memory, or aborted\)",
    ):
        excel.read_workbook(path)


def test_a_reader_out_of_cpu_time_is_a_message(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "WORKBOOK_CPU_SECONDS", 0)
    path = xlsx(tmp_path / "small.xlsx", f'<row r="1">{HEADER}</row>')
    with pytest.raises(InputFileError, match=r"small.xlsx: the workbook's reader stopped"):
        excel.read_workbook(path)
