"""core.options.ReadOptions: validated once, frozen, hashable; each bad value refused by name;
the file read by it (mapping, sheet, rules, returns, readings, as-of, loaded_on) as written."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from core.cleaning import PRESETS
from core.columns import MissingRoleError
from core.errors import ConfigError
from core.options import ReadOptions
from core.rfm import open_source, rfm_from_file

# Two customers; 'b' has a line dated after the day loaded (2024-03-10 with loaded_on 03-05)
# and a comma-decimal amount; the status column says one line is refunded.
ORDERS = (
    "client;day;value;state\n"
    "a;01/02/2024;10,50;paid\n"
    "a;03/02/2024;2,00;refunded\n"
    "b;02/02/2024;4,25;paid\n"
    "b;10/03/2024;1,00;paid\n"
)


@pytest.fixture
def orders(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS)
    return path


def test_defaults_and_normalised_values():
    options = ReadOptions()
    assert (options.mapping, options.sheet, options.preset, options.rules) == ((), None, None, None)
    assert (options.returns, options.decimal, options.date_format) == ("drop", None, None)
    assert (options.sale_statuses, options.not_sale_statuses) == ((), ())
    assert (options.header_row, options.drop_duplicates) == (None, False)
    assert (options.as_of, options.loaded_on) == (None, None)
    given = ReadOptions(
        mapping={"customer": "Email", "amount": ""},
        as_of="2011-12-09T12:50+01:00",
        rules=["missing_customer"],
        not_sale_statuses=["Refunded"],
        loaded_on=dt.datetime(2024, 3, 5, 17, 0),
    )
    assert given.mapping == (("customer", "Email"), ("amount", ""))
    assert given.mapping_dict == {"customer": "Email", "amount": None}
    assert given.as_of == dt.datetime(2011, 12, 9, 11, 50)  # the offset converted to UTC
    assert given.rules == ("missing_customer",) and given.not_sale_statuses == ("refunded",)
    assert given.loaded_on == dt.date(2024, 3, 5)
    assert ReadOptions(as_of=dt.date(2011, 12, 9)).as_of == dt.datetime(2011, 12, 9)


def test_frozen_and_hashable():
    options = ReadOptions(mapping=(("customer", "Email"),), as_of="2024-01-01")
    assert hash(options) == hash(ReadOptions(mapping={"customer": "Email"}, as_of="2024-01-01"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.sheet = "x"  # type: ignore[misc]
    assert dataclasses.replace(options, returns="net").returns == "net"


@pytest.mark.parametrize(
    "bad, named",
    [
        (dict(mapping={"buyer": "Email"}), "unknown column role 'buyer'"),
        (dict(mapping={"customer": 3}), "the column for customer must be a column name, not 3"),
        (dict(mapping=["customer"]), "mapping must be (role, column) pairs"),
        (dict(sheet=2), "the sheet must be a sheet name, not 2"),
        (dict(preset="shopify"), "unknown preset 'shopify'"),
        (dict(rules=("missing_customer", "no_such_rule")), "unknown cleaning rule(s) ['no_such_rule']"),
        (dict(returns="keep"), "returns must be 'drop' or 'net', not 'keep'"),
        (dict(decimal=";"), "decimal mark must be ',' or '.', not ';'"),
        (dict(date_format="yearfirst"), "date format must be 'dayfirst' or 'monthfirst', not 'yearfirst'"),
        (dict(sale_statuses="quote", not_sale_statuses=["Quote"]), "quote given both as a sale and as not"),
        (dict(not_sale_statuses=" , "), "names no status value"),
        (dict(header_row=0), "header row 0 is not a row number"),
        (dict(drop_duplicates="yes"), "drop_duplicates must be True or False"),
        (dict(as_of="09/12/2011"), "as-of date '09/12/2011' is not a date"),
        (dict(loaded_on="2024-03-05"), "loaded_on must be a date, not '2024-03-05'"),
    ],
)
def test_each_bad_value_is_refused_by_name(bad, named):
    with pytest.raises(ConfigError) as refused:
        ReadOptions(**bad)
    assert named in str(refused.value)


def test_the_file_is_read_as_the_options_say(orders):
    options = ReadOptions(
        mapping={"customer": "client", "date": "day", "amount": "value", "status": "state"},
        preset="generic",
        decimal=",",
        date_format="dayfirst",
        loaded_on=dt.date(2024, 3, 5),
    )
    source = open_source(orders, options)
    assert source.options is options
    assert source.cleaning.rules == PRESETS["generic"]
    assert source.cleaning.loaded_on == dt.date(2024, 3, 5)
    result = source.rfm()
    removed = {name: n for name, _, n in result.audit.removed}
    # day-first: b's 10/03 is March 10, after loaded_on + 1 day; a's 03/02 line is refunded
    assert removed["date_out_of_range"] == 1 and removed["not_completed_sale"] == 1
    assert result.as_of == dt.datetime(2024, 2, 2)
    assert result.table.to_pylist() == [
        {"customer_id": "a", "recency": 1, "frequency": 1, "monetary": 10.5},
        {"customer_id": "b", "recency": 0, "frequency": 1, "monetary": 4.25},
    ]


def test_as_of_rules_returns_and_unmapping_come_from_the_options(orders):
    mapping = {"customer": "client", "date": "day", "amount": "value"}
    base = ReadOptions(mapping=mapping, decimal=",", date_format="dayfirst", loaded_on=dt.date(2024, 12, 31))
    # no status mapped: the refunded line counts; as of Feb 2: a's Feb 3 line is not yet
    at_feb_2 = rfm_from_file(orders, dataclasses.replace(base, as_of="2024-02-02"))
    assert at_feb_2.as_of == dt.datetime(2024, 2, 2)
    assert at_feb_2.table.to_pylist() == [
        {"customer_id": "a", "recency": 1, "frequency": 1, "monetary": 10.5},
        {"customer_id": "b", "recency": 0, "frequency": 1, "monetary": 4.25},
    ]
    # only the missing-customer rule: every line kept, March 10 included
    everything = rfm_from_file(orders, dataclasses.replace(base, rules=("missing_customer",)))
    assert everything.audit.rows_out == 4
    assert everything.as_of == dt.datetime(2024, 3, 10)
    # the amount role unmapped ('' or None): the file has no quantity x price, refused by name
    with pytest.raises(MissingRoleError, match="cannot find the amount"):
        open_source(orders, dataclasses.replace(base, mapping={**mapping, "amount": None}))
