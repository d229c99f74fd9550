"""Bad input through `python -m core`: exit status 2, exactly one line on stderr that says what
is wrong and what to do, never a traceback, and no output file left behind.

Every case runs as a real subprocess. The processes are started together (a few at a time) by
one module fixture, since each spends most of its second importing the engine; each case is
then checked by its own test."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from tests.conftest import REPO, SAMPLE_XLSX

# Three customers, valid Online-Retail lines; latest purchase 2010-12-09 12:50.
GOOD_CSV = """\
Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,00017,United Kingdom
536370,22728,ALARM CLOCK BAKELIKE PINK,4,2010-12-05 10:00:00,3.75,00017,United Kingdom
536383,21730,GLASS STAR FROSTED T-LIGHT HOLDER,10,2010-12-09 12:50:00,1.25,12347,France
536384,22423,REGENCY CAKESTAND 3 TIER,1,2010-11-20 09:00:00,12.75,12348,Germany
"""
UNKNOWN_VERSION = "v0099-20260101T000000Z"
SCORE_OK = ["--recency", "3", "--frequency", "2", "--monetary", "5"]


def run_cli(*args, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@dataclass
class Case:
    """A bad invocation. In ``args``, '@name' is a file in the case's own folder and 'MODELS'
    the folder of a store holding one trained model."""

    id: str
    args: list[str]
    fragments: list[str]
    files: dict[str, bytes | str] = field(default_factory=dict)


def _half_of_the_sample() -> bytes:
    data = SAMPLE_XLSX.read_bytes()
    return data[: len(data) // 2]


def _file_case(id, name, content, fragments, extra=(), command="rfm") -> Case:
    files = {} if content is None else {name: content}
    return Case(id, [command, f"@{name}", *extra, "-o", "@out.csv"], fragments, files)


CASES = [
    _file_case("missing file", "nope.csv", None, ["nope.csv", "no such file"]),
    _file_case("empty file", "empty.csv", b"", ["empty.csv", "the file is empty"]),
    _file_case(
        "header only", "header.csv", "Customer ID,InvoiceDate,amount\n", ["header.csv", "header but no rows"]
    ),
    _file_case(
        "binary garbage",
        "garbage.csv",
        b"\x00\x01\x02\x03binary\x00\xff" * 100,
        ["garbage.csv", "binary file"],
    ),
    _file_case("truncated xlsx", "half.xlsx", _half_of_the_sample(), ["half.xlsx", "not a valid .xlsx"]),
    _file_case("fake xlsx", "fake.xlsx", GOOD_CSV, ["fake.xlsx", "not a valid .xlsx"]),
    _file_case(
        "corrupt parquet",
        "broken.parquet",
        b"PAR1" + b"\xde\xad\xbe\xef garbage " * 64,
        ["broken.parquet", "corrupt or unreadable Parquet"],
    ),
    _file_case(
        "role not found",
        "roles.csv",
        "buyer,order_date,amount\nX,2024-01-01,3\n",
        [
            "roles.csv",
            "cannot find the customer column",
            "columns found: buyer, order_date, amount",
            "--customer COLUMN",
        ],
    ),
    _file_case(
        "mapped column missing",
        "good.csv",
        GOOD_CSV,
        ["good.csv", "column 'Kunde' mapped to customer does not exist", "columns found: Invoice, StockCode"],
        extra=["--customer", "Kunde"],
    ),
    _file_case(
        "dates do not parse",
        "dates.csv",
        "cust,order_date,amount\n1,tomorrow,3\n2,someday,4\n",
        ["dates.csv", "'order_date'", "do not parse"],
    ),
    _file_case(
        "nothing left after cleaning",
        "free.csv",
        "cust,order_date,qty,price\n1,2024-01-01,2,0\n2,2024-01-02,1,0.00\n3,2024-01-03,5,0\n",
        ["free.csv", "no valid rows left", "'Price <= 0' removed 3 of 3"],
    ),
    _file_case(
        "bad row past the sniffed sample",
        "late.csv",
        "cust,order_date,amount\n"
        + "".join(f"c{i % 50},2024-01-{1 + i % 28:02d},1.50\n" for i in range(25_000))
        + "c1,2024-01-02,3,EXTRA\n",
        [
            "late.csv: line 25002 'c1,2024-01-02,3,EXTRA' is broken",
            "Expected Number of Columns: 3 Found: 4",
            "fix that line",
        ],
    ),
    _file_case(
        "as-of not a date",
        "good.csv",
        GOOD_CSV,
        ["'last tuesday' is not a date"],
        extra=["--as-of", "last tuesday"],
    ),
    _file_case(
        "as-of before the first purchase",
        "good.csv",
        GOOD_CSV,
        ["good.csv", "no purchase on or before the as-of date 2010-11-01 00:00"],
        extra=["--as-of", "2010-11-01"],
    ),
    _file_case(
        "bad sheet",
        "book.xlsx",
        SAMPLE_XLSX.read_bytes(),
        ["no sheet 'Year 1999'", "'Year 2009-2010', 'Year 2010-2011'"],
        extra=["--sheet", "Year 1999"],
    ),
    # fewer customers than k
    Case(
        "train k=8 on 3 customers",
        ["train", "@good.csv", "--k", "8", "--model-dir", "@models"],
        ["only 3 customers", "fewer than k=8", "choose a smaller k"],
        {"good.csv": GOOD_CSV},
    ),
    Case(
        "segment k=8 on 3 customers",
        ["segment", "@good.csv", "--k", "8", "-o", "@out.csv"],
        ["fewer than k=8"],
        {"good.csv": GOOD_CSV},
    ),
    Case(
        "segment unknown model",
        ["segment", "@good.csv", "--model", UNKNOWN_VERSION, "--model-dir", "MODELS", "-o", "@out.csv"],
        [f"no model version '{UNKNOWN_VERSION}'", "versions: ['v0001-"],
        {"good.csv": GOOD_CSV},
    ),
    Case(
        "score unknown model",
        ["score", *SCORE_OK, "--model", UNKNOWN_VERSION, "--model-dir", "MODELS"],
        [f"no model version '{UNKNOWN_VERSION}'"],
    ),
    Case(
        "score not a number",
        ["score", "--recency", "abc", "--frequency", "2", "--monetary", "10", "--model-dir", "MODELS"],
        ["recency must be a number, got 'abc'"],
    ),
    Case(
        "score negative monetary",
        ["score", "--recency", "3", "--frequency", "2", "--monetary=-5", "--model-dir", "MODELS"],
        ["monetary must be 0 or more, got '-5'"],
    ),
]


# The same contract for more mistakes, checked in-process through core.cli.main (the
# same code the subprocess runs) to keep the suite fast.
IN_PROCESS_CASES = [
    # segment and train read files through the same path
    _file_case("segment missing file", "nope.csv", None, ["nope.csv", "no such file"], command="segment"),
    _file_case(
        "segment corrupt parquet",
        "broken.parquet",
        b"PAR1" + b"\x00garbage" * 64,
        ["broken.parquet", "Parquet"],
        command="segment",
    ),
    _file_case(
        "segment role not found",
        "roles.csv",
        "buyer,order_date,amount\nX,2024-01-01,3\n",
        ["--customer COLUMN"],
        command="segment",
    ),
    Case(
        "train k=1",
        ["train", "@good.csv", "--k", "1", "--model-dir", "@models"],
        ["k must be a whole number from 2 to 50"],
        {"good.csv": GOOD_CSV},
    ),
    # unknown model versions
    Case(
        "score malformed model name",
        ["score", *SCORE_OK, "--model", "latest", "--model-dir", "MODELS"],
        ["'latest' is not a model version name"],
    ),
    Case(
        "score no model trained",
        ["score", *SCORE_OK, "--model-dir", "@models"],
        ["no current model", "python -m core train FILE"],
    ),
    # score: values that are not R/F/M
    Case(
        "score negative recency",
        ["score", "--recency=-1", "--frequency", "2", "--monetary", "5", "--model-dir", "MODELS"],
        ["recency must be 0 or more"],
    ),
    Case(
        "score nan",
        ["score", "--recency", "3", "--frequency", "nan", "--monetary", "5", "--model-dir", "MODELS"],
        ["frequency must be a finite number"],
    ),
    Case(
        "score zero frequency",
        ["score", "--recency", "3", "--frequency", "0", "--monetary", "5", "--model-dir", "MODELS"],
        ["frequency must be at least 1"],
    ),
    Case(
        "score missing value",
        ["score", "--recency", "3", "--frequency", "2", "--model-dir", "MODELS"],
        ["the following arguments are required: --monetary"],
    ),
    # values that cannot be decided or read (issue 8)
    _file_case(
        "numbers written both ways",
        "mixed.csv",
        'cust,order_date,amount\na,2024-01-01,"12,50"\nb,2024-01-02,3.75\n',
        ["mixed.csv: column 'amount' writes numbers both ways", "--decimal"],
    ),
    _file_case(
        "broken line",
        "broken.csv",
        "cust,order_date,amount\na,2024-01-01,1.00\nb,2024-01-02\nc,2024-01-03,2.00\n",
        ["broken.csv: line 3 'b,2024-01-02' is broken", "Found: 2"],
    ),
    _file_case("utf-16 not really", "fake16.txt", b"\xff\xfe" + b"a,b\n1,2\n"[:7], ["fake16.txt"]),
    Case(
        "decimal not a mark",
        ["rfm", "@good.csv", "--decimal", ";", "-o", "@out.csv"],
        ["--decimal", "invalid choice"],
        {"good.csv": GOOD_CSV},
    ),
    Case(
        "date format unknown",
        ["rfm", "@good.csv", "--date-format", "yearfirst", "-o", "@out.csv"],
        ["--date-format", "invalid choice"],
        {"good.csv": GOOD_CSV},
    ),
    # usage errors
    Case("no command", [], ["required"]),
    Case("no file", ["rfm", "-o", "@out.csv"], ["required", "file"]),
    Case("unknown command", ["explode", "x.csv"], ["invalid choice", "'explode'"]),
    Case("k not a number", ["train", "@good.csv", "--k", "four"], ["--k", "'four'"], {"good.csv": GOOD_CSV}),
    Case(
        "sweep bad ks",
        ["sweep", "@good.csv", "--ks", "two-five"],
        ["--ks 'two-five'"],
        {"good.csv": GOOD_CSV},
    ),
    Case(
        "sweep too few customers", ["sweep", "@good.csv", "--ks", "2-6"], ["too few"], {"good.csv": GOOD_CSV}
    ),
]


@pytest.fixture(scope="module")
def model_store_dir(tmp_path_factory, blob_model):
    from core.store import ModelStore

    root = tmp_path_factory.mktemp("store") / "models"
    ModelStore(root).save(blob_model, data_source="blobs")
    return root


def _prepare(case: Case, folder, models) -> list[str]:
    """Write the case's files into ``folder``; its arguments with '@' and 'MODELS' resolved."""
    for name, content in case.files.items():
        path = folder / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    return [
        str(folder / a[1:]) if a.startswith("@") else str(models) if a == "MODELS" else a for a in case.args
    ]


def _check(case: Case, returncode: int, stdout: str, stderr: str, folder, models) -> None:
    assert returncode == 2, (returncode, stderr)
    assert "Traceback" not in stderr and "Traceback" not in stdout
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    for fragment in case.fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert stdout == ""
    # nothing written: no output, no temporary file, no new model version
    assert sorted(p.name for p in folder.iterdir()) == sorted(case.files)
    assert [p.name for p in models.iterdir() if p.name.startswith("v")] == [
        p.name for p in models.iterdir() if p.name.startswith("v0001-")
    ]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, model_store_dir):
    """Run every subprocess case, a few at a time; id -> (CompletedProcess, the case's folder)."""

    def run(index_case):
        index, case = index_case
        folder = tmp_path_factory.mktemp(f"case{index}")
        return case.id, (run_cli(*_prepare(case, folder, model_store_dir)), folder)

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(pool.map(run, enumerate(CASES)))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_exits_2_with_one_line_and_no_output(case, outcomes, model_store_dir):
    result, folder = outcomes[case.id]
    _check(case, result.returncode, result.stdout, result.stderr, folder, model_store_dir)


@pytest.mark.parametrize("case", IN_PROCESS_CASES, ids=[c.id for c in IN_PROCESS_CASES])
def test_more_bad_input_in_process(case, tmp_path, capsys, model_store_dir):
    from core.cli import main

    folder = tmp_path / "case"
    folder.mkdir()
    returncode = main(_prepare(case, folder, model_store_dir))
    captured = capsys.readouterr()
    _check(case, returncode, captured.out, captured.err, folder, model_store_dir)


def test_tampered_model_is_refused_by_score(tmp_path, blob_model):
    from core.store import ModelStore

    store = ModelStore(tmp_path / "models")
    version = store.save(blob_model)
    path = store.root / version / "model.json"
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    result = run_cli("score", *SCORE_OK, "--model-dir", store.root)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        line for line in result.stderr.strip().splitlines() if "does not match the manifest" in line
    ]


def test_the_cli_mapping_flags_are_the_column_roles():
    from core.cli import _ROLES
    from core.columns import ROLES

    assert _ROLES == ROLES
