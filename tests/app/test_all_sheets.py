"""The Data page's sheet picker offers every sheet stacked ("all")."""

from __future__ import annotations

from python_calamine import CalamineWorkbook

from tests.app.conftest import SAMPLE, go, metric
from ui import session


def _data_rows(sheet) -> int:
    """Rows below the header that hold any value, counted by another reader (calamine)."""
    rows = sheet.to_python(skip_empty_area=True)[1:]
    return sum(1 for row in rows if any(v not in (None, "") for v in row))


def test_all_sheets_stacks_both_years_of_the_sample(app):
    book = CalamineWorkbook.from_path(str(SAMPLE))
    expected = sum(_data_rows(book.get_sheet_by_name(name)) for name in book.sheet_names)
    go(app, "data")
    gen = app.session_state[session.GENERATION]
    picker = app.selectbox(key=f"sheet_{gen}")
    assert picker.options == ["Year 2009-2010", "Year 2010-2011", "All sheets (stacked)"]
    picker.set_value("all").run()
    assert not app.exception and not app.error
    assert app.session_state[session.SETTINGS].sheet == "all"
    assert metric(app, "Rows read") == f"{expected:,}"
