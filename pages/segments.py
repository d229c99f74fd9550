"""Segments: who are my best customers, who is slipping away, what do I do; exports and report."""

import pandas as pd
import streamlit as st

from core import charts
from core.actions import named_profiles_with_actions, profiles_with_actions
from core.campaign import email_column, email_tool_frame, file_stem, suggest_attribute_columns
from core.clustering import FEATURES
from core.columns import ColumnMapping
from core.errors import SegmentationError
from core.export import to_csv_bytes
from core.insights import named_segment_crosstab
from core.scores import SLIPPING_AWAY, grid_cells, score_cut_points, segment_names, slipping_away
from ui import access, files, marketing, models, render

st.title("Segments")
loaded = render.loaded_or_stop()
active = render.model_or_stop(loaded)
with render.engine_errors():
    currency = render.currency_picker(marketing.file_currency())
    grid = marketing.segment_grid(active)
    scored = marketing.scored(loaded, active)
    names = segment_names(grid)
    named = named_profiles_with_actions(scored, names, money=lambda v: render.money(v, currency))
    profiles = profiles_with_actions(scored)


def _count(n: int, word: str = "customer") -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


st.markdown("#### Who are my best customers, who is slipping away, and what do I do?")
best = named[named["rfm_segment"] == "Champions"]
slipping = slipping_away(named)
c = st.columns(3)
c[0].metric("Champions", f"{int(best['customers'].sum()):,}", help=render.help_for("named_segment"))
c[0].caption(f"{float(best['revenue_share'].sum()):.0%} of revenue")
c[1].metric(
    "Slipping away",
    f"{int(slipping['customers'].sum()):,}",
    help=f"{' and '.join(SLIPPING_AWAY)}: good customers who have not bought for a while.",
)
c[1].caption(f"{render.money(float(slipping['revenue'].sum()), currency)} of past revenue")
render.money_metric(
    c[2], "Revenue", float(scored["monetary"].sum()), currency, help=render.help_for("monetary")
)
st.caption(
    f"{len(scored):,} customers as of {loaded.result.as_of:%Y-%m-%d %H:%M}, model "
    f"**{active.version or 'unsaved'}** (k={active.model.config.k})."
)

# -- named segments ------------------------------------------------------------------------
st.subheader("Named segments", help=render.help_for("named_segment"))
render.plot(charts.named_segment_bars(named, currency), key="named_bars")
table = named[
    ["rfm_segment", "customers", "revenue", "revenue_share", "recency_median", "frequency_median", "meaning"]
]  # the decision columns first: phones show those
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    height=render.table_height(len(table)),
    column_config={
        "rfm_segment": st.column_config.TextColumn(
            "Segment", help=render.help_for("named_segment"), pinned=True
        ),
        "meaning": st.column_config.TextColumn("Who they are"),
        "customers": st.column_config.NumberColumn("Customers", format="%,d"),
        "revenue_share": st.column_config.NumberColumn(
            "Share of revenue", format="percent", help=render.help_for("revenue_share")
        ),
        "revenue": render.money_column("Revenue", currency),
        "recency_median": st.column_config.NumberColumn(
            "Typical days since last order", format="%,.0f", help=render.help_for("typical")
        ),
        "frequency_median": st.column_config.NumberColumn(
            "Typical orders", format="%,.0f", help=render.help_for("typical")
        ),
    },
)

st.caption(f"All {int(named['customers'].sum()):,} customers, each in one named segment.")

st.subheader("What to do")
for i, row in named[named["customers"] > 0].reset_index(drop=True).iterrows():
    with st.expander(
        f"{render.escape_markdown(row['rfm_segment'])}: "
        f"{_count(int(row['customers']))}, {row['revenue_share']:.0%} of revenue",
        expanded=(i == 0),
    ):
        st.caption(render.escape_markdown(row["meaning"].capitalize()))
        for n, action in enumerate(row["actions"], start=1):
            st.markdown(f"{n}. {render.escape_markdown(action)}")

# -- the grid ------------------------------------------------------------------------------
st.subheader("The R x FM grid", help=render.help_for("grid"))
st.caption(
    "Rows: how recently customers bought (R score, 5 = most recent). Columns: how often "
    "and how much (FM score, 5 = most). Each cell shows its customers and revenue; the "
    "colour is its named segment."
)
render.plot(charts.rfm_grid_chart(grid_cells(scored, grid), currency), key="rfm_grid")

with st.expander("Edit the grid" + (" (edited in this session)" if marketing.grid_is_edited() else "")):
    st.caption(
        "Pick the segment of any cell. Apply to use it on every page; save it with a new "
        "model version to keep it."
    )
    shown = marketing.grid_table(grid)
    choices = list(dict.fromkeys([*names, *segment_names()]))
    edited = st.data_editor(
        shown,
        key="grid_editor",
        width="stretch",
        disabled=False,
        num_rows="fixed",
        column_config={
            c: st.column_config.SelectboxColumn(c, options=choices, required=True) for c in shown.columns
        },
    )
    left, middle, right = st.columns(3)
    if left.button("Apply this grid", key="grid_apply"):
        try:
            marketing.set_segment_grid(marketing.grid_from_table(edited))
        except SegmentationError as exc:
            st.error(render.escape_markdown(str(exc)))
        else:
            st.rerun()
    if middle.button("Back to the standard grid", key="grid_reset"):
        marketing.reset_segment_grid()
        st.rerun()
    token = (
        st.text_input(
            "Admin token",
            type="password",
            key="grid_admin_token",
            help="This server protects saving model versions (RFM_ADMIN_TOKEN).",
        )
        if access.admin_token_required()
        else None
    )
    if right.button(
        "Save with a new model version",
        key="grid_save",
        disabled=not marketing.grid_is_edited(),
        help="Fits the same k on this data and saves it with this grid; make it "
        "current for everyone on the Clusters page.",
    ):
        with render.engine_errors():
            version = models.save_new_fit(
                loaded, active.model.config.k, grid=marketing.segment_grid(active), admin_token=token
            )
        st.success(f"Saved model {version} with this grid; this session uses it.")

# -- the statistical view ------------------------------------------------------------------
st.subheader("The statistical view: VIP tiers and clusters", help=render.help_for("cluster"))
crosstab = named_segment_crosstab(scored, names)
st.markdown(
    f"The same **{len(scored):,} customers**, grouped a second way by the model: the **VIP "
    "tiers** are the few far outside the usual spend or orders (beyond the IQR fences); "
    "everyone else is put into **clusters** of customers with similar recency, orders and "
    "spend. The table below splits each named segment above by tier or cluster; act on the "
    "named segments, use this view to see your outliers and natural groups."
)
shown = crosstab.rename(columns=render.display_name)
shown["Total"] = shown.sum(axis=1)
shown.loc["Total"] = shown.sum(axis=0)
st.dataframe(
    shown.rename_axis("Named segment").reset_index(),
    hide_index=True,
    width="stretch",
    height=render.table_height(len(shown)),  # every row, the Total row too
    column_config={"Named segment": st.column_config.TextColumn(pinned=True)},
)
render.plot(charts.segment_overview(profiles, currency), key="overview")
for _, row in profiles.iterrows():
    with st.expander(
        f"{render.escape_markdown(render.display_name(row['segment']))}: "
        f"{_count(int(row['customers']))}, "
        f"{row['revenue_share']:.0%} of revenue"
    ):
        for n, action in enumerate(row["actions"], start=1):
            st.markdown(f"{n}. {render.escape_markdown(action)}")

# -- exports -------------------------------------------------------------------------------
st.subheader("Exports for your campaigns")
st.caption(
    "One row per customer: first and last purchase, orders, revenue, average order "
    "value, scores, named segment, VIP tier or cluster, and the customer columns of your "
    "file you pick. Text cells starting with = + - @ are neutralised for Excel."
)
src, settings = files.source(), files.settings()
columns = list(files.current_info().columns)
mapping = ColumnMapping(**settings.mapping_dict)
suggested = suggest_attribute_columns(columns, mapping)
picked = st.multiselect(
    "Customer columns from your file",
    columns,
    default=suggested,
    key="export_columns",
    help="Each customer gets the latest non-empty value by date.",
)
lens = st.radio(
    "Segments by", ["Named segments", "VIP tiers and clusters"], horizontal=True, key="export_lens"
)
by = "rfm_segment" if lens == "Named segments" else "segment"
options = [
    "All customers",
    *[
        n
        for n in (names if by == "rfm_segment" else profiles["segment"])
        if (scored[by].astype(str) == n).any()
    ],
]
chosen = st.selectbox("Which customers", options, key="export_segment", format_func=render.display_name)


build_campaign = marketing.campaign_builder(loaded, scored, tuple(picked))


def _export_frame(build=build_campaign, chosen=chosen, by=by) -> pd.DataFrame:
    table = build()
    if chosen == "All customers":
        return table
    return table[table[by].astype(str) == chosen]


stem = "customers" if chosen == "All customers" else f"segment_{file_stem(chosen)}"
with render.engine_errors("Pick other customer columns."):
    render.download_pair(
        f"{render.display_name(chosen)}: campaign table", _export_frame, stem, key="export_campaign"
    )
email = email_column(picked)
if email is None:
    st.info("Add your file's e-mail column above to get a file for your e-mail tool.")
else:

    def _email_csv(email=email) -> bytes:
        frame, _ = email_tool_frame(_export_frame(), email)
        return to_csv_bytes(frame)

    st.download_button(
        f"{render.display_name(chosen)}: for your e-mail tool (CSV, {email} first)",
        data=_email_csv,
        file_name=f"{stem}_email.csv",
        mime="text/csv",
        on_click="ignore",
        key="export_email",
        icon=":material/mail:",
        help="Customers without an e-mail are left out.",
    )

# -- report --------------------------------------------------------------------------------
st.subheader("Report")
st.caption(
    "One HTML file with the summary, the grid, segments and actions, movement over time, "
    "the cleaning audit, the data fingerprint and the model version. It opens offline."
)
st.download_button(
    "Download the report (HTML)",
    data=marketing.report_builder(loaded, active, currency),
    file_name=f"segments_report_{file_stem(src.name)}.html",
    mime="text/html",
    on_click="ignore",
    key="report_html",
    icon=":material/description:",
)

# -- how this was computed -----------------------------------------------------------------
with st.expander("How this was computed"):
    st.markdown(
        "- **R, F, M scores** (1-5): each customer's days since the last order, orders and "
        "spend are compared with the 20th, 40th, 60th and 80th percentiles over all customers. "
        "F and M score = 1 + the number of those cut points below the value; R score = 5 - the "
        "number below the days since the last order. Equal values always get equal scores.\n"
        "- **FM score** = the average of F and M, rounded half up. The named segment is read "
        "from the (R, FM) grid.\n"
        "- **VIP tiers**: above the upper IQR fence (the third quartile + 1.5 x the "
        "interquartile range) on spend, orders or both. **Clusters**: K-Means on everyone "
        "else (customers far below the others included), named from their centroids."
    )
    cuts = score_cut_points(scored)
    st.dataframe(
        pd.DataFrame({k: list(v) for k, v in cuts.items()}, index=["20th", "40th", "60th", "80th"]),
        width="stretch",
        column_config={
            "recency": st.column_config.NumberColumn("Recency (days)", format="%,.1f"),
            "frequency": st.column_config.NumberColumn("Frequency", format="%,.1f"),
            "monetary": render.money_column("Monetary", currency),
        },
    )
    st.caption("Tier x nearest cluster: which cluster the VIP tiers would join without the fences.")
    nearest = active.model.predict_clusters(scored.loc[:, list(FEATURES)].to_numpy())
    tier = scored["tier"].astype("object").where(scored["tier"].notna(), "(clustered)")
    tier_x = pd.crosstab(
        tier.map(render.display_name).to_numpy(),
        [render.display_name(active.model.names_[i]) for i in nearest],
    )
    render.plot(charts.tier_cluster_heatmap(tier_x), key="tierxcluster")
