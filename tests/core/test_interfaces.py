"""Public interfaces only: no module imports or reaches into another's `_private` name, and
every use of a library's internals is one of the few named here, each with the test that
guards it (issue 17, item 4).

The check reads the source (ast): an attribute `x._name` on anything but `self` / `cls`, and
`from core... import _name`. `ibis._` is ibis's documented deferred-expression object, not an
internal. A new exception must be added to LIBRARY_INTERNALS with its reason and guard.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pyarrow as pa

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    [
        *ROOT.glob("core/**/*.py"),
        *ROOT.glob("ui/*.py"),
        *ROOT.glob("pages/*.py"),
        ROOT / "app.py",
        ROOT / "serve.py",
        ROOT / "streamlit_app.py",
    ]
)
PUBLIC_UNDERSCORE = {"ibis._"}  # ibis's deferred `_` (documented), not a private name

# (file, code) -> why it stays, and the test that fails if the library changes under it.
LIBRARY_INTERNALS = {
    ("core/query.py", "backend._to_duckdb_relation"): (
        "ibis's own to_pyarrow minus its result converter, which imports pandas (a third of a "
        "command-line run); ibis is pinned",
        "test_query_arrow_equals_ibis_to_pyarrow (here) and "
        "tests/core/test_layers.py::test_the_rfm_command_never_imports_pandas",
    ),
}
# Textual uses of internals that are not underscore names, with the same bookkeeping.
TEXT_INTERNALS = {
    ("core/io.py", "con.con.register("): (
        "registers an Arrow table with DuckDB without a copy (ibis's create_table copies it)",
        "tests/core/test_excel.py (every workbook read goes through it)",
    ),
    ("core/io.py", "con.con.unregister("): (
        "drops the raw workbook view once its typed table exists",
        "tests/core/test_excel.py",
    ),
    ("core/ibis_setup.py", "sys.modules[PACKAGE] = module"): (
        "ibis's compilers package loaded one dialect at a time (0.1 s of every run)",
        "tests/core/test_ibis_setup.py",
    ),
}


def _private_uses(path: Path, root: Path = ROOT) -> set[tuple[str, str]]:
    """(file, code) for each private name ``path`` uses across modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(root).as_posix()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            code = ast.unparse(node)
            if code not in PUBLIC_UNDERSCORE:
                found.add((rel, code))
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("core", "ui"):
            found |= {
                (rel, f"from {node.module} import {a.name}")
                for a in node.names
                if a.name.startswith("_") and a.name != "__future__"
            }
    return found


def test_no_private_name_is_used_across_modules_beyond_the_named_exceptions():
    found = set().union(*(_private_uses(path) for path in SOURCES))
    assert found == set(LIBRARY_INTERNALS), sorted(found - set(LIBRARY_INTERNALS))


def test_each_named_text_internal_is_still_where_it_is_listed():
    for (rel, code), (why, guard) in TEXT_INTERNALS.items():
        assert code in (ROOT / rel).read_text(encoding="utf-8"), (rel, code, why, guard)


def test_the_check_finds_a_private_import_and_a_private_attribute(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from core.io import _hidden\nimport x\nx.y._secret()\nibis._.a\nself._mine()\n")
    assert _private_uses(probe, tmp_path) == {
        ("probe.py", "from core.io import _hidden"),
        ("probe.py", "x.y._secret"),
    }


def test_query_arrow_equals_ibis_to_pyarrow():
    import ibis

    from core import query

    table = ibis.memtable(pa.table({"customer": ["a", "b", "a"], "value": [1.5, 2.0, 3.25]}))
    expr = table.group_by("customer").aggregate(total=table.value.sum()).order_by("customer")
    assert query.arrow(expr).equals(expr.to_pyarrow())
