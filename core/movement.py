"""Movement over time: RFM as the data stood at several dates, from one grouped pass.

"As the data stood at D" is DESIGN.md's point-in-time as-of: only the lines with timestamp
<= D count (the same cleaning rules), and recency is measured to D. Instead of one scan per
date, the pipeline's orders (core.rfm.group_orders) are reduced once to one row per
(customer, purchase, timestamp) of the lines that can move RFM; that small table is joined
with the dates (timestamp <= date) and goes through the pipeline's customer aggregates and
RFM per (date, customer). The segments are then computed per date: named segments (a
migration scores the later date on the earlier date's cut points by default,
``cut_points="each"`` re-cuts each date; month-end sizes re-cut each month end) or a fitted
model's tiers and clusters.

    history = PurchaseHistory.from_source(open_source(path, options))
    moves = migration(history, "2011-09-01", "2011-12-01")       # customer_id, from, to
    sizes = month_end_sizes(history)                             # month_end, segment, customers
"""

from __future__ import annotations

import calendar
import datetime as _dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import ibis
import pandas as pd

from core import query
from core.config import CUT_POINTS, DEFAULT_CUT_POINTS
from core.errors import ConfigError, DataValidationError
from core.io import READ_ERRORS
from core.options import parse_given_date
from core.rfm import (
    Source,
    classify_lines,
    customer_aggregates,
    group_orders,
    naive_utc,
    rfm_from_aggregates,
    scan_error,
)
from core.scores import GOOD_SEGMENTS, LAPSING_SEGMENTS, score_cut_points, score_table, segment_names

NOT_YET = "(none)"  # the from-segment of a customer who had not bought yet
SegmentBy = Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class NamedSegments:
    """The named-segment lens: named RFM segments under ``grid`` (None: the default grid).

    ``cuts`` (core.scores.score_cut_points of some table): score every date on these cut
    points; None: cut the scores over the customers of each date.
    """

    grid: Mapping | None = None
    cuts: Mapping | None = None

    def __call__(self, rfm: pd.DataFrame) -> pd.Series:
        return score_table(rfm, self.grid, cuts=self.cuts)["rfm_segment"].astype("string")

    def on_cut_points_of(self, rfm: pd.DataFrame) -> NamedSegments:
        """The same lens scored on the cut points of ``rfm``'s customers."""
        return NamedSegments(self.grid, score_cut_points(rfm))


def by_named_segment(grid: Mapping | None = None) -> SegmentBy:
    """Named RFM segments, the scores cut over the customers of each date."""
    return NamedSegments(grid)


def by_model(model) -> SegmentBy:
    """A fitted SegmentationModel's tiers and clusters (its fences and centroids, unchanged)."""

    def segment(rfm: pd.DataFrame) -> pd.Series:
        return model.segment(rfm)["segment"].astype("string")

    return segment


def segment_order(grid: Mapping | None = None) -> list[str]:
    """Named segments best to worst (the order tables and charts list them in)."""
    return segment_names(grid)


@dataclass(frozen=True)
class PurchaseHistory:
    """The orders that move RFM, one row per (customer, purchase, timestamp, rule failed,
    returned), kept in the engine: ``group_orders`` rows of kept and returned lines, summed.

    Columns: customer_id, purchase, invoice_ts, failed (0: kept), returned, lines,
    filled_lines, value (what ``core.rfm.customer_aggregates`` reads).
    """

    purchases: ibis.Table
    first_purchase: _dt.datetime
    last_purchase: _dt.datetime
    source: str

    @classmethod
    def from_source(cls, source: Source) -> PurchaseHistory:
        """Scan the file once (the pipeline's stages up to ``group_orders``);
        DataValidationError when no line survives cleaning."""
        dataset = source.dataset
        try:
            orders = group_orders(classify_lines(source), source)
            # removed lines never move R, F or M
            moving = orders.filter((orders.failed == 0) | orders.returned)
            keys = ["customer_id", "purchase", "invoice_ts", "failed", "returned"]
            purchases = (
                moving.group_by(keys)
                .aggregate(
                    lines=moving.lines.sum(), filled_lines=moving.filled_lines.sum(), value=moving.value.sum()
                )
                .cache()
            )
        except READ_ERRORS as exc:
            raise scan_error(dataset, exc) from exc
        kept = purchases.failed == 0
        span = query.first_row(
            purchases.aggregate(
                first=purchases.invoice_ts.min(where=kept), last=purchases.invoice_ts.max(where=kept)
            )
        )
        if span["last"] is None:
            raise DataValidationError(
                f"{dataset.name}: no valid rows left after cleaning; "
                "check the column mapping or the cleaning rules"
            )
        return cls(purchases, naive_utc(span["first"]), naive_utc(span["last"]), dataset.name)

    def rfm_at(self, dates: Sequence) -> pd.DataFrame:
        """RFM per customer at each date: columns as_of, customer_id, recency, frequency, monetary.

        A customer appears at a date once they have a kept line on or before it; rows are
        ordered by (as_of, customer_id). Dates are parsed like --as-of (a date alone: 00:00).
        The pipeline's customer aggregates and RFM, per (date, customer).
        """
        as_ofs = sorted({parse_given_date(d, "as-of") for d in dates})
        if not as_ofs:
            return pd.DataFrame({"as_of": pd.Series(dtype="datetime64[us]"), **_empty_rfm()})
        purchases = self.purchases
        when = ibis.memtable(pd.DataFrame({"as_of": pd.to_datetime(as_ofs)}))
        joined = purchases.join(when, purchases.invoice_ts <= when.as_of)
        expr = rfm_from_aggregates(customer_aggregates(joined, by=["as_of"]), "as_of")
        frame = expr.to_pandas()
        frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.tz_localize(None)
        return frame.astype(
            {"customer_id": "string", "recency": "int64", "frequency": "int64", "monetary": "float64"}
        ).reset_index(drop=True)


def migration(
    history: PurchaseHistory,
    from_date,
    to_date,
    segment_by: SegmentBy | None = None,
    with_rfm: bool = False,
    cut_points: str = DEFAULT_CUT_POINTS,
) -> pd.DataFrame:
    """customer_id, from_segment, to_segment for every customer at ``to_date``.

    ``from_segment`` is NOT_YET for a customer with no kept line on or before ``from_date``.
    ``with_rfm`` adds recency, frequency, monetary as they stood at ``to_date``.
    ``cut_points`` (named segments only; a model's fences and centres never move): "from"
    scores ``to_date`` on the cut points of the customers at ``from_date``, so a customer whose
    R, F, M did not change keeps its segment; "each" re-cuts the scores at each date.
    ConfigError when the dates do not parse or are not in order, or ``cut_points`` is unknown;
    DataValidationError when nobody had bought by ``to_date``, or (with "from" and named
    segments) nobody had bought by ``from_date``, so there are no earlier cut points.
    """
    if cut_points not in CUT_POINTS:
        raise ConfigError(
            f"cut points '{cut_points}' unknown; use 'from' (the earlier date's) or 'each' (each date's own)"
        )
    start, end = date_pair(from_date, to_date)
    if end < history.first_purchase:
        raise DataValidationError(
            f"{history.source}: no purchase on or before the to date {end:%Y-%m-%d %H:%M}; the "
            f"first purchase is {history.first_purchase:%Y-%m-%d %H:%M}"
        )
    segment_by = segment_by or by_named_segment()
    snapshots = history.rfm_at([start, end])
    tables = {
        when: snapshots[snapshots["as_of"] == pd.Timestamp(when)].drop(columns="as_of").reset_index(drop=True)
        for when in (start, end)
    }
    lenses = {start: segment_by, end: segment_by}
    if cut_points == "from" and isinstance(segment_by, NamedSegments):
        if tables[start].empty:
            raise DataValidationError(
                f"{history.source}: nobody had bought by the from date {start:%Y-%m-%d %H:%M}, "
                "so it has no cut points to score the to date on; pick a from date after "
                f"{history.first_purchase:%Y-%m-%d %H:%M} or re-cut each date (cut points 'each')"
            )
        lenses[end] = segment_by.on_cut_points_of(tables[start])
    segments = {
        when: pd.Series(lenses[when](rfm).to_numpy(), index=rfm["customer_id"])
        for when, rfm in tables.items()
    }
    after = segments[end]
    before = segments[start].reindex(after.index).fillna(NOT_YET)
    moves = pd.DataFrame(
        {
            "customer_id": after.index.astype("string"),
            "from_segment": before.to_numpy(dtype=object),
            "to_segment": after.to_numpy(dtype=object),
        }
    ).reset_index(drop=True)
    if with_rfm:
        moves = moves.merge(tables[end], on="customer_id", how="left", validate="one_to_one")
    return moves


def slipping(moves: pd.DataFrame) -> pd.Series:
    """Which moves are "slipping": from a good named segment (core.scores.GOOD_SEGMENTS) on
    the from date into a lapsing one (LAPSING_SEGMENTS) on the to date; a boolean mask."""
    return moves["from_segment"].isin(GOOD_SEGMENTS) & moves["to_segment"].isin(LAPSING_SEGMENTS)


def transition_matrix(moves: pd.DataFrame, order: Sequence[str] | None = None) -> pd.DataFrame:
    """Customers per (from_segment row, to_segment column); NOT_YET first, then ``order``."""
    rows = _ordered(moves["from_segment"], [NOT_YET, *(order or [])])
    cols = _ordered(moves["to_segment"], list(order or []))
    table = pd.crosstab(moves["from_segment"], moves["to_segment"])
    return table.reindex(index=rows, columns=cols, fill_value=0).astype("int64")


def movers(moves: pd.DataFrame, from_segment: str, to_segment: str) -> pd.Series:
    """The customer IDs that moved from ``from_segment`` to ``to_segment``."""
    chosen = (moves["from_segment"] == from_segment) & (moves["to_segment"] == to_segment)
    return moves.loc[chosen, "customer_id"].reset_index(drop=True)


def month_ends(first: _dt.datetime, last: _dt.datetime) -> list[_dt.datetime]:
    """The last instant (23:59:59) of each month from ``first``'s month to ``last``'s."""
    out, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        day = calendar.monthrange(year, month)[1]
        out.append(_dt.datetime(year, month, day, 23, 59, 59))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def month_end_sizes(
    history: PurchaseHistory, segment_by: SegmentBy | None = None, dates: Sequence[_dt.datetime] | None = None
) -> pd.DataFrame:
    """Customers per segment at each month end: columns month_end, segment, customers.

    One grouped pass for every month end (PurchaseHistory.rfm_at); segments per date.
    """
    segment_by = segment_by or by_named_segment()
    dates = list(dates) if dates is not None else month_ends(history.first_purchase, history.last_purchase)
    snapshots = history.rfm_at(dates)
    parts = []
    for when, rfm in snapshots.groupby("as_of", sort=True):
        labels = segment_by(rfm.drop(columns="as_of").reset_index(drop=True))
        counts = labels.value_counts()
        parts.append(
            pd.DataFrame(
                {
                    "month_end": when,
                    "segment": counts.index.astype(str),
                    "customers": counts.to_numpy(dtype="int64"),
                }
            )
        )
    if not parts:
        return pd.DataFrame(
            {
                "month_end": pd.Series(dtype="datetime64[us]"),
                "segment": pd.Series(dtype="object"),
                "customers": pd.Series(dtype="int64"),
            }
        )
    return pd.concat(parts, ignore_index=True).sort_values(["month_end", "segment"], ignore_index=True)


def date_pair(from_date, to_date) -> tuple[_dt.datetime, _dt.datetime]:
    """Both dates parsed, the from date strictly first; ConfigError naming the bad one."""
    start, end = parse_given_date(from_date, "from"), parse_given_date(to_date, "to")
    if start >= end:
        raise ConfigError(
            f"the from date {start:%Y-%m-%d %H:%M} must be before the to date {end:%Y-%m-%d %H:%M}"
        )
    return start, end


def _ordered(values: pd.Series, order: list[str]) -> list[str]:
    present = set(values.astype(str))
    return [v for v in order if v in present] + sorted(present - set(order))


def _empty_rfm() -> dict:
    return {
        "customer_id": pd.Series(dtype="string"),
        "recency": pd.Series(dtype="int64"),
        "frequency": pd.Series(dtype="int64"),
        "monetary": pd.Series(dtype="float64"),
    }


__all__ = [
    "CUT_POINTS",
    "DEFAULT_CUT_POINTS",
    "NOT_YET",
    "NamedSegments",
    "PurchaseHistory",
    "by_model",
    "by_named_segment",
    "migration",
    "date_pair",
    "month_end_sizes",
    "month_ends",
    "movers",
    "segment_order",
    "slipping",
    "transition_matrix",
]
