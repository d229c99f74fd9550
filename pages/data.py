"""Data: load a file, map its columns, choose the cleaning rules and the as-of date."""
from dataclasses import replace
from datetime import date

import streamlit as st

from core.cleaning import PRESETS, RETURNS_CHOICES, RULES
from core.columns import ROLES
from core.errors import SegmentationError
from core.io import ALL_SHEETS, SUPPORTED
from ui import render, state

NONE = "(none)"
st.title("Data")
st.write("Load transactions (one line per purchased item), check how the columns were "
         "understood and which rows the cleaning rules remove.")

# -- where the data comes from -----------------------------------------------------------
upload_tab, server_tab, sample_tab = st.tabs(["Upload a file", "Server data folder", "Sample data"])
with upload_tab:
    limit = state.upload_limit_mb()
    uploaded = st.file_uploader(
        f"CSV, TSV, Excel (.xlsx .xls .xlsb .ods) or Parquet, up to {limit} MB",
        type=[s.lstrip(".") for s in SUPPORTED], key="upload")
    st.caption(f"Uploads are limited to {limit} MB (server.maxUploadSize in "
               ".streamlit/config.toml). For larger files use the server data folder.")
    if uploaded is not None and st.session_state.get("uploaded_id") != uploaded.file_id:
        with st.status(f"Loading {uploaded.name}...", expanded=False) as status:
            try:
                state.load_bytes(uploaded.name, uploaded.getvalue())
                st.session_state["uploaded_id"] = uploaded.file_id
                status.update(label=f"Loaded {uploaded.name}", state="complete")
                st.rerun()  # the sidebar and the widgets below follow the new file
            except SegmentationError as exc:
                status.update(label="Could not load the file", state="error")
                st.error(str(exc))

with server_tab:
    folder = state.data_dir()
    files = state.server_files()
    st.caption(f"Files in the server folder `{folder}` (environment variable RFM_DATA_DIR): "
               "for files larger than the upload limit. They are scanned where they lie.")
    if files:
        with st.form("server_file"):
            chosen = st.selectbox("File", [p.name for p in files])
            if st.form_submit_button("Open", icon=":material/folder_open:"):
                with st.status(f"Opening {chosen}...", expanded=False) as status:
                    try:
                        state.load_path(folder / chosen)
                        status.update(label=f"Opened {chosen}", state="complete")
                        st.rerun()
                    except SegmentationError as exc:
                        status.update(label="Could not open the file", state="error")
                        st.error(str(exc))
    else:
        st.info(f"No {', '.join(SUPPORTED)} files in `{folder}`.")

with sample_tab:
    st.write("A sample of the UCI Online Retail II data set (CC BY 4.0): real, messy "
             "transactions of a UK gift retailer, two sheets.")
    if st.button("Use the sample data", icon=":material/dataset:"):
        with st.spinner("Loading the sample..."), render.engine_errors():
            state.load_sample()
        st.rerun()

# -- the loaded file -----------------------------------------------------------------------
src = state.source()
with render.engine_errors():
    info = state.current_info()
st.subheader(f"Loaded: {src.name}")
st.caption(f"{info.kind} file, {src.size / 2**20:,.1f} MiB, {len(info.columns)} columns "
           f"({', '.join(info.columns)}) · source: {src.origin}")
gen = st.session_state.get("generation", 0)
settings = state.settings()
with st.status("Cleaning and computing RFM...", expanded=False) as status:
    try:
        loaded, error = state.current(), None
        status.update(label=f"RFM computed: {len(loaded.rfm):,} customers", state="complete")
    except SegmentationError as exc:
        loaded, error = None, exc
        status.update(label="These settings do not give an RFM table", state="error")

if info.sheets:
    choices = [*info.sheets, ALL_SHEETS] if len(info.sheets) > 1 else list(info.sheets)
    sheet = st.selectbox("Sheet", choices, index=choices.index(info.sheet), key=f"sheet_{gen}",
                         format_func=lambda s: "All sheets (stacked)" if s == ALL_SHEETS else s,
                         help="All sheets: the sheets stacked, when they have the same columns.")
    if sheet != info.sheet:
        with render.engine_errors():
            state.select_sheet(sheet)
        st.rerun()


def _init(key, value):
    """Seed a widget's value from the settings unless the user already changed it."""
    if key not in st.session_state:
        st.session_state[key] = value


def _apply_preset():
    for name in RULES:
        st.session_state[f"rule_{name}_{gen}"] = name in PRESETS[st.session_state[f"preset_{gen}"]]


preset_guess = next((p for p, rules in PRESETS.items() if set(rules) == set(settings.rules)), None)
_init(f"preset_{gen}", preset_guess or info.preset)
st.selectbox("Cleaning preset", list(PRESETS), key=f"preset_{gen}", on_change=_apply_preset,
             help=f"Suggested for this file: {info.preset}. 'online-retail' adds the invoice and "
                  "stock-code rules for files shaped like the UCI Online Retail data.")

with st.form("settings_form"):
    st.markdown("**Column mapping** (detected; override any role)")
    options = [NONE, *info.columns]
    mapping = settings.mapping_dict
    cols = st.columns(4)
    chosen = {}
    for i, role in enumerate(ROLES):
        key = f"map_{role}_{gen}"
        _init(key, mapping.get(role) if mapping.get(role) in info.columns else NONE)
        required = " (required)" if role in ("customer", "date") else ""
        chosen[role] = cols[i % 4].selectbox(f"{role}{required}", options, key=key)
    st.caption("Line value = quantity x price, or the amount column when quantity/price are unmapped.")

    st.markdown("**Cleaning rules** (run in order; each row is counted against the first rule it fails)")
    rule_cols = st.columns(2)
    enabled = []
    for i, (name, rule) in enumerate(RULES.items()):
        key = f"rule_{name}_{gen}"
        _init(key, name in settings.rules)
        needs = f" · needs the {rule.needs} column" if rule.needs else ""
        if rule_cols[i % 2].checkbox(rule.label, key=key, help=rule.description + needs):
            enabled.append(name)

    left, right = st.columns(2)
    _init(f"returns_{gen}", settings.returns)
    returns = left.radio("Returns", RETURNS_CHOICES, key=f"returns_{gen}", horizontal=True,
                         format_func={"drop": "dropped", "net": "netted against monetary"}.get)
    latest = loaded.result.last_purchase if loaded is not None else None
    _init(f"as_of_latest_{gen}", settings.as_of is None)
    use_latest = right.checkbox(
        "As of the latest purchase" + (f" ({latest:%Y-%m-%d %H:%M})" if latest else ""),
        key=f"as_of_latest_{gen}", help="Recency is counted to the as-of date.")
    _init(f"as_of_{gen}", date.fromisoformat(settings.as_of[:10]) if settings.as_of
          else latest.date() if latest else None)
    as_of = right.date_input("or as of this date (from its midnight)", key=f"as_of_{gen}")
    submitted = st.form_submit_button("Apply", type="primary", icon=":material/check:")

if submitted:
    new = replace(settings,
                  mapping=tuple((role, None if chosen[role] == NONE else chosen[role]) for role in ROLES),
                  rules=tuple(enabled), returns=returns,
                  as_of=None if use_latest or as_of is None else as_of.isoformat())
    state.set_settings(new)
    st.rerun()

# -- the result of the settings ------------------------------------------------------------
if loaded is None:
    st.error(str(error))
    st.caption("Change the mapping or the rules above and press Apply.")
    st.stop()

result = loaded.result
audit = result.audit
c = st.columns(4)
c[0].metric("Rows read", f"{audit.rows_in:,}")
c[1].metric("Rows kept", f"{audit.rows_out:,}")
c[2].metric("Customers", f"{audit.customers_out:,}")
c[3].metric("As of", f"{result.as_of:%Y-%m-%d}", help=f"{result.as_of:%Y-%m-%d %H:%M}")
st.caption(f"Purchases from {result.first_purchase:%Y-%m-%d} to {result.last_purchase:%Y-%m-%d}; "
           f"as-of is {'the latest purchase (default)' if state.settings().as_of is None else 'your date'}.")
st.markdown("**Cleaning audit** (rows removed by each rule)")
st.dataframe(audit.to_frame(), hide_index=True, width="stretch")
