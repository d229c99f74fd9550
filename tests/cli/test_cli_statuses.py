"""`python -m core rfm` on statuses, duplicates and report files built from known records
(tests/status_exports.py): an unknown status exits 2 with one line naming it, its lines and
revenue, and nothing written; --sale-status / --not-sale-status decide; the summary of the
reading is on stderr."""

from __future__ import annotations

import pandas as pd
import pytest

from tests import status_exports
from tests.exports import assert_rfm, by_customer


def _run(args, capsys):
    from core.cli import main

    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def _assert_csv(out, export):
    rfm = pd.read_csv(out, dtype={"customer_id": str})
    assert_rfm(by_customer(rfm), export.expected)


def test_woocommerce_with_no_flags_gives_the_records_rfm_and_says_how(tmp_path, capsys):
    export = status_exports.woocommerce_orders(tmp_path)
    out = tmp_path / "rfm.csv"
    code, err = _run(["rfm", export.path, "-o", out], capsys)
    assert code == 0, err
    _assert_csv(out, export)
    assert (
        "Statuses ('Order Status'): counted as sales 4 lines (202.69: wc-completed 2, "
        "wc-processing 2); removed as not a sale 5 lines"
    ) in err
    for topic in (
        "Export profile:",
        "Customers:",
        "Value:",
        "Duplicates:",
        "Header row: row 1.",
        "Dates:",
        "Time zone:",
        "Currency: EUR (from column 'Order Currency').",
    ):
        assert topic in err, topic


def test_an_unknown_status_exits_2_naming_it_and_writes_nothing(tmp_path, capsys):
    export = status_exports.woocommerce_orders(tmp_path, unknown=True)
    out = tmp_path / "rfm.csv"
    code, err = _run(["rfm", export.path, "-o", out], capsys)
    assert code == 2
    assert not out.exists()
    assert err.count("\n") == 1
    assert (
        f"'{status_exports.NEW_STATUS}' (2 lines, 243.50 revenue)" in err
        and export.path.name in err
        and "--sale-status" in err
        and "--not-sale-status" in err
    )


@pytest.mark.parametrize("flag", ["--sale-status", "--not-sale-status"])
def test_the_flags_decide_and_the_rfm_is_exact(flag, tmp_path, capsys):
    paid_also = {status_exports.NEW_STATUS} if flag == "--sale-status" else set()
    export = status_exports.woocommerce_orders(tmp_path, unknown=True, paid_also=paid_also)
    out = tmp_path / "rfm.csv"
    # written as a user would: another case, separated by a comma with a known value
    code, err = _run(["rfm", export.path, flag, f"WC-Awaiting-Glazier, {'x-other'}", "-o", out], capsys)
    assert code == 0, err
    _assert_csv(out, export)


def test_a_value_given_to_both_flags_is_refused(tmp_path, capsys):
    export = status_exports.woocommerce_orders(tmp_path)
    code, err = _run(
        [
            "rfm",
            export.path,
            "--sale-status",
            "Quote",
            "--not-sale-status",
            "quote",
            "-o",
            tmp_path / "o.csv",
        ],
        capsys,
    )
    assert code == 2 and "given both as a sale and as not a sale" in err


def test_pasted_downloads_and_drop_duplicates(tmp_path, capsys):
    export = status_exports.woocommerce_orders(tmp_path, repeat=3)
    out = tmp_path / "rfm.csv"
    code, err = _run(["rfm", export.path, "-o", out], capsys)
    assert code == 0, err
    _assert_csv(out, export)
    assert "Exact copy of a line (Order Number must be unique): 3" in err


def test_report_with_title_rows_and_total(tmp_path, capsys):
    export = status_exports.sales_report(tmp_path, "xlsx")
    out = tmp_path / "rfm.csv"
    code, err = _run(["rfm", export.path, "-o", out], capsys)
    assert code == 0, err
    _assert_csv(out, export)
    assert "Header row: row 4 (3 title rows above it skipped). 1 totals or subtotal row left out." in err
    # the header forced onto the title row: no customer column, refused, nothing written
    code, err = _run(["rfm", export.path, "--header-row", "1", "-o", tmp_path / "x.csv"], capsys)
    assert code == 2 and "cannot find the customer" in err and not (tmp_path / "x.csv").exists()
