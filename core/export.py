"""Exports for spreadsheets: CSV and Excel with formula injection neutralised.

A cell that starts with = + - @ (or a tab / carriage return) is run as a formula by Excel,
LibreOffice and Google Sheets. Text cells starting so get a leading apostrophe; numbers are
left alone (a negative number is data, not a formula).
"""
from __future__ import annotations

import io
import os

import pandas as pd

from core.atomic import atomic_output

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells cannot be read as spreadsheet formulas."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        text = series.astype("string")
        risky = text.str.startswith(FORMULA_PREFIXES).fillna(False)
        if risky.any():
            out[column] = text.where(~risky, "'" + text)
    out.columns = [("'" + c) if str(c).startswith(FORMULA_PREFIXES) else c for c in out.columns]
    return out


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    return neutralise_formulas(frame).to_csv(index=False).encode("utf-8")


def to_excel_bytes(frame: pd.DataFrame, sheet_name: str = "customers") -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="xlsxwriter") as writer:
        neutralise_formulas(frame).to_excel(writer, index=False, sheet_name=sheet_name[:31])
    return buffer.getvalue()


def write_csv(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a neutralised CSV atomically (temp file + rename)."""
    with atomic_output(path) as tmp:
        tmp.write_bytes(to_csv_bytes(frame))
