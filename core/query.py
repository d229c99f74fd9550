"""Running an ibis expression and getting its rows as Arrow.

On DuckDB the expression runs as ibis runs it and the result is fetched as an Arrow table
without ibis's result converter: that converter imports pandas, a third of what a
command-line run waits for. Other backends (Spark) use ``to_pyarrow``. Either way the
result has the expression's schema.
"""

from __future__ import annotations

import ibis
import pyarrow as pa

import core.ibis_setup  # noqa: F401  first: ibis's compilers load lazily (see there)


def arrow(expr: ibis.Expr) -> pa.Table:
    """The expression's result as an Arrow table with the expression's schema."""
    backend = ibis.get_backend(expr)
    if backend.name != "duckdb":
        return expr.to_pyarrow()
    # ibis's own to_pyarrow minus its result converter (which imports pandas): registers
    # in-memory tables, compiles, runs on the DuckDB connection (ibis is pinned).
    table = backend._to_duckdb_relation(expr).to_arrow_table()
    schema = expr.as_table().schema().to_pyarrow()
    return table if table.schema.equals(schema) else table.cast(schema)


def rows(expr: ibis.Expr) -> list[dict]:
    """The result as a list of rows (dicts)."""
    return arrow(expr).to_pylist()


def first_row(expr: ibis.Expr) -> dict:
    """The first row of an expression that has one (an aggregate)."""
    return rows(expr)[0]
