"""Golden cases: RFM and the cleaning audit on tiny files, every figure computed by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from core.cleaning import CleaningConfig, suggest_preset
from core.columns import ColumnMapping, resolve_mapping
from core.errors import ConfigError, DataValidationError
from core.io import read_transactions
from core.rfm import Source

# Online Retail II columns. Which rule drops each line (rules run in the audit's order:
# missing customer, unparseable date, quantity <= 0, price <= 0, amount <= 0, invoice not six
# digits, stock code not a product; a line counts against the first rule it fails):
#  1 536365  00017  6 x 2.55 = 15.30  2010-12-01 08:26        kept
#  2 536365  00017  2 x 3.50 =  7.00  2010-12-01 08:26        kept (same invoice as line 1)
#  3 536370  00017  4 x 3.75 = 15.00  2010-12-05 10:00        kept (second invoice)
#  4 C536379 00017 -1 x 3.75          cancellation             quantity <= 0
#  5 536380  12349  POST              2010-12-10 10:00 (latest) stock code not a product
#  6 536381  (none)                                           missing customer
#  7 536382  12347  5 x 0.00                                  price <= 0 (also amount <= 0)
#  8 A563185 12347  stock code B      adjustment               invoice not six digits (also stock)
#  9 536383  12347 10 x 1.25 = 12.50  2010-12-09 12:50        kept (latest kept purchase)
# 10 536384  12348  1 x 12.75 = 12.75 2010-11-20 09:00        kept
# 11 536385  12348  'not a date'                              unparseable date
GOLDEN_CSV = """\
Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,00017,United Kingdom
536365,71053,WHITE METAL LANTERN,2,2010-12-01 08:26:00,3.50,00017,United Kingdom
536370,22728,ALARM CLOCK BAKELIKE PINK,4,2010-12-05 10:00:00,3.75,00017,United Kingdom
C536379,22728,ALARM CLOCK BAKELIKE PINK,-1,2010-12-06 09:00:00,3.75,00017,United Kingdom
536380,POST,POSTAGE,1,2010-12-10 10:00:00,18.00,12349,France
536381,22728,ALARM CLOCK BAKELIKE PINK,3,2010-12-07 11:00:00,3.75,,United Kingdom
536382,22630,DOLLY GIRL LUNCH BOX,5,2010-12-08 12:00:00,0.00,12347,France
A563185,B,Adjust bad debt,1,2010-12-08 14:00:00,11062.06,12347,United Kingdom
536383,21730,GLASS STAR FROSTED T-LIGHT HOLDER,10,2010-12-09 12:50:00,1.25,12347,France
536384,22423,REGENCY CAKESTAND 3 TIER,1,2010-11-20 09:00:00,12.75,12348,Germany
536385,22423,REGENCY CAKESTAND 3 TIER,2,not a date,12.75,12348,Germany
"""


def _rfm(path, *, returns="drop", as_of=None, overrides=None, preset=None, sheet=None, duck=None):
    dataset = read_transactions(path, sheet=sheet, con=duck)
    mapping = resolve_mapping(dataset.table, overrides or {}, dataset.name)
    cleaning = CleaningConfig.preset(preset or suggest_preset(mapping), returns=returns)
    return Source(dataset, mapping, cleaning).rfm(as_of)


def _by_customer(rfm: pd.DataFrame) -> dict[str, tuple[int, int, float]]:
    return {row.customer_id: (row.recency, row.frequency, row.monetary) for row in rfm.itertuples()}


@pytest.fixture
def golden_csv(tmp_path):
    path = tmp_path / "golden.csv"
    path.write_text(GOLDEN_CSV)
    return path


def test_golden_rfm_per_customer_with_default_as_of(golden_csv, duck):
    result = _rfm(golden_csv, duck=duck)
    # as-of = latest *kept* purchase: 536383 at 2010-12-09 12:50 (the POST line on 12-10 is dropped).
    assert result.as_of == dt.datetime(2010, 12, 9, 12, 50)
    assert result.last_purchase == dt.datetime(2010, 12, 9, 12, 50)
    assert result.first_purchase == dt.datetime(2010, 11, 20, 9, 0)
    assert list(result.rfm.columns) == ["customer_id", "recency", "frequency", "monetary"]
    assert _by_customer(result.rfm) == {
        # last buy 12-05 10:00 -> 12-09 12:50 is 4 d 2 h 50 min -> 4; invoices 536365, 536370;
        # 15.30 + 7.00 + 15.00 = 37.30
        "00017": (4, 2, 37.30),
        # last buy is the as-of itself -> 0; one invoice; 10 x 1.25 = 12.50
        "12347": (0, 1, 12.50),
        # 11-20 09:00 -> 12-09 12:50 is 19 d 3 h 50 min -> 19; 1 x 12.75
        "12348": (19, 1, 12.75),
    }
    # 12349 bought only postage: no kept line, so no row.
    assert "12349" not in set(result.rfm.customer_id)


def test_golden_audit_counts_each_rule_in_order(golden_csv, duck):
    audit = _rfm(golden_csv, duck=duck).audit
    assert audit.rows_in == 11
    assert audit.removed == (
        ("missing_customer", "Missing customer ID", 1),  # line 6
        ("unparseable_date", "Unparseable date", 1),  # line 11
        ("date_out_of_range", "Date out of range", 0),  # all dates 2010
        ("unparseable_number", "Unparseable amount/price/quantity", 0),
        ("quantity_not_positive", "Quantity <= 0", 1),  # line 4 (C536379)
        ("price_not_positive", "Price <= 0", 1),  # line 7 (also fails amount)
        ("amount_not_positive", "Amount <= 0", 0),  # nothing left for it
        ("invoice_not_six_digits", "Invoice not six digits", 1),  # line 8 (A563185)
        ("stock_code_not_product", "Stock code not a product", 1),  # line 5 (POST)
    )
    assert audit.rows_out == 5  # lines 1, 2, 3, 9, 10
    assert audit.customers_out == 3  # 00017, 12347, 12348
    assert audit.returns_netted == 0
    frame = audit.to_frame()
    assert frame["rows"].tolist() == [11, -1, -1, 0, 0, -1, -1, 0, -1, -1, 5, 3]
    assert audit.dominant_rule() == ("Missing customer ID", 1)  # ties: the first rule


def test_generic_preset_keeps_postage_and_adjustments(golden_csv, duck):
    result = _rfm(golden_csv, preset="generic", duck=duck)
    assert [name for name, _, _ in result.audit.removed] == [
        "missing_customer",
        "unparseable_date",
        "date_out_of_range",
        "unparseable_number",
        "quantity_not_positive",
        "price_not_positive",
        "amount_not_positive",
    ]
    # Lines 5 (POST, 12349) and 8 (A563185, 12347) now count:
    #  12349: 1 x 18.00 at 2010-12-10 10:00, now the latest purchase and so the as-of.
    #  12347: 12.50 + 1 x 11062.06 = 11074.56 over invoices 536383 and A563185;
    #         last buy 12-09 12:50 -> 12-10 10:00 is 21 h 10 min -> 0 days.
    assert result.as_of == dt.datetime(2010, 12, 10, 10, 0)
    assert result.audit.rows_out == 7
    rfm = _by_customer(result.rfm)
    assert rfm["12349"] == (0, 1, 18.00)
    assert rfm["12347"] == (0, 2, 11074.56)
    # 00017: 12-05 10:00 -> 12-10 10:00 = 5 days exactly
    assert rfm["00017"] == (5, 2, 37.30)


def test_golden_explicit_as_of(golden_csv, duck):
    result = _rfm(golden_csv, as_of="2010-12-31", duck=duck)
    assert result.as_of == dt.datetime(2010, 12, 31)
    assert _by_customer(result.rfm) == {
        "00017": (25, 2, 37.30),  # 12-05 10:00 -> 12-31 00:00 = 25 d 14 h -> 25
        "12347": (21, 1, 12.50),  # 12-09 12:50 -> 12-31 00:00 = 21 d 11 h 10 min -> 21
        "12348": (40, 1, 12.75),  # 11-20 09:00 -> 12-31 00:00 = 40 d 15 h -> 40
    }


def test_as_of_with_time_and_as_date_object(golden_csv, duck):
    # 2010-12-10 12:49: 00017 is 5 d 2 h 49 min -> 5; 12347 is 23 h 59 min -> 0
    with_time = _rfm(golden_csv, as_of="2010-12-10 12:49", duck=duck)
    assert _by_customer(with_time.rfm)["00017"][0] == 5
    assert _by_customer(with_time.rfm)["12347"][0] == 0
    # a date object means midnight: 12-09 12:50 -> 12-11 00:00 = 1 d 11 h 10 min -> 1
    as_date = _rfm(golden_csv, as_of=dt.date(2010, 12, 11), duck=duck)
    assert _by_customer(as_date.rfm)["12347"][0] == 1


def test_as_of_before_latest_purchase_counts_only_lines_up_to_it(golden_csv, duck):
    # 2010-12-05 10:00 (inclusive): lines 1, 2, 3 (00017) and 10 (12348); every other line is
    # later, and line 11 has no date, so 4 lines are read and all 4 kept.
    result = _rfm(golden_csv, as_of="2010-12-05 10:00", duck=duck)
    assert result.as_of == dt.datetime(2010, 12, 5, 10, 0)
    assert result.last_purchase == dt.datetime(2010, 12, 5, 10, 0)
    assert _by_customer(result.rfm) == {
        "00017": (0, 2, 37.30),  # 536370 at the as-of itself; 15.30 + 7.00 + 15.00
        "12348": (15, 1, 12.75),  # 11-20 09:00 -> 12-05 10:00 = 15 d 1 h -> 15
    }
    assert result.audit.rows_in == 4 and result.audit.rows_out == 4
    assert all(n == 0 for _, _, n in result.audit.removed)


def test_as_of_date_alone_is_its_midnight_and_the_audit_counts_lines_up_to_it(golden_csv, duck):
    # 2010-12-09 means 00:00, before 12347's only kept purchase (12:50): 12347 is not a customer
    # yet. Lines up to it: 1, 2, 3, 10 kept; 4 (12-06, quantity), 6 (12-07, no customer),
    # 7 (12-08, price), 8 (12-08, invoice) removed; 5, 9 are later; 11 has no date.
    result = _rfm(golden_csv, as_of=dt.date(2010, 12, 9), duck=duck)
    assert _by_customer(result.rfm) == {
        "00017": (3, 2, 37.30),  # 12-05 10:00 -> 12-09 00:00 = 3 d 14 h -> 3
        "12348": (18, 1, 12.75),  # 11-20 09:00 -> 12-09 00:00 = 18 d 15 h -> 18
    }
    audit = result.audit
    assert audit.rows_in == 8 and audit.rows_out == 4 and audit.customers_out == 2
    assert {name: n for name, _, n in audit.removed} == {
        "missing_customer": 1,
        "unparseable_date": 0,
        "date_out_of_range": 0,
        "unparseable_number": 0,
        "quantity_not_positive": 1,
        "price_not_positive": 1,
        "amount_not_positive": 0,
        "invoice_not_six_digits": 1,
        "stock_code_not_product": 0,
    }


def test_as_of_before_the_first_purchase_or_not_a_date_is_refused(golden_csv, duck):
    with pytest.raises(DataValidationError, match="no purchase on or before the as-of date 2010-11-20 08:59"):
        _rfm(golden_csv, as_of="2010-11-20 08:59", duck=duck)
    with pytest.raises(ConfigError, match="not a date"):
        _rfm(golden_csv, as_of="yesterday", duck=duck)


def test_returns_net_subtracts_the_cancellation(golden_csv, duck):
    result = _rfm(golden_csv, returns="net", duck=duck)
    # C536379 (-1 x 3.75 = -3.75, customer 00017) passes every rule except the sign rules,
    # so it is netted: 37.30 - 3.75 = 33.55; frequency still counts kept invoices only (2).
    rfm = _by_customer(result.rfm)
    assert rfm["00017"] == (4, 2, 33.55)
    assert rfm["12347"] == (0, 1, 12.50)
    assert rfm["12348"] == (19, 1, 12.75)
    audit = result.audit
    assert audit.returns_netted == 1
    assert dict((name, n) for name, _, n in audit.removed)["quantity_not_positive"] == 0
    assert audit.rows_in == 11 and audit.rows_out == 5
    # rows in = removed + netted + kept: 5 (rules) + 1 + 5
    assert sum(n for *_, n in audit.removed) + audit.returns_netted + audit.rows_out == audit.rows_in


def test_returns_net_never_makes_monetary_negative(tmp_path, duck):
    # 00017 buys 2 x 5.00 = 10.00 and returns 3 x 5.00 = -15.00: netted 10 - 15 = -5 -> floored at 0.
    path = tmp_path / "returns.csv"
    path.write_text(
        "Invoice,StockCode,Quantity,InvoiceDate,Price,Customer ID\n"
        "536365,22728,2,2010-12-01 08:00,5.00,00017\n"
        "C536366,22728,-3,2010-12-02 08:00,5.00,00017\n"
        "536367,22728,1,2010-12-03 08:00,4.00,00018\n"
    )
    rfm = _by_customer(_rfm(path, returns="net", duck=duck).rfm)
    assert rfm == {"00017": (2, 1, 0.0), "00018": (0, 1, 4.00)}


def test_frequency_without_invoice_column_counts_distinct_timestamps(tmp_path, duck):
    # No invoice column: purchases are distinct timestamps.
    # 00017: 08:00 (two lines), 09:30 -> 2 purchases; 10.00 + 5.50 + 2.25 = 17.75
    # 00042: one line -> 1 purchase; last buy 01-03 -> as-of 01-05 09:30 is 2 d 9 h 30 -> 2
    path = tmp_path / "orders.csv"
    path.write_text(
        "cust,order_date,amount\n"
        "00017,2024-01-05 08:00,10.00\n"
        "00017,2024-01-05 08:00,5.50\n"
        "00017,2024-01-05 09:30,2.25\n"
        "00042,2024-01-03 00:00,99.99\n"
    )
    result = _rfm(path, duck=duck)
    assert result.audit.removed[-1][0] == "amount_not_positive"  # generic preset, no invoice rule
    assert _by_customer(result.rfm) == {"00017": (0, 2, 17.75), "00042": (2, 1, 99.99)}


def test_zero_padded_and_excel_style_text_ids(tmp_path, duck):
    # '00017' keeps its zeros; text '12347.0' (a CSV saved from Excel) becomes '12347' and
    # merges with '12347'; 'ABC-9' stays as written.
    path = tmp_path / "ids.csv"
    path.write_text(
        "Customer ID,InvoiceDate,amount\n"
        "00017,2024-01-01,1.00\n"
        "12347.0,2024-01-02,2.00\n"
        "12347,2024-01-03,3.00\n"
        "ABC-9,2024-01-03,4.00\n"
    )
    rfm = _by_customer(_rfm(path, duck=duck).rfm)
    assert rfm == {"00017": (2, 1, 1.00), "12347": (0, 2, 5.00), "ABC-9": (0, 1, 4.00)}


def test_excel_numeric_customer_ids_lose_the_float_suffix(tmp_path, duck):
    path = tmp_path / "numeric_ids.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Orders")
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_row(0, 0, ["Invoice", "StockCode", "Quantity", "InvoiceDate", "Price", "Customer ID"])
    rows = [
        # invoice, stock, qty, date, price, customer (a number cell, as Excel stores it)
        (536365, "85123A", 6, dt.datetime(2010, 12, 1, 8, 26), 2.55, 12347),
        (536366, "22728", 2, dt.datetime(2010, 12, 3, 9, 0), 3.75, 12347),
        (536367, "22728", 1, dt.datetime(2010, 12, 4, 9, 0), 10.0, 12348.0),
    ]
    for i, (inv, stock, qty, when, price, cust) in enumerate(rows, start=1):
        sheet.write_number(i, 0, inv)
        sheet.write_string(i, 1, stock)
        sheet.write_number(i, 2, qty)
        sheet.write_datetime(i, 3, when, date_format)
        sheet.write_number(i, 4, price)
        sheet.write_number(i, 5, cust)
    workbook.close()
    result = _rfm(path, duck=duck)
    assert result.rfm.customer_id.tolist() == ["12347", "12348"]
    # 12347: 6 x 2.55 + 2 x 3.75 = 15.30 + 7.50 = 22.80, invoices 536365 and 536366 (numbers in
    # Excel, read back as text '536365': six digits, kept); last 12-03 09:00 -> 12-04 09:00 = 1 d.
    assert _by_customer(result.rfm) == {"12347": (1, 2, 22.80), "12348": (0, 1, 10.00)}


def test_parquet_float_customer_ids(tmp_path, duck):
    # Parquet written by pandas with a float customer column (NaN forces float): 12347.0 -> '12347';
    # the NaN line is dropped as a missing customer.
    frame = pd.DataFrame(
        {
            "Customer ID": [12347.0, 12347.0, float("nan"), 12348.0],
            "InvoiceDate": pd.to_datetime(
                ["2011-01-01 10:00", "2011-01-04 10:00", "2011-01-05 00:00", "2011-01-02 22:00"]
            ),
            "Quantity": [1, 2, 5, 3],
            "Price": [10.0, 2.5, 1.0, 1.5],
        }
    )
    path = tmp_path / "float_ids.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    result = _rfm(path, duck=duck)
    assert result.audit.removed[0] == ("missing_customer", "Missing customer ID", 1)
    # as-of = 2011-01-04 10:00. 12347: 10.00 + 5.00 = 15.00, two timestamps, recency 0.
    # 12348: 4.50; 01-02 22:00 -> 01-04 10:00 = 1 d 12 h -> 1.
    assert _by_customer(result.rfm) == {"12347": (0, 2, 15.00), "12348": (1, 1, 4.50)}


def test_parquet_integer_ids_and_explicit_mapping(tmp_path, duck):
    frame = pd.DataFrame(
        {
            "client_code": pd.array([17, 17, 99], dtype="int64"),
            "when": pd.to_datetime(["2022-03-01", "2022-03-02", "2022-03-10"]),
            "paid": [1.25, 2.5, 0.0],
        }
    )
    path = tmp_path / "ints.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    result = _rfm(path, overrides={"customer": "client_code", "date": "when", "amount": "paid"}, duck=duck)
    # 99's only line is worth 0 -> dropped by 'amount <= 0'; as-of = 2022-03-02.
    assert dict((n, k) for n, _, k in result.audit.removed)["amount_not_positive"] == 1
    assert _by_customer(result.rfm) == {"17": (0, 2, 3.75)}


def test_mapping_object_is_what_detection_found(golden_csv, duck):
    dataset = read_transactions(golden_csv, con=duck)
    mapping = resolve_mapping(dataset.table, {}, dataset.name)
    assert mapping == ColumnMapping(
        customer="Customer ID",
        date="InvoiceDate",
        invoice="Invoice",
        quantity="Quantity",
        price="Price",
        amount=None,
        product="StockCode",
        country="Country",
    )
    assert suggest_preset(mapping) == "online-retail"


def test_nan_and_infinite_numbers_are_dropped_not_summed(tmp_path, duck):
    # Text 'NaN' / 'inf' are not numbers as people write them: counted as unparseable, never
    # passing '> 0' (NaN compares above every number in DuckDB) into monetary.
    path = tmp_path / "nan.csv"
    path.write_text(
        "cust,order_date,qty,price\n"
        "a,2024-01-01,1,NaN\n"  # unparseable price
        "a,2024-01-02,2,inf\n"  # unparseable price
        "b,2024-01-03,nan,2\n"  # unparseable quantity
        "b,2024-01-03,1,2\n"  # kept: 1 x 2 = 2.00
        "c,2024-01-03,1,-Infinity\n"
    )  # unparseable price
    result = _rfm(path, duck=duck)
    assert dict((name, n) for name, _, n in result.audit.removed) == {
        "missing_customer": 0,
        "unparseable_date": 0,
        "date_out_of_range": 0,
        "unparseable_number": 4,
        "quantity_not_positive": 0,
        "price_not_positive": 0,
        "amount_not_positive": 0,
    }
    assert _by_customer(result.rfm) == {"b": (0, 1, 2.00)}


def test_float_ids_that_are_not_whole_numbers_are_kept_as_written(tmp_path, duck):
    table = pa.table(
        {
            "Customer ID": pa.array([12347.0, 12348.5, None], pa.float64()),
            "InvoiceDate": pa.array(
                [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 2)]
            ),
            "amount": [1.0, 2.0, 4.0],
        }
    )
    path = tmp_path / "ids.parquet"
    pq.write_table(table, path)
    result = _rfm(path, duck=duck)
    assert _by_customer(result.rfm) == {"12347": (1, 1, 1.00), "12348.5": (0, 1, 2.00)}
    assert result.audit.removed[0][2] == 1  # the null id


@pytest.mark.parametrize(
    "code,is_product",
    [
        ("85123A", True),
        ("15056BL", True),
        ("15056bl", True),
        ("79323LP", True),
        ("22728", True),
        ("POST", False),
        ("M", False),
        ("C2", False),
        ("DCGS0003", False),
        ("BANK CHARGES", False),
        ("D", False),
        ("DOT", False),
        ("1505BL", False),
        ("150566", False),
    ],
)
def test_stock_codes_five_digits_then_any_letters(tmp_path, duck, code, is_product):
    # One customer buying the code (kept or dropped) and a plain product on another invoice.
    path = tmp_path / "codes.csv"
    path.write_text(
        "Invoice,StockCode,Quantity,InvoiceDate,Price,Customer ID\n"
        f"536365,{code},2,2010-12-01 08:00,1.50,12347\n"
        "536366,22728,1,2010-12-02 08:00,4.00,12347\n"
    )
    result = _rfm(path, duck=duck)
    dropped = dict((n, k) for n, _, k in result.audit.removed)["stock_code_not_product"]
    assert dropped == (0 if is_product else 1)
    # kept: 2 x 1.50 + 4.00 over two invoices; dropped: 4.00 on one
    assert _by_customer(result.rfm)["12347"] == ((0, 2, 7.00) if is_product else (0, 1, 4.00))


def test_monetary_is_the_exact_total_rounded_half_away_from_zero(tmp_path):
    # Prices with a third and fourth decimal (wholesale price lists). 1.005 is 1.00499999...
    # as a float, so float arithmetic rounds it down; the written total is 1.005 -> 1.01.
    # Customer 2's 400 lines of 0.0125 total exactly 5.00 and customer 3's 0.3333 x 3 lines
    # total 0.9999 -> 1.00. Totals by hand from the written values.
    lines = [
        "Invoice,StockCode,Quantity,InvoiceDate,Price,Customer ID",
        "536365,85123A,1,2010-12-01 08:26,1.005,1",
    ]
    lines += [f"5364{i // 100:02d},22633,1,2010-12-02 09:00,0.0125,2" for i in range(400)]
    lines += ["536500,22728,1,2010-12-03 10:00,0.3333,3"] * 3
    path = tmp_path / "prices.csv"
    path.write_text("\n".join(lines) + "\n")
    dataset = read_transactions(path)
    mapping = resolve_mapping(dataset.table)
    firsts = [Source(dataset, mapping, CleaningConfig.preset("online-retail")).rfm().rfm for _ in range(3)]
    for rfm in firsts:  # the same figures on every run, whatever order threads add in
        assert dict(zip(rfm.customer_id, rfm.monetary)) == {"1": 1.01, "2": 5.0, "3": 1.0}
    assert dict(zip(firsts[0].customer_id, firsts[0].frequency)) == {"1": 1, "2": 4, "3": 1}
