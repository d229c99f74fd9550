"""Money figures as people read them: a currency mark and thousands separators.

The currency comes from the file (a Currency column, as Shopify writes it) or is chosen by
the user; ``None`` means unknown and prints plain numbers.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

import ibis

from core import query
from core.columns import normalise

SYMBOLS = {
    "GBP": "£",
    "EUR": "€",
    "USD": "$",
    "JPY": "¥",
    "INR": "₹",
    "CNY": "¥",
    "KRW": "₩",
    "BRL": "R$",
    "AUD": "A$",
    "CAD": "C$",
}
CURRENCIES = (
    "GBP",
    "EUR",
    "USD",
    "CHF",
    "SEK",
    "NOK",
    "DKK",
    "PLN",
    "JPY",
    "AUD",
    "CAD",
    "INR",
    "CNY",
    "BRL",
    "KRW",
)
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
    codes = Counter(
        str(v).strip().upper()
        for v in values
        if v is not None and len(str(v).strip()) == 3 and str(v).strip().isalpha()
    )
    return codes.most_common(1)[0][0] if codes else None


def _code_in_column(table: ibis.Table, column: str) -> str | None:
    col = table[column].cast("string")
    top = query.rows(
        table.select(v=col)
        .filter(ibis._.v.notnull())
        .group_by("v")
        .aggregate(n=ibis._.count())
        .order_by(ibis.desc("n"))
        .limit(5)
    )
    return most_common_code(row["v"] for row in top)  # (no pandas: the CLI's rfm)


# Marks written in money values and the currency each says ('$' alone: US dollars, stated).
VALUE_MARKS = {"€": "EUR", "£": "GBP", "CHF": "CHF", "$": "USD", "¥": "JPY", "₹": "INR"}


def stated_currency(
    table: ibis.Table,
    column: str | None = None,
    value_columns: Sequence[str] = (),
    may_hold: Sequence[str] | None = None,
) -> tuple[str | None, str]:
    """The file's currency and the sentence saying where it came from: ``column`` (a
    profile's), else a column named Currency, else the one mark found in the text of
    ``value_columns``; else None ('no currency stated: choose one'). ``may_hold``: the marks
    the file's text holds at all (core.io.marks_in_text; default every VALUE_MARKS): only
    those are looked for in the values, and none means no scan."""
    named = [column] if column is not None and column in table.columns else []
    named += [c for c in table.columns if normalise(c) in _CURRENCY_COLUMNS and c not in named]
    for name in named:
        code = _code_in_column(table, name)
        if code:
            return code, f"currency {code} from column '{name}'"
    texts = [c for c in value_columns if c in table.columns and table[c].type().is_string()]
    candidates = [mark for mark in VALUE_MARKS if may_hold is None or mark in may_hold]
    if texts and candidates:
        found = query.first_row(
            table.aggregate(
                **{
                    f"m{i}_{j}": table[c].contains(mark).any()
                    for i, c in enumerate(texts)
                    for j, mark in enumerate(candidates)
                }
            )
        )
        marks = [
            mark for j, mark in enumerate(candidates) if any(found[f"m{i}_{j}"] for i in range(len(texts)))
        ]
        if len(marks) == 1:
            code = VALUE_MARKS[marks[0]]
            return code, (
                f"currency {code} from the '{marks[0]}' in the values"
                + (" (choose another if these are not US dollars)" if code == "USD" else "")
            )
        if marks:
            return None, f"values carry several currency marks ({', '.join(marks)}): choose the currency"
    return None, "no currency stated in the file: choose one"
