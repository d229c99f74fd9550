"""Hostile and faulty inputs from issue 20, through the command line (core.cli.main): every
line is read or reported, no value is zeroed, outputs never replace what they must not, and
each refusal is exit 2 with one line naming the file and the line or column.

Files are written here with known values; expected figures are computed by hand."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core import limits
from core.cli import main

HEADER = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country"


def line(
    i: int, *, price: str = "2.50", quantity: int = 2, description: str = "MUG", customer: int | None = None
) -> str:
    return (
        f"{536365 + i},85123A,{description},{quantity},2010-12-0{1 + i % 9} 08:26,{price},"
        f"{customer or 17850 + i},United Kingdom"
    )


def write(path: Path, lines: list[str], header: str = HEADER) -> Path:
    path.write_text(header + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(args: list, capsys) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err.strip()


def one_line_refusal(code: int, err: str, *parts: str) -> None:
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    for part in parts:
        assert part in err, err


def rfm_rows(path: Path) -> dict[str, dict]:
    with path.open(newline="") as fh:
        return {row["customer_id"]: row for row in csv.DictReader(fh)}


# -- line values the engine cannot hold: refused with their line, never counted as 0 -------------


@pytest.mark.parametrize("price", ["1" + "0" * 35, "1" + "0" * 300])
def test_a_line_value_past_1e32_is_refused_with_its_line(tmp_path, capsys, price):
    path = write(tmp_path / "big.csv", [line(i) for i in range(3)] + [line(3, price=price)] + [line(4)])
    code, err = run(["rfm", path, "-o", tmp_path / "out.csv"], capsys)
    one_line_refusal(code, err, "big.csv: line 5 has a line value of 2e+", "past the 1e+32")
    assert not (tmp_path / "out.csv").exists()


def test_a_line_value_of_2x1e308_is_refused(tmp_path, capsys):
    path = tmp_path / "inf.parquet"
    pq.write_table(
        pa.table(
            {
                "Invoice": ["536365", "536366"],
                "Customer ID": ["A", "B"],
                "InvoiceDate": ["2010-12-01 08:26", "2010-12-02 08:26"],
                "Quantity": [1.0, 2.0],
                "Price": [3.0, 1e308],
            }
        ),
        path,
    )
    code, err = run(["rfm", path, "-o", tmp_path / "out.csv"], capsys)
    one_line_refusal(code, err, "inf.parquet: data row 2 has a line value of inf")


def test_a_total_past_1e32_names_the_customer_not_a_traceback(tmp_path, capsys):
    # each line fits (9e31), the customer's sum (2.7e32) does not: HUGEINT overflow before
    near = "9" + "0" * 31
    path = write(tmp_path / "sum.csv", [line(i, price=near, quantity=1, customer=17850) for i in range(3)])
    code, err = run(["rfm", path, "-o", tmp_path / "out.csv"], capsys)
    one_line_refusal(code, err, "sum.csv: customer 17850's line values add up to 2.7e+32")


def test_the_largest_value_held_is_summed_exactly(tmp_path, capsys):
    # just under the bound: read, and summed to the cent
    price = "4" + "0" * 30 + ".25"  # 4e30 + 0.25, twice per line
    path = write(tmp_path / "edge.csv", [line(0, price=price), line(1)])
    code, err = run(["rfm", path, "-o", tmp_path / "out.csv"], capsys)
    assert code == 0, err
    rows = rfm_rows(tmp_path / "out.csv")
    assert float(rows["17850"]["monetary"]) == pytest.approx(8e30, rel=1e-12)
    assert float(rows["17851"]["monetary"]) == 5.0


# -- long lines: read, or reported; never dropped ---------------------------------------------


def test_a_valid_last_line_of_40_mb_is_read(tmp_path, capsys):
    long = "X" * (40 << 20)
    path = write(tmp_path / "last.csv", [line(i) for i in range(20)] + [line(20, description=long)])
    code, err = run(["rfm", path, "-o", tmp_path / "out.csv"], capsys)
    assert code == 0, err
    assert "21 lines read" in err
    rows = rfm_rows(tmp_path / "out.csv")
    assert len(rows) == 21 and rows[str(17850 + 20)]["monetary"] == "5.0"


def test_a_40_mb_line_mid_file_is_read(tmp_path, capsys):
    long = "X" * (40 << 20)
    path = write(tmp_path / "mid.csv", [line(i, description=long if i == 10 else "MUG") for i in range(21)])
    code, err = run(["rfm", path, "-o", tmp_path / "out.csv"], capsys)
    assert code == 0, err
    assert len(rfm_rows(tmp_path / "out.csv")) == 21


def test_a_line_past_the_line_limit_is_reported(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(limits, "MAX_LINE_BYTES", 1 << 20)
    path = write(tmp_path / "huge.csv", [line(0), line(1, description="Y" * (3 << 20))])
    code, err = run(["rfm", path, "-o", tmp_path / "out.csv"], capsys)
    one_line_refusal(code, err, "huge.csv: a line near byte", "is longer than")


# -- headers ----------------------------------------------------------------------------------


def test_a_header_over_64_kb_is_read_whole(tmp_path, capsys):
    # 40 extra columns of 2,000 characters: the old 64 KB read cut the last name in two
    extra = [f"note{i}_" + "n" * 2000 for i in range(40)]
    path = write(
        tmp_path / "wide.csv", [line(0) + "," * 40, line(1) + "," * 40], header=HEADER + "," + ",".join(extra)
    )
    code, err = run(["rfm", path, "-o", tmp_path / "out.csv"], capsys)
    assert code == 0, err
    assert set(rfm_rows(tmp_path / "out.csv")) == {"17850", "17851"}


def test_names_differing_only_in_case_are_a_clear_refusal(tmp_path, capsys):
    path = write(tmp_path / "case.csv", [line(0) + ",1"], header=HEADER + ",customer id")
    code, err = run(["rfm", path, "-o", tmp_path / "out.csv"], capsys)
    one_line_refusal(
        code,
        err,
        "case.csv: the header row has column names that differ only in case ['Customer ID', 'customer id']",
    )
    assert "Binder" not in err


def _sep_file(path: Path, last: str) -> Path:
    """Excel's "sep=;" first line, the header, and two lines (``last``: the second)."""
    path.write_text(
        "sep=;\n" + HEADER.replace(",", ";") + "\n"
        "536365;85123A;MUG;2;2010-12-01 08:26;2,50;17850;UK\n" + last + "\n",
        encoding="utf-8",
    )
    return path


def test_an_excel_sep_hint_first_line_is_honoured(tmp_path, capsys):
    path = _sep_file(tmp_path / "sep.csv", "536366;85123A;MUG;3;2010-12-02 08:26;1,50;17851;UK")
    code, err = run(["rfm", path, "-o", tmp_path / "out.csv"], capsys)
    assert code == 0, err
    rows = rfm_rows(tmp_path / "out.csv")
    assert rows["17850"]["monetary"] == "5.0" and rows["17851"]["monetary"] == "4.5"


def test_a_broken_line_after_a_sep_hint_is_named_by_its_line(tmp_path, capsys):
    path = _sep_file(tmp_path / "sepbad.csv", "536366;85123A;MUG;3;2010-12-02 08:26;1,50;17851;UK;extra")
    code, err = run(["rfm", path, "-o", tmp_path / "out.csv"], capsys)
    one_line_refusal(code, err, "sepbad.csv: line 4 ")


# -- a column limit for every format -----------------------------------------------------------


def test_an_empty_parquet_of_50000_columns_is_refused_quickly(tmp_path, capsys):
    path = tmp_path / "wide.parquet"
    pq.write_table(pa.table({f"c{i}": pa.array([], pa.string()) for i in range(50_000)}), path)
    code, err = run(["rfm", path, "-o", tmp_path / "out.csv"], capsys)
    one_line_refusal(code, err, "wide.parquet: the file has 50,000 columns, over the 1,000-column limit")


def test_a_parquet_footer_counts_nested_leaves_and_names_the_top_level_columns(tmp_path, capsys, monkeypatch):
    """The engine reads each leaf of a nested column: 4 top-level columns holding 7 leaves are
    over a 5-column limit; under the limit the top-level names are checked (here two differ
    only in case, past a struct holding a list of structs)."""
    from core import limits

    nested = pa.table(
        {
            "Customer ID": ["17850"],
            "s": pa.array([{"Country": "UK", "y": [{"a": 1, "b": 2}], "z": "q"}]),
            "Country": ["UK"],  # also a nested name: only top-level names are the file's columns
            "customer id": ["1"],
        }
    )
    pq.write_table(nested, tmp_path / "nested.parquet")
    code, err = run(["rfm", tmp_path / "nested.parquet", "-o", tmp_path / "out.csv"], capsys)
    one_line_refusal(
        code,
        err,
        "nested.parquet: the file has column names that differ only in case ['Customer ID', 'customer id']",
    )
    monkeypatch.setattr(limits, "MAX_COLUMNS", 5)
    code, err = run(["rfm", tmp_path / "nested.parquet", "-o", tmp_path / "out.csv"], capsys)
    one_line_refusal(code, err, "nested.parquet: the file has 7 columns, over the 5-column limit")
    assert not (tmp_path / "out.csv").exists()


def test_a_csv_of_too_many_columns_is_refused(tmp_path, capsys):
    path = write(
        tmp_path / "many.csv",
        [line(0) + "," * 1000],
        header=HEADER + "," + ",".join(f"x{i}" for i in range(1000)),
    )
    code, err = run(["rfm", path, "-o", tmp_path / "out.csv"], capsys)
    one_line_refusal(code, err, "many.csv: the header row has 1,008 columns, over the 1,000-column limit")


# -- outputs: report and migration refuse what rfm and segment refuse ------------------------


@pytest.fixture
def good(tmp_path) -> Path:
    return write(tmp_path / "in.csv", [line(i) for i in range(6)])


def _outputs(tmp_path: Path, good: Path) -> dict[str, Path]:
    target = tmp_path / "target.txt"
    target.write_text("keep me")
    link = tmp_path / "link.out"
    link.symlink_to(target)
    fifo = tmp_path / "fifo.out"
    os.mkfifo(fifo)
    return {"the input file": good, "a symbolic link": link, "not a regular file": fifo}


COMMANDS = {
    "report": ["report", "{file}", "--k", "2", "-o", "{out}"],
    "migration": ["migration", "{file}", "--from", "2010-12-03", "--to", "2010-12-09", "-o", "{out}"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("kind", ["the input file", "a symbolic link", "not a regular file"])
def test_report_and_migration_refuse_a_bad_output(tmp_path, good, capsys, command, kind):
    out = _outputs(tmp_path, good)[kind]
    before = good.read_bytes()
    args = [a.format(file=good, out=out) for a in COMMANDS[command]]
    code, err = run(args, capsys)
    expected = {
        "the input file": "output is the input file",
        "a symbolic link": "output is a symbolic link",
        "not a regular file": "output exists and is not a regular file",
    }[kind]
    one_line_refusal(code, err, expected)
    assert good.read_bytes() == before
    assert (tmp_path / "target.txt").read_text() == "keep me"
    assert (tmp_path / "link.out").is_symlink() and (tmp_path / "fifo.out").is_fifo()


# -- engine errors are one line -----------------------------------------------------------------


def test_an_engine_error_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    import duckdb

    from core import rfm

    def fail(*args, **kwargs):
        raise duckdb.NotImplementedException("Not implemented Error: something deep\nmore")

    monkeypatch.setattr(rfm, "group_orders", fail)
    path = write(tmp_path / "in.csv", [line(0)])
    code, err = run(["rfm", path, "-o", tmp_path / "out.csv"], capsys)
    one_line_refusal(
        code, err, "in.csv: the engine could not process the file (Not implemented Error: something deep)"
    )
