"""Segments: who is in each segment, what they look like, what to do, and exports."""
import re

import pandas as pd
import streamlit as st

from core import charts
from core.clustering import FEATURES
from core.insights import profiles_with_actions
from ui import render, state

st.title("Segments")
loaded = render.loaded_or_stop()
active = render.model_or_stop(loaded)
with render.engine_errors():
    seg = state.current_segments(loaded, active)
    profiles = profiles_with_actions(seg)
st.write(f"{len(seg):,} customers in {len(profiles)} segments under model "
         f"**{active.version or 'unsaved'}** (k={active.model.config.k}). VIP tiers come from the "
         "IQR fences; the other segments are K-Means clusters named by their centroids.")

render.plot(charts.segment_overview(profiles), key="overview")

st.subheader("Profiles")
shown = profiles.drop(columns=["actions"])
st.dataframe(shown, hide_index=True, width="stretch", column_config={
    "share": st.column_config.NumberColumn(format="percent"),
    "revenue_share": st.column_config.NumberColumn(format="percent"),
    **{c: st.column_config.NumberColumn(format="%.1f") for c in shown.columns
       if c.endswith(("_mean", "_median"))},
    "revenue": st.column_config.NumberColumn(format="%.2f"),
})

st.subheader("Recommended actions")
for i, row in profiles.iterrows():
    with st.expander(f"{row['segment']}: {row['customers']:,} customers, "
                     f"{row['revenue_share']:.0%} of revenue", expanded=(i == 0)):
        for i, action in enumerate(row["actions"], start=1):
            st.markdown(f"{i}. {render._escape(action)}")

st.subheader("Tier x cluster")
nearest = active.model.predict_clusters(seg.loc[:, list(FEATURES)].to_numpy())
tier = seg["tier"].astype("object").where(seg["tier"].notna(), "(clustered)")
crosstab = pd.crosstab(tier.to_numpy(), [active.model.names_[i] for i in nearest])
st.caption("Rows: the VIP tier (or '(clustered)' for customers inside the fences). Columns: the "
           "nearest cluster centroid. It shows which cluster the VIPs would join without the fences.")
render.plot(charts.tier_cluster_heatmap(crosstab), key="tierxcluster")

st.subheader("Export")
st.caption("Exports are safe to open in Excel: text cells starting with = + - @ are neutralised.")
names = profiles["segment"].tolist()
chosen = st.selectbox("Segment", names, key="export_segment")
stem = re.sub(r"[^A-Za-z0-9]+", "_", str(chosen)).strip("_").lower() or "segment"
render.download_pair(f"{chosen} customers", lambda: seg[seg["segment"] == chosen],
                     f"segment_{stem}", key="export_one")
render.download_pair("All customers with their segment", lambda: seg, "customers_segments",
                     key="export_all")
