"""RFM: how recently, how often and how much each customer buys, with R/F/M scores."""

import streamlit as st

from core import charts
from core.export import to_csv_bytes
from ui import marketing, render

st.title("RFM")
loaded = render.loaded_or_stop()
with render.engine_errors():
    currency = render.currency_picker(marketing.file_currency())
    scored = marketing.rfm_scores(loaded)
rfm, result = loaded.rfm, loaded.result

st.markdown("#### How recently, how often and how much do my customers buy?")
c = st.columns(5)
c[0].metric("Customers", f"{len(rfm):,}")
render.money_metric(c[1], "Revenue", rfm["monetary"].sum(), currency, help=render.help_for("monetary"))
c[2].metric("Median recency", f"{rfm['recency'].median():,.0f} days", help=render.help_for("recency"))
c[3].metric("Median frequency", f"{rfm['frequency'].median():,.0f}", help=render.help_for("frequency"))
render.money_metric(
    c[4], "Median monetary", rfm["monetary"].median(), currency, help=render.help_for("monetary")
)
st.caption(f"Counted to {result.as_of:%Y-%m-%d %H:%M}, the as-of date.", help=render.help_for("as_of"))

log = st.toggle(
    "Log scale: long tails become readable",
    value=False,
    key="rfm_log",
    help="Plots log10(1 + value): a few very large customers no longer squash the rest.",
)
points = render.sampled(rfm)
st.markdown(
    "**How are customers spread?** Most customers sit on the left of each chart: recent "
    "buyers with few orders and modest spend; the long tail on the right are the few "
    "who buy a lot."
)
render.plot(charts.rfm_histograms(points, log=log), key="rfm_hist")

st.subheader("Customers")
st.caption(
    "Click a column header to sort. Scores run 1-5 (5 = best); the named segment comes "
    "from the R x FM grid on the Segments page."
)
table = scored[
    ["customer_id", "recency", "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_segment"]
]
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    height=420,
    column_config={
        "customer_id": st.column_config.TextColumn("Customer"),
        "recency": st.column_config.NumberColumn(
            "Recency (days)", format="%,d", help=render.help_for("recency")
        ),
        "frequency": st.column_config.NumberColumn(
            "Frequency (orders)", format="%,d", help=render.help_for("frequency")
        ),
        "monetary": render.money_column("Monetary", currency, help=render.help_for("monetary")),
        "r_score": st.column_config.NumberColumn("R", help=render.help_for("r_score")),
        "f_score": st.column_config.NumberColumn("F", help=render.help_for("f_score")),
        "m_score": st.column_config.NumberColumn("M", help=render.help_for("m_score")),
        "rfm_segment": st.column_config.TextColumn("Named segment", help=render.help_for("named_segment")),
    },
)
st.download_button(
    "Download RFM table with scores (CSV)",
    data=lambda: to_csv_bytes(table),
    file_name="rfm.csv",
    mime="text/csv",
    on_click="ignore",
    icon=":material/download:",
)

with st.expander("How this was computed"):
    st.markdown(
        "- **Recency**: whole days from the customer's last purchase to the as-of date.\n"
        "- **Frequency**: distinct invoices (or purchase times, with no invoice column).\n"
        "- **Monetary**: the sum of quantity x price (or the amount column) over the lines the "
        "cleaning rules kept (see the Data page for the audit).\n"
        "- **Scores**: each value against the 20th/40th/60th/80th percentiles over all "
        "customers (see the Segments page)."
    )
    st.caption(
        "Spread and outliers: boxes hold the middle half of customers; dots are the "
        "outliers the VIP tiers are made from.",
        help=render.help_for("iqr_fence"),
    )
    render.plot(charts.rfm_boxes(points, log=log), key="rfm_box")
