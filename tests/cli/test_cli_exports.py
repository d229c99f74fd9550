"""`python -m core rfm FILE` on real export shapes, no flags: the CSV holds the RFM computed by
hand from the records (tests/exports.py), and stderr says how the values were read."""

from __future__ import annotations

import pandas as pd
import pytest

from tests import exports


@pytest.mark.parametrize("kind", list(exports.BUILDERS))
def test_rfm_command_on_real_exports(kind, tmp_path, capsys):
    from core.cli import main

    export = exports.BUILDERS[kind](tmp_path)
    out = tmp_path / "rfm.csv"
    assert main(["rfm", str(export.path), "-o", str(out)]) == 0
    rfm = pd.read_csv(out, dtype={"customer_id": str})
    got = {r.customer_id: (r.recency, r.frequency, r.monetary) for r in rfm.itertuples()}
    assert set(got) == set(export.expected)
    for customer, (recency, frequency, monetary) in export.expected.items():
        assert got[customer][:2] == (recency, frequency), customer
        assert got[customer][2] == pytest.approx(monetary, abs=0.001), customer
    err = capsys.readouterr().err
    assert f"{export.notes['rows_in']:,} lines read" in err
    assert "line value: " in err


def test_german_export_reports_its_decisions(tmp_path, capsys):
    from core.cli import main

    export = exports.german_datev(tmp_path)
    assert main(["rfm", str(export.path), "-o", str(tmp_path / "out.csv")]) == 0
    err = capsys.readouterr().err
    assert "line value: amount column 'Betrag'" in err
    assert "read 'Betrag': decimal comma" in err
    assert "read 'Belegdatum': dates day-first" in err


def test_ambiguous_dates_say_so_and_follow_the_flag(tmp_path, capsys):
    from core.cli import main

    path = tmp_path / "amb.csv"
    path.write_text("customer,date,amount\na,01/02/2024,5.00\nb,03/02/2024,7.00\n")
    assert main(["rfm", str(path), "-o", str(tmp_path / "m.csv")]) == 0
    err = capsys.readouterr().err
    assert "ambiguous" in err and "month-first by default" in err
    # month-first: a on Jan 2, b on Mar 2 -> a's recency 60 days (2024 is a leap year)
    assert pd.read_csv(tmp_path / "m.csv").set_index("customer_id").loc["a", "recency"] == 60
    assert main(["rfm", str(path), "--date-format", "dayfirst", "-o", str(tmp_path / "d.csv")]) == 0
    # day-first: a on Feb 1, b on Feb 3 -> 2 days
    assert pd.read_csv(tmp_path / "d.csv").set_index("customer_id").loc["a", "recency"] == 2


def test_as_of_with_an_offset(tmp_path):
    from core.cli import main

    path = tmp_path / "o.csv"
    path.write_text("customer,date,amount\na,2024-01-05T10:00:00+01:00,5.00\n")
    # the purchase is 09:00 UTC; as of 2024-01-07 08:00 UTC (09:00+01:00) -> 1 day 23 h -> 1
    assert (
        main(["rfm", str(path), "--as-of", "2024-01-07T09:00:00+01:00", "-o", str(tmp_path / "r.csv")]) == 0
    )
    assert pd.read_csv(tmp_path / "r.csv").recency.tolist() == [1]
    assert main(["rfm", str(path), "--as-of", "2024-01-07T09:00:00Z", "-o", str(tmp_path / "z.csv")]) == 0
    assert pd.read_csv(tmp_path / "z.csv").recency.tolist() == [2]
