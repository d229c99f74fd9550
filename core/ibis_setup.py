"""ibis set up for the engine: SQL compilers imported one dialect at a time, DuckDB's backend loaded.

``ibis.backends.sql.compilers`` (its ``__init__``) imports the compilers of all twenty
dialects ibis knows, and each builds its sqlglot dialect (tokenizer tries and all) on import:
about a tenth of a second of every command-line run, for the one dialect a run uses (DuckDB,
or Spark). ``install()`` registers, before any ibis backend is imported, a stand-in for that
package: a module with the real package's folder as its ``__path__`` (so ``...compilers.base``
and ``...compilers.duckdb`` import from their files as usual) whose attributes are looked up
on first use (PEP 562): ``compilers.duckdb`` imports the DuckDB compiler's module,
``compilers.DuckDBCompiler`` its class. ``ibis.to_sql(expr, dialect=...)`` and the PySpark
backend go through the same lookups. ibis is pinned (requirements.txt); a test checks that
after an RFM run no other dialect's compiler is loaded and that every name the real package
exports resolves. Imported by core.query, which every engine module imports before it
connects to a backend.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

PACKAGE = "ibis.backends.sql.compilers"


def _stand_in(spec) -> types.ModuleType:
    module = types.ModuleType(PACKAGE, "ibis's SQL compilers, each imported on first use (core.ibis_setup)")
    module.__path__ = list(spec.submodule_search_locations)
    module.__file__ = spec.origin
    module.__package__ = PACKAGE
    # The same names as the real package's __all__: every dialect's compiler class.
    module.__all__ = [  # type: ignore[attr-defined]
        f"{name}Compiler"
        for name in (
            "Athena",
            "BigQuery",
            "ClickHouse",
            "DataFusion",
            "Databricks",
            "Druid",
            "DuckDB",
            "Exasol",
            "Flink",
            "Impala",
            "MSSQL",
            "Materialize",
            "MySQL",
            "Oracle",
            "Postgres",
            "PySpark",
            "RisingWave",
            "SQLite",
            "Snowflake",
            "Trino",
        )
    ]

    def __getattr__(name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        submodule = name[: -len("Compiler")].lower() if name.endswith("Compiler") else name
        try:
            loaded = importlib.import_module(f"{PACKAGE}.{submodule}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{PACKAGE}.{submodule}":  # a dependency of a real dialect is missing
                raise
            raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}") from None
        return getattr(loaded, name) if submodule != name else loaded

    def __dir__():
        return sorted(set(module.__dict__) | set(module.__all__))

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    module.__dir__ = __dir__  # type: ignore[method-assign]
    return module


def install() -> None:
    """Register the stand-in, unless the real package (or the stand-in) is already imported."""
    if PACKAGE in sys.modules:
        return
    spec = importlib.util.find_spec(PACKAGE)  # imports ibis.backends.sql, not the compilers
    if spec is None or not spec.submodule_search_locations:
        return
    module = _stand_in(spec)
    module.__spec__ = spec
    sys.modules[PACKAGE] = module
    sys.modules["ibis.backends.sql"].compilers = module  # type: ignore[attr-defined]


install()
# The default engine's backend, loaded now rather than through entry points on the first connect.
import ibis.backends.duckdb  # noqa: E402,F401
