"""How a file was read, in sentences: the one summary the Data page and the CLI both show.

``how_read`` takes the RFM result (its audit, mapping and readings) and the decisions made
before it (export profile, customer identity, currency) and returns one sentence per topic,
in a fixed order: profile, customer identity, value basis, statuses, duplicates, header row,
date order, time zone, currency. No topic is left out: a reader learns what was *not* done too.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.statuses import NOT_SALE, SALE

TOPICS = (
    "profile",
    "customers",
    "value",
    "statuses",
    "duplicates",
    "header",
    "dates",
    "time zone",
    "currency",
)


@dataclass(frozen=True)
class Context:
    """What was decided before the rows were read, by whoever decided it.

    ``profile``: the recognised export profile's name (None: none; the profiles module fills
    it); ``identity``: how customers are told apart, when not simply by the customer column;
    ``currency`` and ``currency_source`` ('the file's Currency column', 'your choice', ...);
    ``time_zone``: how times were put on one clock, when a profile combined time-zone columns.
    """

    profile: str | None = None
    identity: str | None = None
    currency: str | None = None
    currency_source: str | None = None
    time_zone: str | None = None
    reading: tuple[str, ...] = ()  # what the export profile's reading decided (core.profiles)
    app: bool = False  # say 'the Data page control' instead of the command-line flags


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _statuses(audit, mapping) -> str:
    if not (mapping and mapping.status):
        return "Statuses: no status column is mapped, so every line counts as a sale."
    counts = audit.status_values
    removed = dict((name, n) for name, _, n in audit.removed).get("not_completed_sale")
    if removed is None:
        return f"Statuses ('{mapping.status}'): the status rule is off, so every line counts as a sale."
    sales = [c for c in counts if c.verdict == SALE]
    not_sales = [c for c in counts if c.verdict == NOT_SALE]

    def part(group) -> str:
        lines = sum(c.lines for c in group)
        revenue = sum(c.revenue for c in group)
        named = ", ".join(f"{c.value} {c.lines:,}" for c in group)
        return f"{lines:,} lines ({_money(revenue)}: {named})" if group else "no lines"

    blank = removed - sum(c.lines for c in not_sales)
    tail = f"; {blank:,} lines with a blank status removed" if blank > 0 else ""
    return (
        f"Statuses ('{mapping.status}'): counted as sales {part(sales)}; removed as not a "
        f"sale {part(not_sales)}{tail}."
    )


def _duplicates(audit, app: bool) -> str:
    d = audit.duplicates
    switch = "the 'Drop exact duplicate lines' switch" if app else "--drop-duplicates"
    if not d.checked:
        return (
            "Duplicates: not looked for in a file of items valued by quantity x price (a shop "
            f"may list an item twice): every line is kept; {switch} removes exact copies."
        )
    if not d.copies:
        return "Duplicates: no line is an exact copy of another."
    if d.removed and d.key:
        return (
            f"Duplicates: {d.removed:,} exact copies of a line removed ({' + '.join(d.key)} "
            "must be unique: each order counted once)."
        )
    if d.removed:
        return f"Duplicates: {d.removed:,} exact copies of a line removed, as asked."
    return (
        f"Duplicates: {d.copies:,} lines are exact copies of another and are kept, as the "
        f"file may repeat an item on purpose; {switch} removes them."
    )


def _header(audit, app: bool) -> str:
    totals = dict((name, n) for name, _, n in audit.removed).get("total_row", 0)
    row = audit.header_row
    where = (
        "Header row: row 1."
        if row == 1
        else f"Header row: row {row} ({row - 1} title row{'s' if row > 2 else ''} above it skipped)."
    )
    control = "the 'Header row' control" if app else "--header-row N"
    tail = f" {totals:,} totals or subtotal row{'s' if totals != 1 else ''} left out." if totals else ""
    if audit.footer_lines:
        tail += (
            f" {audit.footer_lines:,} footer line{'s' if audit.footer_lines != 1 else ''} "
            "below the table (a record count, the seller's ID) left out."
        )
    return f"{where}{tail} Not right? {control} says where it is."


def how_read(result, context: Context = Context()) -> list[str]:
    """One sentence per topic (``TOPICS``) on how the file behind ``result`` (a
    core.rfm.RFMResult) was read, for the Data page and the CLI's stderr."""
    audit, mapping, readings = result.audit, result.mapping, result.readings
    out = [
        f"Export profile: {context.profile}."
        if context.profile
        else "Export profile: none recognised; columns were matched by their names."
    ]
    reading = [sentence for sentence in context.reading if not _about_currency(sentence)]
    if reading:  # the currency sentence is the Currency line's
        out.append("Reading: " + "; ".join(reading) + ".")
    customer = mapping.customer if mapping else None
    out.append(
        f"Customers: {context.identity}."
        if context.identity
        else f"Customers: told apart by the column '{customer}'."
    )
    out.append(
        f"Value: each line is worth the {audit.line_value}."
        if audit.line_value
        else "Value: quantity x price per line."
    )
    out.append(_statuses(audit, mapping))
    out.append(_duplicates(audit, context.app))
    out.append(_header(audit, context.app))
    date = readings.date if readings is not None else None
    out.append(f"Dates: {date.describe()}." if date is not None else "Dates: as stored.")
    out.append(
        f"Time zone: {context.time_zone}."
        if context.time_zone
        else "Time zone: times with an offset were converted to UTC; times without one are taken as written."
    )
    if context.currency:
        source = f" ({context.currency_source})" if context.currency_source else ""
        out.append(f"Currency: {context.currency}{source}.")
    else:
        out.append(f"Currency: {context.currency_source or 'none stated in the file'}.")
    return out


def _about_currency(sentence: str) -> bool:
    """Whether a reading sentence (core.money.stated_currency) says where the currency came from."""
    return sentence.startswith(("currency ", "no currency", "values carry several currency"))


def context_of(source, app: bool = False) -> Context:
    """What a core.rfm.Source says before its rows are read: its export profile, the
    sentences of what reading it decided (identity, value basis, time, currency: core.profiles)
    and the currency the file states, with where it came from."""
    reading = source.reading
    if reading is None:
        return Context(app=app)
    profile = reading.profile.title if reading.profile else None
    said = next((s for s in reading.sentences if _about_currency(s)), None)
    currency = reading.currency
    where = (
        (said.removeprefix(f"currency {currency} ") if said else "stated in the file") if currency else said
    )
    return Context(
        profile=profile, reading=reading.sentences, currency=currency, currency_source=where, app=app
    )
