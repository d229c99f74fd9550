"""core.synth: deterministic, Online-Retail-shaped synthetic transactions."""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from core import synth
from core.errors import ConfigError

ONLINE_RETAIL_COLUMNS = [
    "Invoice",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "Price",
    "Customer ID",
    "Country",
]
NON_PRODUCT_CODES = {"POST", "M", "D", "DOT", "BANK CHARGES", "C2", "AMAZONFEE"}


@pytest.fixture(scope="module")
def lines() -> pd.DataFrame:
    return synth.generate(100_000, 2_000, seed=3).to_pandas()


def test_same_arguments_give_the_same_table_and_another_seed_does_not():
    first = synth.generate(20_000, 300, seed=7)
    assert first.equals(synth.generate(20_000, 300, seed=7))
    other = synth.generate(20_000, 300, seed=8)
    assert not first.equals(other)
    assert first.column("StockCode").to_pylist() != other.column("StockCode").to_pylist()


@pytest.mark.parametrize("n_lines", [1, 19, 20_000, 33_333])
def test_exact_line_count(n_lines):
    assert synth.generate(n_lines, 50, seed=0).num_rows == n_lines


def test_columns_and_types_are_the_real_exports():
    table = synth.generate(1_000, 20)
    assert table.column_names == ONLINE_RETAIL_COLUMNS
    assert [str(t) for t in table.schema.types] == [
        "string",
        "string",
        "string",
        "int64",
        "timestamp[us]",
        "double",
        "double",
        "string",
    ]


def test_proportions_of_the_mess_are_plausible(lines):
    invoice = lines["Invoice"]
    assert 0.01 < invoice.str.startswith("C").mean() < 0.035
    assert 0.001 < invoice.str.startswith("A").mean() < 0.015
    assert 0.15 < lines["Customer ID"].isna().mean() < 0.26
    assert 0.0015 < (lines["Price"] == 0).mean() < 0.005
    non_product = lines["StockCode"].isin(NON_PRODUCT_CODES).mean()
    assert 0.005 < non_product < 0.02


def test_invoice_numbers_have_the_real_shapes(lines):
    invoice = lines["Invoice"]
    normal = invoice[~invoice.str[0].isin(["C", "A"])]
    assert len(normal) > 0.95 * len(lines)
    assert normal.str.fullmatch(r"\d{6}").all()
    cancelled = lines[invoice.str.startswith("C")]
    assert cancelled["Invoice"].str.fullmatch(r"C\d{6}").all()
    assert (cancelled["Quantity"] < 0).all()
    assert (lines.loc[~invoice.str.startswith("C"), "Quantity"] > 0).all()
    adjustments = lines[invoice.str.startswith("A")]
    assert adjustments["Invoice"].str.fullmatch(r"A\d{6}").all()
    assert adjustments["Customer ID"].isna().all()


def test_stock_codes_are_products_or_known_non_product_codes(lines):
    codes = lines["StockCode"]
    product = codes.str.fullmatch(r"\d{5}[A-Za-z]?")
    assert product.mean() > 0.97
    assert codes.str.fullmatch(r"\d{5}[A-Za-z]").any()  # letter suffixes like 85123A
    assert set(codes[~product]) == NON_PRODUCT_CODES | {"B"}  # B: the adjustments' code


def test_each_invoice_has_one_customer_one_timestamp_and_several_lines(lines):
    per_invoice = lines.groupby("Invoice").agg(
        customers=("Customer ID", lambda s: s.nunique(dropna=False)),
        timestamps=("InvoiceDate", "nunique"),
        n_lines=("Quantity", "size"),
    )
    assert (per_invoice["customers"] == 1).all()
    assert (per_invoice["timestamps"] == 1).all()
    assert 10 < per_invoice["n_lines"].mean() < 30
    # Lines of an invoice are contiguous: the invoice changes exactly once per invoice.
    assert (lines["Invoice"] != lines["Invoice"].shift()).sum() == len(per_invoice)


def test_dates_customers_and_prices_are_in_range(lines):
    dates = lines["InvoiceDate"]
    assert dates.min() >= pd.Timestamp("2009-12-01")
    assert dates.max() < pd.Timestamp("2011-12-10")
    assert (dates.dt.second == 0).all() and (dates.dt.microsecond == 0).all()
    ids = lines["Customer ID"].dropna()
    assert ids.min() >= 12346 and ids.max() < 12346 + 2_000
    assert (ids == np.floor(ids)).all()
    cents = lines["Price"] * 100
    assert np.allclose(cents, cents.round(), atol=1e-6)
    assert (lines["Price"] >= 0).all()


def test_customers_are_skewed_so_iqr_outliers_exist(lines):
    buyers = lines.dropna(subset=["Customer ID"])
    monetary = (buyers["Quantity"] * buyers["Price"]).groupby(buyers["Customer ID"]).sum()
    frequency = buyers.groupby("Customer ID")["Invoice"].nunique()
    for feature in (monetary, frequency):
        q1, q3 = feature.quantile([0.25, 0.75])
        upper = q3 + 1.5 * (q3 - q1)
        assert (feature > upper).sum() >= 0.02 * len(feature)


def test_chunks_are_independent_and_never_split_an_invoice(monkeypatch):
    monkeypatch.setattr(synth, "CHUNK_LINES", 5_000)
    longer = synth.generate(12_345, 100, seed=1)
    shorter = synth.generate(10_000, 100, seed=1)
    assert longer.num_rows == 12_345
    assert longer.slice(0, 10_000).equals(shorter)
    invoice = longer.column("Invoice").to_pandas()
    # Every invoice number is used by one run of lines only, across chunk boundaries.
    runs = invoice[invoice != invoice.shift()]
    assert runs.is_unique


def test_parquet_round_trip(tmp_path):
    path = tmp_path / "lines.parquet"
    assert synth.write_synthetic(path, 25_000, 400, seed=5) == 25_000
    assert pq.read_table(path).equals(synth.generate(25_000, 400, seed=5))
    [(count,)] = duckdb.sql(f"select count(*) from read_parquet('{path}')").fetchall()
    assert count == 25_000


def test_csv_round_trip_and_text_shape(tmp_path):
    path = tmp_path / "lines.csv"
    assert synth.write_synthetic(path, 25_000, 400, seed=5) == 25_000
    text = path.read_text().splitlines()
    assert text[0] == "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country"
    assert len(text) == 25_001
    row = re.compile(
        r'^[CA]?\d{6},[^,]+,("[^"]*"|[^,"]*),-?\d+,'
        r"\d{4}-\d\d-\d\d \d\d:\d\d:00,\d+\.\d+,(\d+\.0)?,[^,]+$"
    )
    assert all(row.match(line) for line in text[1:]), next(line for line in text[1:] if not row.match(line))

    expected = synth.generate(25_000, 400, seed=5).to_pandas()
    read_back = duckdb.sql(
        f"""select * from read_csv('{path}', header = true, types = {{
              'Invoice': 'VARCHAR', 'StockCode': 'VARCHAR', 'Description': 'VARCHAR',
              'Quantity': 'BIGINT', 'InvoiceDate': 'TIMESTAMP', 'Price': 'DOUBLE',
              'Customer ID': 'DOUBLE', 'Country': 'VARCHAR'}})"""
    ).df()
    pd.testing.assert_frame_equal(read_back, expected, check_dtype=False)


def test_same_arguments_write_the_same_bytes(tmp_path):
    for suffix in (".csv", ".parquet"):
        first, second = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
        synth.write_synthetic(first, 5_000, 100, seed=2)
        synth.write_synthetic(second, 5_000, 100, seed=2)
        assert first.read_bytes() == second.read_bytes()


def test_unknown_suffix_is_refused_without_writing(tmp_path):
    target = tmp_path / "lines.xlsx"
    with pytest.raises(ConfigError, match=r"lines\.xlsx.*\.parquet or \*\.csv"):
        synth.write_synthetic(target, 100, 10)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("lines_", "customers", "seed", "named"),
    [(0, 10, 0, "lines"), (10, 0, 0, "customers"), (10, 10, -1, "seed"), (2.5, 10, 0, "lines")],
)
def test_bad_arguments_are_refused_by_name(lines_, customers, seed, named):
    with pytest.raises(ConfigError, match=named):
        synth.generate(lines_, customers, seed)


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(synth, "CHUNK_LINES", 1_000)
    real_chunk = synth._chunk

    def fail_on_second_chunk(index, *args):
        if index == 1:
            raise RuntimeError("disk full")
        return real_chunk(index, *args)

    monkeypatch.setattr(synth, "_chunk", fail_on_second_chunk)
    with pytest.raises(RuntimeError, match="disk full"):
        synth.write_synthetic(tmp_path / "lines.parquet", 3_000, 10)
    assert list(tmp_path.iterdir()) == []
