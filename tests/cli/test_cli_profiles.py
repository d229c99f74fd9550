"""`python -m core rfm` on platform exports (tests/platform_exports.py): read with no flags to
the records' RFM with the reading stated on stderr; refused with exit 2, one line, nothing
written; `--profile` overrides the recognised profile."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from tests import platform_exports
from tests.conftest import REPO


def _rfm(out):
    frame = pd.read_csv(out, dtype={"customer_id": str})
    return {r.customer_id: (r.recency, r.frequency, r.monetary) for r in frame.itertuples()}


@pytest.mark.parametrize(
    "kind", ["woocommerce", "square_items", "prestashop_fr", "paypal", "shopware", "ebay"]
)
def test_rfm_command_reads_platform_exports_and_states_the_reading(kind, tmp_path, capsys):
    from core.cli import main

    export = platform_exports.BUILDERS[kind](tmp_path)
    out = tmp_path / "rfm.csv"
    assert main(["rfm", str(export.path), "-o", str(out)]) == 0
    got = _rfm(out)
    assert set(got) == set(export.expected)
    for customer, (recency, frequency, monetary) in export.expected.items():
        assert got[customer][:2] == (recency, frequency), customer
        assert got[customer][2] == pytest.approx(monetary, abs=0.001), customer
    err = capsys.readouterr().err
    assert "read as " in err and "--profile none" in err
    assert "value: '" in err


def _refused(export, tmp_path) -> str:
    """The one line `python -m core rfm` writes on stderr when it exits 2 writing nothing."""
    out = tmp_path / "rfm.csv"
    done = subprocess.run(
        [sys.executable, "-m", "core", "rfm", str(export.path), "-o", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert not out.exists()
    return lines[0]


def test_amazon_all_orders_is_refused_in_one_line_and_nothing_is_written(tmp_path):
    line = _refused(platform_exports.amazon_all_orders(tmp_path), tmp_path)
    assert "all_orders.txt" in line and "names no buyer" in line
    assert "--customer COLUMN" in line


def test_a_paypal_type_no_list_holds_exits_2_naming_it_and_writes_nothing(tmp_path):
    export = platform_exports.paypal(tmp_path, extra=[platform_exports.PAYPAL_DONATION])
    line = _refused(export, tmp_path)
    assert (
        "Download.CSV" in line
        and "'Donation Payment' (1 lines, 50.00 revenue)" in line
        and '--not-sale-status "Donation Payment"' in line
    )


def test_amazon_with_a_customer_column_chosen(tmp_path, capsys):
    from core.cli import main

    export = platform_exports.amazon_all_orders(tmp_path)
    out = tmp_path / "rfm.csv"
    assert main(["rfm", str(export.path), *export.notes["flags"], "-o", str(out)]) == 0
    assert _rfm(out) == {k: (r, f, pytest.approx(m)) for k, (r, f, m) in export.expected.items()}


def test_profile_flag_overrides_and_refuses(tmp_path, capsys):
    from core.cli import main

    export = platform_exports.woocommerce(tmp_path)
    out = tmp_path / "rfm.csv"
    assert main(["rfm", str(export.path), "--profile", "none", "-o", str(out)]) == 0
    assert "read as " not in capsys.readouterr().err
    assert main(["rfm", str(export.path), "--profile", "magento", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "profile 'magento' needs the column(s)" in err[0]
