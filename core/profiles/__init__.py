"""Export profiles: what a platform's export columns mean, as data (one TOML file per platform).

Each ``*.toml`` beside this module describes one export (see docs/FORMATS.md for the fields):
the header ``signature`` that recognises it (columns that must all be present), the column
``roles``, the customer ``identity`` (an ID column, an e-mail column used where the ID is a
placeholder, a names column for the implausible-ID check), the ``value`` column and its kind
(``line_total``: the line's total; ``unit_price``: quantity x price; ``order_total``: the
order's total, counted once per order), the ``time`` columns to combine (date, time of day,
time zone, or a strptime format), the ``statuses`` that are / are not completed sales (and
an optional ``gate``: a second column, such as PayPal's transaction Type, whose values say
which rows the status column judges and which are never sales), the ``unique`` key, the
``currency`` column, and ``refuse`` for an export that cannot say who bought.
One engine (``read_profile``) reads them all: no code per platform.

Column names in a profile are compared normalised (core.columns.normalise), so 'Created at'
also finds 'created_at'.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import ibis

from core import identity, query, values
from core.columns import ROLES, normalise
from core.errors import ColumnMappingError, ConfigError
from core.statuses import normalise_status

FOLDER = Path(__file__).parent
VALUE_KINDS = ("line_total", "unit_price", "order_total")
NONE = "none"  # the choice that reads a file without a profile


class ProfileError(ColumnMappingError):
    """The export's profile cannot be settled: two fit equally, a chosen one does not fit, or
    the export cannot say who bought. The message says what to choose."""


@dataclass(frozen=True)
class ValueBasis:
    """The column holding the money, its kind, the alternative one flag away, and the rows
    it is read on (``only_where``: (column, values); None: every row)."""

    column: str | None
    kind: str
    alternative: str | None = None
    only_where: tuple[str, tuple[str, ...]] | None = None


@dataclass(frozen=True)
class IdentityColumns:
    """The customer's columns ([identity]): an ``id`` (placeholders are a missing customer), an
    ``email`` used where the ID is a placeholder or blank, ``names`` for the implausible-ID check."""

    id: str | None = None
    email: str | None = None
    names: str | None = None


@dataclass(frozen=True)
class TimeColumns:
    """The columns combined into one timestamp ([time]): the ``date``, the ``time`` of day and the
    time ``zone`` (each in its own column), and a strptime ``format`` (None: decided from the values)."""

    date: str | None = None
    time: str | None = None
    zone: str | None = None
    format: str | None = None


@dataclass(frozen=True)
class Profile:
    """One platform's export, as its TOML file says (see the module docstring)."""

    name: str
    title: str
    signature: tuple[str, ...]
    roles: Mapping[str, str]
    value: ValueBasis
    identity: IdentityColumns = field(default_factory=IdentityColumns)
    time: TimeColumns = field(default_factory=TimeColumns)
    sales: tuple[str, ...] = ()
    not_sales: tuple[str, ...] = ()  # (with the gate's values that are never sales)
    gate_column: str | None = None
    gate_judged: tuple[str, ...] = ()  # gate values whose rows the status column judges
    unique: tuple[str, ...] = ()
    currency: str | None = None
    refuse: str | None = None

    def fits(self, columns: list[str]) -> list[str]:
        """The signature columns missing from ``columns`` (empty: the profile fits)."""
        present = {normalise(c) for c in columns}
        return [c for c in self.signature if normalise(c) not in present]


def _profile(name: str, data: dict) -> Profile:
    """A Profile from one TOML file's table; ConfigError naming the file and the bad field."""
    where = f"core/profiles/{name}.toml"
    roles = dict(data.get("roles", {}))
    unknown = set(roles) - set(ROLES)
    value = data.get("value", {})
    kind = value.get("kind", "")
    if unknown or kind not in VALUE_KINDS or not data.get("signature"):
        raise ConfigError(
            f"{where}: needs a signature, roles among {list(ROLES)} and a value "
            f"kind among {list(VALUE_KINDS)}"
        )
    only = value.get("only_where")
    ident, time, statuses = data.get("identity", {}), data.get("time", {}), data.get("statuses", {})
    gate = statuses.get("gate", {})
    if gate and not (gate.get("column") and gate.get("judged")):
        raise ConfigError(
            f"{where}: [statuses.gate] needs a column and the values it judges by the status column (judged)"
        )
    return Profile(
        name=name,
        title=data.get("title", name),
        signature=tuple(data["signature"]),
        roles=roles,
        value=ValueBasis(
            value.get("column"),
            kind,
            value.get("alternative"),
            (only["column"], tuple(only["values"])) if only else None,
        ),
        identity=IdentityColumns(ident.get("id"), ident.get("email"), ident.get("names")),
        time=TimeColumns(time.get("date"), time.get("time"), time.get("zone"), time.get("format")),
        sales=tuple(statuses.get("sales", ())),
        not_sales=tuple(statuses.get("not_sales", ())) + tuple(gate.get("not_sales", ())),
        gate_column=gate.get("column"),
        gate_judged=tuple(gate.get("judged", ())),
        unique=tuple(data.get("unique", ())),
        currency=data.get("currency"),
        refuse=data.get("refuse"),
    )


@functools.cache
def profiles() -> dict[str, Profile]:
    """Every profile of this folder, by name (the file's stem)."""
    out = {}
    for path in sorted(FOLDER.glob("*.toml")):
        with path.open("rb") as fh:
            out[path.stem] = _profile(path.stem, tomllib.load(fh))
    return out


def recognise(columns: list[str]) -> Profile | None:
    """The profile whose whole signature the header holds; with several, the one with the
    longest signature. None when none fits; ProfileError when two fit equally well."""
    fitting = [p for p in profiles().values() if not p.fits(columns)]
    if not fitting:
        return None
    best = max(len(p.signature) for p in fitting)
    top = [p for p in fitting if len(p.signature) == best]
    if len(top) > 1:
        names = " or ".join(p.name for p in top)
        raise ProfileError(
            f"the columns fit two exports equally ({names}); choose one with "
            f"--profile {top[0].name} (or --profile none)"
        )
    return top[0]


def choose(columns: list[str], choice: str | None, source: str = "the file") -> Profile | None:
    """The profile to read with: ``choice`` None recognises it from the columns, 'none' reads
    without one, a name takes that profile (ProfileError when its signature is missing)."""
    if choice is None or choice == "":
        return recognise(columns)
    if choice == NONE:
        return None
    known = profiles()
    if choice not in known:
        raise ProfileError(f"unknown profile '{choice}'; profiles are {', '.join(known)} or none")
    missing = known[choice].fits(columns)
    if missing:
        raise ProfileError(
            f"{source}: profile '{choice}' needs the column(s) "
            f"{', '.join(missing)}, which the file does not have; choose another "
            "profile or --profile none"
        )
    return known[choice]


@dataclass(frozen=True)
class ProfileReading:
    """A table prepared by its profile: derived columns added, the roles to map (the base the
    user's overrides apply to), and one sentence per decision."""

    profile: Profile | None
    table: ibis.Table
    roles: dict[str, str] = field(default_factory=dict)
    sentences: tuple[str, ...] = ()
    currency: str | None = None  # the currency the file states (column or symbols), else None


def column_of(columns: list[str], name: str | None) -> str | None:
    """The file's column a profile names (compared normalised), or None."""
    if name is None:
        return None
    wanted = normalise(name)
    return next((c for c in columns if normalise(c) == wanted), None)


def read_profile(
    table: ibis.Table,
    choice: str | None = None,
    overrides: Mapping[str, str | None] | None = None,
    source: str = "the file",
    *,
    date_format: str | None = None,
) -> ProfileReading:
    """Recognise (or take) the export's profile and prepare the table by it.

    ``overrides``: the user's role -> column choices (a given customer column skips the
    identity decision and an export's refusal, and so does '' (the customer left unmapped,
    for the user to choose); a derived column's name, as a mapping read back gives it,
    does not). Adds the derived columns the profile needs (the
    customer identity, one timestamp from date + time + zone, the order total on one line
    per order, the status as the gate decides it) and returns the roles to map.
    Raises ProfileError / DataValidationError.
    """
    columns = list(table.columns)
    profile = choose(columns, choice, source)
    if profile is None:
        return ProfileReading(None, table)
    user = {k: v for k, v in (overrides or {}).items() if v and v in columns}
    found = functools.partial(column_of, columns)
    roles = {role: found(column) or "" for role, column in profile.roles.items()}
    roles.update({role: "" for role in ROLES if role not in roles})
    how = "chosen" if choice else "recognised by its columns " + ", ".join(profile.signature[:4])
    sentences = [f"read as {profile.title} ({how}; --profile none reads it without)"]
    gate = found(profile.gate_column)
    if gate and not user.get("status") and (overrides or {}).get("status") != "":
        table, roles["status"], said = _gated_status(
            table, roles.get("status") or None, gate, profile.gate_judged
        )
        sentences.append(said)

    # -- who bought (the user's '' leaves the customer unmapped: asked, not refused) ----------
    if (overrides or {}).get("customer") == "":
        roles["customer"] = ""
    elif not user.get("customer"):
        customer, table, said = identity.settle(
            table,
            id_column=found(profile.identity.id),
            email_column=found(profile.identity.email)
            or (found(profile.roles.get("customer")) if _is_email(profile.roles.get("customer")) else None),
            names_column=found(profile.identity.names),
            plain_column=roles.get("customer") or None,
            invoice=roles.get("invoice") or None,
            source=source,
        )
        if customer is None:
            raise ProfileError(f"{source}: {profile.refuse or 'no customer column'}")
        roles["customer"] = customer
        sentences.append(said)

    # -- when (the profile's own date column given back, as the Data page does, is read the
    # profile's way: its format, time and zone) -----------------------------------------------
    date = found(profile.time.date)
    if profile.time.date and user.get("date") in (None, date):
        if date is None:  # not in the signature, and not in this file
            raise ProfileError(
                f"{source}: {profile.title} dates are in the column "
                f"'{profile.time.date}', which the file does not have; choose "
                "the date column (command line: --date COLUMN)"
            )
        stamp, table, said = values.combine_date_time(
            table,
            date,
            found(profile.time.time),
            found(profile.time.zone),
            profile.time.format,
            source=source,
            date_format=date_format,
        )
        roles["date"] = stamp
        sentences.append(said)

    # -- how much --------------------------------------------------------------------------
    basis = profile.value
    value = found(basis.column)
    if basis.kind == "unit_price":
        roles["amount"] = ""
        sentences.append(f"value: quantity x price ('{roles.get('quantity')}' x '{roles.get('price')}')")
    else:
        roles["amount"] = value or ""
        roles["price"] = ""
        if basis.kind == "order_total":
            roles["quantity"] = ""
            if roles.get("invoice"):
                if value is None:  # not in the signature, and not in this file
                    raise ProfileError(
                        f"{source}: {profile.title} order totals are in the "
                        f"column '{basis.column}', which the file does not have; "
                        "choose the value column (command line: --amount COLUMN)"
                    )
                table, roles["amount"] = _once_per_order(
                    table, value, roles["invoice"], basis.only_where, found
                )
        what = (
            "the order's total (what the customer paid), counted once per order"
            if basis.kind == "order_total"
            else "the line's total (never x quantity)"
        )
        other = found(basis.alternative)
        sentences.append(
            f"value: '{value}', {what}" + (f"; to use '{other}' instead: --amount '{other}'" if other else "")
        )
    return ProfileReading(profile, table, roles, tuple(sentences))


def _is_email(name: str | None) -> bool:
    return name is not None and "mail" in normalise(name)


def _once_per_order(
    table: ibis.Table, value: str, invoice: str, only_where: tuple[str, tuple[str, ...]] | None, found
) -> tuple[ibis.Table, str]:
    """The order total on one row of each order, blank on the others (which then count as the
    order's lines): an export that repeats the total on every row of an order, or holds it on
    rows of one type (``only_where``), counts it once. An export that writes it on the
    order's first row only (Shopify) is read as it is (the column unchanged)."""
    t = table
    raw = values.trim(t[value].cast("string")).nullif("")
    where = found(only_where[0]) if only_where else None
    if where is not None and only_where:  # (where is found only from only_where)
        raw = values.trim(t[where].cast("string")).isin(list(only_where[1])).ifelse(raw, ibis.null("string"))
    else:
        per_order = t.group_by(t[invoice]).aggregate(n=raw.count())
        if not query.first_row(per_order.aggregate(repeated=(per_order.n > 1).any()))["repeated"]:
            return table, value
    order = ibis.window(group_by=t[invoice], order_by=raw.isnull())
    first = ibis.row_number().over(order) == 0
    name = f"{value} (once per order)"
    return t.mutate(**{name: first.ifelse(raw, ibis.null("string"))}), name


def _gated_status(
    table: ibis.Table, status: str | None, gate: str, judged: tuple[str, ...]
) -> tuple[ibis.Table, str, str]:
    """One status column from two: on rows whose ``gate`` value is one of ``judged`` (compared
    through core.statuses.normalise_status) the status column's value, on the others the gate's
    own value, judged like any status (a profile's not-sales; a value no list knows is asked,
    never kept). Without a status column, the gate's value on every row. Returns the table with
    the derived column, its name and the sentence saying so."""
    wanted = {normalise_status(v) for v in judged}
    kinds = [row["kind"] for row in query.rows(table.select(kind=table[gate].cast("string")).distinct())]
    kept = [k for k in kinds if k is not None and normalise_status(k) in wanted]
    kind = table[gate].cast("string")
    own = table[status].cast("string") if status else kind
    name = f"{status or gate} (by {gate})"
    derived = kind.isin(kept).fill_null(False).ifelse(own, kind)
    said = (
        f"statuses: '{status}' where '{gate}' is one a sale is written under ({len(kept)} "
        f"of {len(kinds)} values); elsewhere the '{gate}' value itself"
        if status
        else f"statuses: the '{gate}' value"
    )
    return table.mutate(**{name: derived}), name, said
