"""core.values: numbers and dates as people write them, decided over the whole column."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import values
from core.errors import ConfigError, DataValidationError
from core.options import ReadOptions, parse_as_of
from core.rfm import rfm_from_file


def _numbers(duck, texts, decimal):
    t = ibis.memtable({"v": texts})
    return duck.execute(t.select(x=values.parse_number(t.v, decimal)))["x"].tolist()


@pytest.mark.parametrize(
    "text,decimal,number",
    [
        ("1,234.50", ".", 1234.50),
        ("1.234,50", ",", 1234.50),
        ("12,50", ",", 12.50),
        ("€12,50", ",", 12.50),
        ("12,50 €", ",", 12.50),
        ("$1,234.50", ".", 1234.50),
        ("USD 10", ".", 10.0),
        ("£3.99", ".", 3.99),
        ("(12.00)", ".", -12.0),
        ("12,50-", ",", -12.50),
        ("-7", ".", -7.0),
        ("1 249,00", ",", 1249.0),
        ("1'249.00", ".", 1249.0),
        ("1.234.567", ",", 1234567.0),
        ("1,234,567", ".", 1234567.0),
        (".5", ".", 0.5),
    ],
)
def test_numbers_as_people_write_them(duck, text, decimal, number):
    assert _numbers(duck, [text], decimal) == [pytest.approx(number)]


@pytest.mark.parametrize(
    "text,decimal",
    [
        ("1,234.50", ","),  # a point after a comma cannot be a comma-decimal number
        ("12.5", ","),
        ("12,5", "."),
        ("lots", "."),
        ("€", "."),
        ("1.2.3", "."),
        ("NaN", "."),
        ("inf", "."),
        ("12abc", "."),
    ],
)
def test_text_that_is_not_a_number_is_null_never_another_number(duck, text, decimal):
    [got] = _numbers(duck, [text], decimal)
    assert pd.isna(got)


def _decide(duck, column, **kw):
    t = ibis.memtable({"v": column})
    return values.decide(t, ["v"], None, source="f.csv", **kw).numbers[0]


@pytest.mark.parametrize(
    "column,mark",
    [
        (["12,50", "3"], ","),
        (["1.234,50", "7"], ","),
        (["1.234.567"], ","),
        (["12.50", "3"], "."),
        (["1,234.50"], "."),
        (["1,234,567"], "."),
        (["0,500"], ","),
        # a thousands-looking value early and a decimal one late: all values decide
        (["1,234"] * 999 + ["5,5"], ","),
    ],
)
def test_decimal_mark_decided_from_all_values(duck, column, mark):
    assert _decide(duck, column).decimal == mark


def test_only_thousands_like_values_follow_the_delimiter_hint(duck):
    assert _decide(duck, ["1,234", "5"]).decimal == "."
    assert _decide(duck, ["1.234", "5"], delimiter=";").decimal == ","


def test_a_column_with_both_marks_is_refused_unless_forced(duck):
    with pytest.raises(DataValidationError, match=r"f.csv: column 'v' writes numbers both ways.*--decimal"):
        _decide(duck, ["12,50", "3.75"])
    assert _decide(duck, ["12,50", "3.75"], decimal=",").decimal == ","


def test_bad_choices_are_config_errors():
    with pytest.raises(ConfigError, match="decimal mark must be"):
        values.check_choices(";", None)
    with pytest.raises(ConfigError, match="date format must be"):
        values.check_choices(None, "yearfirst")


def _date_reading(duck, column, **kw):
    t = ibis.memtable({"d": column})
    return values.decide(t, [], "d", source="f.csv", **kw).date


def test_date_order_from_values_that_fit_one_order_only(duck):
    assert _date_reading(duck, ["03/04/2024"] * 5 + ["25/04/2024"]).order == "day-first"
    assert _date_reading(duck, ["03/04/2024"] * 5 + ["04/25/2024"]).order == "month-first"


def test_ambiguous_dates_are_reported_and_read_as_chosen(duck):
    reading = _date_reading(duck, ["03/04/2024", "05/06/2024 10:00"])
    assert reading.ambiguous and reading.order == "month-first" and "ambiguous" in reading.reason
    assert _date_reading(duck, ["03/04/2024"], date_format="dayfirst").order == "day-first"
    assert _date_reading(duck, ["03/04/2024"], delimiter=";").order == "day-first"  # locale hint


def test_dates_with_and_without_time_and_offsets(duck):
    rows = ["03.01.2022", "04.01.2022 18:49", "13.01.2022 07:05:09"]
    t = ibis.memtable({"d": rows})
    reading = values.decide(t, [], "d").date
    got = duck.execute(t.select(x=values.parse_date(t.d, reading)))["x"].tolist()
    assert got == [
        dt.datetime(2022, 1, 3),
        dt.datetime(2022, 1, 4, 18, 49),
        dt.datetime(2022, 1, 13, 7, 5, 9),
    ]
    iso = [
        "2024-01-05 10:00:00 +0100",
        "2024-01-05T10:00:00Z",
        "2024-01-05T10:00:00-05:00",
        "2024-01-05 10:00",
    ]
    t = ibis.memtable({"d": iso})
    reading = values.decide(t, [], "d").date
    got = duck.execute(t.select(x=values.parse_date(t.d, reading)))["x"].tolist()
    assert got == [
        dt.datetime(2024, 1, 5, 9),
        dt.datetime(2024, 1, 5, 10),
        dt.datetime(2024, 1, 5, 15),
        dt.datetime(2024, 1, 5, 10),
    ]


def test_as_of_with_an_offset_is_utc():
    assert parse_as_of("2024-01-05T10:00:00+01:00") == dt.datetime(2024, 1, 5, 9)
    assert parse_as_of("2024-01-05T10:00:00Z") == dt.datetime(2024, 1, 5, 10)


def test_a_non_date_column_is_refused(duck):
    with pytest.raises(DataValidationError, match="f.csv: dates in column 'd' do not parse"):
        _date_reading(duck, ["tomorrow", "someday"])


def test_forced_date_format_and_decimal_change_the_numbers(tmp_path, duck):
    path = tmp_path / "ambiguous.csv"
    path.write_text('customer,date,amount\na,01/02/2024,"1,500"\na,03/02/2024,"2,000"\n')
    default = rfm_from_file(path, con=duck)  # month-first: Jan 2 and Mar 2; 1,500 = 1500
    assert default.readings.date.ambiguous
    assert default.rfm.iloc[0][["recency", "frequency", "monetary"]].tolist() == [0, 2, 3500.0]
    assert default.as_of == dt.datetime(2024, 3, 2)
    forced = rfm_from_file(path, ReadOptions(date_format="dayfirst", decimal=","), con=duck)
    assert forced.as_of == dt.datetime(2024, 2, 3)  # day-first: Feb 1 and Feb 3
    assert forced.rfm.iloc[0][["recency", "frequency", "monetary"]].tolist() == [0, 2, 3.5]


def _read_dates(duck, rows, **kw):
    t = ibis.memtable({"d": rows})
    reading = values.decide(t, [], "d", **kw).date
    return reading, duck.execute(t.select(x=values.parse_date(t.d, reading)))["x"].tolist()


def test_iso_dates_with_and_without_an_offset_side_by_side(duck):
    # Without an offset a value goes straight to the timestamp cast; with one (sign in the last
    # six characters, or Z / UTC) it is converted to UTC: both kinds in one column.
    rows = [
        "2024-01-05 10:00:00",
        "2024-01-05T10:00",
        "2024-01-05",
        "2024-1-5 8:05",
        "2024-01-05 10:00:00+01:00",
        "2024-01-05 10:00:00 +0100",
        "2024-01-05 10:00 -05",
        "2024-1-5T8:0:0+01",
        "2024-01-05T10:00:00Z",
        "2024-01-05 10:00:00 UTC",
        "2024-01-05 10:00:00.250",
        "2024-13-05 10:00:00",
        "2024-01-05 10:00:00 +01:00 x",
    ]
    reading, got = _read_dates(duck, rows)
    assert reading.order == "year-first"
    d = dt.datetime
    assert got[:11] == [
        d(2024, 1, 5, 10),
        d(2024, 1, 5, 10),
        d(2024, 1, 5),
        d(2024, 1, 5, 8, 5),
        d(2024, 1, 5, 9),
        d(2024, 1, 5, 9),
        d(2024, 1, 5, 15),
        d(2024, 1, 5, 7),
        d(2024, 1, 5, 10),
        d(2024, 1, 5, 10),
        d(2024, 1, 5, 10, 0, 0, 250000),
    ]
    assert pd.isna(got[11]) and pd.isna(got[12])  # month 13; text after the offset


def test_day_first_dates_read_by_the_first_format_that_fits_them(duck):
    rows = [
        "25/04/2024",
        "05/04/24",
        "5/4/2024 7:45",
        "05/04/2024 07:45:10",
        "5/4/24 7:45 PM",
        "05/04/2024 07:45:10 am",
        "5/4/4",
        "05/04/2024 7:45 Pm",
        "05-04-2024",
        "31/02/2024",
    ]
    reading, got = _read_dates(duck, rows)
    assert reading.order == "day-first"
    d = dt.datetime
    assert got[:6] == [
        d(2024, 4, 25),
        d(2024, 4, 5),
        d(2024, 4, 5, 7, 45),
        d(2024, 4, 5, 7, 45, 10),
        d(2024, 4, 5, 19, 45),
        d(2024, 4, 5, 7, 45, 10),
    ]
    # a one-digit year, 'Pm', another separator, February 31st: not dates of this column
    assert all(pd.isna(v) for v in got[6:])


@pytest.mark.parametrize(
    "column,mark",
    [
        (["-0,5"], ","),
        (["(1.234,50)"], ","),
        (["-12.50"], "."),
        (["USD 1,234,567"], "."),
        (["1.234.567-"], ","),
        (["€ 12", "-3,25"], ","),
    ],
)
def test_signed_and_marked_values_vote_for_their_mark(duck, column, mark):
    assert _decide(duck, column).decimal == mark


@pytest.mark.parametrize("repeated", [True, False])
def test_counts_weigh_every_line_whether_texts_repeat_or_not(duck, repeated):
    # Repeated texts are counted once per distinct text, weighed by their lines; all-distinct
    # texts line by line: the counts in the messages are lines either way.
    if repeated:
        commas, points = ["12,50"] * 600, ["3.75"] * 400
        dates = ["2024-01-05 10:00:00"] * 700 + ["2024-01-06"] * 299 + ["soon"]
    else:
        commas = [f"{i},50" for i in range(600)]
        points = [f"{i}.75" for i in range(400)]
        dates = [f"2024-01-05 10:{i // 60:02d}:{i % 60:02d}" for i in range(999)] + ["soon"]
    t = ibis.memtable({"v": commas + points, "d": dates})
    with pytest.raises(
        DataValidationError,
        match=r"600 values read as decimal comma, 400 as "
        r"decimal point",
    ):
        values.decide(t, ["v"], "d")
    reading = values.decide(t, ["v"], "d", decimal=",").date
    assert reading.reason == "ISO dates, 999 of 1,000 values"


# -- a blank cell ------------------------------------------------------------------------------
# DuckDB's TRIM takes spaces and Unicode space separators (no-break, ideographic, em spaces),
# not tabs or line breaks: a cell of those is not blank, as before the cheap test.
@pytest.mark.parametrize(
    "text,is_blank",
    [
        (None, True),
        ("", True),
        ("   ", True),
        ("\u00a0", True),
        ("\u3000 \u2003", True),
        ("\t", False),
        ("\n", False),
        ("DE", False),
        (" DE", False),
        ("\u00a0France", False),
        ("é", False),
        ("0", False),
    ],
)
def test_a_blank_cell_is_empty_or_spaces_only(duck, text, is_blank):
    t = ibis.memtable({"v": pd.Series([text], dtype="string")})
    expr = t.select(b=values.blank(t.v))
    assert "~~~" in str(ibis.to_sql(expr, dialect="duckdb"))  # the GLOB on the first character ran
    assert duck.execute(expr)["b"].tolist() == [is_blank]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.none(), st.text(" \t\n\u00a0\u3000\u200baZ9é,", max_size=4)), min_size=1))
def test_the_blank_test_answers_as_trimming_to_nothing(duck, texts):
    t = ibis.memtable({"v": pd.Series(texts, dtype="string")})
    got = duck.execute(t.select(fast=values.blank(t.v), trimmed=values.trim(t.v).nullif("").isnull()))
    assert got["fast"].tolist() == got["trimmed"].tolist()


def test_a_number_or_date_cell_is_blank_when_null(duck):
    t = ibis.memtable({"n": [1.5, None], "d": [dt.datetime(2024, 1, 1), None]})
    got = duck.execute(t.select(n=values.blank(t.n), d=values.blank(t.d)))
    assert got["n"].tolist() == [False, True] and got["d"].tolist() == [False, True]
