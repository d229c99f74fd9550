"""Who bought: the customer identity of a file (DESIGN.md, Column roles).

- A placeholder ID (``PLACEHOLDER_IDS``: '0', '-1', 'guest', 'n/a', ...) is a missing
  customer, never a customer (``customer_key`` turns it into NULL).
- When an e-mail column exists and some orders carry only a placeholder (or blank) ID,
  customers are identified by e-mail (trimmed, case-folded): ``settle`` adds that column and
  says so.
- One ID holding an implausible share of the orders with many different e-mails or names
  is refused (IdentityError saying what to decide), never silently accepted as one customer.
"""

from __future__ import annotations

import ibis

from core import query
from core.errors import ColumnMappingError
from core.values import trim

# Compared trimmed and in lower case.
PLACEHOLDER_IDS = ("0", "-1", "guest", "n/a", "na", "none", "null", "unknown", "-", "--", "0.0", "-1.0")
# One ID holding at least this share of the orders, with at least this many different
# e-mails or names, is not one customer but a placeholder the export uses.
IMPLAUSIBLE_SHARE = 0.2
IMPLAUSIBLE_NAMES = 5


class IdentityError(ColumnMappingError):
    """The customer column cannot be trusted as it is; the message says what to choose."""


def is_placeholder(text: ibis.Column) -> ibis.BooleanValue:
    """Whether trimmed text is a placeholder ID (see PLACEHOLDER_IDS)."""
    return text.lower().isin(list(PLACEHOLDER_IDS))


def customer_key(text: ibis.Column) -> ibis.Column:
    """Customer text with placeholders as NULL (a missing customer)."""
    return is_placeholder(text).ifelse(ibis.null("string"), text)


def placeholder_numbers() -> list[float]:
    """The placeholder IDs that are numbers (0 and -1): the values a number column holds for
    them, since its IDs are written as whole numbers without '.0' (core.columns.customer_text)."""
    numbers = set()
    for text in PLACEHOLDER_IDS:
        try:
            numbers.add(float(text))
        except ValueError:
            continue
    return sorted(numbers)


def _text(table: ibis.Table, column: str) -> ibis.Column:
    from core.columns import customer_text

    return (
        customer_text(table[column])
        if table[column].type().is_floating()
        else trim(table[column].cast("string")).nullif("")
    )


def settle(
    table: ibis.Table,
    *,
    id_column: str | None,
    email_column: str | None,
    names_column: str | None = None,
    plain_column: str | None = None,
    invoice: str | None = None,
    source: str = "the file",
) -> tuple[str | None, ibis.Table, str]:
    """The customer column to map, the table (with a derived column when e-mails identify
    customers) and the sentence saying how customers are identified.

    ``id_column`` (an ID) is checked first: with an ``email_column`` and some rows whose ID
    is a placeholder or blank while the e-mail is given, customers are identified by e-mail
    (trimmed, case-folded; a row with no e-mail keeps its ID). Without an ID column the
    e-mail, else ``plain_column`` (a name the export gives), identifies them. Returns
    (None, table, '') when there is nothing to identify customers by. Raises IdentityError
    when one ID holds an implausible share of the orders with many e-mails or names.
    """
    if id_column is None:
        chosen = email_column or plain_column
        if chosen is None:
            return None, table, ""
        if chosen == email_column:
            return chosen, table, f"customers by e-mail '{chosen}'"
        return chosen, table, f"customers by '{chosen}' (the export has no customer number)"
    ident = customer_key(_text(table, id_column))
    checks = {"rows": table.count(), "orders": (table[invoice].nunique() if invoice else table.count())}
    if email_column is not None:
        email = trim(table[email_column].cast("string")).nullif("")
        checks["guests"] = (ident.isnull() & email.notnull()).sum()
    row = query.first_row(table.aggregate(**checks))
    if email_column is not None and (row["guests"] or 0) > 0:
        return _by_email(
            table,
            id_column,
            email_column,
            f"{row['guests']:,} rows have a placeholder or blank '{id_column}'",
        )
    _check_plausible(
        table, id_column, ident, email_column or names_column, invoice, int(row["orders"] or 0), source
    )
    return (
        id_column,
        table,
        f"customers by '{id_column}' (placeholder IDs such as 0 or 'guest' are a missing customer)",
    )


def _by_email(table: ibis.Table, id_column: str, email_column: str, why: str) -> tuple[str, ibis.Table, str]:
    """Customers by e-mail, trimmed and case-folded (a row without one keeps its ID)."""
    email = trim(table[email_column].cast("string")).lower().nullif("")
    email = email.fill_null(customer_key(_text(table, id_column)))
    name = f"{email_column}, else {id_column}"
    sentence = (
        f"customers by e-mail '{email_column}' (trimmed, case-folded): {why}; rows "
        "without an e-mail keep their ID"
    )
    return name, table.mutate(**{name: email}), sentence


def _check_plausible(
    table: ibis.Table,
    id_column: str,
    ident: ibis.Column,
    other: str | None,
    invoice: str | None,
    orders: int,
    source: str,
) -> None:
    """IdentityError when one ID holds IMPLAUSIBLE_SHARE of the orders with at least
    IMPLAUSIBLE_NAMES different values of ``other`` (e-mails or names)."""
    if other is None or orders == 0:
        return
    t = table.mutate(_ident=ident, _other=trim(table[other].cast("string")).lower().nullif(""))
    per = (
        t.filter(t["_ident"].notnull())
        .group_by("_ident")
        .aggregate(orders=t[invoice].nunique() if invoice else t.count(), others=t["_other"].nunique())
    )
    found = query.rows(per.order_by(ibis.desc("orders")).limit(1))
    if not found:
        return
    top = found[0]
    share = top["orders"] / orders
    if share >= IMPLAUSIBLE_SHARE and (top["others"] or 0) >= IMPLAUSIBLE_NAMES:
        raise IdentityError(
            f"{source}: customer ID '{top['_ident']}' in '{id_column}' holds {share:.0%} of the "
            f"orders with {top['others']:,} different '{other}' values, so it is not one "
            f"customer; identify customers by another column (--customer '{other}') or "
            f"confirm this one (--customer '{id_column}')"
        )


# Names of e-mail columns (normalised, see core.columns.normalise) for files read without a
# profile: with an ID column beside one, guests' placeholder IDs fall back to the e-mail.
EMAIL_COLUMNS = (
    "email",
    "customeremail",
    "billingemail",
    "emailbilling",
    "emailaddress",
    "buyeremail",
    "customeremailaddress",
    "billingemailaddress",
    "courriel",
    "correo",
    "correoelectronico",
    "emailadres",
)


def email_column(columns: list[str], besides: str | None) -> str | None:
    """The file's e-mail column other than ``besides`` (the customer column), or None."""
    from core.columns import normalise

    if besides is not None and "mail" in normalise(besides):
        return None  # the customer column is the e-mail already
    return next((c for c in columns if c != besides and normalise(c) in EMAIL_COLUMNS), None)
