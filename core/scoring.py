"""Scoring at scale: a fitted SegmentationModel as an ibis expression, run where the data lives.

The model is a handful of numbers (fences, scaler means and scales, centroids in
standardised units) and names, so applying it is arithmetic any SQL engine can do: the
expression below scores an RFM table on DuckDB or on Spark without moving customers to
Python. It is not a second copy of the model's rules: ``score_expr`` runs
``core.segmentation.apply_model`` (the tier rule, the nearest centroid, the segment name,
written once in ``core.columnar``'s operations) with ``EngineOps``, the same operations on
ibis columns. Every model number travels as an exact float64 literal and the operations
are the ones numpy does, in the same order, so the engines agree with numpy bit for bit.
"""

from __future__ import annotations

import ibis
import pandas as pd

from core.clustering import FEATURES
from core.errors import ConfigError
from core.segmentation import apply_model

BACKENDS = ("duckdb", "spark")
SCORE_COLUMNS = ("customer_id", *FEATURES, "tier", "cluster", "segment")


class EngineOps:
    """``core.columnar.ColumnOps`` on the columns of one ibis table: NULL is no value, and each
    staged column is a named column of the table (``table`` grows as the rule runs)."""

    no_text = ibis.null("string")
    no_number = ibis.null("int64")

    def __init__(self, table: ibis.Table):
        self.table = table

    def constant(self, value: float) -> ibis.Value:
        """``value`` as a float64 literal."""
        return ibis.literal(float(value), type="float64")

    def first_match(self, cases, default):
        """SQL's CASE WHEN over ``cases`` ((condition, value) pairs), else ``default``."""
        return ibis.cases(*cases, else_=default)

    def least(self, columns):
        """SQL's LEAST of ``columns``."""
        return ibis.least(*columns)

    def is_no_value(self, column, kind: str):
        """``column`` IS NULL (NULL is no value of either kind)."""
        return column.isnull()

    def stage(self, columns):
        """``columns`` (name -> expression) added to ``table``; the new columns, by name."""
        # Named columns in steps, so each distance is computed once: inlined into one
        # expression, Spark plans a 40 KB CASE and runs it many times slower.
        self.table = self.table.mutate(**columns)
        return [self.table[name] for name in columns]


def score_expr(model, rfm_table: ibis.Table) -> ibis.Table:
    """The RFM table (customer_id, recency, frequency, monetary) plus tier, cluster, segment.

    ``model`` is a fitted ``core.segmentation.SegmentationModel``. Raises ConfigError for an
    unfitted model or a table without the RFM columns.
    """
    if not getattr(model, "fitted", False):
        raise ConfigError("the segmentation model is not fitted; call fit() or load one")
    missing = [c for c in ("customer_id", *FEATURES) if c not in rfm_table.columns]
    if missing:
        raise ConfigError(f"RFM table lacks column(s) {missing}")
    ops = EngineOps(rfm_table)
    applied = apply_model(
        *(rfm_table[f].cast("float64") for f in FEATURES),
        fences=model.fences,
        mean=model.mean_,
        scale=model.scale_,
        centroids_scaled=model.centroids_scaled_,
        names=model.names_,
        ops=ops,
    )
    scored = ops.table.mutate(cluster=applied.cluster.cast("int64"), segment=applied.segment)
    return scored.select(*rfm_table.columns, "tier", "cluster", "segment")


def score_table(model, rfm_df: pd.DataFrame, backend: str = "duckdb", *, session=None) -> pd.DataFrame:
    """Score a pandas RFM table on ``backend`` ('duckdb' or 'spark'); rows keep their order.

    The result has the columns and dtypes of ``model.segment(rfm_df)``. ``session`` is the
    SparkSession for 'spark' (default ``core.spark.get_session()``).
    """
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {BACKENDS}, not {backend!r}")
    missing = [c for c in ("customer_id", *FEATURES) if c not in rfm_df.columns]
    if missing:
        raise ConfigError(f"RFM table lacks column(s) {missing}")
    frame = rfm_df.loc[:, ["customer_id", *FEATURES]].reset_index(drop=True)
    frame.insert(0, "row_number", range(len(frame)))
    if backend == "duckdb":
        table = ibis.duckdb.connect().create_table("rfm", frame)
    else:
        import pyarrow as pa

        from core import spark

        session = session or spark.get_session()
        view = f"rfm_{id(frame):x}"
        session.createDataFrame(pa.Table.from_pandas(frame, preserve_index=False)).createOrReplaceTempView(
            view
        )
        table = spark.connect(session).table(view)
    scored = score_expr(model, table).order_by("row_number").to_pandas()
    out = scored.drop(columns="row_number")
    out = out.astype({c: rfm_df[c].dtype for c in ("customer_id", *FEATURES)})
    out["tier"] = out["tier"].astype("string")
    out["cluster"] = out["cluster"].astype("Int64")
    out["segment"] = out["segment"].astype("string")
    return out.set_axis(rfm_df.index)[list(SCORE_COLUMNS)]
