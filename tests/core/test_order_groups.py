"""RFM groups the lines per order before filling an order's blanks and running the order-level
rules (core.rfm.group_orders). The definition is per line: every line gets its order's blank
fields, then the first rule it fails. This checks, on generated order exports with blanks
everywhere (customer, date, status, country, amount), that the per-order evaluation gives
exactly what the per-line definition gives, audit included, with the definition written out
per line here in plain Python."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.cleaning import PRESETS
from core.errors import DataValidationError
from core.options import ReadOptions
from core.rfm import rfm_from_file

SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
BASE = dt.datetime(2024, 3, 1)
LOADED_ON = dt.date(2024, 6, 1)
ROLES = {
    "invoice": "Name",
    "customer": "Email",
    "date": "Created at",
    "status": "Financial Status",
    "country": "Billing Country",
    "amount": "Total",
}

# One order's shared fields, then each line leaves any of them blank (continuation lines).
orders = st.fixed_dictionaries(
    {
        "order": st.sampled_from(["#1001", "#1002", "#1003", "#1004"]),
        "email": st.sampled_from(["a@x.com", "b@x.com", "c@x.com"]),
        "day": st.integers(0, 40),
        "status": st.sampled_from(["paid", "refunded", "pending", "paid"]),
        "country": st.sampled_from(["DE", "FR"]),
    }
)
lines = st.lists(
    st.tuples(
        st.sampled_from(["#1001", "#1002", "#1003", "#1004", ""]),  # "" : a line with no order
        # email, date, status, country: the order's, blank, or (email, status) another value
        st.sampled_from(["order", "blank", "other"]),
        st.booleans(),
        st.sampled_from(["order", "blank", "other"]),
        st.booleans(),
        st.sampled_from(["12.50", "0.00", "-3.00", "", "abc", "7.25"]),  # the line's amount
        st.sampled_from(["a@x.com", "b@x.com", "c@x.com"]),  # who, when the line has no order
    ),
    min_size=1,
    max_size=30,
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("orders")


def _rows(order_fields, generated):
    """The file's rows as written: (order, email, date, status, country, amount)."""
    by_order = {o["order"]: o for o in order_fields}
    rows = []
    for order, email, no_date, status, no_country, amount, who in generated:
        o = by_order.get(order)
        if o is None:  # no order on the line (or an order the generator did not describe)
            rows.append(
                (order, who, (BASE + dt.timedelta(days=3)).strftime("%Y-%m-%d %H:%M"), "paid", "DE", amount)
            )
            continue
        rows.append(
            (
                order,
                {"order": o["email"], "blank": "", "other": who}[email],
                "" if no_date else (BASE + dt.timedelta(days=o["day"])).strftime("%Y-%m-%d %H:%M"),
                {"order": o["status"], "blank": "", "other": "paid"}[status],
                "" if no_country else o["country"],
                amount,
            )
        )
    return rows


def _expected(rows, rules):
    """The per-line definition, in Python: fill, then the first rule failed; RFM of the kept."""
    shared = defaultdict(lambda: defaultdict(set))
    for order, *fields, _ in rows:
        if order:
            for name, value in zip(("email", "date", "status", "country"), fields):
                if value:
                    shared[order][name].add(value)
    amount_given = {order for order, *_, amount in rows if order and amount not in ("", "abc")}
    removed = dict.fromkeys(rules, 0)
    filled, kept = 0, []
    for order, email, date, status, country, amount in rows:
        line = {"email": email, "date": date, "status": status, "country": country}
        took = False
        for name, value in line.items():
            if order and not value and len(shared[order][name]) == 1:
                line[name] = next(iter(shared[order][name]))
                took = True
        filled += took
        order_line = bool(order) and not amount and order in amount_given
        value = 0.0 if order_line else (float(amount) if amount not in ("", "abc") else None)
        checks = {
            "missing_customer": bool(line["email"]),
            "unparseable_date": bool(line["date"]),
            "date_out_of_range": True,
            "unparseable_number": amount != "abc",
            # a status left blank (not filled) is not known to be a sale: removed, like NULLs
            "not_completed_sale": line["status"] not in ("refunded", "pending", ""),
            "amount_not_positive": order_line or (value is not None and value > 0),
        }
        failed = next((r for r in rules if not checks[r]), None)
        if failed:
            removed[failed] += 1
        else:
            kept.append(
                (
                    line["email"],
                    dt.datetime.strptime(line["date"], "%Y-%m-%d %H:%M"),
                    order or line["date"],
                    value,
                )
            )
    return removed, filled, kept


@SETTINGS
@given(order_fields=st.lists(orders, min_size=1, max_size=4, unique_by=lambda o: o["order"]), generated=lines)
def test_per_order_evaluation_equals_the_per_line_definition(order_fields, generated, workdir):
    rows = _rows(order_fields, generated)
    path = workdir / f"{uuid.uuid4().hex}.csv"
    # each line its own SKU: no line is an exact copy of another (copies: tests/core/test_statuses.py)
    path.write_text(
        "Name,Email,Created at,Financial Status,Billing Country,Total,Lineitem sku\n"
        + "".join(",".join(r) + f",SKU-{i}\n" for i, r in enumerate(rows))
    )
    options = ReadOptions(mapping=ROLES, preset="generic", loaded_on=LOADED_ON)
    rules = [r for r in PRESETS["generic"] if r not in ("quantity_not_positive", "price_not_positive")]
    removed, filled, kept = _expected(rows, rules)
    if not kept:
        with pytest.raises(DataValidationError) as refused:
            rfm_from_file(path, options)
        said = "date column 'Created at' is empty" if not any(r[2] for r in rows) else "no valid rows left"
        assert said in str(refused.value), str(refused.value)
        return
    result = rfm_from_file(path, options)
    audit = result.audit
    assert {name: n for name, _, n in audit.removed} == removed
    assert audit.filled_from_order == filled
    assert audit.rows_out == len(kept) and audit.rows_in == len(rows)
    as_of = max(ts for _, ts, _, _ in kept)
    expected = {}
    for who in sorted({w for w, *_ in kept}):
        mine = [k for k in kept if k[0] == who]
        last = max(ts for _, ts, _, _ in mine)
        expected[who] = (
            (as_of - last).days,
            len({p for *_, p, _ in mine}),
            round(sum(v for *_, v in mine), 2),
        )
    got = {r["customer_id"]: (r["recency"], r["frequency"], r["monetary"]) for r in result.table.to_pylist()}
    assert got == expected


# The window that fills an order's blanks runs only when some order could take a value
# (core.rfm._may_fill); these files take each branch, with the figures worked out by hand.
RETAIL_HEADER = "Invoice,StockCode,Quantity,InvoiceDate,Price,Customer ID,Country\n"


def _rfm_counting_fills(path, monkeypatch, **options):
    import core.rfm

    calls = []
    real = core.rfm.fill_from_order
    monkeypatch.setattr(core.rfm, "fill_from_order", lambda *a, **k: calls.append(1) or real(*a, **k))
    result = rfm_from_file(path, ReadOptions(loaded_on=dt.date(2011, 1, 1), **options))
    return result, len(calls)


def _by_customer(result):
    return {r["customer_id"]: (r["recency"], r["frequency"], r["monetary"]) for r in result.table.to_pylist()}


def test_whole_invoices_without_a_customer_are_removed_without_the_fill_window(tmp_path, monkeypatch):
    path = tmp_path / "retail.csv"
    path.write_text(
        RETAIL_HEADER + "536365,85123A,6,2010-12-01 08:26,2.55,17850,United Kingdom\n"
        "536365,22633,2,2010-12-01 08:26,1.85,17850,United Kingdom\n"
        "536366,22633,4,2010-12-02 09:00,1.85,,United Kingdom\n"
        "536366,85123A,1,2010-12-02 09:00,2.55,,United Kingdom\n"
        "536367,22633,3,2010-12-03 10:00,2.00,17851,France\n"
    )
    result, fills = _rfm_counting_fills(path, monkeypatch, preset="online-retail")
    assert fills == 0
    assert result.audit.filled_from_order == 0
    assert dict((name, n) for name, _, n in result.audit.removed)["missing_customer"] == 2
    assert (result.audit.rows_in, result.audit.rows_out) == (5, 3)
    # 17850: 6 x 2.55 + 2 x 1.85 = 19.00, 2 days 1:34 before the as-of (2010-12-03 10:00)
    assert _by_customer(result) == {"17850": (2, 1, 19.0), "17851": (0, 1, 6.0)}


def test_a_blank_customer_on_an_invoice_with_one_customer_is_filled(tmp_path, monkeypatch):
    path = tmp_path / "retail.csv"
    path.write_text(
        RETAIL_HEADER + "536365,85123A,6,2010-12-01 08:26,2.55,17850,United Kingdom\n"
        "536366,22633,4,2010-12-02 09:00,1.85,17852,United Kingdom\n"
        "536366,85123A,1,2010-12-02 09:00,2.55,,United Kingdom\n"
        "536367,22633,3,2010-12-03 10:00,2.00,17851,France\n"
    )
    result, fills = _rfm_counting_fills(path, monkeypatch, preset="online-retail")
    assert fills == 1
    assert result.audit.filled_from_order == 1
    assert (result.audit.rows_in, result.audit.rows_out) == (4, 4)
    # 17852: 4 x 1.85 + 1 x 2.55 (the line filled from its invoice) = 9.95, 1 day 1:00 before
    assert _by_customer(result) == {"17850": (2, 1, 15.3), "17851": (0, 1, 6.0), "17852": (1, 1, 9.95)}


def test_a_blank_amount_on_an_order_with_its_total_is_an_order_line(tmp_path, monkeypatch):
    # No field is blank, only the amount of an order's second line: the window still runs.
    path = tmp_path / "orders.csv"
    path.write_text(
        "Name,Email,Created at,Total\n"
        "#1001,a@x.com,2010-12-01 10:00,30.00\n"
        "#1001,a@x.com,2010-12-01 10:00,\n"
        "#1002,b@x.com,2010-12-02 10:00,5.00\n"
    )
    result, fills = _rfm_counting_fills(path, monkeypatch, preset="generic", mapping={"invoice": "Name"})
    assert fills == 1
    # the order line is kept with value 0 (the order's total is on its first line)
    assert (result.audit.rows_in, result.audit.rows_out) == (3, 3)
    assert _by_customer(result) == {"a@x.com": (1, 1, 30.0), "b@x.com": (0, 1, 5.0)}


def test_a_blank_country_alone_is_counted_as_filled_from_its_invoice(tmp_path, monkeypatch):
    # Only the country is blank (on 536366's second line): the countries are aggregated then.
    path = tmp_path / "retail.csv"
    path.write_text(
        RETAIL_HEADER + "536366,22633,4,2010-12-02 09:00,1.85,17852,France\n"
        "536366,85123A,1,2010-12-02 09:00,2.55,17852,\n"
        "536367,22633,3,2010-12-03 10:00,2.00,17851,\n"
    )
    result, fills = _rfm_counting_fills(path, monkeypatch, preset="online-retail")
    assert fills == 1
    assert result.audit.filled_from_order == 1  # 536367 has no country to take
    assert (result.audit.rows_in, result.audit.rows_out) == (3, 3)
    assert _by_customer(result) == {"17851": (0, 1, 6.0), "17852": (1, 1, 9.95)}


def test_blank_dates_and_countries_of_a_typed_file_are_filled_from_their_order(tmp_path, monkeypatch):
    # A Parquet file whose dates are timestamps: a blank date is a NULL there, and the groups
    # are not keyed on it (core.rfm.group_orders); countries are text with space-only blanks.
    import pyarrow as pa
    import pyarrow.parquet as pq

    ts = dt.datetime
    rows = [  # invoice, stock code, quantity, date, price, customer, country
        ("536365", "85123A", 6, ts(2010, 12, 1, 8, 26), 2.55, 17850.0, "United Kingdom"),
        ("536365", "22633", 2, None, 1.85, 17850.0, "United Kingdom"),  # date from its order
        ("536366", "22633", 4, None, 1.85, 17852.0, "United Kingdom"),  # no date in the order
        ("536367", "22633", 3, ts(2010, 12, 3, 10, 0), 2.00, 17851.0, "France"),
        ("536368", "22633", 1, ts(2010, 12, 3, 11, 0), 2.00, 17851.0, " France"),
        ("536368", "85123A", 1, ts(2010, 12, 3, 11, 0), 2.55, 17851.0, "\u00a0"),  # blank country
        ("536369", "22633", 1, ts(2010, 12, 3, 12, 0), 2.00, 17853.0, "\t"),  # a tab is no blank
    ]
    names = ["Invoice", "StockCode", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]
    table = pa.table(
        {name: [row[i] for row in rows] for i, name in enumerate(names)},
        schema=pa.schema(
            [
                ("Invoice", pa.string()),
                ("StockCode", pa.string()),
                ("Quantity", pa.int64()),
                ("InvoiceDate", pa.timestamp("us")),
                ("Price", pa.float64()),
                ("Customer ID", pa.float64()),
                ("Country", pa.string()),
            ]
        ),
    )
    path = tmp_path / "retail.parquet"
    pq.write_table(table, path)
    result, fills = _rfm_counting_fills(path, monkeypatch, preset="online-retail")
    assert fills == 1
    # 536365's second line takes its date, 536368's second line its country
    assert result.audit.filled_from_order == 2
    assert dict((name, n) for name, _, n in result.audit.removed)["unparseable_date"] == 1
    assert (result.audit.rows_in, result.audit.rows_out) == (7, 6)
    # as of 2010-12-03 12:00; 17850: 6 x 2.55 + 2 x 1.85 = 19.00, 2 days 3:34 before;
    # 17851: 3 x 2.00 and 2.00 + 2.55, two invoices
    assert _by_customer(result) == {"17850": (2, 1, 19.0), "17851": (0, 2, 10.55), "17853": (0, 1, 2.0)}


# -- the stages' grains and columns, on a file worked out by hand ----------------------------
def test_each_stage_has_its_grain_and_columns(tmp_path):
    from core.rfm import (
        classify_lines,
        customer_aggregates,
        group_orders,
        line_counts,
        open_source,
        rfm_from_aggregates,
    )

    path = tmp_path / "retail.csv"
    path.write_text(
        RETAIL_HEADER + "536365,85123A,6,2010-12-01 08:26,2.55,17850,United Kingdom\n"
        "536365,22633,2,2010-12-01 08:26,1.85,17850,United Kingdom\n"
        "536366,22633,4,2010-12-02 09:00,1.85,17852,United Kingdom\n"
        "536366,85123A,1,2010-12-02 09:00,2.55,,United Kingdom\n"
        "536367,POST,1,2010-12-03 10:00,18.00,17851,France\n"
        "536367,22633,3,2010-12-03 10:00,2.00,17851,France\n"
        "C536368,22633,-1,2010-12-04 10:00,1.85,17850,United Kingdom\n"
    )
    source = open_source(
        path, ReadOptions(preset="online-retail", returns="net", loaded_on=dt.date(2011, 1, 1))
    )
    # rules in audit order; no status column, so no status rule
    assert [r.name for r in source.rules] == [
        "missing_customer",
        "unparseable_date",
        "date_out_of_range",
        "unparseable_number",
        "quantity_not_positive",
        "price_not_positive",
        "amount_not_positive",
        "invoice_not_six_digits",
        "stock_code_not_product",
    ]

    lines = classify_lines(source).to_pyarrow().to_pylist()  # one row per line
    assert [(r["invoice"], r["customer"], r["failed_line"], r["return_line"]) for r in lines] == [
        ("536365", "17850", 0, False),
        ("536365", "17850", 0, False),
        ("536366", "17852", 0, False),
        ("536366", None, 0, False),
        ("536367", "17851", 9, False),  # POST is no product: rule 9, a line-level rule
        ("536367", "17851", 0, False),
        ("C536368", "17850", 5, True),
    ]  # quantity -1: rule 5; the line-level half of a return

    orders = group_orders(classify_lines(source), source)  # one row per group of an order's lines
    got = sorted(
        (
            r["customer_id"],
            r["purchase"],
            f"{r['invoice_ts']:%m-%d %H:%M}",
            r["failed"],
            r["returned"],
            r["lines"],
            r["filled_lines"],
            float(r["value"]),
        )
        for r in orders.to_pyarrow().to_pylist()
    )
    assert got == [
        ("17850", "536365", "12-01 08:26", 0, False, 2, 0, 19.0),  # 6 x 2.55 + 2 x 1.85
        ("17850", "C536368", "12-04 10:00", 5, True, 1, 0, -1.85),  # a return, netted
        ("17851", "536367", "12-03 10:00", 0, False, 1, 0, 6.0),
        ("17851", "536367", "12-03 10:00", 9, False, 1, 0, 18.0),
        ("17852", "536366", "12-02 09:00", 0, False, 1, 0, 7.4),
        ("17852", "536366", "12-02 09:00", 0, False, 1, 1, 2.55),  # customer from its order
    ]

    customers = customer_aggregates(orders).to_pyarrow().to_pylist()
    by_id = {r["customer_id"]: r for r in customers}  # one row per customer with a kept line
    assert len(customers) == 3
    assert (by_id["17850"]["kept_lines"], by_id["17850"]["returned_lines"]) == (2, 1)
    assert float(by_id["17850"]["returns_value"]) == -1.85
    assert by_id["17852"]["kept_lines"] == 2  # with the line that took its customer from its order
    assert [by_id[c]["frequency"] for c in ("17850", "17851", "17852")] == [1, 1, 1]
    assert float(by_id["17852"]["purchases_value"]) == 9.95

    counts = line_counts(orders, source.rules)  # what became of the lines, one query
    assert (counts.kept, counts.returned, counts.filled) == (5, 1, 1)
    # a netted return is not 'removed'; POST removed by rule 9
    assert counts.removed == (0, 0, 0, 0, 0, 0, 0, 0, 1)
    assert (f"{counts.first:%m-%d %H:%M}", f"{counts.last:%m-%d %H:%M}") == ("12-01 08:26", "12-03 10:00")

    as_of = dt.datetime(2010, 12, 3, 10, 0)
    rfm = rfm_from_aggregates(customer_aggregates(orders), as_of)
    # 17850: 2 days 1:34 before the as-of, 19.00 - 1.85; 17852: 1 day 1:00 before
    assert rfm.to_pyarrow().to_pylist() == [
        {"customer_id": "17850", "recency": 2, "frequency": 1, "monetary": 17.15},
        {"customer_id": "17851", "recency": 0, "frequency": 1, "monetary": 6.0},
        {"customer_id": "17852", "recency": 1, "frequency": 1, "monetary": 9.95},
    ]
    assert source.rfm().table.to_pylist() == rfm.to_pyarrow().to_pylist()
