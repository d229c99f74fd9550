"""core.columns: role detection by normalised name, overrides, and the mapping errors."""

from __future__ import annotations

import pytest

from core.columns import ColumnMapping, detect_columns, normalise, resolve_mapping
from core.errors import ColumnMappingError
from core.io import read_transactions


def _table(tmp_path, duck, text: str, name: str = "t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return read_transactions(path, con=duck).table


def test_normalise_ignores_case_spaces_underscores_dashes_dots():
    assert normalise("Customer ID") == "customerid"
    assert normalise("customer_id") == "customerid"
    assert normalise(" Invoice-No. ") == "invoiceno"
    assert normalise("UnitPrice") == "unitprice"


def test_classic_online_retail_header_maps_itself(tmp_path, duck):
    table = _table(
        tmp_path,
        duck,
        "InvoiceNo,UnitPrice,CustomerID,InvoiceDate,Quantity,StockCode,Description,Country\n"
        "536365,2.55,17850,12/1/2010 8:26,6,85123A,WHITE HEART,United Kingdom\n",
    )
    assert detect_columns(table) == ColumnMapping(
        customer="CustomerID",
        date="InvoiceDate",
        invoice="InvoiceNo",
        quantity="Quantity",
        price="UnitPrice",
        amount=None,
        product="StockCode",
        country="Country",
    )


def test_online_retail_ii_header_maps_itself(tmp_path, duck):
    table = _table(
        tmp_path,
        duck,
        "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
        "489434,85048,LED BOX,12,2009-12-01 07:45,6.95,13085,United Kingdom\n",
    )
    assert detect_columns(table) == ColumnMapping(
        customer="Customer ID",
        date="InvoiceDate",
        invoice="Invoice",
        quantity="Quantity",
        price="Price",
        amount=None,
        product="StockCode",
        country="Country",
    )


def test_cust_order_date_amount_maps(tmp_path, duck):
    table = _table(tmp_path, duck, "cust,order_date,amount\n00017,2024-01-01,9.99\n")
    mapping = resolve_mapping(table)
    assert mapping == ColumnMapping(customer="cust", date="order_date", amount="amount")


def test_amount_is_mapped_beside_quantity_and_price(tmp_path, duck):
    # DESIGN.md: the amount (what the customer paid) wins over quantity x price; quantity and
    # price stay mapped for their own rules.
    table = _table(tmp_path, duck, "customer_id,date,qty,unit_price,total\n1,2024-01-01,2,3.0,6.0\n")
    mapping = detect_columns(table)
    assert (mapping.quantity, mapping.price, mapping.amount) == ("qty", "unit_price", "total")


def test_numeric_role_needs_numeric_values(tmp_path, duck):
    # 'amount' holds words, so it is not the amount; 'revenue' (numbers with thousands commas) is.
    table = _table(
        tmp_path,
        duck,
        'client,timestamp,amount,revenue\na,2024-01-01,lots,"1,200.50"\nb,2024-01-02,few,3.00\n',
    )
    mapping = detect_columns(table)
    assert mapping.amount == "revenue"
    assert mapping.customer == "client" and mapping.date == "timestamp"


def test_overrides_replace_detected_roles(tmp_path, duck):
    table = _table(tmp_path, duck, "cust,order_date,ship_date,amount,paid\n1,2024-01-01,2024-01-03,5,4.5\n")
    mapping = resolve_mapping(table, {"date": "ship_date", "amount": "paid", "invoice": None})
    assert mapping == ColumnMapping(customer="cust", date="ship_date", amount="paid")


def test_overrides_name_columns_detection_cannot_guess(tmp_path, duck):
    table = _table(tmp_path, duck, "buyer_code,when,paid\nX1,2024-01-01,3\n")
    assert detect_columns(table) == ColumnMapping(customer=None, date=None, amount=None)
    mapping = resolve_mapping(table, {"customer": "buyer_code", "date": "when", "amount": "paid"})
    assert (mapping.customer, mapping.date, mapping.amount) == ("buyer_code", "when", "paid")


def test_mapped_column_that_does_not_exist_is_named(tmp_path, duck):
    table = _table(tmp_path, duck, "cust,order_date,amount\n1,2024-01-01,5\n")
    with pytest.raises(ColumnMappingError) as info:
        resolve_mapping(table, {"customer": "Kunde"}, source="orders.csv")
    message = str(info.value)
    assert "orders.csv" in message
    assert "'Kunde'" in message and "customer" in message
    assert "cust, order_date, amount" in message  # the columns that do exist


def test_missing_required_role_lists_columns_found_and_the_flag(tmp_path, duck):
    table = _table(tmp_path, duck, "buyer,order_date,amount\nX,2024-01-01,5\n")
    with pytest.raises(ColumnMappingError) as info:
        resolve_mapping(table, source="orders.csv")
    message = str(info.value)
    assert "orders.csv" in message
    assert "cannot find the customer column" in message
    assert "columns found: buyer, order_date, amount" in message
    assert "--customer COLUMN" in message


def test_missing_value_roles_name_the_amount_flag(tmp_path, duck):
    table = _table(tmp_path, duck, "cust,order_date,qty\n1,2024-01-01,5\n")
    with pytest.raises(ColumnMappingError) as info:
        resolve_mapping(table)
    message = str(info.value)
    assert "amount (or quantity and price)" in message
    assert "--amount COLUMN" in message
    assert "columns found: cust, order_date, qty" in message


def test_unknown_role_and_one_column_for_two_roles_are_refused():
    with pytest.raises(ColumnMappingError, match="unknown column role"):
        ColumnMapping().with_overrides({"shoe_size": "x"})
    mapping = ColumnMapping(customer="id", date="id", amount="amt")
    with pytest.raises(ColumnMappingError, match="more than one role"):
        mapping.check(["id", "amt"])


@pytest.mark.parametrize(
    "dates,expected",
    [
        # the UCI CSV export: month/day/year with hours; 12/13 only parses month first
        (["12/1/2010 8:26", "12/13/2010 10:00"], ["2010-12-01 08:26", "2010-12-13 10:00"]),
        # day/month/year: 13/01 only parses day first
        (["13/01/2024", "02/01/2024"], ["2024-01-13 00:00", "2024-01-02 00:00"]),
        (["2024-01-13T09:30:00", "2024-01-02 10:00:00"], ["2024-01-13 09:30", "2024-01-02 10:00"]),
        (["13.01.2024", "02.01.2024"], ["2024-01-13 00:00", "2024-01-02 00:00"]),
    ],
)
def test_date_format_is_the_one_that_parses_the_data(tmp_path, duck, dates, expected):
    from core.columns import to_canonical

    table = _table(
        tmp_path, duck, "cust,order_date,amount\n" + "".join(f"c{i},{d},1\n" for i, d in enumerate(dates))
    )
    canonical = to_canonical(table, resolve_mapping(table)).to_pyarrow().to_pydict()
    assert [f"{ts:%Y-%m-%d %H:%M}" for ts in canonical["invoice_ts"]] == expected
