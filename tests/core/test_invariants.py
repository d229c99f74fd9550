"""Invariants the type checker is shown (core: mypy clean): each holds on real input, and a
caller that breaks one gets an error naming it, never a None carried further."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

import core.profiles as profiles_module
from core import values
from core.errors import ConfigError
from core.options import parse_given_date
from core.profiles import Profile, ProfileError, TimeColumns, ValueBasis, read_profile


def test_readings_answer_for_the_columns_they_were_decided_on(duck):
    lines = pa.table({"when": ["02/04/2024", "13/04/2024"], "paid": ["1,50", "2,25"]})
    table = duck.create_table("invariant_lines", lines, overwrite=True)
    readings = values.decide(table, ["paid"], "when")
    assert readings.number("paid").decimal == ","
    assert readings.date_of("when").order == "day-first"
    with pytest.raises(ValueError, match="no number reading for column 'price'.*\\['paid'\\]"):
        readings.number("price")
    with pytest.raises(ValueError, match="no date reading for column 'shipped'.*when"):
        readings.date_of("shipped")
    with pytest.raises(ValueError, match="no date column"):
        values.decide(table, ["paid"], None).date_of("when")


def test_a_date_that_must_be_given():
    assert parse_given_date("2024-04-02 09:30", "cut") == dt.datetime(2024, 4, 2, 9, 30)
    assert parse_given_date(dt.date(2024, 4, 2), "from") == dt.datetime(2024, 4, 2)
    with pytest.raises(ConfigError, match="give a cut date"):
        parse_given_date("", "cut")
    with pytest.raises(ConfigError, match="the to date 'soon' is not a date"):
        parse_given_date("soon", "to")


@pytest.mark.parametrize(
    "missing, message",
    [
        ("date", "dates are in the column 'Created'.*--date COLUMN"),
        ("value", "order totals are in the column 'Grand Total'.*--amount COLUMN"),
    ],
)
def test_a_profile_column_outside_its_signature_that_the_file_lacks_is_refused(
    duck, monkeypatch, missing, message
):
    profile = Profile(
        name="till",
        title="Till export",
        signature=("Order", "Email"),
        roles={"invoice": "Order", "customer": "Email", "date": "Created"},
        value=ValueBasis("Grand Total", "order_total"),
        time=TimeColumns(date="Created"),
    )
    monkeypatch.setattr(profiles_module, "profiles", lambda: {"till": profile})
    columns = {"Order": ["1"], "Email": ["a@example.com"], "Created": ["2024-04-02"], "Grand Total": ["9.50"]}
    del columns["Created" if missing == "date" else "Grand Total"]
    table = duck.create_table(f"till_{missing}", pa.table(columns), overwrite=True)
    with pytest.raises(ProfileError, match=message):
        read_profile(table, "till", source="till.csv")
