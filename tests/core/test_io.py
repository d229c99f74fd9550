"""core.io: one loader for CSV/TSV (any delimiter, UTF-8 with or without BOM, latin-1),
Excel (sheet choice, stacking), Parquet, from a path (called by a given name); clear errors
otherwise."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from core.columns import resolve_mapping
from core.errors import InputFileError
from core.io import list_sheets, read_transactions
from core.rfm import Source
from tests.conftest import SAMPLE_XLSX

HEADER = ["Customer ID", "InvoiceDate", "amount"]
ROWS = [
    ("00017", "2024-01-01 10:00", "1.50"),
    ("00017", "2024-01-03 10:00", "2.25"),
    ("Café Müller", "2024-01-02 10:00", "4.00"),
]


def _values(dataset) -> dict[str, list]:
    return dataset.table.to_pyarrow().to_pydict()


def _delimited(sep: str) -> str:
    return "\n".join(sep.join(r) for r in [HEADER, *ROWS]) + "\n"


@pytest.mark.parametrize(
    "sep,name",
    [(",", "comma.csv"), (";", "semicolon.csv"), ("\t", "tab.csv"), ("\t", "tab.tsv"), ("|", "pipe.txt")],
)
def test_delimiters_are_sniffed(tmp_path, duck, sep, name):
    path = tmp_path / name
    path.write_text(_delimited(sep), encoding="utf-8")
    dataset = read_transactions(path, con=duck)
    assert dataset.kind == "csv" and dataset.name == name and dataset.sheet is None
    assert dataset.columns == HEADER
    values = _values(dataset)
    assert values["Customer ID"] == ["00017", "00017", "Café Müller"]  # text, zeros kept
    assert values["amount"] == ["1.50", "2.25", "4.00"]


def test_utf8_bom_is_not_part_of_the_first_column_name(tmp_path, duck):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + _delimited(",").encode("utf-8"))
    dataset = read_transactions(path, con=duck)
    assert dataset.columns[0] == "Customer ID"
    assert _values(dataset)["Customer ID"][2] == "Café Müller"


def test_latin1_file_is_decoded(tmp_path, duck):
    path = tmp_path / "latin1.csv"
    path.write_bytes(_delimited(";").encode("latin-1"))
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # the file really is not UTF-8
    dataset = read_transactions(path, con=duck)
    assert _values(dataset)["Customer ID"] == ["00017", "00017", "Café Müller"]
    rfm = Source(dataset, resolve_mapping(dataset.table)).rfm().rfm
    # Café Müller: one purchase of 4.00 on 01-02 10:00, as-of 01-03 10:00 -> recency 1
    cafe = rfm[rfm.customer_id == "Café Müller"].iloc[0]
    assert (cafe.recency, cafe.frequency, cafe.monetary) == (1, 1, 4.00)


def test_a_saved_upload_is_called_by_the_given_name(tmp_path, duck):
    # The app saves an upload under its content hash; messages must name the user's file.
    path = tmp_path / "3f2a9c.bin"
    path.write_text(_delimited(","), encoding="utf-8")
    dataset = read_transactions(path, name="upload/x.csv", con=duck)
    assert dataset.name == "x.csv" and dataset.kind == "csv"
    assert _values(dataset)["amount"] == ["1.50", "2.25", "4.00"]


def test_parquet_from_path(tmp_path, duck):
    frame = pd.DataFrame(
        {"cust": ["a", "b"], "order_date": pd.to_datetime(["2024-01-01", "2024-01-02"]), "amount": [1.5, 2.0]}
    )
    path = tmp_path / "orders.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    dataset = read_transactions(path, con=duck)
    assert dataset.kind == "parquet"
    assert _values(dataset)["amount"] == [1.5, 2.0]
    assert _values(dataset)["cust"] == ["a", "b"]


def _two_sheet_workbook(path, second_header=None):
    workbook = xlsxwriter.Workbook(str(path))
    fmt = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheets = {
        "2010": [("00017", dt.datetime(2010, 1, 5), 10.0), ("12347", dt.datetime(2010, 2, 1), 5.0)],
        "2011": [("00017", dt.datetime(2011, 1, 5), 20.0)],
    }
    for i, (name, rows) in enumerate(sheets.items()):
        sheet = workbook.add_worksheet(name)
        header = second_header if (i == 1 and second_header) else ["cust", "order_date", "amount"]
        sheet.write_row(0, 0, header)
        for r, (cust, when, amount) in enumerate(rows, start=1):
            sheet.write_string(r, 0, cust)
            sheet.write_datetime(r, 1, when, fmt)
            sheet.write_number(r, 2, amount)
    workbook.close()
    return path


def test_excel_first_sheet_by_default_and_a_named_sheet(tmp_path, duck):
    path = _two_sheet_workbook(tmp_path / "book.xlsx")
    assert list_sheets(path) == ["2010", "2011"]
    first = read_transactions(path, con=duck)
    assert first.kind == "excel" and first.sheets == ("2010", "2011") and first.sheet == "2010"
    assert _values(first)["cust"] == ["00017", "12347"]
    assert _values(first)["order_date"] == [dt.datetime(2010, 1, 5), dt.datetime(2010, 2, 1)]
    second = read_transactions(path, sheet="2011", con=duck)
    assert second.sheet == "2011"
    assert _values(second) == {"cust": ["00017"], "order_date": [dt.datetime(2011, 1, 5)], "amount": [20.0]}


def test_excel_all_sheets_are_stacked(tmp_path, duck):
    path = _two_sheet_workbook(tmp_path / "book.xlsx")
    dataset = read_transactions(path, sheet="all", con=duck)
    assert dataset.sheet == "all"
    assert _values(dataset)["amount"] == [10.0, 5.0, 20.0]
    rfm = Source(dataset, resolve_mapping(dataset.table)).rfm().rfm
    # 00017: 10 + 20 = 30 over two dates; as-of 2011-01-05 -> recency 0.
    # 12347: 5.00 on 2010-02-01 -> 2011-01-05 is 338 days
    # (2010-02-01 -> 2011-02-01 is 365, less the 27 from 01-05 to 02-01).
    assert rfm.set_index("customer_id").to_dict("index") == {
        "00017": {"recency": 0, "frequency": 2, "monetary": 30.0},
        "12347": {"recency": 338, "frequency": 1, "monetary": 5.0},
    }


def test_excel_stacking_sheets_of_different_columns_is_refused(tmp_path, duck):
    path = _two_sheet_workbook(tmp_path / "book.xlsx", second_header=["cust", "date", "total"])
    with pytest.raises(InputFileError, match="sheet '2011' has columns"):
        read_transactions(path, sheet="all", con=duck)


def test_excel_bad_sheet_name_lists_the_sheets(tmp_path, duck):
    path = _two_sheet_workbook(tmp_path / "book.xlsx")
    with pytest.raises(InputFileError) as info:
        read_transactions(path, sheet="2012", con=duck)
    assert "no sheet '2012'" in str(info.value)
    assert "['2010', '2011']" in str(info.value)


def test_excel_saved_under_another_name(tmp_path, duck):
    path = _two_sheet_workbook(tmp_path / "book.xlsx").rename(tmp_path / "3f2a9c.bin")
    dataset = read_transactions(path, name="book.xlsx", sheet="2011", con=duck)
    assert dataset.kind == "excel" and _values(dataset)["amount"] == [20.0]


def test_bundled_sample_has_both_years(sample_dataset, duck):
    # data/README.md: "Year 2009-2010" has 14,269 lines and "Year 2010-2011" 20,497.
    assert sample_dataset.sheets == ("Year 2009-2010", "Year 2010-2011")
    assert sample_dataset.table.count().execute() == 14_269
    stacked = read_transactions(SAMPLE_XLSX, sheet="all", con=duck)
    assert stacked.table.count().execute() == 14_269 + 20_497


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("empty.csv", b"", "the file is empty"),
        ("header.csv", b"cust,order_date,amount\n", "has a header but no rows"),
        ("garbage.csv", b"\x00\x01\x02PK\x00\xff" * 50, "binary file"),
        ("fake.xlsx", b"cust,order_date,amount\n1,2024-01-01,3\n", "not a valid .xlsx"),
        ("fake.parquet", b"cust,order_date,amount\n1,2024-01-01,3\n", "not a valid Parquet"),
        ("corrupt.parquet", b"PAR1" + b"\x13\x37garbage" * 40, "corrupt or unreadable Parquet"),
        ("old.xls", b"\xd0\xcf\x11\xe0 not really", "not a valid .xls workbook"),
    ],
)
def test_unreadable_files_raise_input_file_error(tmp_path, duck, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=message) as info:
        read_transactions(path, con=duck)
    assert name in str(info.value)


def test_truncated_xlsx(tmp_path, duck):
    data = SAMPLE_XLSX.read_bytes()
    path = tmp_path / "half.xlsx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError, match="half.xlsx: not a valid .xlsx file"):
        read_transactions(path, con=duck)


def test_missing_file_and_folder(tmp_path, duck):
    with pytest.raises(InputFileError, match="no such file"):
        read_transactions(tmp_path / "nope.csv", con=duck)
    with pytest.raises(InputFileError, match="is a folder"):
        read_transactions(tmp_path, con=duck)


def test_bad_row_past_the_sniffed_sample_is_an_input_error(tmp_path, duck):
    # DuckDB sniffs the first ~20k rows; a row with extra fields after them only fails when the
    # RFM scan reaches it. That must still be the documented error, naming the line.
    rows = [f"c{i % 50},2024-01-{1 + i % 28:02d},{1 + i % 7}.50" for i in range(25_000)]
    path = tmp_path / "late.csv"
    path.write_text("cust,order_date,amount\n" + "\n".join(rows) + "\nc1,2024-01-02,3,EXTRA\n")
    dataset = read_transactions(path, con=duck)
    with pytest.raises(
        InputFileError,
        match=r"late.csv: line 25002 'c1,2024-01-02,3,EXTRA' is "
        r"broken \(Expected Number of Columns: 3 Found: 4\)",
    ):
        Source(dataset, resolve_mapping(dataset.table)).rfm()


# -- text files as exports write them (issue 8) ------------------------------------------------
def test_quoted_line_breaks_crlf_and_doubled_quotes(tmp_path, duck):
    # RFC 4180: a quoted field may hold a line break and a doubled quote; lines end in CRLF.
    path = tmp_path / "shop.csv"
    path.write_bytes(
        b"cust,order_date,item,amount\r\n"
        b'a,2024-01-01,"Gift set\r\n(3 pieces)",10.00\r\n'
        b'b,2024-01-02,"12"" plate",4.50\r\n'
    )
    values = _values(read_transactions(path, con=duck))
    assert values["item"] == ["Gift set\r\n(3 pieces)", '12" plate']
    assert values["cust"] == ["a", "b"] and values["amount"] == ["10.00", "4.50"]


def test_utf16_unicode_text_from_excel(tmp_path, duck):
    # Excel's "Unicode Text": UTF-16 with a BOM, tab-separated, CRLF.
    path = tmp_path / "unicode.txt"
    path.write_bytes(_delimited("\t").replace("\n", "\r\n").encode("utf-16"))
    dataset = read_transactions(path, con=duck)
    assert dataset.columns == HEADER and dataset.delimiter == "\t" and dataset.encoding == "utf-16"
    assert _values(dataset)["Customer ID"] == ["00017", "00017", "Café Müller"]


def test_cp1252_euro_sign_is_decoded(tmp_path, duck):
    path = tmp_path / "de.csv"
    path.write_bytes("Kunde;Datum;Betrag\nMüller;03.01.2024;€ 12,50\n".encode("cp1252"))
    dataset = read_transactions(path, con=duck)
    assert dataset.encoding == "cp1252" and dataset.delimiter == ";"
    assert _values(dataset) == {"Kunde": ["Müller"], "Datum": ["03.01.2024"], "Betrag": ["€ 12,50"]}


@pytest.mark.parametrize(
    "bad_line,problem",
    [
        ("c9,2024-01-09,1.00,EXTRA", "Expected Number of Columns: 3 Found: 4"),
        ("c9,2024-01-09", "Expected Number of Columns: 3 Found: 2"),
        ('c9,"2024-01-09,1.00', "unterminated quote"),
    ],
)
def test_a_broken_line_is_named_by_its_real_line_number(tmp_path, duck, bad_line, problem):
    rows = [f"c{i},2024-01-{1 + i:02d},{i}.50" for i in range(8)]
    # line 1 is the header; the quoted line break on line 3 makes line numbers differ from rows
    rows[1] = 'c1,2024-01-02,"1\n.50"'
    path = tmp_path / "broken.csv"
    path.write_text("cust,order_date,amount\n" + "\n".join(rows[:5] + [bad_line] + rows[5:]) + "\n")
    with pytest.raises(InputFileError) as info:
        read_transactions(path, con=duck).table.to_pyarrow()
    message = str(info.value)
    assert message.startswith("broken.csv: line ") and problem in message
    assert "fix that line or export the file again" in message
    # header (line 1), five rows before it, one of them over two lines: the editor's line 8
    assert message.startswith("broken.csv: line 8 ")


# -- currency marks in a text file's bytes (core.money.stated_currency looks only for these) --
def test_marks_in_text_finds_each_mark_once_even_across_blocks(tmp_path, monkeypatch):
    import core.io

    monkeypatch.setattr(core.io, "_MARK_BLOCK_BYTES", 8)
    path = tmp_path / "marks.csv"
    # 'CHF' straddles the first 8-byte block; '€' (3 bytes) straddles the second.
    path.write_bytes("a,b,ccCHF\nxx,1€\n".encode())
    assert core.io.marks_in_text(path, ("€", "£", "CHF", "$")) == ("€", "CHF")
    path.write_bytes(b"plain,ascii\n1,2\n")
    assert core.io.marks_in_text(path, ("€", "£", "CHF", "$")) == ()
    path.write_bytes("name\nCaf\u00e9 \u00a3 2\n".encode())  # not ASCII: '£' is looked for
    assert core.io.marks_in_text(path, ("€", "£")) == ("£",)
    path.write_bytes(b"amount\n12.50\n$3\n")  # one byte, in the second block only
    assert core.io.marks_in_text(path, ("CHF", "$")) == ("$",)


def test_currency_marks_outside_the_values_state_no_currency(tmp_path):
    from core.rfm import rfm_from_file

    path = tmp_path / "dollar_in_name.csv"
    path.write_text(
        "Customer ID,InvoiceDate,amount,Description\n"
        "a,2024-01-01 10:00,10.00,$5 GIFT CARD\nb,2024-01-02 10:00,4.50,MUG\n",
        encoding="utf-8",
    )
    assert "no currency stated in the file: choose one" in rfm_from_file(path).reading
    path.write_text(
        "Customer ID,InvoiceDate,amount\na,2024-01-01 10:00,CHF 10.00\nb,2024-01-02 10:00,CHF 4.50\n",
        encoding="utf-8",
    )
    assert "currency CHF from the 'CHF' in the values" in rfm_from_file(path).reading
