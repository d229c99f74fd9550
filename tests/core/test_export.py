"""core.export: spreadsheet exports with formula injection neutralised; atomic writes."""
from __future__ import annotations

import io

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
