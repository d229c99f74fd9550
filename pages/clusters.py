"""Clusters: choose k from evidence, preview a model, save it, make a version current."""
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
        token = (st.text_input("Admin token", type="password", key="small_token")
                 if state.admin_token_required() else None)
        if st.form_submit_button("Train and save a version for this session", type="primary",
                                 icon=":material/save:"):
            with st.spinner(f"Training k={k} and saving..."), render.engine_errors():
                state.save_new_fit(loaded, int(k), admin_token=token)
            st.rerun()
    st.stop()
in_use_k = active.model.config.k
features = state.clustered_features(loaded.rfm, active.model)
st.write(f"{len(loaded.rfm):,} customers: {len(loaded.rfm) - len(features):,} are VIP tiers "
         f"(outside the IQR fences) and {len(features):,} are clustered with K-Means on "
         "standardised recency, frequency and monetary.")
st.info(f"**Model in use: {active.version or 'unsaved model'} (k={in_use_k})**, {active.why}.",
        icon=":material/model_training:")
st.caption(
    ("API: protected (`/api/score` needs the RFM_API_TOKEN bearer token). " if state.api_token_required()
     else "API: open (anyone who can reach this server can call `/api/score`; set RFM_API_TOKEN to "
          "protect it). ")
    + ("Saving versions and changing the current one: protected (needs the admin token)."
       if state.admin_token_required()
       else "Saving versions and changing the current one: open to every visitor (set "
            "RFM_ADMIN_TOKEN to protect it)."))

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
    if recommended == in_use_k:
        st.success(f"Recommended k = {recommended}: {reason}. The model in use already has k={in_use_k}.")
    else:
        st.success(f"Recommended k = {recommended}: {reason}. The model in use has k={in_use_k}: "
                   f"preview k={recommended} below to see what would change before saving it.")
    with st.expander("Sweep table"):
        st.dataframe(table, hide_index=True, width="stretch")
elif max_k >= 2:
    st.info(f"{len(features):,} customers to cluster: press 'Run the k-sweep' to compute the evidence "
            f"(each k is fitted on a sample of at most {FIT_SAMPLE:,} customers).")

# -- 1. preview (this session only) -----------------------------------------------------------
st.subheader("Preview another k")
st.caption("A preview is fitted for you only: nothing is saved and nobody else's model changes. "
           "Its clusters keep the names of the matching clusters in the model in use.")
with st.form("preview"):
    k_max = max(2, min(50, len(features)))  # K-Means fits any k up to the customers it clusters
    k = st.number_input("k (clusters)", min_value=2, max_value=k_max,
                        value=min(k_max, int(st.session_state.get("recommended_k", in_use_k))), step=1,
                        key="preview_k_input")
    if st.form_submit_button("Preview", icon=":material/visibility:"):
        st.session_state["preview_k"] = int(k)
preview = None
if "preview_k" in st.session_state:
    with st.spinner(f"Fitting k={st.session_state['preview_k']}..."), render.engine_errors():
        preview = state.preview_model(loaded, active, st.session_state["preview_k"])
        change = state.model_change(loaded, active, preview)
    silhouette = preview.metrics_.get("silhouette")
    st.markdown(f"**Preview: k={preview.config.k}** ({', '.join(preview.names_)}); silhouette "
                f"{'n/a' if silhouette is None else f'{silhouette:.3f}'}. "
                f"**{change.changed:,} of {len(loaded.rfm):,} customers would change segment** "
                f"compared with the model in use ({active.version or 'unsaved'}, k={in_use_k}).")
    left, right = st.columns(2)
    left.markdown("Customers per segment")
    left.dataframe(change.counts, hide_index=True, width="stretch")
    right.markdown("Who moves where (rows: now, columns: preview)")
    right.dataframe(change.matrix, width="stretch")
    st.markdown("Centroid moves (original units; distance in the model in use's standardised units)")
    st.dataframe(change.moves.round(2), hide_index=True, width="stretch")

# -- 2. save, 3. make current ---------------------------------------------------------------
st.subheader("Save and make current")
if st.session_state.get("clusters_flash"):
    st.success(st.session_state.pop("clusters_flash"))
if preview is not None:
    with st.form("save"):
        token = (st.text_input("Admin token", type="password", key="save_token")
                 if state.admin_token_required() else None)
        make_current = st.checkbox("Also make it current for everyone (all sessions and the API)",
                                   value=False, key="save_make_current")
        if st.form_submit_button(f"Save the k={preview.config.k} preview as a new version",
                                 type="primary", icon=":material/save:"):
            try:
                version = state.save_version(loaded, preview, make_current=make_current,
                                             admin_token=token)
            except SegmentationError as exc:
                st.error(str(exc))
            else:
                st.session_state.pop("preview_k", None)
                st.session_state["clusters_flash"] = (
                    f"Saved {version} (k={preview.config.k})"
                    + (" and made it current." if make_current else "; the current version is unchanged."))
                st.rerun()
else:
    st.caption("Preview a k above to save it as a new version.")

versions = state.store().versions()
if versions:
    try:
        current = state.store().current()
    except SegmentationError as exc:
        st.error(str(exc))
        current = None
    rows = [{"version": v.version, "created": v.created_at, "k": v.k,
             "silhouette": render.nan_to_none((v.manifest.get("metrics") or {}).get("silhouette")),
             "customers": (v.manifest.get("metrics") or {}).get("customers"),
             "data": v.manifest.get("data_source", ""),
             "trained on this data": v.manifest.get("training_fingerprint") == loaded.fingerprint,
             "current": v.version == current} for v in reversed(versions)]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"silhouette": st.column_config.NumberColumn(format="%.3f")})
    with st.form("switch"):
        names = [r["version"] for r in rows]
        chosen = st.selectbox("Version", names, index=names.index(current) if current in names else 0)
        token = (st.text_input("Admin token", type="password", key="switch_token")
                 if state.admin_token_required() else None)
        if st.form_submit_button("Make current", icon=":material/swap_horiz:"):
            try:
                state.pin_version(chosen, admin_token=token)
            except SegmentationError as exc:
                st.error(str(exc))
            else:
                st.session_state["clusters_flash"] = f"{chosen} is now the current version for everyone."
                st.rerun()
else:
    st.caption(f"No saved versions yet in {state.model_dir()}.")

# -- the segments in R/F/M space ----------------------------------------------------------
st.subheader("Segments in R/F/M space")
st.caption(f"Under the model in use ({active.version or 'unsaved'}, k={in_use_k}).")
with render.engine_errors():
    seg = state.current_segments(loaded, active)
log = st.toggle("Log scale", value=True, key="clusters_log")
points = render.sampled(seg)
render.plot(charts.segment_scatter_3d(points, log=log), key="scatter3d")
render.plot(charts.segment_violins(points, log=log), key="violins")
st.markdown("**Centroids** (original units)")
st.dataframe(active.model.centroids_.round(2), hide_index=True, width="stretch")
