"""Where the CLI writes (-o) and how it reports store problems: exit 2, one line, nothing written."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from core.cli import main
from core.store import ModelStore

LINES = [
    "Invoice,StockCode,Quantity,InvoiceDate,Price,Customer ID,Country",
    "500001,85123A,2,2011-01-03 10:00,2.50,C1,United Kingdom",
    "500002,85123A,1,2011-01-05 11:00,4.00,C2,United Kingdom",
    "500003,22423,3,2011-01-09 12:00,1.00,C1,United Kingdom",
]


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("\n".join(LINES) + "\n")
    return path


def _one_error_line(capsys, words: str) -> None:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and words in err[0], err


def test_output_symlink_is_refused_and_left_alone(tmp_path, data, capsys):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    os.symlink(target, tmp_path / "link.csv")
    assert main(["rfm", str(data), "-o", str(tmp_path / "link.csv")]) == 2
    _one_error_line(capsys, "symbolic link")
    assert (tmp_path / "link.csv").is_symlink() and target.read_text() == "keep me"


def test_output_fifo_and_device_are_refused_without_blocking(tmp_path, data, capsys):
    os.mkfifo(tmp_path / "pipe")
    assert main(["rfm", str(data), "-o", str(tmp_path / "pipe")]) == 2
    _one_error_line(capsys, "not a regular file")
    assert main(["segment", str(data), "--k", "2", "-o", "/dev/null"]) == 2
    _one_error_line(capsys, "not a regular file")
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


def test_output_equal_to_the_input_is_refused(tmp_path, data, capsys):
    before = data.read_bytes()
    assert main(["rfm", str(data), "-o", str(data)]) == 2
    _one_error_line(capsys, "output is the input file")
    os.chdir(tmp_path)
    assert main(["rfm", "sales.csv", "-o", "./sales.csv"]) == 2
    _one_error_line(capsys, "output is the input file")
    assert data.read_bytes() == before


def test_xlsx_output_is_a_real_workbook(tmp_path, data, capsys):
    out = tmp_path / "rfm.xlsx"
    assert main(["rfm", str(data), "-o", str(out)]) == 0
    assert "(Excel workbook)" in capsys.readouterr().err
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()
    # by hand from LINES: C1 bought 2011-01-03 (5.00) and 2011-01-09 (3.00); C2 on 2011-01-05 (4.00)
    assert rows[0] == ["customer_id", "recency", "frequency", "monetary"]
    assert sorted(rows[1:]) == [["C1", 0, 2, 8.0], ["C2", 4, 1, 4.0]]


def test_broken_manifest_is_exit_2_one_line(tmp_path, blob_model, capsys):
    store = ModelStore(tmp_path / "models")
    version = store.save(blob_model)
    (store.root / version / "manifest.json").write_text("{oops")
    assert (
        main(
            ["score", "--recency", "1", "--frequency", "2", "--monetary", "3", "--model-dir", str(store.root)]
        )
        == 2
    )
    _one_error_line(capsys, "manifest is not valid JSON")


def test_old_store_is_exit_2_with_retrain(tmp_path, capsys):
    folder = tmp_path / "models" / "v0001-20261125T221400Z"
    folder.mkdir(parents=True)
    (folder / "model.joblib").write_bytes(b"old pickle")
    (folder / "manifest.json").write_text(json.dumps({"version": folder.name, "sha256": "0" * 64}))
    (tmp_path / "models" / "current").write_text(folder.name)
    assert (
        main(
            [
                "score",
                "--recency",
                "1",
                "--frequency",
                "2",
                "--monetary",
                "3",
                "--model-dir",
                str(tmp_path / "models"),
            ]
        )
        == 2
    )
    _one_error_line(capsys, "older release")


def test_carriage_return_in_a_customer_id_cannot_start_a_row(tmp_path, capsys):
    data = tmp_path / "cr.parquet"  # a CR inside a value, as a database export may carry
    pd.DataFrame(
        {
            "Invoice": ["500001", "500002"],
            "Quantity": [2, 1],
            "InvoiceDate": pd.to_datetime(["2011-01-03 10:00", "2011-01-05 11:00"]),
            "Price": [2.5, 4.0],
            "Customer ID": ["X\r=1+1", "C2"],
        }
    ).to_parquet(data)
    out = tmp_path / "rfm.csv"
    assert main(["rfm", str(data), "--preset", "generic", "-o", str(out)]) == 0
    text = out.read_bytes().decode("utf-8")
    assert '"X\r=1+1"' in text  # quoted
    # the row structure a spreadsheet sees: breaks inside quotes do not end a row
    outside = "".join(part for i, part in enumerate(text.split('"')) if i % 2 == 0)
    assert not any(line.startswith("=") for line in outside.replace("\r", "\n").split("\n"))
    back = pd.read_csv(out, dtype={"customer_id": str})
    assert sorted(back["customer_id"]) == ["C2", "X\r=1+1"]


def test_python_m_core_writes_the_csv_and_leaves_no_temporary_copy(tmp_path):
    # `python -m core` freezes what is left before exiting (core/__main__.py): the output is
    # complete, the exit status is 0, and the UTF-8 copy made of a cp1252 file (in TMPDIR) is
    # gone afterwards.
    import subprocess
    import sys

    from tests.conftest import REPO

    data = tmp_path / "ventes.csv"
    data.write_bytes(("\n".join(LINES).replace("United Kingdom", "Côte d'Ivoire") + "\n").encode("cp1252"))
    temp = tmp_path / "tmp"
    temp.mkdir()
    out = tmp_path / "rfm.csv"
    result = subprocess.run(
        [sys.executable, "-m", "core", "rfm", str(data), "-o", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TMPDIR": str(temp)},
    )
    assert result.returncode == 0, result.stderr
    # C1: 2 x 2.50 + 3 x 1.00 over two invoices, last on 01-09 (the as-of); C2: 4.00 on 01-05
    assert out.read_text().splitlines() == [
        "customer_id,recency,frequency,monetary",
        "C1,0,2,8.0",
        "C2,4,1,4.0",
    ]
    assert result.stderr.splitlines()[-1] == f"wrote 2 rows to {out} (CSV)"
    assert list(temp.iterdir()) == []


def test_the_model_store_folder_is_the_apps_unless_given(tmp_path, sample_model, capsys, monkeypatch):
    """The CLI's --model-dir defaults to the folder the app and the API use (RFM_MODEL_DIR):
    a model saved there is the one `score` finds; a --model-dir given wins."""
    shared = tmp_path / "shared"
    version = ModelStore(shared).save(sample_model, data_source="sample")
    monkeypatch.setenv("RFM_MODEL_DIR", str(shared))
    args = ["score", "--recency", "3", "--frequency", "5", "--monetary", "900", "--json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["model_version"] == version
    assert main([*args, "--model-dir", str(tmp_path / "empty")]) == 2
    _one_error_line(capsys, "no current model")
