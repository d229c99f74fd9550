"""ui.workbooks: the dashboard keeps its last two workbooks read, by file version and sheet.

Reads are counted by standing in for core.excel.read_workbook (the read the cache saves);
the tables come from workbooks written here.
"""

from __future__ import annotations

import os

import pytest
import xlsxwriter

from core import excel
from core.errors import InputFileError
from ui.workbooks import RecentWorkbooks


def _workbook(path, sheets: dict[str, list[tuple]]):
    book = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        page = book.add_worksheet(name)
        page.write_row(0, 0, ["Customer ID", "Amount"])
        for r, row in enumerate(rows, start=1):
            page.write_row(r, 0, row)
    book.close()
    return path


@pytest.fixture
def reads(monkeypatch):
    """The (file name, sheet) of each read that went to the file."""
    done = []
    real = excel.read_workbook

    def counted(path, sheet=None, display=None, text_columns=None):
        done.append((path.name, sheet))
        return real(path, sheet, display, text_columns)

    monkeypatch.setattr(excel, "read_workbook", counted)
    return done


def test_the_same_file_and_sheet_are_read_once(tmp_path, reads):
    path = _workbook(tmp_path / "a.xlsx", {"2010": [(12347, 2.5)], "2011": [(12348, 4.0)]})
    cache = RecentWorkbooks()
    table, sheets, chosen = cache(path, None, "a.xlsx", lambda t: ["Customer ID"])
    assert (sheets, chosen) == (("2010", "2011"), "2010")
    assert table.to_pydict() == {"Customer ID": ["12347"], "Amount": [2.5]}
    assert cache(path, None, "a.xlsx", None)[0] is table
    assert cache(path, "2010", "a.xlsx", None)[0] is table  # the first sheet, by its name
    assert reads == [("a.xlsx", None)]
    other = cache(path, "2011", "a.xlsx", None)[0]
    assert other.to_pydict() == {"Customer ID": [12348.0], "Amount": [4.0]}
    assert reads == [("a.xlsx", None), ("a.xlsx", "2011")]


def test_a_changed_file_is_read_again(tmp_path, reads):
    path = _workbook(tmp_path / "a.xlsx", {"S": [(1, 2.5)]})
    cache = RecentWorkbooks()
    cache(path, None, "a.xlsx", None)
    _workbook(path, {"S": [(1, 2.5), (2, 7.0)]})
    os.utime(path, ns=(1, 1))  # another modification time, whatever the clock's resolution
    assert cache(path, None, "a.xlsx", None)[0].num_rows == 2
    assert len(reads) == 2


def test_only_the_last_two_workbooks_are_kept(tmp_path, reads):
    paths = [_workbook(tmp_path / f"{name}.xlsx", {"S": [(i, 1.0)]}) for i, name in enumerate("abc")]
    cache = RecentWorkbooks(entries=2)
    for path in paths:  # a, b, c: a is dropped
        cache(path, None, path.name, None)
    cache(paths[2], None, "c.xlsx", None)
    cache(paths[1], None, "b.xlsx", None)
    assert len(reads) == 3
    cache(paths[0], None, "a.xlsx", None)
    assert reads[-1] == ("a.xlsx", None) and len(reads) == 4
    assert len(cache.held) == 2


def test_a_refused_file_is_not_kept(tmp_path, reads):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(b"PK\x03\x04 not a zip")
    cache = RecentWorkbooks()
    for _ in range(2):
        with pytest.raises(InputFileError, match="bad.xlsx: not a valid .xlsx file"):
            cache(path, None, "bad.xlsx", None)
    assert len(reads) == 2 and cache.held == []


def test_the_dashboard_parses_the_sample_once_for_its_columns_preview_and_rfm(model_dir, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import ROOT, SAMPLE, TIMEOUT, go
    from ui.workbooks import recent_workbooks

    st.cache_data.clear()  # no file_info / RFM kept by an earlier test
    recent_workbooks.clear()
    parses = []
    real = excel.parse_isolated
    monkeypatch.setattr(excel, "parse_isolated", lambda *a: parses.append(a[:2]) or real(*a))
    monkeypatch.chdir(ROOT)
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    go(app, "data")
    go(app, "rfm")
    assert app.metric and not app.error
    assert parses == [(SAMPLE, None)]
