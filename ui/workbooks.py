"""The dashboard's last workbooks read, kept for the next read of the same file and sheet.

The pages read one upload several times (its columns and preview, then RFM, then again
when a setting changes), and a 1M-line sheet takes seconds to parse. ``recent_workbooks()``
is one process-wide ``RecentWorkbooks``, passed as ``workbooks=`` to core.io.read_transactions
and core.rfm.open_source. Arrow tables are immutable, so sharing one between sessions is
safe; a read is found only for the same version of the same file (core.excel.file_identity:
real path, inode, size, modification time), and two entries bound the memory held.
"""

from __future__ import annotations

import threading
from pathlib import Path

import streamlit as st

from core import excel

ENTRIES = 2  # workbooks kept: the upload being worked on and the one before


class RecentWorkbooks:
    """A core.excel.WorkbookReader that keeps its last ``entries`` reads (the last used
    first), each found by (file version, sheet asked for) or (file version, sheet read): the
    first sheet, asked as None, is then found by its name too. A read it does not hold is
    ``core.excel.read_workbook``; errors are raised as it raises them, and nothing is kept of
    a refused file."""

    def __init__(self, entries: int = ENTRIES):
        self.entries = entries
        self.held: list[tuple[frozenset[tuple], excel.WorkbookRead]] = []
        self.lock = threading.Lock()

    def __call__(
        self, path: Path, sheet: str | None, display: str, text_columns: excel.TextColumns | None
    ) -> excel.WorkbookRead:
        """The workbook as ``core.excel.read_workbook`` reads it, from memory when held."""
        identity = excel.file_identity(path)
        with self.lock:
            for keys, read in self.held:
                if (identity, sheet) in keys:
                    self._keep(keys, read)
                    return read
        read = excel.read_workbook(path, sheet, display, text_columns)
        with self.lock:
            self._keep(frozenset({(identity, sheet), (identity, read[2])}), read)
        return read

    def _keep(self, keys: frozenset[tuple], read: excel.WorkbookRead) -> None:
        """``read`` first, in place of any it replaces; the oldest past ``entries`` dropped."""
        self.held = [(keys, read), *[(k, r) for k, r in self.held if not k & keys]][: self.entries]


@st.cache_resource(show_spinner=False)
def recent_workbooks() -> RecentWorkbooks:
    """The server's one RecentWorkbooks (every session shares it)."""
    return RecentWorkbooks()
