"""Layering: the engine (core/) never imports streamlit, so the CLI and batch jobs run without it."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO

ENGINE_MODULES = [
    "core.io",
    "core.columns",
    "core.cleaning",
    "core.rfm",
    "core.outliers",
    "core.clustering",
    "core.segmentation",
    "core.insights",
    "core.store",
    "core.export",
    "core.errors",
    "core.cli",
    "core.atomic",
]


def test_importing_core_and_every_core_module_does_not_import_streamlit():
    # The modules named in DESIGN.md, then every other .py under core/ (charts, synth, ...),
    # discovered rather than listed, each checked right after its import.
    discovered = sorted(
        f"core.{p.stem}" for p in (REPO / "core").glob("*.py") if p.stem not in ("__init__", "__main__")
    )
    assert set(ENGINE_MODULES) <= set(discovered)
    code = (
        "import importlib, json, sys\n"
        "import core\n"
        "assert 'streamlit' not in sys.modules, 'core'\n"
        f"for name in {ENGINE_MODULES + discovered!r}:\n"
        "    importlib.import_module(name)\n"
        "    assert 'streamlit' not in sys.modules, name\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('core.'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    imported = json.loads(result.stdout)
    assert set(discovered) <= set(imported)


def test_the_rfm_command_never_imports_pandas(tmp_path):
    # pandas is a third of what `python -m core rfm` waits for; the command writes Arrow.
    data = tmp_path / "t.csv"
    data.write_text(
        "Invoice,StockCode,Quantity,InvoiceDate,Price,Customer ID\n"
        "536365,85123A,6,2010-12-01 08:26,2.55,17850\n"
        "536366,22633,2,2010-12-02 08:28,1.85,17851\n"
    )
    out = tmp_path / "rfm.csv"
    code = (
        "import sys\nfrom core.cli import main\n"
        f"status = main(['rfm', {str(data)!r}, '-o', {str(out)!r}])\n"
        "print(status, 'pandas' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.stdout.split() == ["0", "False"], result.stderr
    assert out.read_text().splitlines() == [
        "customer_id,recency,frequency,monetary",
        "17850,1,1,15.3",
        "17851,0,1,3.7",
    ]
