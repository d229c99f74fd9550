"""How a transactions file is to be read: one frozen, validated ``ReadOptions``.

The command line builds it once from its flags (``core.cli``), the dashboard once from the
Data page's settings (``ui.session``); ``core.rfm.open_source(path, options)`` reads a file by
it. Every field's default is written here and nowhere else; a bad value raises ConfigError
naming it when the options are made, before any file is read.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import ibis

from core.cleaning import PRESETS, RETURNS_CHOICES, CleaningConfig, suggest_preset
from core.columns import ROLES, ColumnMapping
from core.errors import ConfigError
from core.header import check_header_row
from core.profiles import NONE, profiles
from core.statuses import check_decisions, parse_status_list
from core.values import check_choices


def parse_as_of(text: str | _dt.date | None) -> _dt.datetime | None:
    """'2011-12-09', '2011-12-09 12:50', '2011-12-09T12:50+01:00' or '...Z' (or a date) to a
    naive datetime, UTC where an offset was given (as timestamps are read); ConfigError otherwise."""
    if text is None or text == "":
        return None
    if isinstance(text, _dt.datetime):
        value = text
    elif isinstance(text, _dt.date):
        return _dt.datetime(text.year, text.month, text.day)
    else:
        try:
            value = _dt.datetime.fromisoformat(str(text).strip())
        except ValueError:
            raise ConfigError(
                f"as-of date '{text}' is not a date; write it as YYYY-MM-DD, "
                "'YYYY-MM-DD HH:MM' or with an offset like 2011-12-09T12:50+01:00"
            ) from None
    if value.tzinfo is not None:
        value = value.astimezone(_dt.UTC).replace(tzinfo=None)
    return value


def parse_given_date(text: str | _dt.date | None, which: str) -> _dt.datetime:
    """A date that must be given (a from/to date, a backtest cut), read like ``parse_as_of``;
    ConfigError naming ``which`` date when it is blank or does not parse."""
    try:
        value = parse_as_of(text)
    except ConfigError:
        raise ConfigError(
            f"the {which} date '{text}' is not a date; write it as YYYY-MM-DD or 'YYYY-MM-DD HH:MM'"
        ) from None
    if value is None:
        raise ConfigError(f"give a {which} date (YYYY-MM-DD)")
    return value


@dataclass(frozen=True)
class ReadOptions:
    """Everything a user decides about reading one file, hashable (a cache key in the app).

    ``mapping``: (role, column) pairs overriding the detected columns; a role paired with None
    or '' is unmapped; a role not listed keeps its detected column. ``sheet``: an Excel sheet
    (None: the first; 'all' stacks sheets). ``rules`` (the cleaning rules by name, in any
    order) wins over ``preset``; with neither, the preset is suggested from the file
    (``core.cleaning.suggest_preset``). ``returns``: 'drop' or 'net'. ``decimal`` (',' or '.')
    and ``date_format`` ('dayfirst' or 'monthfirst'): None lets the values decide.
    ``sale_statuses`` / ``not_sale_statuses``: status values decided as sales / not sales
    (beyond the vocabulary of core.statuses; stored normalised, comma-separated text allowed).
    ``header_row``: the row the header is on (1-based; None: found, core.header).
    ``drop_duplicates``: remove every exact copy of a line (default: only where the order ID
    must be unique, core.cleaning.duplicate_lines). ``as_of``: the recency date (None:
    the latest purchase; text or a date is parsed, a date alone meaning its midnight).
    ``loaded_on``: the day the data was loaded (None: today, read by ``open_source``).
    ``profile``: the export profile to read by (core.profiles; None: recognised from the
    header, 'none': read by column names); the profile's sale / not-sale statuses are added
    to the vocabulary's, and the user's choices above win over both.
    ``mapping`` may be given as a dict and ``as_of`` as text or a date: they are stored as
    pairs and a naive datetime. A new option is one more field here, checked below.
    """

    mapping: tuple[tuple[str, str | None], ...] = ()
    sheet: str | None = None
    preset: str | None = None
    rules: tuple[str, ...] | None = None
    returns: str = "drop"
    decimal: str | None = None
    date_format: str | None = None
    sale_statuses: tuple[str, ...] = ()
    not_sale_statuses: tuple[str, ...] = ()
    header_row: int | None = None
    drop_duplicates: bool = False
    as_of: _dt.datetime | None = None
    loaded_on: _dt.date | None = None
    profile: str | None = None

    def __post_init__(self):
        pairs = tuple(self.mapping.items()) if isinstance(self.mapping, dict) else self.mapping
        try:
            pairs = tuple((str(role), column) for role, column in pairs)
        except (TypeError, ValueError):
            raise ConfigError(f"mapping must be (role, column) pairs, not {self.mapping!r}") from None
        unknown = [role for role, _ in pairs if role not in ROLES]
        if unknown:
            raise ConfigError(f"unknown column role '{unknown[0]}'; roles are {', '.join(ROLES)}")
        for role, column in pairs:
            if column is not None and not isinstance(column, str):
                raise ConfigError(f"the column for {role} must be a column name, not {column!r}")
        object.__setattr__(self, "mapping", pairs)
        if self.sheet is not None and not isinstance(self.sheet, str):
            raise ConfigError(f"the sheet must be a sheet name, not {self.sheet!r}")
        if self.preset is not None and self.preset not in PRESETS:
            raise ConfigError(f"unknown preset '{self.preset}'; presets are {', '.join(PRESETS)}")
        if self.rules is not None:
            object.__setattr__(self, "rules", tuple(self.rules))
        if self.returns not in RETURNS_CHOICES:
            raise ConfigError(f"returns must be 'drop' or 'net', not '{self.returns}'")
        check_choices(self.decimal, self.date_format)
        object.__setattr__(self, "sale_statuses", parse_status_list(self.sale_statuses, "sale statuses"))
        object.__setattr__(
            self, "not_sale_statuses", parse_status_list(self.not_sale_statuses, "not-sale statuses")
        )
        check_decisions(self.sale_statuses, self.not_sale_statuses)
        check_header_row(self.header_row, "the file")
        if not isinstance(self.drop_duplicates, bool):
            raise ConfigError(f"drop_duplicates must be True or False, not {self.drop_duplicates!r}")
        object.__setattr__(self, "as_of", parse_as_of(self.as_of))
        if self.loaded_on is not None and not isinstance(self.loaded_on, _dt.date):
            raise ConfigError(f"loaded_on must be a date, not {self.loaded_on!r}")
        if isinstance(self.loaded_on, _dt.datetime):
            object.__setattr__(self, "loaded_on", self.loaded_on.date())
        if self.profile is not None:
            if self.profile not in (NONE, *profiles()):
                raise ConfigError(
                    f"unknown profile '{self.profile}'; profiles are {', '.join(profiles())} or none"
                )
        self.cleaning("generic")  # unknown rule names fail here, not when a file is read

    @property
    def mapping_dict(self) -> dict[str, str | None]:
        """The mapping as role -> column (None: unmapped)."""
        return {role: column or None for role, column in self.mapping}

    def cleaning(self, suggested_preset: str, loaded_on: _dt.date | None = None) -> CleaningConfig:
        """The cleaning rules these options give: ``rules``, else ``preset``, else the
        ``suggested_preset``; ``loaded_on`` stands in when the options have none."""
        rules = self.rules if self.rules is not None else PRESETS[self.preset or suggested_preset]
        return CleaningConfig(
            rules=rules,
            returns=self.returns,
            sale_statuses=self.sale_statuses,
            not_sale_statuses=self.not_sale_statuses,
            drop_duplicates=self.drop_duplicates,
            loaded_on=self.loaded_on or loaded_on,
        )

    def cleaning_for(self, mapping: ColumnMapping, table: ibis.Table, today: _dt.date) -> CleaningConfig:
        """The cleaning rules for a file read with ``mapping`` (the preset suggested from its
        values when the options name none); ``today`` is the day loaded unless ``loaded_on``."""
        suggested = (
            suggest_preset(mapping, table) if self.rules is None and self.preset is None else "generic"
        )
        return self.cleaning(suggested, today)
