"""The few column operations a fitted model's rules are written in, so each rule is written once.

The tier rule (``core.outliers.tier_rule``), the nearest centroid
(``core.clustering.nearest_centroid``) and the segment naming (``core.segmentation.apply_model``)
are plain arithmetic and comparisons on columns, plus the four operations below. ``NUMPY``
runs them on numpy arrays (segment a table, explain one customer); ``core.scoring`` gives
the same four operations on engine expressions (score millions on DuckDB or Spark). So the
two paths are one definition, and they agree bit for bit: the same float64 operations in
the same order.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np


class ColumnOps(Protocol):
    """What a rule needs beyond + - * / and comparisons of columns."""

    no_text: Any  # "no value" in a text column (no tier)
    no_number: Any  # "no value" in an integer column (no cluster)

    def constant(self, value: float) -> Any:
        """A model number as an exact float64."""

    def first_match(self, cases: Sequence[tuple[Any, Any]], default: Any) -> Any:
        """Per row, the value of the first case whose condition holds, else ``default``
        (SQL's CASE WHEN; a condition that is missing does not hold)."""

    def least(self, columns: Sequence[Any]) -> Any:
        """Per row, the smallest of ``columns``."""

    def is_no_value(self, column: Any, kind: str) -> Any:
        """Per row, whether ``column`` holds the "no value" of ``kind`` ('text' or 'number')."""

    def stage(self, columns: Mapping[str, Any]) -> list[Any]:
        """The named intermediate columns, computed once and reused by what follows."""


class NumpyOps:
    """ColumnOps on numpy float arrays: '' is no tier, -1 no cluster."""

    no_text = ""
    no_number = -1

    def constant(self, value: float) -> np.float64:
        """``value`` as a numpy float64."""
        return np.float64(value)

    def first_match(self, cases, default):
        """numpy's select over ``cases`` ((condition, value) pairs), else ``default``."""
        return np.select(
            [np.asarray(c, dtype=bool) for c, _ in cases],
            [_element(v) for _, v in cases],
            default=_element(default),
        )

    def least(self, columns):
        """The element-wise minimum of ``columns``."""
        return functools.reduce(np.minimum, columns)

    def is_no_value(self, column, kind: str):
        """Where ``column`` holds ``no_text`` ('text') or ``no_number`` (otherwise)."""
        return np.asarray(column) == (self.no_text if kind == "text" else self.no_number)

    def stage(self, columns):
        """The arrays as they are (numpy computes each once already)."""
        return list(columns.values())


def _element(value):
    """Text as an object array (pandas' string columns are built from those twice as fast as
    from numpy's fixed-width text); numbers and arrays as they are."""
    return np.array(value, dtype=object) if isinstance(value, str) else value


NUMPY = NumpyOps()
