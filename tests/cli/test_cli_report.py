"""`python -m core report`: a bad invocation exits 2 with one line and writes nothing; a good
one writes one HTML file with the figures of the file."""

from __future__ import annotations

import hashlib

import pytest

from tests.cli.test_cli_errors import (
    GOOD_CSV,
    UNKNOWN_VERSION,
    Case,
    _check,
    _prepare,
    model_store_dir,  # noqa: F401  (fixture)
)

REPORT_CASES = [
    Case(
        "report bad currency",
        ["report", "@good.csv", "--currency", "pounds", "-o", "@r.html"],
        ["--currency 'pounds' is not a three-letter code"],
        {"good.csv": GOOD_CSV},
    ),
    Case(
        "report unknown model",
        ["report", "@good.csv", "--model", UNKNOWN_VERSION, "--model-dir", "MODELS", "-o", "@r.html"],
        [f"no model version '{UNKNOWN_VERSION}'"],
        {"good.csv": GOOD_CSV},
    ),
    Case("report missing file", ["report", "@nope.csv", "-o", "@r.html"], ["nope.csv", "no such file"]),
    Case(
        "report k too large",
        ["report", "@good.csv", "--k", "8", "-o", "@r.html"],
        ["fewer than k=8"],
        {"good.csv": GOOD_CSV},
    ),
    Case(
        "report on spark",
        ["report", "@good.csv", "--engine", "spark", "-o", "@r.html"],
        ["report runs on DuckDB only"],
        {"good.csv": GOOD_CSV},
    ),
]


@pytest.mark.parametrize("case", REPORT_CASES, ids=[c.id for c in REPORT_CASES])
def test_bad_report_invocations(case, tmp_path, capsys, model_store_dir):  # noqa: F811
    from core.cli import main

    folder = tmp_path / "case"
    folder.mkdir()
    returncode = main(_prepare(case, folder, model_store_dir))
    captured = capsys.readouterr()
    _check(case, returncode, captured.out, captured.err, folder, model_store_dir)


def test_report_on_a_small_file(tmp_path, capsys):
    from core.cli import main

    source = tmp_path / "orders.csv"
    source.write_text(GOOD_CSV)
    out = tmp_path / "report.html"
    assert main(["report", str(source), "--k", "2", "--currency", "eur", "-o", str(out)]) == 0
    page = out.read_text()
    # three customers: 00017 (6 x 2.55 + 4 x 3.75 = 30.30), 12347 (12.50), 12348 (12.75)
    assert "Customers<b>3</b>" in page
    assert "Revenue<b>€55.55</b>" in page
    assert hashlib.sha256(GOOD_CSV.encode()).hexdigest() in page
    assert "<td>Currency</td><td>EUR</td>" in page
    assert "wrote the report (3 customers)" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders.csv", "report.html"]
