"""Header row and totals: a report with title rows above its header and a TOTAL row reads the
records' RFM, says where the header was, and counts the totals row it left out."""

from __future__ import annotations

import pytest

from core.errors import ConfigError, InputFileError
from core.header import find_header_row, is_total_label
from core.io import read_transactions
from core.rfm import rfm_from_file
from core.summary import how_read
from tests import status_exports
from tests.exports import assert_rfm, by_customer


def test_header_is_the_first_row_about_as_wide_as_the_table():
    rows = [
        ["Sales report", "", ""],
        ["Period: Q1", "Shop: Main", ""],
        [],
        ["Customer", "Date", "Amount"],
        ["k1", "2024-01-01", "3.00"],
    ]
    assert find_header_row(rows) == 3
    assert find_header_row([["a", "b", "c"], ["1", "2", "3"]]) == 0
    assert find_header_row([]) == 0


@pytest.mark.parametrize(
    "label, total",
    [
        ("TOTAL", True),
        ("Grand Total:", True),
        ("Summe", True),
        ("Gesamt", True),
        ("Total général", True),
        ("Totaal", True),
        ("Totale", True),
        ("Subtotal", True),
        ("Totally Tea Ltd", False),
        ("k1", False),
        (None, False),
    ],
)
def test_totals_labels(label, total):
    assert is_total_label(label) == total


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize("label", ["TOTAL", "Total général", "Summe"])
def test_title_rows_and_a_totals_row(kind, label, tmp_path, duck):
    export = status_exports.sales_report(tmp_path, kind, total_label=label)
    result = rfm_from_file(export.path, con=duck)
    assert_rfm(by_customer(result.rfm), export.expected)
    assert result.mapping.customer == "Customer" and result.mapping.amount == "Amount"
    assert result.audit.header_row == export.notes["header_row"] == 4
    removed = {name: n for name, _, n in result.audit.removed}
    assert removed["total_row"] == export.notes["total_rows"] == 1
    assert result.audit.rows_in == export.notes["rows_in"]
    summary = " ".join(how_read(result))
    assert "Header row: row 4 (3 title rows above it skipped). 1 totals or subtotal row left out." in summary


def test_header_row_given_overrides_the_guess(tmp_path, duck):
    path = tmp_path / "note.csv"
    path.write_text("exported by,till 3\ncust,order_date,amount\na,2024-01-01,3.00\nb,2024-01-03,4.50\n")
    # the note is narrower than the table under it: skipped
    assert read_transactions(path, con=duck).columns == ["cust", "order_date", "amount"]
    export = status_exports.sales_report(tmp_path)
    forced = read_transactions(export.path, con=duck, header_row=1)
    assert forced.header_row == 1 and forced.columns[0] == "Sales report"
    forced = read_transactions(export.path, con=duck, header_row=2)
    assert forced.columns[:2] == ["Period: 01/01/2024 - 31/03/2024", "Shop: Main street"]


def test_a_header_row_past_the_file_or_not_a_number_is_refused(tmp_path, duck):
    export = status_exports.sales_report(tmp_path)
    with pytest.raises(InputFileError, match="no row 40"):
        read_transactions(export.path, con=duck, header_row=40)
    with pytest.raises(ConfigError, match="not a row number"):
        read_transactions(export.path, con=duck, header_row=0)


def test_a_plain_file_has_its_header_on_row_one_and_no_totals(tmp_path, duck):
    path = tmp_path / "plain.csv"
    path.write_text("cust,order_date,amount\nTotal Tools,2024-01-01,3.00\nb,2024-01-03,4.50\n")
    dataset = read_transactions(path, con=duck)
    assert dataset.header_row == 1 and dataset.total_rows == 0
