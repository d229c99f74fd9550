"""Baseline: RFM the notebook way, in plain pandas.

Reads every column of the file (Excel: ``pd.read_excel(engine="calamine")``), filters with
``str.match`` regexes, aggregates with
``groupby().agg()`` and takes recency from ``.dt.days``: what the seed notebook does,
with the same cleaning rules as the engine's default online-retail preset.

    python bench/baseline_pandas.py FILE -o OUT.csv
    python bench/baseline_pandas.py --import-only      # time the imports alone
"""

import argparse

import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?")
    parser.add_argument("-o", "--output")
    parser.add_argument("--import-only", action="store_true")
    args = parser.parse_args()
    if args.import_only:
        return

    if args.file.endswith(".parquet"):
        df = pd.read_parquet(args.file)
    elif args.file.endswith(".xlsx"):
        df = pd.read_excel(args.file, engine="calamine")  # the fastest engine pandas offers
    else:
        df = pd.read_csv(args.file, dtype={"Invoice": str, "StockCode": str}, parse_dates=["InvoiceDate"])

    df = df.dropna(subset=["Customer ID", "InvoiceDate"])
    df = df[(df["Quantity"] > 0) & (df["Price"] > 0)]
    df = df[df["Invoice"].astype(str).str.match(r"^\d{6}$")]
    df = df[df["StockCode"].astype(str).str.match(r"^\d{5}[A-Za-z]*$")]
    df["customer_id"] = df["Customer ID"].astype("int64").astype(str)
    df["line_value"] = df["Quantity"] * df["Price"]

    as_of = df["InvoiceDate"].max()
    rfm = df.groupby("customer_id").agg(
        last=("InvoiceDate", "max"),
        frequency=("Invoice", "nunique"),
        monetary=("line_value", "sum"),
    )
    rfm["recency"] = (as_of - rfm["last"]).dt.days
    rfm = rfm.reset_index()[["customer_id", "recency", "frequency", "monetary"]]
    rfm.to_csv(args.output, index=False)


if __name__ == "__main__":
    main()
