"""R/F/M scores 1-5 and the named RFM segments (DESIGN.md, "RFM scores and named segments").

- Cut points: the 20/40/60/80th percentiles (linear interpolation) of each of recency,
  frequency and monetary over all customers of the table.
- f_score, m_score = 1 + number of cut points strictly below the value;
  r_score = 5 - number of cut points strictly below the recency (5 = bought most recently).
  A score depends on the value only, so equal values always get equal scores.
- fm = floor((f_score + m_score) / 2 + 0.5); the named segment is looked up in the
  (r_score, fm) grid.

The grid is data: ``{"<r_score>": [name for fm 1, ..., name for fm 5], ...}`` with string
keys "1".."5", so it round-trips through JSON unchanged (saved in model.json as
``segment_grid``) and can be edited in the app.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from core.errors import ConfigError

CHAMPIONS = "Champions"
LOYAL = "Loyal"
POTENTIAL_LOYALIST = "Potential Loyalist"
NEW_CUSTOMERS = "New Customers"
PROMISING = "Promising"
NEED_ATTENTION = "Need Attention"
ABOUT_TO_SLEEP = "About to Sleep"
AT_RISK = "At Risk"
CANT_LOSE_THEM = "Can't Lose Them"
HIBERNATING = "Hibernating"

# Best to worst, the order every table and chart lists them in.
SEGMENT_ORDER: tuple[str, ...] = (
    CHAMPIONS,
    LOYAL,
    POTENTIAL_LOYALIST,
    NEW_CUSTOMERS,
    PROMISING,
    NEED_ATTENTION,
    ABOUT_TO_SLEEP,
    AT_RISK,
    CANT_LOSE_THEM,
    HIBERNATING,
)

SCORES = (1, 2, 3, 4, 5)
PERCENTILES = (20, 40, 60, 80)
SCORE_COLUMNS = ("r_score", "f_score", "m_score", "rfm_segment")
MAX_SEGMENT_NAME = 40

# Good customers who have not bought for a while: the "slipping away" of the Segments page and
# the report (a state at one date).
SLIPPING_AWAY: tuple[str, ...] = (AT_RISK, CANT_LOSE_THEM)
# A move between two dates from a good segment into a lapsing one: Movement's "slipping".
GOOD_SEGMENTS: tuple[str, ...] = (CHAMPIONS, LOYAL, POTENTIAL_LOYALIST)
LAPSING_SEGMENTS: tuple[str, ...] = (AT_RISK, CANT_LOSE_THEM, HIBERNATING, ABOUT_TO_SLEEP)


def slipping_away(named: pd.DataFrame) -> pd.DataFrame:
    """The rows of a per-named-segment table (column ``rfm_segment``) whose customers are
    slipping away (SLIPPING_AWAY): the one place the Segments page and the report take them from."""
    return named[named["rfm_segment"].isin(SLIPPING_AWAY)]


# r_score -> segment for fm = 1, 2, 3, 4, 5
DEFAULT_GRID: dict[str, list[str]] = {
    "1": [HIBERNATING, HIBERNATING, AT_RISK, AT_RISK, CANT_LOSE_THEM],
    "2": [HIBERNATING, HIBERNATING, AT_RISK, AT_RISK, CANT_LOSE_THEM],
    "3": [ABOUT_TO_SLEEP, ABOUT_TO_SLEEP, NEED_ATTENTION, LOYAL, LOYAL],
    "4": [PROMISING, POTENTIAL_LOYALIST, POTENTIAL_LOYALIST, LOYAL, LOYAL],
    "5": [NEW_CUSTOMERS, POTENTIAL_LOYALIST, POTENTIAL_LOYALIST, CHAMPIONS, CHAMPIONS],
}


def default_grid() -> dict[str, list[str]]:
    """A fresh copy of the default grid (callers may edit it)."""
    return {r: list(row) for r, row in DEFAULT_GRID.items()}


def validate_grid(grid: Mapping) -> dict[str, list[str]]:
    """The grid in canonical form (keys "1".."5", five names each); ConfigError naming the cell.

    Accepts int or str keys (a grid read back from JSON has str keys).
    """
    if not isinstance(grid, Mapping):
        raise ConfigError(
            f"segment grid must map r_score 1-5 to five segment names (fm 1-5); got {type(grid).__name__}"
        )
    rows = {str(key).strip(): value for key, value in grid.items()}
    extra = sorted(set(rows) - {str(r) for r in SCORES})
    if extra:
        raise ConfigError(f"segment grid has r_score {extra[0]!r}; only 1-5 exist")
    clean: dict[str, list[str]] = {}
    for r in SCORES:
        row = rows.get(str(r))
        if row is None:
            raise ConfigError(f"segment grid has no row for r_score {r}; give five names (fm 1-5)")
        if isinstance(row, str) or not isinstance(row, Sequence) or len(row) != len(SCORES):
            raise ConfigError(f"segment grid row r_score {r} must list five names (fm 1-5)")
        names = []
        for fm, name in zip(SCORES, row):
            text = "" if name is None or (isinstance(name, float) and math.isnan(name)) else str(name).strip()
            if not text:
                raise ConfigError(f"segment grid cell r_score {r}, fm {fm} is empty; name a segment")
            if len(text) > MAX_SEGMENT_NAME:
                raise ConfigError(
                    f"segment grid cell r_score {r}, fm {fm}: name is longer "
                    f"than {MAX_SEGMENT_NAME} characters"
                )
            names.append(text)
        clean[str(r)] = names
    return clean


def grid_from_json(text: str) -> dict[str, list[str]]:
    """A segment grid from JSON text, checked by ``validate_grid``; ConfigError for text that is
    not JSON or a grid that is not valid."""
    try:
        return validate_grid(json.loads(text))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"segment grid is not valid JSON: {exc.msg}") from None


def segment_names(grid: Mapping | None = None) -> list[str]:
    """The grid's segment names: those of SEGMENT_ORDER first in that order, then others."""
    grid = validate_grid(DEFAULT_GRID if grid is None else grid)
    used = {name for row in grid.values() for name in row}
    known = [name for name in SEGMENT_ORDER if name in used]
    others = sorted(used - set(SEGMENT_ORDER))
    return known + others


def cut_points(series) -> tuple[float, float, float, float]:
    """The 20/40/60/80th percentiles of the values (linear interpolation); ConfigError if none."""
    values = pd.to_numeric(pd.Series(series), errors="coerce").to_numpy(dtype="float64")
    if values.size == 0 or np.isnan(values).any():
        raise ConfigError("scores need at least one customer and no missing R, F or M values")
    p20, p40, p60, p80 = (float(q) for q in np.percentile(values, PERCENTILES, method="linear"))
    return p20, p40, p60, p80


def _cuts_below(values: pd.Series, cuts: Sequence[float]) -> np.ndarray:
    # number of cut points strictly below each value
    v = values.to_numpy(dtype="float64")[:, None]
    return (np.asarray(cuts, dtype="float64")[None, :] < v).sum(axis=1)


def score_value(value: float, cuts: Sequence[float], higher_is_better: bool = True) -> int:
    """One value's score 1-5 against given cut points (r: higher_is_better=False)."""
    below = sum(1 for c in cuts if c < value)
    return 1 + below if higher_is_better else 5 - below


def fm_score(f_score, m_score):
    """floor((f + m) / 2 + 0.5): works on ints and on integer arrays/Series."""
    if isinstance(f_score, (int, np.integer)) and isinstance(m_score, (int, np.integer)):
        return math.floor((f_score + m_score) / 2 + 0.5)
    return np.floor((np.asarray(f_score) + np.asarray(m_score)) / 2 + 0.5).astype("int64")


def segment_of(r_score: int, fm: int, grid: Mapping | None = None) -> str:
    """The named segment of one (r_score, fm) cell."""
    r, f = int(r_score), int(fm)
    if r not in SCORES or f not in SCORES:
        raise ConfigError(f"scores run 1-5; got r_score {r_score}, fm {fm}")
    rows = validate_grid(DEFAULT_GRID if grid is None else grid)
    return rows[str(r)][f - 1]


def score_cut_points(rfm: pd.DataFrame) -> dict[str, tuple[float, float, float, float]]:
    """Cut points of recency, frequency and monetary over all customers of the table."""
    return {column: cut_points(rfm[column]) for column in ("recency", "frequency", "monetary")}


def score_table(
    rfm: pd.DataFrame, grid: Mapping | None = None, cuts: Mapping[str, Sequence[float]] | None = None
) -> pd.DataFrame:
    """A copy of the RFM table with r_score, f_score, m_score (ints 1-5) and rfm_segment.

    ``cuts``: the cut points to score on (``score_cut_points`` of another table, e.g. an
    earlier date's customers, so a score means the same value on both dates); by default
    they come from this table's customers. An empty table gets empty columns.
    """
    rows = validate_grid(DEFAULT_GRID if grid is None else grid)
    out = rfm.copy()
    if out.empty:
        for column in ("r_score", "f_score", "m_score"):
            out[column] = pd.Series(dtype="int64")
        out["rfm_segment"] = pd.Series(dtype="object")
        return out
    cuts = score_cut_points(out) if cuts is None else _checked_cuts(cuts)
    r = 5 - _cuts_below(out["recency"], cuts["recency"])
    f = 1 + _cuts_below(out["frequency"], cuts["frequency"])
    m = 1 + _cuts_below(out["monetary"], cuts["monetary"])
    fm = fm_score(f, m)
    lookup = np.array([rows[str(s)] for s in SCORES], dtype=object)  # [r-1, fm-1]
    out["r_score"] = r.astype("int64")
    out["f_score"] = f.astype("int64")
    out["m_score"] = m.astype("int64")
    out["rfm_segment"] = lookup[r - 1, fm - 1]
    return out


def _checked_cuts(cuts: Mapping[str, Sequence[float]]) -> dict[str, tuple[float, ...]]:
    out = {}
    for column in ("recency", "frequency", "monetary"):
        values = tuple(float(v) for v in cuts.get(column, ()))
        if len(values) != len(PERCENTILES) or list(values) != sorted(values):
            raise ConfigError(
                f"cut points of {column} must be {len(PERCENTILES)} ascending numbers; got {values}"
            )
        out[column] = values
    return out


def grid_cells(scored: pd.DataFrame, grid: Mapping | None = None) -> pd.DataFrame:
    """The 25 (r_score, fm) cells: segment, customers and revenue of each (zeros included)."""
    rows = validate_grid(DEFAULT_GRID if grid is None else grid)
    cells = pd.DataFrame(
        [(r, f, rows[str(r)][f - 1]) for r in SCORES for f in SCORES],
        columns=["r_score", "fm", "rfm_segment"],
    )
    if scored.empty:
        counts = pd.DataFrame(columns=["r_score", "fm", "customers", "revenue"])
    else:
        keyed = scored.assign(fm=fm_score(scored["f_score"], scored["m_score"]))
        counts = (
            keyed.groupby(["r_score", "fm"])
            .agg(customers=("customer_id", "size"), revenue=("monetary", "sum"))
            .reset_index()
        )
    out = cells.merge(counts, on=["r_score", "fm"], how="left")
    out["customers"] = out["customers"].fillna(0).astype("int64")
    out["revenue"] = out["revenue"].fillna(0.0).astype("float64")
    return out
