"""The line scan leaves the line-level rules untested on a line without a customer when the
missing-customer rule comes first (core.rfm.customer_rule_first): such a line is removed by
that rule, unless its order gives it a customer, and then every rule is tested on it. Counts
below are worked out by hand from the records written here."""

from __future__ import annotations

from core.rfm import rfm_from_file

HEADER = "Invoice,StockCode,Quantity,InvoiceDate,Price,Customer ID\n"


def _rfm_of(tmp_path, *records: str):
    """RFM of a CSV of ``records`` (Invoice, StockCode, Quantity, InvoiceDate, Price, Customer ID)."""
    path = tmp_path / "lines.csv"
    path.write_text(HEADER + "".join(f"{record}\n" for record in records), encoding="utf-8")
    return rfm_from_file(path)


def _removed(result) -> dict[str, int]:
    return {name: n for name, _, n in result.audit.removed if n}


def test_a_line_given_its_orders_customer_is_judged_by_every_rule(tmp_path):
    # 100001: the customer on the first line only (Shopify's way); its second line's stock
    # code is no product, so once it takes the customer that rule removes it. 100002 has no
    # customer on any line: both lines are missing a customer, the 'POST' line too.
    result = _rfm_of(
        tmp_path,
        "100001,10001,2,2024-01-05 10:00,1.50,12345",
        "100001,POST,1,2024-01-05 10:00,5.00,",
        "100001,10002,1,2024-01-05 10:00,2.00,",
        "100002,POST,1,2024-01-06 10:00,5.00,",
        "100002,10003,1,2024-01-06 10:00,4.00,",
    )
    assert _removed(result) == {"missing_customer": 2, "stock_code_not_product": 1}
    assert result.audit.filled_from_order == 2  # the two lines that took 12345
    assert result.audit.rows_out == 2
    assert result.rfm.to_dict("records") == [
        {"customer_id": "12345", "recency": 0, "frequency": 1, "monetary": 5.0}
    ]


def test_without_a_customer_a_line_counts_under_that_rule_only(tmp_path):
    # No order can take a customer: the lines without one are counted as missing a customer,
    # whatever else is wrong with them (a stock code, a quantity).
    result = _rfm_of(
        tmp_path,
        "100001,10001,2,2024-01-05 10:00,1.50,12345",
        "100002,POST,1,2024-01-06 10:00,5.00,",
        "100003,10003,-1,2024-01-06 10:00,4.00,",
        "100004,10004,1,2024-01-07 10:00,3.00,777",
        "100004,BANK,1,2024-01-07 10:00,3.00,777",
    )
    assert _removed(result) == {"missing_customer": 2, "stock_code_not_product": 1}
    assert [r["customer_id"] for r in result.rfm.to_dict("records")] == ["12345", "777"]


def test_not_a_number_in_a_parquet_float_column_is_refused_by_its_rule(tmp_path):
    # Parquet statistics carry no NaN: with DuckDB's statistics propagation on, isnan() on such
    # a column folds to false and a NaN reaches the exact sums (core.io.connect turns it off).
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    nan, inf = float("nan"), float("inf")
    when = dt.datetime(2010, 12, 1, 8, 26)
    pq.write_table(
        pa.table(
            {
                "Invoice": ["536365", "536365", "536365", "536365", "536366"],
                "StockCode": ["85123A"] * 5,
                "Quantity": [1.0, nan, 2.0, inf, 1.0],
                "InvoiceDate": [when] * 5,
                "Price": [2.0, 3.0, nan, 1.0, 1.0],
                "Customer ID": [17850.0, 17850.0, 17850.0, 17850.0, 17851.0],
            }
        ),
        tmp_path / "lines.parquet",
    )
    result = rfm_from_file(tmp_path / "lines.parquet")
    # NaN and infinity are no quantity or price: the quantity rule takes NaN and infinity,
    # the price rule the NaN price; 17850 keeps 1 x 2.00
    assert _removed(result) == {"quantity_not_positive": 2, "price_not_positive": 1}
    assert [(r["customer_id"], r["frequency"], r["monetary"]) for r in result.table.to_pylist()] == [
        ("17850", 1, 2.0),
        ("17851", 1, 1.0),
    ]
