"""Pages and ui helpers reach the session only through ui/session.py (issue 17, item 6): no
other module of pages/ or ui/ names ``session_state``, and no other module writes one of the
session's keys as a literal (each is named once, in ui/session.py)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SESSION = ROOT / "ui" / "session.py"
MODULES = sorted(
    p
    for p in [*ROOT.glob("pages/*.py"), *ROOT.glob("ui/*.py"), ROOT / "streamlit_app.py", ROOT / "app.py"]
    if p != SESSION
)


def _session_state_uses(source: str) -> list[str]:
    """Each node of ``source`` that names session_state (an attribute, a name, an import)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "session_state":
            found.append(ast.unparse(node))
        elif isinstance(node, ast.Name) and node.id == "session_state":
            found.append(node.id)
        elif isinstance(node, ast.ImportFrom):
            found += [f"import {a.name}" for a in node.names if a.name == "session_state"]
    return found


def _session_keys() -> set[str]:
    """The string constants ui/session.py defines at module level (the session's keys)."""
    keys = set()
    for node in ast.parse(SESSION.read_text(encoding="utf-8")).body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            and node.targets[0].id.isupper()
        ):
            keys.add(node.value.value)
    return keys


def test_only_ui_session_touches_session_state():
    offenders = {
        p.relative_to(ROOT).as_posix(): uses
        for p in MODULES
        if (uses := _session_state_uses(p.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_the_check_sees_every_way_of_naming_session_state():
    source = (
        "import streamlit as st\nfrom streamlit import session_state\n"
        "st.session_state['k'] = 1\nx = session_state.get('k')\n"
    )
    assert sorted(_session_state_uses(source)) == [
        "import session_state",
        "session_state",
        "st.session_state",
    ]
    assert _session_state_uses("st.write(state)\n") == []


def test_each_session_key_is_named_only_in_ui_session():
    keys = _session_keys()
    assert {
        "loaded_source",
        "analysis_settings",
        "pinned_version",
        "segment_grid",
        "currency_choice",
        "preview_k",
        "lookup_id",
    } <= keys
    offenders = {}
    for path in MODULES:
        literals = {
            n.value
            for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        }
        if literals & keys:
            offenders[path.relative_to(ROOT).as_posix()] = sorted(literals & keys)
    assert offenders == {}
