"""Money figures as people read them: a currency mark and thousands separators.

The currency comes from the file (a Currency column, as Shopify writes it) or is chosen by
the user; ``None`` means unknown and prints plain numbers.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Iterable

import ibis

from core import query
from core.columns import normalise

SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥", "INR": "₹", "CNY": "¥",
           "KRW": "₩", "BRL": "R$", "AUD": "A$", "CAD": "C$"}
CURRENCIES = ("GBP", "EUR", "USD", "CHF", "SEK", "NOK", "DKK", "PLN", "JPY", "AUD", "CAD",
              "INR", "CNY", "BRL", "KRW")
_CURRENCY_COLUMNS = ("currency", "currencycode", "presentmentcurrency", "ordercurrency")


def symbol(currency: str | None) -> str:
    return SYMBOLS.get((currency or "").upper(), "")


def format_money(value, currency: str | None = None, decimals: int = 2, unit: str = "") -> str:
    """'£1,234.50', '1,234.50 CHF' (no symbol known), '1,234.50' (no currency); '-' for none.
    ``unit`` follows the number: '£43.66m', '43.66m CHF'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    number = f"{abs(float(value)):,.{decimals}f}{unit}"
    sign = "-" if float(value) < 0 else ""
    mark = symbol(currency)
    if mark:
        return f"{sign}{mark}{number}"
    return f"{sign}{number} {currency.upper()}" if currency else f"{sign}{number}"


def axis_prefix(currency: str | None) -> str:
    """A prefix for chart axes and hover labels ('£'), or '' when there is no symbol."""
    return symbol(currency)


def money_label(currency: str | None) -> str:
    """'revenue (GBP)' style suffix: ' (GBP)' or ''."""
    return f" ({currency.upper()})" if currency else ""


def most_common_code(values: Iterable) -> str | None:
    """The most common three-letter code among values, or None."""
    codes = Counter(str(v).strip().upper() for v in values
                    if v is not None and len(str(v).strip()) == 3 and str(v).strip().isalpha())
    return codes.most_common(1)[0][0] if codes else None


def currency_of(table: ibis.Table) -> str | None:
    """The currency a file states in a Currency column (its most common code), else None."""
    for column in table.columns:
        if normalise(column) in _CURRENCY_COLUMNS:
            col = table[column].cast("string")
            top = query.rows(table.select(v=col).filter(ibis._.v.notnull()).group_by("v")
                             .aggregate(n=ibis._.count()).order_by(ibis.desc("n")).limit(5))
            return most_common_code(row["v"] for row in top)  # (no pandas: the CLI's rfm)
    return None
