"""CLI refusals of the model commands on data K-Means cannot cluster (issue 20 item 11)."""

from __future__ import annotations

import pytest

# 20 customers, each with two identical orders of 10.00 on the same two days: identical R, F, M.
IDENTICAL_CSV = "Invoice,StockCode,Quantity,InvoiceDate,Price,Customer ID\n" + "".join(
    f"{500000 + c * 10 + o},85123,1,2024-01-0{o + 1} 10:00,10.0,{1000 + c}\n"
    for c in range(20)
    for o in range(2)
)


@pytest.mark.parametrize("command, extra", [("sweep", []), ("segment", ["-o"]), ("train", ["--model-dir"])])
def test_identical_customers_are_refused_with_one_line(command, extra, tmp_path, capsys):
    # sweep crashed with a traceback ("Encountered all NA values"); segment and train called
    # all 20 customers "Lapsed" and exited 0.
    from core.cli import main

    source = tmp_path / "identical.csv"
    source.write_text(IDENTICAL_CSV)
    target = tmp_path / ("out.csv" if command == "segment" else "models")
    returncode = main([command, str(source), *extra, *([str(target)] if extra else [])])
    captured = capsys.readouterr()
    assert returncode == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err
    assert "all 20 customers to cluster have the same recency, frequency and monetary" in lines[0]
    assert not (tmp_path / "out.csv").exists()
    assert not list(tmp_path.glob("models/v*"))
