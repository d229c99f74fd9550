"""Bounds on what one input may cost, checked before the work they bound (one home for each).

A file over a bound is refused with an InputFileError naming the bound and what to do; the
numbers are generous for real exports (Shopify's has about 80 columns, Excel's sheet limit is
16,384) and small enough that a hostile file cannot take the server's memory or minutes of CPU.
"""

from __future__ import annotations

import os


def env_number(name: str, default: float) -> float:
    """A positive number from the environment variable ``name``, else ``default`` (unset, not a
    number, or not above 0): how a deployment changes a limit without code."""
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


# Columns of any file (CSV, Parquet, a workbook's sheet): every column is typed and looked at.
MAX_COLUMNS = 1_000
# One CSV line (one record), in bytes: a file with a line past DuckDB's default (2 MB) is read
# with this bound, and a longer line is reported (core.io.line_limit), never dropped.
MAX_LINE_BYTES = 64 << 20
# A workbook is parsed in a child process with these limits (core.excel): a reader's runaway
# or abort ends that process with a message, never the server.
WORKBOOK_MEMORY_BYTES = 8 << 30  # address space of the child
WORKBOOK_CPU_SECONDS = 180  # CPU time of the child (all its threads)
WORKBOOK_WALL_SECONDS = 600  # wall-clock time before the child is stopped
