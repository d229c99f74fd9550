"""core.export: spreadsheet exports with formula injection neutralised; atomic writes."""

from __future__ import annotations

import csv
import io
import os

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from core.atomic import atomic_output
from core.export import neutralise_formulas, to_csv_bytes, to_excel_bytes, write_csv


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["=1+1", "+SUM(A1)", "-2", "@cmd", "00017", "\tTAB", "safe = text"],
            "monetary": [-5.5, 10.0, -0.01, 3.0, 4.0, 0.0, 1.0],
            "frequency": [1, 2, 3, 4, 5, 6, 7],
        }
    )


def test_text_cells_starting_with_a_formula_character_get_an_apostrophe():
    out = neutralise_formulas(_frame())
    assert out["customer_id"].tolist() == [
        "'=1+1",
        "'+SUM(A1)",
        "'-2",
        "'@cmd",
        "00017",
        "'\tTAB",
        "safe = text",
    ]
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
    assert back["customer_id"].tolist() == [
        "'=1+1",
        "'+SUM(A1)",
        "'-2",
        "'@cmd",
        "00017",
        "'\tTAB",
        "safe = text",
    ]
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
    assert [r[0] for r in rows[1:]] == [
        "'=1+1",
        "'+SUM(A1)",
        "'-2",
        "'@cmd",
        "00017",
        "'\tTAB",
        "safe = text",
    ]
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
@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame(
            {
                "customer_id": ["=1+1", "00017", None, "safe"],
                "recency": [0, 3, 5, 7],
                "monetary": [-5.5, 10.0, 0.01, 1234.5],
            }
        ),
        pd.DataFrame({"=id": ["A\r=1", "B"], "monetary": [1.5, 2.0]}),  # CR: the row-by-row path
        pd.DataFrame({"customer_id": ["x\ny", "@z"], "n": [1, 2]}),
    ],
    ids=["plain", "carriage-return", "line-feed"],
)
def test_an_arrow_table_is_written_byte_for_byte_like_the_same_frame(frame):
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    assert to_csv_bytes(table) == to_csv_bytes(frame)
    first = to_csv_bytes(table).decode().splitlines()[1]
    assert not first.startswith(("=", "@", '"='))


# -- Arrow tables: numbers and text written as Python's csv writer writes them -------------------
AWKWARD_FLOATS = [  # (value, what Python's csv writer writes: repr, '' for a missing value)
    (30.0, "30.0"),
    (-0.0, "-0.0"),
    (0.0, "0.0"),
    (0.1 + 0.2, "0.30000000000000004"),
    (1e20, "1e+20"),
    (1e-7, "1e-07"),
    (5e-05, "5e-05"),
    (0.0001, "0.0001"),
    (1e15, "1000000000000000.0"),
    (123456789012345.67, "123456789012345.67"),
    (9999999999999998.0, "9999999999999998.0"),
    (1e16, "1e+16"),
    (float("nan"), "nan"),
    (float("inf"), "inf"),
    (float("-inf"), "-inf"),
    (None, ""),
    (1234.5, "1234.5"),
    (-0.01, "-0.01"),
    (19.99, "19.99"),
    (2.675, "2.675"),
]


@pytest.mark.parametrize("value,written", AWKWARD_FLOATS, ids=[w or "None" for _, w in AWKWARD_FLOATS])
def test_an_awkward_float_is_written_as_python_writes_it(value, written):
    import pyarrow as pa

    table = pa.table({"customer_id": pa.array(["A1"]), "monetary": pa.array([value], pa.float64())})
    assert to_csv_bytes(table).decode() == f"customer_id,monetary\nA1,{written}\n"


def test_a_column_of_awkward_floats_and_formula_text_is_written_as_python_writes_it():
    import pyarrow as pa

    ids = ["=1+1", "+1", "-2", "@x", "\tTAB", "plain", None, "", "12347", "a b"] * 2
    values = [v for v, _ in AWKWARD_FLOATS]
    table = pa.table(
        {"customer_id": ids, "recency": list(range(20)), "monetary": pa.array(values, pa.float64())}
    )
    safe = ["'=1+1", "'+1", "'-2", "'@x", "'\tTAB", "plain", "", "", "12347", "a b"] * 2
    expected = "customer_id,recency,monetary\n" + "".join(
        f"{i},{n},{w}\n" for i, n, (_, w) in zip(safe, range(20), AWKWARD_FLOATS)
    )
    assert to_csv_bytes(table).decode() == expected


def _python_csv(header, rows) -> str:
    """The reference: Python's csv writer, text cells starting as a formula prefixed with '."""

    def cell(v):
        return "'" + v if isinstance(v, str) and v.startswith(("=", "+", "-", "@", "\t", "\r")) else v

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[cell(v) for v in row] for row in rows])
    return buffer.getvalue()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.none() | st.text(alphabet=st.sampled_from(list('az09 .=+-@\t,"\né')), max_size=6),
            st.integers(-(2**63), 2**63 - 1),
            st.none()
            | st.floats(allow_nan=True, allow_infinity=True)
            | st.integers(-(10**9), 10**9).map(lambda c: c / 100),
        ),  # money: whole cents
        max_size=30,
    )
)
def test_an_arrow_table_is_written_as_pythons_csv_writer_writes_its_rows(rows):
    import pyarrow as pa

    table = pa.table(
        {
            "customer_id": pa.array([r[0] for r in rows], pa.string()),
            "recency": pa.array([r[1] for r in rows], pa.int64()),
            "monetary": pa.array([r[2] for r in rows], pa.float64()),
        }
    )
    expected = _python_csv(["customer_id", "recency", "monetary"], rows)
    assert to_csv_bytes(table).decode() == expected


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.none() | st.text(alphabet=st.sampled_from(list("az09 .=+-@\té")), max_size=6),
            st.integers(-(2**63), 2**63 - 1),
            st.none()
            | st.floats(min_value=1e-4, max_value=1e15)
            | st.just(0.0)
            | st.just(-0.0)
            | st.integers(-(10**12), 10**12).map(lambda c: c / 100),
        ),
        max_size=30,
    )
)
def test_plain_rows_take_arrows_column_path_and_write_the_same_bytes(rows):
    import pyarrow as pa
    import pyarrow.compute as pc

    from core import export

    table = pa.table(
        {
            "customer_id": pa.array([r[0] for r in rows], pa.string()),
            "recency": pa.array([r[1] for r in rows], pa.int64()),
            "monetary": pa.array([r[2] for r in rows], pa.float64()),
        }
    )
    expected = _python_csv(["customer_id", "recency", "monetary"], rows)
    assert to_csv_bytes(table).decode() == expected
    # the column path was taken unless Arrow writes one of the floats with an exponent
    if not any("e" in text for text in pc.cast(table["monetary"], pa.string()).to_pylist() if text):
        assert export._arrow_rows_text(table) is not None
