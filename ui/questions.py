"""The Data page's questions and controls for statuses, duplicates and the header row, and the
summary of how the file was read (core.summary), in Streamlit widgets.

A status value the product does not know is asked here before any number is shown, as a
missing role is: each value with its lines and revenue, pre-filled with a suggestion
(core.statuses.suggested_verdict), one click to confirm.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from core.money import format_money
from core.statuses import (
    NOT_SALE,
    SALE,
    UnknownStatusError,
    normalise_status,
    status_verdict,
    suggested_verdict,
)
from core.summary import Context, how_read
from ui import engine, files, render, session

VERDICT_LABELS = {SALE: "a completed sale", NOT_SALE: "not a sale"}


def decide(settings: session.Settings, sales=(), not_sales=()) -> session.Settings:
    """The settings with status values decided: ``sales`` count, ``not_sales`` do not (a
    value moves from one list to the other when decided again)."""
    sales = {normalise_status(v) for v in sales}
    not_sales = {normalise_status(v) for v in not_sales}
    keep_sales = [v for v in settings.sale_statuses if v not in not_sales]
    keep_not = [v for v in settings.not_sale_statuses if v not in sales]
    return replace(
        settings,
        sale_statuses=tuple(dict.fromkeys([*keep_sales, *sorted(sales)])),
        not_sale_statuses=tuple(dict.fromkeys([*keep_not, *sorted(not_sales)])),
    )


def ask_statuses(error: UnknownStatusError, settings: session.Settings, code: str | None) -> None:
    """Ask what each unknown status value is (pre-filled), before any number; Confirm applies."""
    st.warning(
        f"The status column *{render.escape_markdown(error.column)}* holds values this "
        "app does not know. Say what each one is: no number is shown until then."
    )
    with st.form("status_question"):
        chosen = {}
        for count in error.unknown:
            revenue = format_money(count.revenue, code)
            chosen[count.value] = st.radio(
                f"'{count.value}': {count.lines:,} lines, {revenue}",
                (SALE, NOT_SALE),
                index=(SALE, NOT_SALE).index(suggested_verdict(count.value)),
                format_func=VERDICT_LABELS.get,
                horizontal=True,
                key=f"status_answer_{normalise_status(count.value)}",
            )
        if st.form_submit_button("Confirm", type="primary", icon=":material/check:"):
            session.set_settings(
                decide(
                    settings,
                    [v for v, c in chosen.items() if c == SALE],
                    [v for v, c in chosen.items() if c == NOT_SALE],
                )
            )
            st.rerun()


def status_editor(status_values, settings: session.Settings, gen: int) -> tuple[list, list]:
    """Inside the settings form: which of the file's status values are not a sale (pre-filled
    with the verdicts in use), and the table of values, lines and revenue. Returns the values
    (as written) to decide as sales and as not sales on Apply."""
    values = [c.value for c in status_values]
    key = session.form_key("not_sale", gen)
    session.seed_widget(key, [c.value for c in status_values if c.verdict == NOT_SALE])
    removed = st.multiselect(
        "Not a completed sale (removed)",
        values,
        key=key,
        help="Every other value counts as a sale. Known values are "
        "pre-filled from a vocabulary in seven languages and the "
        "platforms' own words (wc-on-hold, Annulé, Storniert, ...).",
    )
    if status_values:
        st.dataframe(  # the decision next to the value: a phone shows those two first
            [
                {
                    "status": c.value,
                    "counts as a sale": c.verdict == SALE,
                    "lines": c.lines,
                    "revenue": c.revenue,
                }
                for c in status_values
            ],
            hide_index=True,
            width="stretch",
        )
    changed_sales = [
        v
        for v in values
        if v not in removed and status_verdict(v, settings.sale_statuses, settings.not_sale_statuses) != SALE
    ]
    changed_not = [
        v
        for v in values
        if v in removed and status_verdict(v, settings.sale_statuses, settings.not_sale_statuses) != NOT_SALE
    ]
    return changed_sales, changed_not


def header_row_control(info: engine.FileInfo, settings: session.Settings, gen: int) -> None:
    """The row the header is read from (found; change it to read another row): re-reads the file."""
    row = st.number_input(
        "Header row",
        min_value=1,
        value=settings.header_row or info.header_row,
        step=1,
        key=session.form_key("header_row", gen),
        help="The row that names the columns. Title rows above it are "
        "skipped; found from the file, change it if it is wrong.",
    )
    if int(row) != info.header_row:
        with render.engine_errors():
            files.select_header_row(int(row))
        st.rerun()


def drop_duplicates_control(settings: session.Settings, gen: int) -> bool:
    """Inside the settings form: drop every exact copy of a line."""
    key = session.form_key("drop_duplicates", gen)
    session.seed_widget(key, settings.drop_duplicates)
    return st.checkbox(
        "Drop exact duplicate lines",
        key=key,
        help="Copies of a line whose order ID must be unique (one row per order) "
        "are always removed. Other exact copies are kept, as a shop may list "
        "the same item twice; tick to remove them too.",
    )


def reading_summary(result, code: str | None, info: engine.FileInfo) -> None:
    """The summary of how the file was read (core.summary), one bullet per topic."""
    context = Context(
        profile=info.profile,
        reading=tuple(result.reading),
        currency=code,
        currency_source=(
            "the file's Currency column"
            if code and code == info.currency
            else "your choice in the sidebar"
            if code
            else None
        ),
        app=True,
    )
    st.markdown("\n".join(f"- {render.escape_markdown(s)}" for s in how_read(result, context)))
