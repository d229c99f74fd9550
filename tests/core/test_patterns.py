"""A rule's regular expression tested as GLOBs on DuckDB (core.patterns): the same answer as
the regular expression on every text, and the regular expression wherever there is no GLOB."""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import patterns
from core.cleaning import INVOICE_PATTERN, RETURN_INVOICE_PATTERN, STOCK_CODE_PATTERN

# The rules' patterns and other shapes of the subset (a free run alone, ranges, a literal).
PATTERNS = (
    INVOICE_PATTERN,
    STOCK_CODE_PATTERN,
    RETURN_INVOICE_PATTERN,
    r"^[A-Z]*$",
    r"^x[0-9a-f]{2}$",
    r"^[a-c]{2}\d*$",
)
# Characters a GLOB or a regular expression could read differently: digits of other scripts,
# accented letters, whitespace, GLOB's and regex's own signs.
ALPHABET = "0123456789CAxabfzZ \n\t\u00e9\u0663[]*?!-\\^$."
texts = st.one_of(
    st.none(),
    st.text(ALPHABET, max_size=9),
    # near misses and hits: digits first, then anything
    st.builds(str.__add__, st.text("0123456789", min_size=4, max_size=7), st.text(ALPHABET, max_size=3)),
    st.builds(str.__add__, st.sampled_from(["C", "x", "ab", ""]), st.text("0123456789abcf", max_size=7)),
)


@pytest.fixture(scope="module")
def con():
    return ibis.duckdb.connect()


def answers(con, values: list[str | None], pattern: str) -> tuple[list, list, str]:
    """The GLOB form's and the regular expression's answers per value, and the SQL run."""
    t = con.create_table("v", pa.table({"v": pa.array(values, pa.string())}), overwrite=True)
    expr = t.select(form=patterns.matches(t.v, pattern), regex=t.v.re_search(pattern))
    rows = expr.to_pyarrow().to_pylist()
    return [r["form"] for r in rows], [r["regex"] for r in rows], str(ibis.to_sql(expr, dialect="duckdb"))


@given(st.lists(texts, min_size=1, max_size=60))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_glob_form_answers_as_the_regular_expression(con, values):
    for pattern in PATTERNS:
        form, regex, sql = answers(con, values, pattern)
        assert "~~~" in sql  # the GLOB form ran, not the regular expression again
        assert form == regex, pattern


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        (STOCK_CODE_PATTERN, "85123A", True),
        (STOCK_CODE_PATTERN, "22423", True),
        (STOCK_CODE_PATTERN, "84406Bx", True),
        (STOCK_CODE_PATTERN, "POST", False),
        (STOCK_CODE_PATTERN, "123456", False),
        (STOCK_CODE_PATTERN, "1234", False),
        (STOCK_CODE_PATTERN, "85123 ", False),
        (STOCK_CODE_PATTERN, "85123\u00e9", False),
        (STOCK_CODE_PATTERN, "\u0661\u0662\u0663\u0664\u0665", False),  # Arabic-Indic digits
        (STOCK_CODE_PATTERN, None, None),
        (INVOICE_PATTERN, "536365", True),
        (INVOICE_PATTERN, "C536365", False),
        (INVOICE_PATTERN, "5363650", False),
        (INVOICE_PATTERN, "536365\n", False),
        (RETURN_INVOICE_PATTERN, "C536379", True),
        (RETURN_INVOICE_PATTERN, "c536379", False),
        (RETURN_INVOICE_PATTERN, "A563185", False),
    ],
)
def test_known_codes(con, pattern, value, expected):
    form, regex, _ = answers(con, [value], pattern)
    assert form == regex == [expected]


def test_the_forms_of_the_rules_patterns():
    assert patterns.glob_form(INVOICE_PATTERN) == patterns.Globs("[0-9]" * 6)
    assert patterns.glob_form(RETURN_INVOICE_PATTERN) == patterns.Globs("C" + "[0-9]" * 6)
    assert patterns.glob_form(STOCK_CODE_PATTERN) == patterns.Globs("[0-9]" * 5 + "*", "?????*[!A-Za-z]*")
    assert patterns.glob_form(r"^[A-Z]*$") == patterns.Globs("*", "*[!A-Z]*")


@pytest.mark.parametrize(
    "pattern",
    [
        r"^\d+$",  # + is not in the subset
        r"^\d{5}",  # not anchored at the end
        r"\d{5}$",  # nor at the start
        r"^[^a]$",  # a negated bracket
        r"^a*b$",  # a class after the free run
        r"^$",
        r"^[CA]?\d{6}$",  # optional
        r"^\w{3}$",  # \w reads Unicode letters in some engines
        r"^(ab|cd)$",
        r"^.{3}$",
        r"^\d{6}\$",  # an escaped dollar: not an anchor
    ],
)
def test_other_patterns_have_no_glob_form_and_run_as_regular_expressions(con, pattern):
    assert patterns.glob_form(pattern) is None
    t = con.create_table("v", pa.table({"v": pa.array(["123456"], pa.string())}), overwrite=True)
    assert "~~~" not in str(ibis.to_sql(t.select(m=patterns.matches(t.v, pattern)), dialect="duckdb"))
