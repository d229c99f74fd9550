"""Value: who will buy again, and what each customer is worth (BG/NBD + Gamma-Gamma)."""

import streamlit as st

from core import clv, clv_charts
from core.config import CLV_DEFAULTS, CLVConfig
from core.errors import ConfigError
from core.scores import SEGMENT_ORDER
from ui import marketing, render
from ui import value as value_ui

st.title("Value")
st.markdown(
    "**Who will buy again, and what is each customer worth?** Two statistical models "
    "fitted on this file's purchase days forecast each customer's purchases, the chance "
    "they are still a customer, and their value over the coming months. The backtest "
    "below says how good that forecast has been on this file."
)
loaded = render.loaded_or_stop()
code = render.currency(render.file_currency_or_none())

c = st.columns(3)
weeks = c[0].number_input(
    "Purchases over the next (weeks)",
    min_value=1,
    max_value=520,
    value=int(CLV_DEFAULTS.weeks),
    step=1,
    key="value_weeks",
)
months = c[1].number_input(
    "Value over the next (months)",
    min_value=1,
    max_value=120,
    value=CLV_DEFAULTS.months,
    step=1,
    key="value_months",
)
discount = c[2].number_input(
    "Monthly discount rate (%)",
    min_value=0.0,
    max_value=99.0,
    value=CLV_DEFAULTS.discount * 100,
    step=0.5,
    format="%.1f",
    key="value_discount",
    help="Money next month is worth this much less than today.",
)
try:
    config = CLVConfig(weeks=float(weeks), months=int(months), discount=discount / 100)
except ConfigError as exc:
    st.error(str(exc))
    st.stop()
with render.engine_errors("The forecast needs repeat customers and at least 8 weeks of history."):
    with st.spinner("Fitting the purchase and spend models..."):
        view = value_ui.current_value(config)
result = view.result
table = value_ui.with_segments(result.table, marketing.rfm_scores(loaded))

m = st.columns(4)
m[0].metric("Customers", f"{len(table):,}")
m[1].metric(f"Expected purchases, {weeks} weeks", f"{table['expected_purchases'].sum():,.0f}")
render.money_metric(m[2], f"Total CLV, {months} months", table["clv"].sum(), code)
repeat = table[table["frequency"] > 0]
m[3].metric(
    "Repeat customers likely active",
    f"{(repeat['p_alive'] >= 0.5).mean():.0%}",
    help="Share of customers who bought on 2+ days with P(alive) of at least 50%.",
)
st.info(clv.ONE_TIME_BUYERS_NOTE, icon=":material/info:")

spread, matrix, top, segments, check = st.tabs(
    ["Distributions", "Frequency x recency", "Top customers", "Per segment", "Backtest"]
)
with spread:
    render.plot(clv_charts.p_alive_histogram(table), key="value_p_alive")
    render.plot(clv_charts.clv_histogram(table, code), key="value_clv")
with matrix:
    oldest = float(table["age_weeks"].max())
    grid = clv.frequency_recency_grid(
        result.purchases, oldest, min(int(table["frequency"].max()), 30), config.weeks
    )
    st.caption(
        f"For a customer whose first purchase was {oldest:.0f} weeks before the as-of date "
        f"({result.as_of:%Y-%m-%d}): the model's forecast at each number of repeat "
        "purchases and time of the last one. A frequent buyer silent for long is probably "
        "gone: the model reads their silence as having dropped out."
    )
    render.plot(
        clv_charts.frequency_recency_heatmap(grid, "expected_purchases", config.weeks),
        key="value_matrix_purchases",
    )
    render.plot(clv_charts.frequency_recency_heatmap(grid, "p_alive", config.weeks), key="value_matrix_alive")
with top:
    best = table.nlargest(100, "clv")
    st.dataframe(
        best,
        hide_index=True,
        width="stretch",
        column_config={
            "customer_id": "Customer",
            "frequency": "Repeat purchases",
            "recency_weeks": st.column_config.NumberColumn("Recency (weeks)", format="%.1f"),
            "age_weeks": st.column_config.NumberColumn("Age (weeks)", format="%.1f"),
            "expected_purchases": st.column_config.NumberColumn("Expected purchases", format="%.2f"),
            "p_alive": st.column_config.NumberColumn("P(alive)", format="percent"),
            "expected_spend": render.money_column("Expected spend per purchase", code),
            "clv": render.money_column("CLV", code),
            "rfm_segment": "Named segment",
        },
    )
    render.download_pair(
        "Download every customer's value", lambda: clv.rounded(result.table), "customer_value", "value_all"
    )
with segments:
    by_segment = clv.value_by_segment(table, list(SEGMENT_ORDER))
    render.plot(clv_charts.segment_value_bars(by_segment, code), key="value_segments")
    st.dataframe(
        by_segment,
        hide_index=True,
        width="stretch",
        column_config={
            "rfm_segment": "Named segment",
            "customers": st.column_config.NumberColumn(format="%,d"),
            "p_alive": st.column_config.NumberColumn("Mean P(alive)", format="percent"),
            "expected_purchases": st.column_config.NumberColumn("Mean expected purchases", format="%.2f"),
            "clv_mean": render.money_column("Mean CLV", code),
            "clv_total": render.money_column("Total CLV", code),
        },
    )
with check:
    if view.backtest is None:
        st.warning(f"No backtest: {view.backtest_refusal}")
    else:
        bt = view.backtest
        st.markdown(f"**How good is this forecast on your file?** {bt.words()}")
        render.plot(clv_charts.backtest_cumulative(bt.cumulative), key="value_bt_cumulative")
        render.plot(clv_charts.backtest_by_frequency(bt.by_frequency), key="value_bt_frequency")
        st.dataframe(
            bt.by_frequency,
            hide_index=True,
            width="stretch",
            column_config={
                "repeat_purchases": "Repeat purchases before the cut",
                "actual": st.column_config.NumberColumn("Actual (mean)", format="%.2f"),
                "predicted": st.column_config.NumberColumn("Predicted (mean)", format="%.2f"),
            },
        )

with st.expander("What these numbers mean, and the fitted models"):
    st.markdown(
        "- **A purchase** is a day with at least one order: several orders on one day count once.\n"
        "- **Frequency**: repeat purchases (purchase days after the first). **Recency**: weeks "
        "from the first to the last purchase. **Age**: weeks from the first purchase to the "
        f"as-of date ({result.as_of:%Y-%m-%d}).\n"
        "- **Expected purchases**: the model's average for a customer like this one over the "
        "horizon, not a promise; **P(alive)**: the chance they have not left for good.\n"
        "- **Expected spend** is the customer's own mean repeat spend pulled towards the mean "
        "of all; **CLV** = expected purchases month by month x expected spend, discounted at "
        "the monthly rate. Returns are not netted; margins are not taken off (it is revenue).\n"
        "- See docs/CLV.md for the models and their limits."
    )
    st.code("\n".join(result.fit_lines()), language=None)
