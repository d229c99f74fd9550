"""Properties of RFM over generated transactions (hypothesis), checked against a naive
per-customer loop written here in plain Python from the definitions in DESIGN.md."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections import defaultdict

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.cleaning import CleaningConfig, suggest_preset
from core.columns import resolve_mapping
from core.errors import DataValidationError
from core.io import read_transactions
from core.rfm import Source

SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
BASE = dt.datetime(2011, 1, 1)

# Online-Retail-shaped lines: customers from a small pool (some missing), dates (some
# unparseable), invoices incl. cancellations and adjustments, stock codes incl. postage,
# quantities and prices incl. zero and negative ones. Each field is invalid about one time in
# eight, so most examples keep several lines per customer (repeated invoices included).
# Prices have whole cents, so every customer's exact total is a whole number of cents.


def mostly(valid: st.SearchStrategy, invalid: st.SearchStrategy) -> st.SearchStrategy:
    return st.tuples(st.integers(0, 7), valid, invalid).map(lambda t: t[2] if t[0] == 0 else t[1])


customers = mostly(st.sampled_from(["00017", "12347", "12348", "A-1", "b2"]), st.just(""))
when = mostly(st.integers(0, 60 * 24 * 90), st.just(None))  # minutes after BASE, or unparseable
invoices = mostly(st.sampled_from(["536365", "536366", "536367"]), st.sampled_from(["C536369", "A563185"]))
stock_codes = mostly(st.sampled_from(["85123A", "22728", "21730"]), st.sampled_from(["POST", "M"]))
quantities = mostly(st.integers(1, 12), st.integers(-4, 0))
prices = mostly(
    st.sampled_from(["0.55", "1.25", "2.55", "10.00", "0.01"]), st.sampled_from(["0.00", "-3.00"])
)
online_retail_lines = st.lists(
    st.tuples(customers, when, invoices, stock_codes, quantities, prices), min_size=1, max_size=40
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("generated")


def _timestamp(minutes):
    return None if minutes is None else BASE + dt.timedelta(minutes=minutes)


def _write_csv(folder, lines) -> str:
    path = folder / f"{uuid.uuid4().hex}.csv"
    text = ["Invoice,StockCode,Quantity,InvoiceDate,Price,Customer ID"]
    for cust, minutes, invoice, stock, qty, price in lines:
        ts = _timestamp(minutes)
        date = "n/a" if ts is None else f"{ts:%Y-%m-%d %H:%M}"
        text.append(f"{invoice},{stock},{qty},{date},{price},{cust}")
    path.write_text("\n".join(text) + "\n")
    return path


def _compute(path, duck, returns="drop"):
    dataset = read_transactions(path, con=duck)
    mapping = resolve_mapping(dataset.table, {}, dataset.name)
    cleaning = CleaningConfig.preset(suggest_preset(mapping), returns=returns)
    return dataset, mapping, cleaning, Source(dataset, mapping, cleaning).rfm()


RULE_ORDER = (
    "missing_customer",
    "unparseable_date",
    "date_out_of_range",
    "unparseable_number",
    "quantity_not_positive",
    "price_not_positive",
    "amount_not_positive",
    "invoice_not_six_digits",
    "stock_code_not_product",
)


def with_order_fields(lines):
    """A blank customer takes its invoice's customer when the invoice's other lines agree on one
    (an export that writes order fields on an order's first line only)."""
    named = defaultdict(set)
    for cust, _, invoice, *_ in lines:
        if cust:
            named[invoice].add(cust)
    return [
        (next(iter(named[line[2]])) if not line[0] and len(named[line[2]]) == 1 else line[0], *line[1:])
        for line in lines
    ]


def first_failed_rule(line) -> str | None:
    """The online-retail rules in audit order; the first one the line fails, or None."""
    cust, minutes, invoice, stock, qty, price = line
    checks = (
        bool(cust),
        minutes is not None,
        True,
        True,
        qty > 0,
        float(price) > 0,
        qty * float(price) > 0,
        re.fullmatch(r"\d{6}", invoice) is not None,
        re.fullmatch(r"\d{5}[A-Za-z]*", stock) is not None,
    )
    return next((rule for rule, ok in zip(RULE_ORDER, checks) if not ok), None)


def naive_kept(lines) -> list[tuple[str, dt.datetime, str, float]]:
    """The lines every rule keeps, as (customer, time, invoice, value)."""
    return [
        (cust, _timestamp(minutes), invoice, qty * float(price))
        for cust, minutes, invoice, stock, qty, price in with_order_fields(lines)
        if first_failed_rule((cust, minutes, invoice, stock, qty, price)) is None
    ]


def naive_rfm(lines) -> dict[str, tuple[int, int, float]]:
    """The definitions, one customer at a time, over the naively kept lines."""
    kept = naive_kept(lines)
    if not kept:
        return {}
    as_of = max(ts for _, ts, _, _ in kept)
    per_customer = defaultdict(lambda: {"last": None, "invoices": set(), "total": 0.0})
    for cust, ts, invoice, value in kept:
        c = per_customer[cust]
        c["last"] = ts if c["last"] is None else max(c["last"], ts)
        c["invoices"].add(invoice)
        c["total"] += value
    return {
        cust: ((as_of - c["last"]) // dt.timedelta(days=1), len(c["invoices"]), c["total"])
        for cust, c in per_customer.items()
    }


def _as_dict(rfm: pd.DataFrame) -> dict[str, tuple[int, int, float]]:
    return {r.customer_id: (int(r.recency), int(r.frequency), float(r.monetary)) for r in rfm.itertuples()}


@SETTINGS
@given(lines=online_retail_lines)
def test_rfm_matches_a_naive_loop(lines, workdir, duck):
    expected = naive_rfm(lines)
    path = _write_csv(workdir, lines)
    if not expected:
        with pytest.raises(DataValidationError):
            _compute(path, duck)
        return
    *_, result = _compute(path, duck)
    rfm = result.rfm
    got = _as_dict(rfm)
    # one row per customer, exactly the customers with a kept line
    assert rfm.customer_id.is_unique
    assert set(got) == set(expected)
    assert (rfm.recency >= 0).all() and (rfm.frequency >= 1).all() and (rfm.monetary > 0).all()
    for cust, (recency, frequency, monetary) in expected.items():
        assert got[cust][:2] == (recency, frequency), cust
        assert got[cust][2] == pytest.approx(round(monetary, 2), abs=1e-9), cust
    assert result.audit.rows_in == len(lines)
    assert result.audit.rows_out == len(naive_kept(lines))
    failed = [first_failed_rule(line) for line in with_order_fields(lines)]
    assert [(name, n) for name, _, n in result.audit.removed] == [
        (rule, failed.count(rule)) for rule in RULE_ORDER
    ]
    assert result.audit.customers_out == len(expected)


@settings(SETTINGS, max_examples=25)
@given(data=st.data(), lines=online_retail_lines)
def test_shuffling_rows_changes_nothing(data, lines, workdir, duck):
    shuffled = data.draw(st.permutations(lines))
    if not naive_rfm(lines):
        return  # no valid line: covered by test_rfm_matches_a_naive_loop
    *_, first = _compute(_write_csv(workdir, lines), duck)
    *_, second = _compute(_write_csv(workdir, shuffled), duck)
    pd.testing.assert_frame_equal(first.rfm, second.rfm)
    assert first.audit == second.audit
    assert first.as_of == second.as_of


# Generic files without an invoice column, fed through Parquet: frequency = distinct timestamps.
generic_lines = st.lists(
    st.tuples(
        st.sampled_from(["00017", "c2", "c3", None]),
        st.one_of(st.integers(0, 20).map(lambda d: d * 720), st.just(None)),  # half days
        st.sampled_from([-5.0, 0.0, 0.25, 1.5, 19.99, 100.0]),
    ),
    min_size=1,
    max_size=30,
)


@settings(SETTINGS, max_examples=30)
@given(lines=generic_lines)
def test_parquet_without_invoice_counts_distinct_timestamps(lines, workdir, duck):
    frame = pd.DataFrame(
        {
            "cust": pd.array([c for c, _, _ in lines], dtype="string"),
            "order_date": pd.to_datetime([_timestamp(m) for _, m, _ in lines]),
            "amount": [a for _, _, a in lines],
        }
    )
    path = workdir / f"{uuid.uuid4().hex}.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)

    kept = [(c, _timestamp(m), a) for c, m, a in lines if c is not None and m is not None and a > 0]
    if not kept:
        with pytest.raises(DataValidationError):
            _compute(path, duck)
        return
    as_of = max(ts for _, ts, _ in kept)
    expected = {}
    for cust in {c for c, _, _ in kept}:
        mine = [(ts, a) for c, ts, a in kept if c == cust]
        expected[cust] = (
            (as_of - max(ts for ts, _ in mine)) // dt.timedelta(days=1),
            len({ts for ts, _ in mine}),
            round(sum(a for _, a in mine), 2),
        )
    *_, result = _compute(path, duck)
    got = _as_dict(result.rfm)
    assert set(got) == set(expected)
    for cust, (recency, frequency, monetary) in expected.items():
        assert got[cust][:2] == (recency, frequency)
        assert got[cust][2] == pytest.approx(monetary, abs=1e-9)
