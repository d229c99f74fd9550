"""Hand-written DuckDB SQL: the same cleaning and RFM as the engine, as one query.

python bench/hand_duckdb.py FILE -o OUT.csv
python bench/hand_duckdb.py --import-only
"""

import argparse

import duckdb

# Typed CSV columns so the sniffer cannot guess Invoice or StockCode as numbers.
CSV_SOURCE = """read_csv({path}, header = true, types = {{
    'Invoice': 'VARCHAR', 'StockCode': 'VARCHAR', 'Description': 'VARCHAR',
    'Quantity': 'BIGINT', 'InvoiceDate': 'TIMESTAMP', 'Price': 'DOUBLE',
    'Customer ID': 'DOUBLE', 'Country': 'VARCHAR'}})"""

RFM_QUERY = r"""
WITH kept AS (
    SELECT CAST(CAST("Customer ID" AS BIGINT) AS VARCHAR) AS customer_id,
           Invoice, InvoiceDate, Quantity * Price AS line_value
    FROM {source}
    WHERE "Customer ID" IS NOT NULL AND InvoiceDate IS NOT NULL
      AND Quantity > 0 AND Price > 0
      AND regexp_full_match(Invoice, '\d{{6}}')
      AND regexp_full_match(StockCode, '\d{{5}}[A-Za-z]*')
), per_customer AS (
    SELECT customer_id, max(InvoiceDate) AS last_purchase,
           count(DISTINCT Invoice) AS frequency, sum(line_value) AS monetary
    FROM kept GROUP BY customer_id
)
SELECT customer_id,
       -- whole days, floor: elapsed microseconds, not calendar-day boundaries
       date_diff('microsecond', last_purchase, max(last_purchase) OVER ()) // 86400000000 AS recency,
       frequency, monetary
FROM per_customer
"""


def source_sql(path: str) -> str:
    quoted = "'" + path.replace("'", "''") + "'"
    if path.endswith(".parquet"):
        return f"read_parquet({quoted})"
    return CSV_SOURCE.format(path=quoted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?")
    parser.add_argument("-o", "--output")
    parser.add_argument("--import-only", action="store_true")
    args = parser.parse_args()
    if args.import_only:
        return
    query = RFM_QUERY.format(source=source_sql(args.file))
    output = "'" + args.output.replace("'", "''") + "'"
    duckdb.sql(f"COPY ({query}) TO {output} (HEADER)")


if __name__ == "__main__":
    main()
