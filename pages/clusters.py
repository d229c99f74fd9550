"""Clusters: how many groups, and is that a good number? Preview a k, save it, make it current."""

import pandas as pd
import streamlit as st

from core import charts
from core.clustering import DEFAULT_KS, FIT_SAMPLE
from core.errors import SegmentationError
from core.outliers import assign_tiers, iqr_fences
from ui import access, models, render, session

AUTO_SWEEP_CUSTOMERS = 50_000  # above this the sweep waits for the button

st.title("Clusters")
loaded = render.loaded_or_stop()
try:
    active = models.active_model(loaded)
except SegmentationError as exc:  # e.g. a tiny file: say what is possible, keep k reachable
    st.error(render.escape_markdown(str(exc)))
    to_cluster = int(assign_tiers(loaded.rfm, iqr_fences(loaded.rfm)).isna().sum())
    if to_cluster < 2:
        st.info(
            f"Clustering is not possible here: {to_cluster} of {len(loaded.rfm):,} customers "
            "are inside the IQR fences, and K-Means needs at least 2. The RFM page still "
            "works; Segments, Movement and Customer lookup need a fitted model, so they do "
            "not work on this file: load more data to cluster."
        )
        st.stop()
    st.markdown("#### How many groups, and is that a good number?")
    st.info(
        f"{to_cluster} customers can be clustered, so k can be 2 to {min(to_cluster, 50)}"
        + (
            "; the k-sweep needs at least 3 customers."
            if to_cluster < 3
            else f"; the k-sweep can compare k from 2 to {to_cluster - 1}."
        )
        + " Pick k and train:"
    )
    with st.form("retrain_small"):
        k = st.number_input(
            "k (clusters)",
            min_value=2,
            max_value=min(to_cluster, 50),
            value=min(models.DEFAULT_K, to_cluster),
            step=1,
            key="retrain_k_small",
            help=render.help_for("k"),
        )
        token = (
            st.text_input("Admin token", type="password", key="small_token")
            if access.admin_token_required()
            else None
        )
        if st.form_submit_button(
            "Train and save a version for this session", type="primary", icon=":material/save:"
        ):
            with st.spinner(f"Training k={k} and saving..."), render.engine_errors():
                models.save_new_fit(loaded, int(k), admin_token=token)
            st.rerun()
    st.stop()
in_use_k = active.model.config.k
features = models.clustered_features(loaded.rfm, active.model)
with render.engine_errors():
    code = render.currency_picker(render.file_currency_or_none())
    seg = models.current_segments(loaded, active)

st.markdown("#### How many groups, and is that a good number?")
st.markdown(
    f"{len(loaded.rfm):,} customers: {len(loaded.rfm) - len(features):,} are VIP tiers "
    f"(far outside the usual range, kept apart) and {len(features):,} are clustered into "
    f"**{in_use_k} groups** of customers who buy alike.",
    help=render.help_for("cluster"),
)
st.info(
    f"**Model in use: {active.version or 'unsaved model'} (k={in_use_k})**, {active.why}.",
    icon=":material/model_training:",
)
st.markdown("**The groups now**: who is in each one and how they typically buy")
st.dataframe(
    render.segment_summary(seg),
    hide_index=True,
    width="stretch",
    column_config=render.segment_summary_columns(code),
)
st.caption(
    (
        "API: protected (`/api/score` needs the RFM_API_TOKEN bearer token). "
        if access.api_token_required()
        else "API: open (anyone who can reach this server can call `/api/score`; set RFM_API_TOKEN to "
        "protect it). "
    )
    + (
        "Saving versions and changing the current one: protected (needs the admin token)."
        if access.admin_token_required()
        else "Saving versions and changing the current one: open to every visitor (set "
        "RFM_ADMIN_TOKEN to protect it)."
    )
)

# -- evidence for k ----------------------------------------------------------------------
st.subheader("Is that a good number of groups?")
max_k = min(max(DEFAULT_KS), len(features) - 1)
run = False
if max_k < 2:  # the sweep compares k = 2.. n-1: not possible, but retraining below still is
    st.info(
        f"Only {len(features)} customers are left to cluster: comparing numbers of groups needs "
        f"at least 3. You can still preview k from 2 to {len(features)} below."
    )
else:
    with st.form("sweep"):
        low, high = st.slider(
            "Numbers of groups to compare (k range)",
            2,
            max(max_k, 3),
            (2, max_k),
            key="sweep_range",
            help=render.help_for("k"),
        )
        run = st.form_submit_button("Run the k-sweep", icon=":material/play_arrow:")
    ks = list(range(low, high + 1))
if max_k >= 2 and (run or len(features) <= AUTO_SWEEP_CUSTOMERS):
    bar = st.progress(0.0, text="k-sweep...")
    with render.engine_errors():
        table, knee, recommended, reason = models.sweep(
            loaded,
            features,
            ks,
            progress=lambda done, total, k: bar.progress(
                done / total, text=f"k-sweep: fitted k={k} ({done}/{total})"
            ),
        )
    bar.empty()
    session.set_recommended_k(recommended)
    if recommended == in_use_k:
        st.success(
            f"Suggested: {recommended} groups. The model in use already has k={in_use_k}: "
            "a good number for this data."
        )
    else:
        st.success(
            f"Suggested: {recommended} groups. The model in use has k={in_use_k}: "
            f"preview k={recommended} below to see what would change before saving it."
        )
    st.caption(
        f"Compared k from {ks[0]} to {ks[-1]}: the suggestion is the number past which "
        "more groups stop making the customers much more alike, while keeping the groups "
        "clearly apart."
    )
    with st.expander("How this was computed"):
        st.markdown(f"Recommended k = {recommended}: {reason}.")
        st.caption("Elbow: inertia by k.", help=render.help_for("inertia"))
        render.plot(charts.elbow_chart(table, knee, recommended), key="elbow")
        st.caption(
            "Silhouette, Calinski-Harabasz and Davies-Bouldin by k.",
            help=" ".join(render.help_for(t) for t in ("silhouette", "calinski_harabasz", "davies_bouldin")),
        )
        render.plot(charts.cluster_metric_charts(table, recommended), key="metrics")
        st.caption("Sweep table", help=render.help_for("elbow"))
        st.dataframe(table, hide_index=True, width="stretch")
        st.caption(
            f"Each k is fitted with K-Means on standardised recency, frequency and "
            f"monetary (on a sample of at most {FIT_SAMPLE:,} customers).",
            help=render.help_for("standardised"),
        )
elif max_k >= 2:
    st.info(
        f"{len(features):,} customers to cluster: press 'Run the k-sweep' to compare numbers "
        f"of groups (each k is fitted on a sample of at most {FIT_SAMPLE:,} customers)."
    )

# -- 1. preview (this session only) -----------------------------------------------------------
st.subheader("Preview another number of groups")
st.caption(
    "A preview is fitted for you only: nothing is saved and nobody else's model changes. "
    "Its clusters keep the names of the matching clusters in the model in use."
)
with st.form("preview"):
    k_max = max(2, min(50, len(features)))  # K-Means fits any k up to the customers it clusters
    k = st.number_input(
        "k (clusters)",
        min_value=2,
        max_value=k_max,
        value=min(k_max, session.recommended_k(in_use_k)),
        step=1,
        key="preview_k_input",
        help=render.help_for("k"),
    )
    if st.form_submit_button("Preview", icon=":material/visibility:"):
        session.set_preview_k(int(k))
preview = None
preview_k = session.preview_k()
if preview_k is not None:
    with st.spinner(f"Fitting k={preview_k}..."), render.engine_errors():
        preview = models.preview_model(loaded, active, preview_k)
        change = models.model_change(loaded, active, preview)
    silhouette = preview.metrics_.get("silhouette")
    preview_names = render.escape_markdown(", ".join(map(render.display_name, preview.names_)))
    st.markdown(
        f"**Preview: k={preview.config.k}** ({preview_names}). "
        f"**{change.changed:,} of {len(loaded.rfm):,} customers would change segment** "
        f"compared with the model in use ({active.version or 'unsaved'}, k={in_use_k})."
    )
    left, right = st.columns(2)
    left.markdown("Customers per segment")
    left.dataframe(
        change.counts.assign(segment=change.counts["segment"].map(render.display_name)),
        hide_index=True,
        width="stretch",
    )
    right.markdown("Who moves where (rows: now, columns: preview)")
    right.dataframe(
        change.matrix.rename(index=render.display_name, columns=render.display_name), width="stretch"
    )
    with st.expander("How this was computed"):
        st.caption(
            f"Preview silhouette: {'n/a' if silhouette is None else f'{silhouette:.3f}'}.",
            help=render.help_for("silhouette"),
        )
        st.markdown(
            "Centroid moves (original units; distance in the model in use's standardised units)",
            help=render.help_for("centroid_move"),
        )
        st.dataframe(change.moves.round(2), hide_index=True, width="stretch")

# -- 2. save, 3. make current ---------------------------------------------------------------
st.subheader("Save and make current", help=render.help_for("version"))
flash = session.take_clusters_flash()
if flash:
    st.success(flash)
if preview is not None:
    with st.form("save"):
        token = (
            st.text_input("Admin token", type="password", key="save_token")
            if access.admin_token_required()
            else None
        )
        make_current = st.checkbox(
            "Also make it current for everyone (all sessions and the API)",
            value=False,
            key="save_make_current",
        )
        if st.form_submit_button(
            f"Save the k={preview.config.k} preview as a new version", type="primary", icon=":material/save:"
        ):
            try:
                version = models.save_version(loaded, preview, make_current=make_current, admin_token=token)
            except SegmentationError as exc:
                st.error(render.escape_markdown(str(exc)))
            else:
                session.set_preview_k(None)
                session.set_clusters_flash(
                    f"Saved {version} (k={preview.config.k})"
                    + (" and made it current." if make_current else "; the current version is unchanged.")
                )
                st.rerun()
else:
    st.caption("Preview a k above to save it as a new version.")

versions = models.store().versions()
if versions:
    try:
        current = models.store().current()
    except SegmentationError as exc:
        st.error(render.escape_markdown(str(exc)))
        current = None
    rows = [
        {
            "version": v.version,
            "created": v.created_at,
            "k": v.k,
            "silhouette": render.nan_to_none((v.manifest.get("metrics") or {}).get("silhouette")),
            "customers": (v.manifest.get("metrics") or {}).get("customers"),
            "data": v.manifest.get("data_source", ""),
            "trained on this data": v.manifest.get("training_fingerprint") == loaded.fingerprint,
            "current": v.version == current,
        }
        for v in reversed(versions)
    ]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "silhouette": st.column_config.NumberColumn(format="%.3f", help=render.help_for("silhouette"))
        },
    )
    with st.form("switch"):
        names = [r["version"] for r in rows]
        chosen = st.selectbox("Version", names, index=names.index(current) if current in names else 0)
        token = (
            st.text_input("Admin token", type="password", key="switch_token")
            if access.admin_token_required()
            else None
        )
        if st.form_submit_button("Make current", icon=":material/swap_horiz:"):
            try:
                models.pin_version(chosen, admin_token=token)
            except SegmentationError as exc:
                st.error(render.escape_markdown(str(exc)))
            else:
                session.set_clusters_flash(f"{chosen} is now the current version for everyone.")
                st.rerun()
else:
    st.caption("No saved versions yet.")

# -- the segments in R/F/M space ----------------------------------------------------------
st.subheader("Where the groups sit")
st.caption(
    f"Each dot is a customer, coloured by group, under the model in use "
    f"({active.version or 'unsaved'}, k={in_use_k})."
)
log = st.toggle("Log scale", value=True, key="clusters_log")
points = render.sampled(seg)
render.plot(charts.segment_scatter_3d(points, log=log), key="scatter3d")
render.plot(charts.segment_violins(points, log=log), key="violins")
with st.expander("How this was computed"):
    st.markdown("**Centroids** (original units: days, orders, spend)", help=render.help_for("centroid"))
    st.dataframe(
        active.model.centroids_.round(2),
        hide_index=True,
        width="stretch",
        column_config={"monetary": render.money_column("monetary", code)},
    )
