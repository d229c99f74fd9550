"""core.ibis_setup: ibis's SQL compilers are imported one dialect at a time, and everything
that used the real package still works (an RFM run, every exported name, ibis.to_sql)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def _run(code: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_an_rfm_run_loads_only_the_duckdb_compiler(tmp_path):
    data = tmp_path / "t.csv"
    data.write_text(
        "Invoice,StockCode,Quantity,InvoiceDate,Price,Customer ID\n"
        "536365,85123A,6,2010-12-01 08:26,2.55,17850\n"
        "536366,22633,2,2010-12-02 08:28,1.85,17851\n"
        "536367,22633,4,2010-12-02 09:00,1.85,17851\n"
    )
    code = (
        "import json, sys\nfrom core.rfm import rfm_from_file\n"
        f"rows = rfm_from_file({str(data)!r}).table.to_pylist()\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('ibis.backends.sql.compilers.'))\n"
        "print(json.dumps({'rows': rows, 'loaded': loaded}))\n"
    )
    out = _run(code)
    # 17850: one invoice, 6 x 2.55; 17851: two invoices, (2 + 4) x 1.85, last at the as-of.
    assert out["rows"] == [
        {"customer_id": "17850", "recency": 1, "frequency": 1, "monetary": 15.3},
        {"customer_id": "17851", "recency": 0, "frequency": 2, "monetary": 11.1},
    ]
    assert out["loaded"] == [
        "ibis.backends.sql.compilers._compat",
        "ibis.backends.sql.compilers.base",
        "ibis.backends.sql.compilers.duckdb",
    ]


def _real_exports() -> list[str]:
    """The names the real package's __init__ exports, read from its source (not imported)."""
    import importlib.util

    spec = importlib.util.find_spec("ibis.backends.sql")
    init = Path(spec.origin).parent / "compilers" / "__init__.py"
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "__all__":
            return [element.value for element in node.value.elts]
    raise AssertionError(f"no __all__ in {init}")


def test_every_name_the_real_package_exports_resolves_and_to_sql_works():
    names = _real_exports()
    assert "DuckDBCompiler" in names and len(names) >= 20
    code = (
        "import json, sys\nimport core.query\nimport ibis\n"
        "import ibis.backends.sql.compilers as sc\n"
        "stand_in = 'ibis.backends.sql.compilers.athena' not in sys.modules\n"
        f"classes = {{n: getattr(sc, n).__name__ for n in {names!r}}}\n"
        "t = ibis.table({'a': 'int64'}, name='t')\n"
        "sql = {d: ibis.to_sql(t.filter(t.a > 1), dialect=d) for d in ('postgres', 'pyspark')}\n"
        "try:\n    ibis.to_sql(t, dialect='no_such_dialect')\n    unknown = 'accepted'\n"
        "except ValueError as exc:\n    unknown = str(exc)\n"
        "print(json.dumps({'stand_in': stand_in, 'classes': classes, 'sql': sql, "
        "'unknown': unknown, 'all': sorted(sc.__all__)}))\n"
    )
    out = _run(code)
    assert out["stand_in"] is True
    assert out["classes"] == {name: name for name in names}
    assert sorted(out["all"]) == sorted(names)
    assert '"t0"."a" > 1' in out["sql"]["postgres"]
    assert "`t0`.`a` > 1" in out["sql"]["pyspark"]
    assert out["unknown"] == "Unknown dialect no_such_dialect"
