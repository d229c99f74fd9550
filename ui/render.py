"""Rendering helpers shared by the pages: error guard, sidebar summary, plots, display names,
glossary tooltips and money in the file's currency (the customer card: ui/card.py)."""

from __future__ import annotations

import contextlib
import re

import numpy as np
import pandas as pd
import streamlit as st

from core import charts
from core.charts import display_name  # the one display-name function (pages use render.display_name)
from core.errors import SegmentationError
from core.money import CURRENCIES, format_money
from ui import engine, files, models, session


@contextlib.contextmanager
def engine_errors(hint: str | None = None):
    """Show an engine error as st.error (its own message, no traceback) and stop the page."""
    try:
        yield
    except SegmentationError as exc:
        st.error(escape_markdown(str(exc)))
        if hint:
            st.caption(hint)
        st.stop()


def loaded_or_stop() -> engine.Loaded:
    """The RFM of the loaded data, or an error that points to the Data page."""
    lost_upload_notice()
    with engine_errors("Fix the file, mapping or cleaning settings on the Data page."):
        with st.spinner("Computing RFM..."):
            return files.current()


def model_or_stop(loaded: engine.Loaded) -> models.ActiveModel:
    """The model in use for the loaded data (ui.models.active_model), or its error and a stop."""
    with engine_errors():
        with st.spinner("Fitting the segmentation model..."):
            return models.active_model(loaded)


def lost_upload_notice() -> None:
    """Say so, on top of the page, when this session's upload is gone from the server (the
    sample is loaded instead, see files.source)."""
    files.source()
    lost = session.lost_upload()
    if lost:
        st.warning(
            f"Your upload {escape_markdown(lost)} is no longer on the server; the sample "
            "is loaded instead. Upload the file again on the Data page."
        )


def sidebar_summary() -> None:
    """What is loaded and which model is in use, on every page."""
    with st.sidebar:
        src = files.source()
        st.caption("Loaded data")
        sheet = files.settings().sheet
        st.markdown(
            f"**{escape_markdown(src.name)}**" + (f" · sheet *{escape_markdown(sheet)}*" if sheet else "")
        )
        try:
            loaded = files.current()
        except SegmentationError:
            st.caption("Not usable yet: see the Data page.")
            return
        st.caption(f"{len(loaded.rfm):,} customers · as of {loaded.result.as_of:%Y-%m-%d %H:%M}")
        st.caption("Model")
        try:
            active = models.active_model(loaded)
        except SegmentationError:  # e.g. too few customers for k clusters: RFM still holds
            st.markdown("None yet: too few customers for the default k (see Clusters)")
            return
        st.markdown(f"**{active.version or 'unsaved'}** · k={active.model.config.k}")


def plot(fig, key: str | None = None) -> None:
    """A Plotly figure at the page's width, keyed ``key`` (two charts of one kind need two keys)."""
    st.plotly_chart(fig, width="stretch", key=key, config={"displaylogo": False})


def sampled(frame: pd.DataFrame) -> pd.DataFrame:
    """At most charts.MAX_POINTS customers for a chart, saying so on the page when sampled."""
    points, was_sampled = charts.sample_points(frame)
    if was_sampled:
        st.caption(
            f"Charts show a random sample of {len(points):,} of {len(frame):,} customers "
            f"(fixed seed {charts.SAMPLE_SEED}), so the browser stays fast; tables and "
            "exports use every customer."
        )
    return points


def percentile(series: pd.Series, value: float) -> float:
    """Share of customers (in %) whose value is at or below ``value``."""
    values = series.to_numpy(dtype=float)
    return float((values <= value).mean() * 100) if len(values) else float("nan")


def escape_markdown(text) -> str:
    """Text from the user's file, a URL or an edited grid, made literal for any Streamlit call
    that renders markdown (st.markdown, st.error, captions, labels, buttons). Escaped: what
    opens a link or an image (``[ ]``, ``< >``), emphasis, code, headings, tables, LaTeX and
    colour directives (`` * _ ` # | $ ~ ``, the backslash itself); a bare web address cannot
    become a link (``http\\://``, ``www\\.``); a line break is a space (no new block).
    Rendered, the text reads as written; other punctuation is left as it is."""
    text = " ".join(str(text).splitlines())
    text = "".join("\\" + c if c in _MARKDOWN_MARKS else c for c in text)
    return _BARE_ADDRESS.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


_MARKDOWN_MARKS = frozenset("\\`*_[]<>#|$~")
# What GFM turns into a link without brackets: a scheme's '://', a 'www.', an e-mail's '@'.
_BARE_ADDRESS = re.compile(r"(\w)(:(?=//)|\.(?<=www\.)|@(?=\w))", re.IGNORECASE)


def download_pair(label: str, frame_fn, stem: str, key: str) -> None:
    """CSV and Excel download buttons; the bytes are built only when clicked."""
    from core.export import to_csv_bytes, to_excel_bytes

    left, right = st.columns(2)
    left.download_button(
        f"{label} (CSV)",
        data=lambda: to_csv_bytes(frame_fn()),
        file_name=f"{stem}.csv",
        mime="text/csv",
        key=f"{key}_csv",
        on_click="ignore",
        icon=":material/download:",
    )
    right.download_button(
        f"{label} (Excel)",
        data=lambda: to_excel_bytes(frame_fn(), stem[:31]),
        file_name=f"{stem}.xlsx",
        key=f"{key}_xlsx",
        on_click="ignore",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/download:",
    )


ROW_PX = 35  # a dataframe row's height in Streamlit's grid


def table_height(rows: int) -> int:
    """A dataframe height that shows every row and the header, no inner vertical scroll."""
    return (rows + 1) * ROW_PX + 3


def nan_to_none(value):
    """``value``, or None for a float NaN (a table cell shown empty rather than 'nan')."""
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


# -- plain language ---------------------------------------------------------------------
GLOSSARY: dict[str, str] = {
    "recency": "Days since the customer's last purchase, counted to the as-of date. "
    "Lower is better: they bought recently.",
    "frequency": "How many separate orders (invoices) the customer placed.",
    "monetary": "How much the customer spent in total (cancelled and non-product lines removed).",
    "as_of": "The date the figures are counted to; by default the latest purchase in the file.",
    "r_score": "Recency score 1-5: customers are split into five equal-sized groups by days "
    "since the last order; 5 = the most recent fifth.",
    "f_score": "Frequency score 1-5: five equal-sized groups by number of orders; 5 = the "
    "customers who order most often.",
    "m_score": "Monetary score 1-5: five equal-sized groups by total spend; 5 = the biggest spenders.",
    "fm": "FM score: the average of the F and M scores, rounded half up (1-5).",
    "named_segment": "A group named after how recently, how often and how much customers buy "
    "(Champions, At Risk, ...), read from the R x FM grid.",
    "grid": "The 5 x 5 table that names the segment of each (R score, FM score) pair. You can "
    "edit it; it is saved with the model.",
    "vip_tier": "Customers far outside the usual range of spend or orders (beyond the IQR "
    "fences): Elite (both), High Spender (spend), Power Shopper (orders).",
    "iqr_fence": "A statistical limit: 1.5 times the spread of the middle half of customers "
    "above the upper quartile. Customers past it are VIP tiers.",
    "cluster": "A group of customers with similar recency, orders and spend, found by K-Means "
    "among the customers inside the fences, and named by what it looks like.",
    "revenue_share": "The segment's part of all revenue in the file.",
    "typical": "The median: half of the segment's customers are above, half below.",
    "aov": "Average order value: revenue divided by the number of orders.",
    "percentile": "The cut points are the 20th, 40th, 60th and 80th percentiles: the values "
    "below which 20%, 40%, 60% and 80% of customers fall.",
    "fingerprint": "A short hash of the RFM table: the same data gives the same fingerprint.",
    "customer_percentile": "The share of customers with this value or lower: percentile 90 "
    "means 90% of customers are at or below this customer.",
    "k": "The number of groups (clusters) K-Means splits the customers inside the fences into.",
    "kmeans": "K-Means: a standard method that puts customers into k groups so that each "
    "customer is close to the centre of its own group.",
    "standardised": "Standardised units: recency, frequency and monetary each rescaled to "
    "mean 0 and spread 1, so days, orders and money weigh the same.",
    "centroid": "The centre of a cluster: its average recency, frequency and monetary.",
    "centroid_move": "How far a cluster's centre moves between the model in use and the "
    "preview, in standardised units (0 = same place).",
    "inertia": "Inertia: the sum of squared distances from each customer to its cluster "
    "centre. It always falls as k grows; the bend (elbow) is where more groups "
    "stop helping much.",
    "elbow": "The elbow (knee): the k where the inertia curve bends, after which extra groups add little.",
    "silhouette": "Silhouette (-1 to 1): how much closer customers are to their own group than "
    "to the next one. Higher is better; above 0.5 is clear separation.",
    "calinski_harabasz": "Calinski-Harabasz: spread between groups divided by spread within "
    "them. Higher is better.",
    "davies_bouldin": "Davies-Bouldin: how much each group overlaps its most similar group. "
    "Lower is better (0 = no overlap).",
    "preview": "A model fitted for you only: nothing is saved and nobody else's model changes.",
    "version": "A saved model. The current version is the one every visitor and the API use.",
    "preset": "A set of cleaning rules chosen for a kind of file.",
    "cleaning_rule": "A rule that removes rows that are not real sales (cancellations, "
    "missing customer, zero price, ...). Each removed row is counted once.",
    "line_value": "What one line of the file is worth: the amount column when mapped, else quantity x price.",
    "decimal_mark": "Whether numbers written as text use a comma (12,50) or a point (12.50) "
    "before the cents.",
    "date_order": "For dates like 03/04/2024 that fit both: day first (3 April) or month first (4 March).",
    "returns": "Dropped: return lines are removed. Netted: returns are subtracted from the customer's spend.",
}


def help_for(term: str) -> str:
    """The plain-language explanation of a term (for ``help=`` tooltips)."""
    return GLOSSARY[term]


_FROM_FILE = "from the file"
_NONE = "none (plain numbers)"


def currency(detected: str | None = None) -> str | None:
    """The currency to show money in: the user's choice, else the file's, else None."""
    choice = session.currency_choice()
    if choice in CURRENCIES:  # only a currency is one: never a label of the control
        return choice
    if choice == _NONE:
        return None
    return detected


def currency_picker(detected: str | None) -> str | None:
    """A sidebar control for the currency of money figures; returns the one in use.

    The choice lives under its own key, so it survives pages that do not show the control
    (Streamlit forgets a widget's state on a run that does not draw it).
    """
    options = [_FROM_FILE, _NONE, *CURRENCIES]
    stored = session.currency_choice(_FROM_FILE)

    with st.sidebar:
        st.selectbox(
            "Currency of money figures",
            options,
            key=session.CURRENCY_WIDGET,
            on_change=session.keep_currency_choice,
            index=options.index(stored) if stored in options else 0,
            help="Taken from the file's Currency column, else from the marks in its "
            "values ($, €, £, CHF); choose another to relabel the figures (no "
            "conversion is made).",
        )
        # The options' labels stay the same whatever the file says: a label that changed
        # with the file made the stored choice a label ('from the file: not stated').
        st.caption(
            f"From the file: {detected}" if detected else "The file states no currency: choose one above."
        )
    return currency(detected)


def money(value, code: str | None) -> str:
    """A money figure with the currency mark and thousands separators."""
    return format_money(value, code)


# A metric shows about this many characters in a fifth of a 1400-px page; Streamlit cuts a
# longer value with an ellipsis ("43,659,5..."), so a longer money figure is shown short.
METRIC_CHARS = 10


def money_metric(where, label: str, value, code: str | None, help: str | None = None) -> None:
    """A money figure as a metric (in ``where``, a column) that is never cut off: exact when
    it fits, else in thousands, millions or billions to two decimals, the exact figure under it."""
    exact = money(value, code)
    if len(exact) <= METRIC_CHARS:
        where.metric(label, exact, help=help)
        return
    amount = float(value)
    scale, unit = next((s for s in ((1e9, "bn"), (1e6, "m"), (1e3, "k")) if abs(amount) >= s[0]), (1.0, ""))
    where.metric(label, format_money(amount / scale, code, unit=unit), help=help)
    where.caption(f"{exact} exactly")


def money_column(label: str, code: str | None, help: str | None = None):
    """A dataframe column config for money: '£1,234.50' (or the code after the number)."""
    from core.money import symbol

    mark = symbol(code)
    fmt = f"{mark}%,.2f" if mark else ("%,.2f " + code if code else "%,.2f")
    return st.column_config.NumberColumn(label, format=fmt, help=help)


def file_currency_or_none() -> str | None:
    """The currency stated in the loaded file, or None (also when the file cannot be read)."""
    return _file_currency_or_none()


def segment_summary(seg: pd.DataFrame) -> pd.DataFrame:
    """Per segment (display names): customers, share of customers and revenue, typical
    recency/orders/spend."""
    grouped = seg.groupby("segment", observed=True, sort=False)
    table = pd.DataFrame(
        {
            "customers": grouped.size(),
            "share": grouped.size() / max(len(seg), 1) * 100,
            "revenue": grouped["monetary"].sum(),
            "recency": grouped["recency"].median(),
            "frequency": grouped["frequency"].median(),
            "monetary": grouped["monetary"].median(),
        }
    ).sort_values("revenue", ascending=False)
    table = table.rename_axis("segment").reset_index()
    return table.assign(segment=table["segment"].map(display_name))  # read by people only


def segment_summary_columns(code: str | None) -> dict:
    """Column configs for ``segment_summary`` with money in ``code`` and glossary help."""
    return {
        "segment": st.column_config.TextColumn("Group"),
        "customers": st.column_config.NumberColumn("Customers", format="%,d"),
        "share": st.column_config.NumberColumn("Share", format="%.0f%%", help="Share of all customers."),
        "revenue": money_column("Revenue", code, help=help_for("monetary")),
        "recency": st.column_config.NumberColumn(
            "Typical recency (days)", format="%,.0f", help=help_for("typical")
        ),
        "frequency": st.column_config.NumberColumn(
            "Typical orders", format="%,.0f", help=help_for("typical")
        ),
        "monetary": money_column("Typical spend", code, help=help_for("typical")),
    }


def _file_currency_or_none() -> str | None:
    from ui import marketing

    try:
        return marketing.file_currency()
    except SegmentationError:
        return None
