"""Customer lookup: one customer's values, percentiles, segment, why, and the next action."""
import streamlit as st

from core.errors import SegmentationError
from ui import render, state

SELECTBOX_LIMIT = 20_000  # above this many customers, type-ahead uses a text box
st.title("Customer lookup")
loaded = render.loaded_or_stop()
active = render.model_or_stop(loaded)
with render.engine_errors():
    seg = state.current_segments(loaded, active)
model_label = active.version or "unsaved"
ids = seg["customer_id"].astype(str)
wanted = st.query_params.get("customer")

by_id, by_values = st.tabs(["By customer ID", "By typed R/F/M values"])
with by_id:
    if len(ids) <= SELECTBOX_LIMIT:
        options = ids.tolist()
        if st.session_state.get("lookup_id") not in options:  # first visit: the link's customer
            st.session_state["lookup_id"] = wanted if wanted in options else options[0]
        customer = st.selectbox("Customer ID (type to search)", options, key="lookup_id")
    else:
        typed = st.text_input("Customer ID", value=wanted or "", key="lookup_text",
                              placeholder="Type the start of an ID")
        matches = ids[ids.str.startswith(typed)].head(20).tolist() if typed else []
        customer = st.selectbox("Matches", matches, key="lookup_match") if matches else None
    if wanted and wanted not in set(ids):
        st.warning(f"No customer '{wanted}' in the loaded data.")
    if customer:
        if st.query_params.get("customer") != customer:
            st.query_params["customer"] = customer
        row = seg[ids == customer].iloc[0]
        with render.engine_errors():
            explanation = active.model.explain(row["recency"], row["frequency"], row["monetary"])
        render.customer_card(explanation, loaded.rfm, customer, model_label)

with by_values:
    with st.form("typed"):
        c = st.columns(3)
        r = c[0].number_input("Recency (days)", min_value=0.0, value=30.0, step=1.0, key="typed_r")
        f = c[1].number_input("Frequency (purchases)", min_value=1.0, value=2.0, step=1.0, key="typed_f")
        m = c[2].number_input("Monetary (spend)", min_value=0.0, value=500.0, step=10.0, key="typed_m")
        submitted = st.form_submit_button("Score", type="primary", icon=":material/calculate:")
    if submitted or st.session_state.get("typed_done"):
        st.session_state["typed_done"] = True
        try:
            explanation = active.model.explain(r, f, m)
        except SegmentationError as exc:
            st.error(str(exc))
        else:
            render.customer_card(explanation, loaded.rfm, None, model_label)
