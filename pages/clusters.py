"""Clusters: choose k from evidence, retrain and save a version, see the segments in R/F/M space."""
import pandas as pd
import streamlit as st

from core import charts
from core.clustering import DEFAULT_KS, FIT_SAMPLE
from core.errors import SegmentationError
from core.outliers import assign_tiers, iqr_fences
from ui import render, state

AUTO_SWEEP_CUSTOMERS = 50_000  # above this the sweep waits for the button

st.title("Clusters")
loaded = render.loaded_or_stop()
try:
    active = state.active_model(loaded)
except SegmentationError as exc:  # e.g. a tiny file: say what is possible, keep k reachable
    st.error(str(exc))
    to_cluster = int(assign_tiers(loaded.rfm, iqr_fences(loaded.rfm)).isna().sum())
    if to_cluster < 2:
        st.info(f"Clustering is not possible here: {to_cluster} of {len(loaded.rfm):,} customers "
                "are inside the IQR fences, and K-Means needs at least 2. The VIP tiers, the "
                "named segments and the lookup still work; load more data to cluster.")
        st.stop()
    st.info(f"{to_cluster} customers can be clustered, so k can be 2 to {min(to_cluster, 50)}"
            + ("; the k-sweep needs at least 3 customers." if to_cluster < 3 else
               f"; the k-sweep can compare k from 2 to {to_cluster - 1}.") + " Pick k and train:")
    with st.form("retrain_small"):
        k = st.number_input("k (clusters)", min_value=2, max_value=min(to_cluster, 50),
                            value=min(state.DEFAULT_K, to_cluster), step=1, key="retrain_k_small")
        if st.form_submit_button("Train and save a new version", type="primary", icon=":material/save:"):
            with st.spinner(f"Training k={k} and saving..."), render.engine_errors():
                state.retrain(loaded, int(k))
            st.rerun()
    st.stop()
features = state.clustered_features(loaded.rfm, active.model)
st.write(f"{len(loaded.rfm):,} customers: {len(loaded.rfm) - len(features):,} are VIP tiers "
         f"(outside the IQR fences) and {len(features):,} are clustered with K-Means on "
         "standardised recency, frequency and monetary.")

# -- evidence for k ----------------------------------------------------------------------
st.subheader("Choosing k")
max_k = min(max(DEFAULT_KS), len(features) - 1)
run = False
if max_k < 2:  # the sweep compares k = 2.. n-1: not possible, but retraining below still is
    st.info(f"Only {len(features)} customers are left to cluster: the k-sweep needs at least 3. "
            f"You can still retrain below with k from 2 to {len(features)}.")
else:
    with st.form("sweep"):
        low, high = st.slider("k range", 2, max(max_k, 3), (2, max_k), key="sweep_range")
        run = st.form_submit_button("Run the k-sweep", icon=":material/play_arrow:")
    ks = list(range(low, high + 1))
if max_k >= 2 and (run or len(features) <= AUTO_SWEEP_CUSTOMERS):
    bar = st.progress(0.0, text="k-sweep...")
    with render.engine_errors():
        table, knee, recommended, reason = state.sweep(
            loaded, features, ks,
            progress=lambda done, total, k: bar.progress(done / total, text=f"k-sweep: fitted k={k} "
                                                                              f"({done}/{total})"))
    bar.empty()
    st.session_state["recommended_k"] = recommended
    render.plot(charts.elbow_chart(table, knee, recommended), key="elbow")
    render.plot(charts.cluster_metric_charts(table, recommended), key="metrics")
    st.success(f"Recommended k = {recommended}: {reason}.")
    with st.expander("Sweep table"):
        st.dataframe(table, hide_index=True, width="stretch")
elif max_k >= 2:
    st.info(f"{len(features):,} customers to cluster: press 'Run the k-sweep' to compute the evidence "
            f"(each k is fitted on a sample of at most {FIT_SAMPLE:,} customers).")

# -- retrain -------------------------------------------------------------------------------
st.subheader("Retrain and save")
with st.form("retrain"):
    k_max = max(2, min(50, len(features)))  # K-Means fits any k up to the customers it clusters
    k = st.number_input("k (clusters)", min_value=2, max_value=k_max,
                        value=min(k_max, int(st.session_state.get("recommended_k", active.model.config.k))),
                        step=1, key="retrain_k")
    if st.form_submit_button("Train and save a new version", type="primary", icon=":material/save:"):
        with st.spinner(f"Training k={k} and saving..."), render.engine_errors():
            version = state.retrain(loaded, int(k))
        st.session_state["clusters_flash"] = (f"Saved {version} (k={k}) in {state.model_dir()} "
                                              "and made it current.")
        st.rerun()
if "clusters_flash" in st.session_state:
    st.success(st.session_state.pop("clusters_flash"))

st.caption(f"In use: **{active.version or 'unsaved model'}** (k={active.model.config.k}), {active.why}.")
versions = state.store().versions()
if versions:
    current = state.store().current()
    rows = [{"version": v.version, "created": v.created_at, "k": v.k,
             "silhouette": render.nan_to_none(v.manifest.get("metrics", {}).get("silhouette")),
             "customers": v.manifest.get("metrics", {}).get("customers"),
             "data": v.manifest.get("data_source", ""),
             "trained on this data": v.manifest.get("training_fingerprint") == loaded.fingerprint,
             "current": v.version == current} for v in reversed(versions)]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"silhouette": st.column_config.NumberColumn(format="%.3f")})
    with st.form("switch"):
        names = [r["version"] for r in rows]
        chosen = st.selectbox("Version", names, index=names.index(current) if current in names else 0)
        if st.form_submit_button("Make current", icon=":material/swap_horiz:"):
            try:
                state.pin_version(chosen)
                st.rerun()
            except SegmentationError as exc:
                st.error(str(exc))
else:
    st.caption(f"No saved versions yet in {state.model_dir()}.")

# -- the segments in R/F/M space ----------------------------------------------------------
st.subheader("Segments in R/F/M space")
with render.engine_errors():
    seg = state.current_segments(loaded, active)
log = st.toggle("Log scale", value=True, key="clusters_log")
points = render.sampled(seg)
render.plot(charts.segment_scatter_3d(points, log=log), key="scatter3d")
render.plot(charts.segment_violins(points, log=log), key="violins")
st.markdown("**Centroids** (original units)")
st.dataframe(active.model.centroids_.round(2), hide_index=True, width="stretch")
