"""Movement: who moved from which segment to which between two dates, and segment sizes over time."""

import datetime as dt
import re

import streamlit as st

from core import charts, movement
from core.export import to_csv_bytes
from core.scores import GOOD_SEGMENTS, LAPSING_SEGMENTS
from ui import marketing, render
from ui import movement as moves_ui

DEFAULT_DAYS_BACK = 90

st.title("Movement")
st.markdown(
    "**Who moved where?** Pick two dates: every customer is segmented as the data "
    "stood on each date, and you see who is slipping away, who became a Champion, "
    "who is new."
)
loaded = render.loaded_or_stop()
active = render.model_or_stop(loaded)
code = render.currency_picker(render.file_currency_or_none())

lenses = {
    moves_ui.NAMED: "Named RFM segments (Champions, At Risk, ...)",
    active.key: f"VIP tiers and clusters of the model in use ({active.version or 'unsaved'})",
}
lens = st.radio(
    "Group customers by", list(lenses), format_func=lenses.get, horizontal=True, key="movement_lens"
)
grid = marketing.segment_grid(active)  # the named-segment grid in use (edited on Segments)
order = movement.segment_order(grid) if lens == moves_ui.NAMED else None
with render.engine_errors("Fix the file, mapping or cleaning settings on the Data page."):
    with st.spinner("Segmenting every month end..."):
        sizes, first, last = moves_ui.current_month_ends(lens, grid, active.model)
colours = charts.named_colours(order) if lens == moves_ui.NAMED else None
named_lens = lens == moves_ui.NAMED
cut_points = movement.DEFAULT_CUT_POINTS
if named_lens:
    rescored = st.toggle(
        "Re-score the later date on its own cut points",
        value=False,
        key="movement_rescore",
        help=render.help_for("percentile"),
    )
    cut_points = "each" if rescored else movement.DEFAULT_CUT_POINTS
    st.caption(
        "Re-scored: each date gets its own 20/40/60/80th percentiles, so a customer who did "
        "nothing can change segment because the other customers did."
        if rescored
        else "Fixed cut points: the later date is scored on the earlier date's 20/40/60/80th "
        "percentiles of R, F and M, so a move means the customer changed, not the scale."
    )

left, right = st.columns(2)
to_day = right.date_input(
    "To (later date)",
    value=last.date(),
    min_value=first.date(),
    key="movement_to",
    help="Segments as the data stood at the end of this day.",
)
from_day = left.date_input(
    "From (earlier date)",
    value=max(first.date(), last.date() - dt.timedelta(days=DEFAULT_DAYS_BACK)),
    min_value=first.date(),
    key="movement_from",
    help="Segments as the data stood at the end of this day.",
)
if from_day >= to_day:
    left.error(f"Pick a 'from' date before the 'to' date ({to_day:%Y-%m-%d}).")
    st.stop()
# The end of each chosen day: a purchase made that day counts.
from_at = dt.datetime.combine(from_day, dt.time(23, 59, 59))
to_at = dt.datetime.combine(to_day, dt.time(23, 59, 59))
with render.engine_errors():
    with st.spinner("Comparing the two dates..."):
        moves = moves_ui.current_migration(lens, grid, active.model, from_at, to_at, cut_points)

new = int((moves["from_segment"] == movement.NOT_YET).sum())
changed = int((moves["from_segment"] != moves["to_segment"]).sum()) - new
stayed = len(moves) - new - changed
slipping = moves[movement.slipping(moves)] if named_lens else moves.iloc[0:0]
SLIPPING_HELP = (
    f"Were {', '.join(GOOD_SEGMENTS)} on the 'from' date and are "
    f"{', '.join(LAPSING_SEGMENTS)} on the 'to' date."
)
st.subheader(f"Since {from_day:%d %b %Y}")
c = st.columns(4 if named_lens else 3)
if named_lens:
    c[0].metric("Slipping", f"{len(slipping):,}", help=SLIPPING_HELP)
    c[0].caption(
        f"{render.money(float(slipping['monetary'].sum()), code)} of revenue at stake",
        help="What the slipping customers have spent in total, as of the 'to' date.",
    )
c[-3].metric("New customers", f"{new:,}", help="First purchase after the 'from' date.")
c[-2].metric("Moved to another segment", f"{changed:,}")
c[-1].metric("Stayed in their segment", f"{stayed:,}")

matrix = movement.transition_matrix(moves, order)
from_label, to_label = f"{from_day:%Y-%m-%d}", f"{to_day:%Y-%m-%d}"
flows, table = st.tabs(["Flows", "Table of moves"])
with flows:
    render.plot(charts.migration_sankey(matrix, from_label, to_label, colours), key="movement_sankey")
with table:
    render.plot(charts.transition_heatmap(matrix, from_label, to_label), key="movement_matrix")

st.subheader("Which customers moved")
from_names, to_names = list(matrix.index), list(matrix.columns)
SLIPPING, ONE_MOVE = "Slipping away", "One move"
which = st.radio(
    "Show",
    [SLIPPING, ONE_MOVE] if named_lens else [ONE_MOVE],
    horizontal=True,
    key="movement_which",
    help=SLIPPING_HELP,
)
if which == SLIPPING:
    picked = slipping
    st.caption(
        f"{len(picked):,} customers slipped from {', '.join(GOOD_SEGMENTS)} on "
        f"{from_label} into {', '.join(LAPSING_SEGMENTS)} on {to_label}: "
        f"{render.money(float(picked['monetary'].sum()), code)} of revenue at stake. "
        f"Recency, frequency and monetary as they stood on {to_label}."
    )
else:
    off_diagonal = [
        (a, b, int(matrix.loc[a, b]))
        for a in matrix.index
        for b in matrix.columns
        if a != b and matrix.loc[a, b] > 0
    ]
    biggest = max(off_diagonal, key=lambda m: m[2], default=(matrix.index[0], matrix.columns[0], 0))
    pick = st.columns(2)
    chosen_from = pick[0].selectbox(
        "Were in",
        from_names,
        index=from_names.index(biggest[0]),
        key="movement_pick_from",
        format_func=render.display_name,
        help="(none): had not bought yet on the 'from' date.",
    )
    chosen_to = pick[1].selectbox(
        "Are now in",
        to_names,
        index=to_names.index(biggest[1]),
        key="movement_pick_to",
        format_func=render.display_name,
    )
    picked = moves[(moves["from_segment"] == chosen_from) & (moves["to_segment"] == chosen_to)]
    st.caption(
        f"{len(picked):,} customers were in {render.display_name(chosen_from)} on "
        f"{from_label} and are in {render.display_name(chosen_to)} on {to_label}. "
        f"Recency, frequency and monetary as they stood on {to_label}."
    )
shown = picked.assign(
    from_segment=picked["from_segment"].map(render.display_name),
    to_segment=picked["to_segment"].map(render.display_name),
)
st.dataframe(
    shown.sort_values("monetary", ascending=False),
    hide_index=True,
    width="stretch",
    column_order=(
        "customer_id",
        "monetary",
        "to_segment",
        "from_segment",
        "recency",
        "frequency",
    ),  # what is at stake first: a phone shows those
    column_config={
        "customer_id": st.column_config.TextColumn("Customer"),
        "from_segment": st.column_config.TextColumn(f"Was ({from_label})"),
        "to_segment": st.column_config.TextColumn(f"Now ({to_label})"),
        "monetary": render.money_column("Spent", code, help=render.help_for("monetary")),
        "recency": st.column_config.NumberColumn(
            "Days since last order", format="%,d", help=render.help_for("recency")
        ),
        "frequency": st.column_config.NumberColumn("Orders", format="%,d", help=render.help_for("frequency")),
    },
)
stem = (
    "movement_slipping"
    if which == SLIPPING
    else re.sub(r"[^A-Za-z0-9]+", "_", f"movement {chosen_from} to {chosen_to}").strip("_")
)
st.download_button(
    "Download these customers (CSV)",
    data=lambda: to_csv_bytes(picked),
    file_name=f"{stem}.csv",
    mime="text/csv",
    key="movement_csv",
    on_click="ignore",
    icon=":material/download:",
)
st.download_button(
    "Download every customer's move (CSV)",
    data=lambda: to_csv_bytes(moves),
    file_name="movement_all.csv",
    mime="text/csv",
    key="movement_all_csv",
    on_click="ignore",
    icon=":material/download:",
)

st.subheader("How big was each segment at every month end?")
render.plot(charts.segment_sizes_area(sizes, order, colours), key="movement_sizes")

with st.expander("How this was computed"):
    st.markdown(
        "- **As the data stood on a date**: only the purchases up to the end of that day count, "
        "cleaned with the same rules as on the Data page; recency is counted to that date.\n"
        "- **Named segments**: R, F, M scores 1-5 from the 20/40/60/80th percentiles. By "
        "default the later date is scored on the earlier date's cut points, so a customer whose "
        "R, F, M did not change keeps its segment; with the re-score switch each date is cut "
        "over its own customers (a segment then means the same relative position on both "
        "dates). The month-end sizes below are cut over each month end's customers.\n"
        f"- **Slipping**: {SLIPPING_HELP}\n"
        "- **VIP tiers and clusters** use the model in use, unchanged: its IQR fences and "
        "cluster centres are applied to each date's R, F, M.\n"
        "- **(none)**: the customer had not bought yet on the 'from' date.\n"
        f"- The file's purchases run from {first:%Y-%m-%d} to {last:%Y-%m-%d}; month-end sizes are "
        "computed at the last second of each month, from one pass over the file."
    )
