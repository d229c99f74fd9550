"""Data: is my file read right? Load a file, see the decisions in plain words, change any of them."""

from dataclasses import replace

import streamlit as st

from core.cleaning import PRESETS, RETURNS_CHOICES, RULES
from core.columns import REQUIRED_ROLES, ROLES, MissingRoleError
from core.errors import SegmentationError
from core.io import ALL_SHEETS, SUPPORTED
from core.statuses import UnknownStatusError
from core.values import ReadingError
from ui import files, questions, reading, render, session, uploads

NONE = "(none)"
AUTO = "auto"
DECIMALS = {AUTO: "decided from the file", ",": "comma: 12,50", ".": "point: 12.50"}
DATE_ORDERS = {
    AUTO: "decided from the file",
    "dayfirst": "day-first: 31/12/2024",
    "monthfirst": "month-first: 12/31/2024",
}
ROLE_HELP = {
    "customer": "the column that identifies the customer (an ID, else an e-mail)",
    "date": "the purchase date",
    "amount": "what the customer paid per line or order (or map both quantity and price)",
}
st.title("Data")
st.write(
    "Load transactions (one line per purchased item), then check that they were read right: "
    "who the customers are, when they bought, what each line is worth and which rows were left "
    "out."
)

# -- where the data comes from -----------------------------------------------------------
upload_tab, server_tab, sample_tab = st.tabs(["Upload a file", "Server data folder", "Sample data"])
with upload_tab:
    limit = uploads.upload_limit_mb()
    uploaded = st.file_uploader(
        f"CSV, TSV, Excel (.xlsx .xls .xlsb .ods) or Parquet, up to {limit} MB",
        type=[s.lstrip(".") for s in SUPPORTED],
        key="upload",
    )
    st.caption(
        f"Uploads are limited to {limit} MB (server.maxUploadSize in "
        ".streamlit/config.toml). For larger files use the server data folder."
    )
    if uploaded is not None and session.uploaded_id() != uploaded.file_id:
        upload_error = None
        with st.status(f"Loading {render.escape_markdown(uploaded.name)}...", expanded=False) as status:
            try:
                files.load_bytes(uploaded.name, uploaded.getvalue())
                session.set_uploaded_id(uploaded.file_id)
                status.update(label=f"Loaded {render.escape_markdown(uploaded.name)}", state="complete")
            except SegmentationError as exc:
                upload_error = exc
                status.update(label=f"Could not load {render.escape_markdown(uploaded.name)}", state="error")
        if upload_error is None:
            st.rerun()  # the sidebar and the widgets below follow the new file
        # the reason, in view (not folded inside the status)
        st.error(render.escape_markdown(str(upload_error)))

with server_tab:
    folder = uploads.data_dir()
    on_server = uploads.server_files()
    st.caption(
        f"Files in the server folder `{folder}` (environment variable RFM_DATA_DIR): "
        "for files larger than the upload limit. They are scanned where they lie."
    )
    if on_server:
        with st.form("server_file"):
            chosen = st.selectbox("File", [p.name for p in on_server])
            if st.form_submit_button("Open", icon=":material/folder_open:"):
                open_error = None
                with st.status(f"Opening {render.escape_markdown(chosen)}...", expanded=False) as status:
                    try:
                        files.load_path(folder / chosen)
                        status.update(label=f"Opened {render.escape_markdown(chosen)}", state="complete")
                    except SegmentationError as exc:
                        open_error = exc
                        status.update(label=f"Could not open {render.escape_markdown(chosen)}", state="error")
                if open_error is None:
                    st.rerun()
                st.error(render.escape_markdown(str(open_error)))
    else:
        st.info(f"No {', '.join(SUPPORTED)} files in `{folder}`.")

with sample_tab:
    st.write(
        "A sample of the UCI Online Retail II data set (CC BY 4.0): real, messy "
        "transactions of a UK gift retailer, two sheets."
    )
    if st.button("Use the sample data", icon=":material/dataset:"):
        with st.spinner("Loading the sample..."), render.engine_errors():
            files.load_sample()
        st.rerun()

# -- the loaded file -----------------------------------------------------------------------
src = files.source()
render.lost_upload_notice()
with render.engine_errors():
    info = files.current_info()
st.subheader(f"Loaded: {render.escape_markdown(src.name)}")
st.caption(
    f"{info.kind} file, {src.size / 2**20:,.1f} MiB, {len(info.columns)} columns "
    f"({render.escape_markdown(', '.join(info.columns))}) · source: {src.origin}"
)
gen = session.generation()


def _key(name: str) -> str:
    """The key of this generation's control ``name`` (see ui.session.form_key)."""
    return session.form_key(name, gen)


settings = files.settings()
reading.profile_control(info, settings)
with st.status("Cleaning and computing RFM...", expanded=False) as status:
    try:
        loaded, error = files.current(), None
        status.update(label=f"RFM computed: {len(loaded.rfm):,} customers", state="complete")
    except SegmentationError as exc:
        loaded, error = None, exc
        status.update(label="These settings do not give an RFM table", state="error")

code = render.currency_picker(render.file_currency_or_none())
missing_roles = error.roles if isinstance(error, MissingRoleError) else ()
reading_error = error if isinstance(error, ReadingError) else None
unknown_status = error if isinstance(error, UnknownStatusError) else None
readings = loaded.result.readings if loaded is not None else None

# -- the question first: is my file read right? ----------------------------------------------
st.markdown("#### Is my file read right?")
if unknown_status is not None:  # asked before any number, as a missing role is
    questions.ask_statuses(unknown_status, settings, code)
elif loaded is None:
    st.error(
        "Not yet: these settings do not give customers to analyse. "
        + (
            "See the control marked in red below."
            if missing_roles or reading_error is not None
            else str(error)
        )
    )
else:
    result, audit = loaded.result, loaded.result.audit
    c = st.columns(5)
    c[0].metric("Rows read", f"{audit.rows_in:,}")
    c[1].metric("Rows kept", f"{audit.rows_out:,}", help=render.help_for("cleaning_rule"))
    c[2].metric("Customers", f"{audit.customers_out:,}")
    render.money_metric(c[3], "Revenue", loaded.rfm["monetary"].sum(), code, help=render.help_for("monetary"))
    c[4].metric("As of", f"{result.as_of:%Y-%m-%d}", help=render.help_for("as_of"))
    used = settings.mapping_dict
    esc = render.escape_markdown
    removed = [
        (row["description"].removeprefix("removed: "), -int(row["rows"]))
        for _, row in audit.to_frame().iterrows()
        if str(row["description"]).startswith("removed") and row["rows"] < 0
    ]
    dropped = audit.rows_in - audit.rows_out
    lines = [
        f"- **Customers** are told apart by the column *{esc(used.get('customer'))}*.",
        f"- **Purchase dates** come from *{esc(used.get('date'))}*: from "
        f"{result.first_purchase:%Y-%m-%d} to {result.last_purchase:%Y-%m-%d}."
        + (f" {esc(readings.date.describe())}." if readings is not None and readings.date else ""),
        f"- **Each line is worth** {esc(audit.line_value)}"
        + (f", in {esc(code)}." if code else " (no currency stated: choose one in the sidebar).")
        + "".join(
            f" {esc(n.describe())}." for n in (readings.numbers if readings else ()) if n.decimal is not None
        ),  # text numbers: say which mark was decided
        (
            f"- **Orders** are counted by the invoice column *{esc(used['invoice'])}*."
            if used.get("invoice")
            else "- **Orders** are counted by purchase time (no invoice column is mapped)."
        ),
        (
            f"- **Left out**: {dropped:,} of {audit.rows_in:,} rows "
            f"({dropped / max(audit.rows_in, 1):.0%}): "
            + "; ".join(f"{n:,} {esc(what.lower())}" for what, n in removed)
            + "."
            if removed
            else "- **Left out**: no rows; every row is a usable sale."
        ),
        f"- **Figures are counted to** {result.as_of:%Y-%m-%d %H:%M}"
        + (" (the latest purchase)." if settings.as_of is None else " (your date)."),
    ]
    st.markdown("\n".join(lines))
    st.markdown("**How the file was read**")
    questions.reading_summary(result, code, info)
    st.caption("Something wrong? Change it below and press Apply.")

st.subheader("Change how the file is read")
if info.sheets:
    choices = [*info.sheets, ALL_SHEETS] if len(info.sheets) > 1 else list(info.sheets)
    sheet = st.selectbox(
        "Sheet",
        choices,
        index=choices.index(info.sheet),
        key=_key("sheet"),
        format_func=lambda s: "All sheets (stacked)" if s == ALL_SHEETS else s,
        help="All sheets: the sheets stacked, when they have the same columns.",
    )
    if sheet != info.sheet:
        with render.engine_errors():
            files.select_sheet(sheet)
        st.rerun()
questions.header_row_control(info, settings, gen)


def _init(name: str, value) -> None:
    """Seed a control's value from the settings unless the user already changed it."""
    session.seed_widget(_key(name), value)


def _apply_preset():
    preset = PRESETS[session.widget_value(_key("preset"))]
    for name in RULES:
        session.set_widget_value(_key(f"rule_{name}"), name in preset)


preset_guess = next((p for p, rules in PRESETS.items() if set(rules) == set(settings.rules)), None)
_init("preset", preset_guess or info.preset)
st.selectbox(
    "Cleaning preset",
    list(PRESETS),
    key=_key("preset"),
    on_change=_apply_preset,
    help=render.help_for("preset") + f" Suggested for this file: {info.preset}. "
    "'online-retail' adds the invoice and stock-code rules for files shaped like "
    "the UCI Online Retail data.",
)


def _role_problem(role: str) -> str | None:
    """What is wrong with a role's column, said next to its selectbox."""
    if role in missing_roles:
        return f"{src.name}: cannot find the {role} column; choose {ROLE_HELP.get(role, 'its column')}."
    if reading_error is not None and reading_error.control == "date" and role == "date":
        return reading_error.reason[0].upper() + reading_error.reason[1:] + ": choose another column."
    return None


with st.form("settings_form"):
    map_side, preview_side = st.columns([3, 2])
    with map_side:
        st.markdown("**Column mapping** (detected; override any role)")
        options = [NONE, *info.columns]
        mapping = settings.mapping_dict
        chosen = {}
        # Required roles first, row by row: on a phone the columns stack in this order.
        ordered = sorted(ROLES, key=lambda role: role not in REQUIRED_ROLES)
        for i, role in enumerate(ordered):
            _init(f"map_{role}", mapping.get(role) if mapping.get(role) in info.columns else NONE)
            required = " (required)" if role in REQUIRED_ROLES else ""
            if i % 3 == 0:
                cols = st.columns(3)
            with cols[i % 3]:
                chosen[role] = st.selectbox(f"{role}{required}", options, key=_key(f"map_{role}"))
                problem = _role_problem(role)
                if problem:
                    st.error(render.escape_markdown(problem))
        if loaded is not None:
            a = loaded.result.audit
            both = mapping.get("amount") and mapping.get("quantity") and mapping.get("price")
            st.caption(
                f"Line value: {render.escape_markdown(a.line_value)}"
                + (" (the amount wins over quantity x price)" if both else ""),
                help=render.help_for("line_value"),
            )
        else:
            st.caption(
                "Line value: the amount column when mapped (it wins), else quantity x price.",
                help=render.help_for("line_value"),
            )
    with preview_side:
        st.markdown(f"**First rows of {render.escape_markdown(src.name)}**")
        with render.engine_errors():
            st.dataframe(files.current_preview(), hide_index=True, height=320)

    st.markdown("**Reading values** (decided over each whole column; choose to override)")
    dec_col, date_col = st.columns(2)
    _init("decimal", settings.decimal or AUTO)
    decimal = dec_col.selectbox(
        "Decimal mark of text numbers",
        list(DECIMALS),
        format_func=DECIMALS.get,
        key=_key("decimal"),
        help=render.help_for("decimal_mark"),
    )
    if reading_error is not None and reading_error.control == "decimal":
        dec_col.error(
            render.escape_markdown(
                reading_error.reason[0].upper() + reading_error.reason[1:] + ": choose the decimal mark here."
            )
        )
    elif readings is not None:
        for n in readings.numbers:
            dec_col.caption(render.escape_markdown(n.describe()))
    _init("date_format", settings.date_format or AUTO)
    date_format = date_col.selectbox(
        "Order of dates that fit both (03/04/2024)",
        list(DATE_ORDERS),
        format_func=DATE_ORDERS.get,
        key=_key("date_format"),
        help=render.help_for("date_order"),
    )
    if readings is not None and readings.date is not None:
        if readings.date.ambiguous:
            date_col.warning(render.escape_markdown(readings.date.describe()))
        else:
            date_col.caption(render.escape_markdown(readings.date.describe()))

    status_values = loaded.result.audit.status_values if loaded is not None else ()
    decided_sales, decided_not = [], []
    if mapping.get("status") and status_values:
        st.markdown(
            f"**Status values** (column '{render.escape_markdown(mapping['status'])}'): "
            "which ones are not a sale"
        )
        decided_sales, decided_not = questions.status_editor(status_values, settings, gen)
    drop_duplicates = questions.drop_duplicates_control(settings, gen)

    st.markdown("**Cleaning rules** (run in order; each row is counted against the first rule it fails)")
    rule_cols = st.columns(2)
    enabled = []
    for i, (name, rule) in enumerate(RULES.items()):
        _init(f"rule_{name}", name in settings.rules)
        needs = f" · needs the {rule.needs} column" if rule.needs else ""
        if rule_cols[i % 2].checkbox(rule.label, key=_key(f"rule_{name}"), help=rule.description + needs):
            enabled.append(name)

    left, right = st.columns(2)
    _init("returns", settings.returns)
    returns = left.radio(
        "Returns",
        RETURNS_CHOICES,
        key=_key("returns"),
        horizontal=True,
        format_func={"drop": "dropped", "net": "netted against monetary"}.get,
        help=render.help_for("returns"),
    )
    latest = loaded.result.last_purchase if loaded is not None else None
    _init("as_of_latest", settings.as_of is None)
    use_latest = right.checkbox(
        "As of the latest purchase" + (f" ({latest:%Y-%m-%d %H:%M})" if latest else ""),
        key=_key("as_of_latest"),
        help=render.help_for("as_of"),
    )
    _init("as_of", settings.as_of.date() if settings.as_of else latest.date() if latest else None)
    as_of = right.date_input("or as of this date (from its midnight)", key=_key("as_of"))
    submitted = st.form_submit_button("Apply", type="primary", icon=":material/check:")

if submitted:
    new = replace(
        settings,
        mapping=tuple((role, None if chosen[role] == NONE else chosen[role]) for role in ROLES),
        rules=tuple(enabled),
        returns=returns,
        as_of=None if use_latest or as_of is None else as_of.isoformat(),
        decimal=None if decimal == AUTO else decimal,
        date_format=None if date_format == AUTO else date_format,
        drop_duplicates=drop_duplicates,
    )
    session.set_settings(questions.decide(new, decided_sales, decided_not))
    st.rerun()

# -- the result of the settings ------------------------------------------------------------
if loaded is None:
    if unknown_status is not None:
        st.info("Say above what each status value is, then the figures appear.")
    elif missing_roles or reading_error is not None:
        st.error("These settings do not give an RFM table yet: see the control marked above.")
    else:
        st.error(render.escape_markdown(str(error)))
    st.caption("Change the mapping, the reading choices or the rules above and press Apply.")
    st.stop()

audit = loaded.result.audit
st.markdown(
    "**Rows left out, by rule** (each row is counted against the first rule it fails)",
    help=render.help_for("cleaning_rule"),
)
# Counts as people say them: "Removed: Price <= 0 · 2" (the CSV/CLI audit keeps -2).
steps = audit.to_frame()
steps = steps.assign(
    description=steps["description"].str.replace(r"^removed: ", "Removed: ", regex=True),
    rows=steps["rows"].abs(),
)
st.dataframe(
    steps,
    hide_index=True,
    width="stretch",
    column_order=("description", "rows"),  # the step key is for the CSV/CLI audit
    column_config={
        "description": st.column_config.TextColumn("What"),
        "rows": st.column_config.NumberColumn("Rows", format="%,d"),
    },
)
for note in audit.notes():
    st.caption(note)
