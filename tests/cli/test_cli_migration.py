"""`python -m core migration`: each customer's segment at two dates, checked by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from core.outliers import TIERS
from tests.cli.test_cli_errors import Case, _check, _prepare, model_store_dir, run_cli  # noqa: F401
from tests.core.test_movement import HISTORY_CSV

# The file is nine lines, one of them postage (POST01): too few for the online-retail shape
# check (nine in ten invoices of six digits), so the tests name the preset.
# Named segments by hand (DESIGN.md: cut points = 20/40/60/80th percentiles, linear).
# 2011-02-01 00:00: A (21 d, 1, 10.00), B (0 d, 1, 6.00).
#   recency cuts 4.2 8.4 12.6 16.8: A r=1, B r=5; frequency cuts all 1: f=1 for both;
#   monetary cuts 6.8 7.6 8.4 9.2: A m=5, B m=1; fm A = floor(3 + .5) = 3, B = floor(1.5) = 1
#   -> A (r1, fm3) At Risk; B (r5, fm1) New Customers.
# 2011-03-01 00:00: A (8, 2, 40), B (28, 1, 6), C (13, 1, 40), D (0, 1, 100).
#   recency [0 8 13 28] cuts 4.8 9 12 19: A r=4, B r=1, C r=2, D r=5;
#   frequency [1 1 1 2] cuts 1 1 1 1.4: A f=5, others f=1;
#   monetary [6 40 40 100] cuts 26.4 40 40 64: A m=2 (40 is not below 40), B m=1, C m=2, D m=5;
#   fm: A floor(3.5 + .5) = 4, B 1, C floor(1.5 + .5) = 2, D floor(3 + .5) = 3
#   -> A Loyal, B Hibernating, C Hibernating, D Potential Loyalist (--cut-points each).
EXPECTED_EACH = [
    ("A", "At Risk", "Loyal"),
    ("B", "New Customers", "Hibernating"),
    ("C", "(none)", "Hibernating"),
    ("D", "(none)", "Potential Loyalist"),
]
# The default (--cut-points from): 2011-03-01 scored on 2011-02-01's cut points above.
#   A (8, 2, 40): r 4 (4.2 below 8), f 5, m 5 -> fm 5 -> Loyal; B (28, 1, 6): r 1, f 1, m 1
#   -> Hibernating; C (13, 1, 40): r 2 (three cuts below 13), f 1, m 5 -> fm 3 -> At Risk;
#   D (0, 1, 100): r 5, f 1, m 5 -> fm 3 -> Potential Loyalist.
EXPECTED = [
    ("A", "At Risk", "Loyal"),
    ("B", "New Customers", "Hibernating"),
    ("C", "(none)", "At Risk"),
    ("D", "(none)", "Potential Loyalist"),
]


@pytest.fixture
def history_csv(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(HISTORY_CSV)
    return path


def test_migration_writes_named_segments_at_both_dates(history_csv, tmp_path):
    out = tmp_path / "moves.csv"
    result = run_cli(
        "migration",
        history_csv,
        "--preset",
        "online-retail",
        "--from",
        "2011-02-01",
        "--to",
        "2011-03-01",
        "-o",
        out,
    )
    assert result.returncode == 0, result.stderr
    assert out.read_text().splitlines()[0] == "customer_id,from_segment,to_segment"
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(written.itertuples(index=False, name=None)) == EXPECTED
    assert "4 customers at 2011-03-01: 2 new since 2011-02-01, 2 changed segment" in result.stderr
    assert f"wrote 4 rows to {out}" in result.stderr


def test_migration_cut_points_each_re_cuts_the_later_date(history_csv, capsys):
    from core.cli import main

    assert (
        main(
            [
                "migration",
                str(history_csv),
                "--preset",
                "online-retail",
                "--from",
                "2011-02-01",
                "--to",
                "2011-03-01",
                "--cut-points",
                "each",
                "-o",
                "-",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.splitlines()[1:] == [",".join(row) for row in EXPECTED_EACH]


def test_migration_to_stdout_in_process(history_csv, capsys):
    from core.cli import main

    assert (
        main(
            [
                "migration",
                str(history_csv),
                "--preset",
                "online-retail",
                "--from",
                "2011-02-01",
                "--to",
                "2011-03-01",
                "-o",
                "-",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["customer_id,from_segment,to_segment", *(",".join(row) for row in EXPECTED)]


def test_migration_by_a_saved_model_uses_its_tiers_and_clusters(
    history_csv,
    tmp_path,
    capsys,
    model_store_dir,  # noqa: F811  (the fixture, imported from test_cli_errors)
    blob_model,
):
    from core.cli import main

    out = tmp_path / "moves.csv"
    version = sorted(p.name for p in model_store_dir.iterdir() if p.name.startswith("v"))[0]
    assert (
        main(
            [
                "migration",
                str(history_csv),
                "--preset",
                "online-retail",
                "--from",
                "2011-02-01",
                "--to",
                "2011-03-01",
                "--model",
                version,
                "--model-dir",
                str(model_store_dir),
                "-o",
                str(out),
            ]
        )
        == 0
    )
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    allowed = set(blob_model.names_) | set(TIERS)
    assert written["customer_id"].tolist() == ["A", "B", "C", "D"]
    assert set(written["to_segment"]) <= allowed
    assert written.set_index("customer_id").loc[["C", "D"], "from_segment"].tolist() == ["(none)"] * 2
    # A and B are segmented by the model's own fences and centroids at each date
    expected = blob_model.segment(
        pd.DataFrame(
            {"customer_id": ["A", "B"], "recency": [21, 0], "frequency": [1, 1], "monetary": [10.0, 6.0]}
        )
    )
    assert (
        written.set_index("customer_id").loc[["A", "B"], "from_segment"].tolist()
        == expected["segment"].tolist()
    )


BAD = [
    Case(
        "migration from not a date",
        ["migration", "@h.csv", "--from", "2011-02-30", "--to", "2011-03-01", "-o", "@out.csv"],
        ["from date '2011-02-30' is not a date", "YYYY-MM-DD"],
        {"h.csv": HISTORY_CSV},
    ),
    Case(
        "migration to not a date",
        ["migration", "@h.csv", "--from", "2011-02-01", "--to", "soon", "-o", "@out.csv"],
        ["to date 'soon' is not a date"],
        {"h.csv": HISTORY_CSV},
    ),
    Case(
        "migration dates reversed",
        ["migration", "@h.csv", "--from", "2011-03-01", "--to", "2011-02-01", "-o", "@out.csv"],
        ["from date 2011-03-01 00:00 must be before the to date 2011-02-01 00:00"],
        {"h.csv": HISTORY_CSV},
    ),
    Case(
        "migration to before any purchase",
        [
            "migration",
            "@h.csv",
            "--preset",
            "online-retail",
            "--from",
            "2010-01-01",
            "--to",
            "2010-06-01",
            "-o",
            "@out.csv",
        ],
        [
            "h.csv",
            "no purchase on or before the to date 2010-06-01 00:00",
            "first purchase is 2011-01-10 10:00",
        ],
        {"h.csv": HISTORY_CSV},
    ),
    Case(
        "migration missing --to",
        ["migration", "@h.csv", "--from", "2011-02-01", "-o", "@out.csv"],
        ["required: --to"],
        {"h.csv": HISTORY_CSV},
    ),
    Case(
        "migration on spark",
        [
            "migration",
            "@h.csv",
            "--from",
            "2011-02-01",
            "--to",
            "2011-03-01",
            "--engine",
            "spark",
            "-o",
            "@out.csv",
        ],
        ["migration runs on DuckDB only"],
        {"h.csv": HISTORY_CSV},
    ),
    Case(
        "migration unknown model",
        [
            "migration",
            "@h.csv",
            "--from",
            "2011-02-01",
            "--to",
            "2011-03-01",
            "--model",
            "v0099-20260101T000000Z",
            "--model-dir",
            "MODELS",
            "-o",
            "@out.csv",
        ],
        ["no model version 'v0099-20260101T000000Z'"],
        {"h.csv": HISTORY_CSV},
    ),
    Case(
        "migration unknown cut points",
        [
            "migration",
            "@h.csv",
            "--from",
            "2011-02-01",
            "--to",
            "2011-03-01",
            "--cut-points",
            "later",
            "-o",
            "@out.csv",
        ],
        ["--cut-points: invalid choice: 'later'", "'from', 'each'"],
        {"h.csv": HISTORY_CSV},
    ),
    Case(
        "migration nobody before the from date",
        [
            "migration",
            "@h.csv",
            "--preset",
            "online-retail",
            "--from",
            "2010-01-01",
            "--to",
            "2011-03-01",
            "-o",
            "@out.csv",
        ],
        ["h.csv", "nobody had bought by the from date 2010-01-01 00:00", "cut points 'each'"],
        {"h.csv": HISTORY_CSV},
    ),
    Case(
        "migration missing file",
        ["migration", "@nope.csv", "--from", "2011-02-01", "--to", "2011-03-01", "-o", "@out.csv"],
        ["nope.csv", "no such file"],
    ),
]


@pytest.mark.parametrize("case", BAD, ids=[c.id for c in BAD])
def test_bad_migration_input_exits_2_with_one_line(case, tmp_path, capsys, model_store_dir):  # noqa: F811
    from core.cli import main

    folder = tmp_path / "case"
    folder.mkdir()
    returncode = main(_prepare(case, folder, model_store_dir))
    captured = capsys.readouterr()
    _check(case, returncode, captured.out, captured.err, folder, model_store_dir)
