"""Customer lookup: who is this customer and what should I do? Named segment and action first,
then the VIP tier or cluster and why, the customer's own columns and last orders."""

import streamlit as st

from core.errors import SegmentationError
from core.lookup import closest_ids
from ui import card, marketing, models, render, session
from ui import value as value_ui

SELECTBOX_LIMIT = 20_000  # above this many customers, type-ahead uses a text box
st.title("Customer lookup")
loaded = render.loaded_or_stop()
active = render.model_or_stop(loaded)
with render.engine_errors():
    seg = models.current_segments(loaded, active)
    scored = marketing.scored(loaded, active)
    grid = marketing.segment_grid(active)
code = render.currency(render.file_currency_or_none())  # chosen on the RFM/Segments pages


def money(value) -> str:
    return render.money(value, code)


st.markdown("#### Who is this customer, and what should I do?")
st.caption(
    "Pick a customer (or type R/F/M values): their named segment and what to do, then the "
    "VIP tier or cluster and why, their details and last orders from your file.",
    help=render.help_for("named_segment"),
)
model_label = active.version or "unsaved"
ids = seg["customer_id"].astype(str)
wanted = st.query_params.get("customer")
unknown = bool(wanted) and not (ids == wanted).any()


def _choose(customer_id: str) -> None:
    session.set_widget_value(session.LOOKUP_ID, customer_id)
    session.set_widget_value(session.LOOKUP_TEXT, customer_id)
    st.query_params["customer"] = customer_id


by_id, by_values = st.tabs(["By customer ID", "By typed R/F/M values"])
with by_id:
    if unknown:  # a link to an ID the data does not have: say so, show no other card
        st.error(
            f"No customer '{render.escape_markdown(wanted)}' in the loaded data "
            f"({len(ids):,} customers). "
            "Check the ID, or pick one of the closest IDs or any customer below."
        )
        suggestions = closest_ids(wanted, ids)
        if suggestions:
            st.caption("Closest IDs")
            for column, suggestion in zip(st.columns(len(suggestions)), suggestions):
                column.button(
                    render.escape_markdown(suggestion),
                    key=f"closest_{suggestion}",
                    on_click=_choose,
                    args=(suggestion,),
                    width="stretch",
                )
        else:
            st.caption("No ID in the data looks like it.")
    if len(ids) <= SELECTBOX_LIMIT:
        options = ids.tolist()
        if session.widget_value(session.LOOKUP_ID) not in options:  # first visit: the link's customer
            session.set_widget_value(
                session.LOOKUP_ID, wanted if wanted in options else None if unknown else options[0]
            )
        customer = st.selectbox(
            "Customer ID (type to search)", options, key=session.LOOKUP_ID, placeholder="Choose a customer"
        )
    else:
        typed = st.text_input(
            "Customer ID", value=wanted or "", key=session.LOOKUP_TEXT, placeholder="Type the start of an ID"
        )
        matches = ids[ids.str.startswith(typed)].head(20).tolist() if typed else []
        customer = (
            st.selectbox(
                "Matches",
                matches,
                key="lookup_match",
                index=matches.index(typed) if typed in matches else None,
                placeholder="Choose a match",
            )
            if matches
            else None
        )
    if customer:
        if st.query_params.get("customer") != customer:
            st.query_params["customer"] = customer
        row = seg[ids == customer].iloc[0]
        with render.engine_errors():
            explanation = active.model.explain(row["recency"], row["frequency"], row["monetary"])
            named = card.named_view(scored, grid, explanation, money)
            file = card.CustomerFile(
                marketing.customer_columns(loaded, customer),
                marketing.customer_last_orders(loaded, customer),
                int(row["frequency"]),
            )
        card.customer_card(
            explanation,
            loaded.rfm,
            customer,
            model_label,
            fences=active.model.fences,
            code=code,
            named=named,
            file=file,
        )
    if customer:  # lifetime value (core.clv), a block of its own under the card
        value_ui.value_card(customer, code)

with by_values:
    with st.form("typed"):
        c = st.columns(3)
        r = c[0].number_input(
            "Recency (days)",
            min_value=0.0,
            value=30.0,
            step=1.0,
            key="typed_r",
            help=render.help_for("recency"),
        )
        f = c[1].number_input(
            "Frequency (orders)",
            min_value=1.0,
            value=2.0,
            step=1.0,
            key="typed_f",
            help=render.help_for("frequency"),
        )
        m = c[2].number_input(
            f"Monetary (spend{', ' + code if code else ''})",
            min_value=0.0,
            value=500.0,
            step=10.0,
            key="typed_m",
            format="%.2f",
            help=render.help_for("monetary"),
        )
        submitted = st.form_submit_button("Score", type="primary", icon=":material/calculate:")
    if submitted or session.typed_done():
        session.set_typed_done()
        try:
            explanation = active.model.explain(r, f, m)
            named = card.named_view(scored, grid, explanation, money)
        except SegmentationError as exc:
            st.error(render.escape_markdown(str(exc)))
        else:
            card.customer_card(
                explanation, loaded.rfm, None, model_label, fences=active.model.fences, code=code, named=named
            )
