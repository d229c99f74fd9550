"""The Data page's part on how a file is read: the export profile in use (stated, with a
control to change it) and the sentences of what the reading decided (core.profiles)."""

from __future__ import annotations

import streamlit as st

from core.profiles import NONE, profiles
from ui import engine, files, render, session

RECOGNISED = "(recognised from the columns)"


def _label(choice: str, recognised: str | None) -> str:
    if choice == RECOGNISED:
        return (
            f"recognised: {profiles()[recognised].title}"
            if recognised
            else "recognised: none (read by column names)"
        )
    if choice == NONE:
        return "none: read by column names"
    return profiles()[choice].title


def profile_control(info: engine.FileInfo, settings: session.Settings) -> None:
    """The export profile the file is read by, and a selectbox to choose another (or none).

    The labels do not depend on the file except the first one, whose option is a constant
    (a changed label would turn a stored choice into text, see render.currency_picker).
    """
    options = [RECOGNISED, NONE, *profiles()]
    current = settings.profile or RECOGNISED
    recognised = info.profile if settings.profile is None else None
    key = session.form_key("profile")

    def change():
        choice = session.widget_value(key)
        with render.engine_errors():
            files.select_profile(None if choice == RECOGNISED else choice)

    st.selectbox(
        "Export profile",
        options,
        index=options.index(current),
        key=key,
        on_change=change,
        format_func=lambda o: _label(o, recognised),
        help="What the export's columns mean (who the customer is, which column is the "
        "money paid, which statuses are sales). Recognised from the header; "
        "choose another, or none to read by column names (docs/FORMATS.md).",
    )
    if info.refusal:
        st.error(info.refusal)


def reading_sentences(sentences) -> None:
    """How the file was read, one caption line per decision."""
    if sentences:
        st.caption("  \n".join(render.escape_markdown(s) for s in sentences))
