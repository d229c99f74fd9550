"""core.export: spreadsheet exports with formula injection neutralised; atomic writes."""
from __future__ import annotations

import io
import os

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from core.atomic import atomic_output
from core.export import neutralise_formulas, to_csv_bytes, to_excel_bytes, write_csv


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["=1+1", "+SUM(A1)", "-2", "@cmd", "00017", "\tTAB", "safe = text"],
        "monetary": [-5.5, 10.0, -0.01, 3.0, 4.0, 0.0, 1.0],
        "frequency": [1, 2, 3, 4, 5, 6, 7],
    })


def test_text_cells_starting_with_a_formula_character_get_an_apostrophe():
    out = neutralise_formulas(_frame())
    assert out["customer_id"].tolist() == ["'=1+1", "'+SUM(A1)", "'-2", "'@cmd", "00017", "'\tTAB",
                                           "safe = text"]
    # numbers are data: negative numbers stay numbers
    assert out["monetary"].tolist() == [-5.5, 10.0, -0.01, 3.0, 4.0, 0.0, 1.0]
    assert out["frequency"].tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert pd.api.types.is_float_dtype(out["monetary"])


def test_input_frame_is_not_modified_and_headers_are_neutralised_too():
    frame = _frame().rename(columns={"frequency": "=HYPERLINK()"})
    out = neutralise_formulas(frame)
    assert frame["customer_id"].iloc[0] == "=1+1"
    assert list(out.columns) == ["customer_id", "monetary", "'=HYPERLINK()"]


def test_missing_text_stays_missing():
    out = neutralise_formulas(pd.DataFrame({"segment": ["Elite", None, "=x"]}))
    assert out["segment"].iloc[0] == "Elite" and pd.isna(out["segment"].iloc[1])
    assert out["segment"].iloc[2] == "'=x"


def test_csv_round_trip(tmp_path):
    path = tmp_path / "out" / "segments.csv"
    write_csv(_frame(), path)
    back = pd.read_csv(path, dtype={"customer_id": str}, keep_default_na=False)
    assert back["customer_id"].tolist() == ["'=1+1", "'+SUM(A1)", "'-2", "'@cmd", "00017", "'\tTAB",
                                            "safe = text"]
    assert back["monetary"].tolist() == [-5.5, 10.0, -0.01, 3.0, 4.0, 0.0, 1.0]
    assert back["frequency"].tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert path.read_bytes() == to_csv_bytes(_frame())
    assert [p.name for p in path.parent.iterdir()] == ["segments.csv"]  # no temp file left


def test_excel_export_round_trip(tmp_path):
    path = tmp_path / "segments.xlsx"
    path.write_bytes(to_excel_bytes(_frame(), sheet_name="a sheet name longer than thirty-one"))
    book = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names == ["a sheet name longer than thirty"]  # Excel's limit: 31 characters
    rows = book.get_sheet_by_name(book.sheet_names[0]).to_python()
    assert rows[0] == ["customer_id", "monetary", "frequency"]
    assert [r[0] for r in rows[1:]] == ["'=1+1", "'+SUM(A1)", "'-2", "'@cmd", "00017", "'\tTAB",
                                        "safe = text"]
    assert [r[1] for r in rows[1:]] == [-5.5, 10.0, -0.01, 3.0, 4.0, 0.0, 1.0]


def test_atomic_output_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "result.csv"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_text("new")
            raise RuntimeError("boom")
    assert target.read_text() == "old"  # the previous output is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["result.csv"]


def test_to_csv_bytes_is_utf8():
    data = to_csv_bytes(pd.DataFrame({"customer_id": ["Café"]}))
    assert pd.read_csv(io.BytesIO(data), encoding="utf-8")["customer_id"].tolist() == ["Café"]


# -- line breaks inside fields -----------------------------------------------------------------
@pytest.mark.parametrize("breaker", ["\r", "\n", "\r\n"])
def test_a_field_holding_a_line_break_is_quoted_and_no_line_starts_a_formula(breaker):
    frame = pd.DataFrame({"customer_id": [f"A{breaker}=1+1", "B"], "monetary": [1.5, 2.0]})
    text = to_csv_bytes(frame).decode("utf-8")
    assert text == f'customer_id,monetary\n"A{breaker}=1+1",1.5\nB,2.0\n'
    # read the way a spreadsheet splits rows (any CR or LF outside quotes ends a row)
    rows, field, quoted, row = [], "", False, []
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif ch in "\r\n" and not quoted:
            if field or row:
                rows.append(row + [field])
            field, row = "", []
        elif ch == "," and not quoted:
            row.append(field)
            field = ""
        else:
            field += ch
    assert rows == [["customer_id", "monetary"], [f"A{breaker}=1+1", "1.5"], ["B", "2.0"]]
    assert not any(r[0].startswith("=") for r in rows)
    back = pd.read_csv(io.BytesIO(text.encode()), keep_default_na=False)
    assert back["customer_id"].tolist() == [f"A{breaker}=1+1", "B"]


def test_carriage_return_in_a_header_and_missing_values(tmp_path):
    frame = pd.DataFrame({"a\rb": ["x\ry", None], "n": pd.array([1, None], dtype="Int64")})
    assert to_csv_bytes(frame).decode() == '"a\rb",n\n"x\ry",1\n,\n'


# -- where outputs may go ----------------------------------------------------------------------
def test_check_output_path_refusals(tmp_path):
    from core.errors import ConfigError
    from core.export import check_output_path

    data = tmp_path / "in.csv"
    data.write_text("x\n")
    assert check_output_path(tmp_path / "new.csv", [data]) == tmp_path / "new.csv"
    (tmp_path / "old.csv").write_text("old")
    assert check_output_path(tmp_path / "old.csv", [data]) == tmp_path / "old.csv"  # overwrite a file: fine
    with pytest.raises(ConfigError, match="output is the input file"):
        check_output_path(data, [data])
    with pytest.raises(ConfigError, match="output is the input file"):
        check_output_path(tmp_path / "sub" / ".." / "in.csv", [data])
    os.link(data, tmp_path / "hard.csv")
    with pytest.raises(ConfigError, match="output is the input file"):
        check_output_path(tmp_path / "hard.csv", [data])
    os.symlink(tmp_path / "target.csv", tmp_path / "link.csv")
    with pytest.raises(ConfigError, match="symbolic link"):
        check_output_path(tmp_path / "link.csv", [data])
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ConfigError, match="not a regular file"):
        check_output_path(tmp_path / "pipe", [data])
    with pytest.raises(ConfigError, match="not a regular file"):
        check_output_path("/dev/null", [data])
    with pytest.raises(ConfigError, match="not a regular file"):
        check_output_path(tmp_path, [data])


def test_write_output_writes_a_real_workbook_for_xlsx(tmp_path):
    from core.export import write_output

    path = tmp_path / "segments.xlsx"
    assert write_output(_frame(), path) == "Excel workbook"
    assert path.read_bytes()[:2] == b"PK"  # a zip, not CSV text
    book = CalamineWorkbook.from_path(str(path))
    rows = book.get_sheet_by_name(book.sheet_names[0]).to_python()
    assert rows[0] == ["customer_id", "monetary", "frequency"]
    assert [r[0] for r in rows[1:]][:2] == ["'=1+1", "'+SUM(A1)"]
    import zipfile
    sheet_xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml  # no formula cells at all
    assert write_output(_frame(), tmp_path / "segments.csv") == "CSV"
    assert (tmp_path / "segments.csv").read_bytes() == to_csv_bytes(_frame())


# -- Arrow tables (the CLI's RFM result) are written exactly like frames ------------------------
@pytest.mark.parametrize("frame", [
    pd.DataFrame({"customer_id": ["=1+1", "00017", None, "safe"], "recency": [0, 3, 5, 7],
                  "monetary": [-5.5, 10.0, 0.01, 1234.5]}),
    pd.DataFrame({"=id": ["A\r=1", "B"], "monetary": [1.5, 2.0]}),   # CR: the row-by-row path
    pd.DataFrame({"customer_id": ["x\ny", "@z"], "n": [1, 2]}),
], ids=["plain", "carriage-return", "line-feed"])
def test_an_arrow_table_is_written_byte_for_byte_like_the_same_frame(frame):
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    assert to_csv_bytes(table) == to_csv_bytes(frame)
    first = to_csv_bytes(table).decode().splitlines()[1]
    assert not first.startswith(("=", "@", '"='))
