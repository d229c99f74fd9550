"""Scan floor: DuckDB sums Quantity * Price over the whole file, no filter, no grouping.

The least any engine must do to touch the columns RFM needs; nothing can be faster.

    python bench/scan_floor.py FILE
    python bench/scan_floor.py --import-only
"""

import argparse

import duckdb
from hand_duckdb import source_sql


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?")
    parser.add_argument("-o", "--output", help="ignored; accepted for a uniform command line")
    parser.add_argument("--import-only", action="store_true")
    args = parser.parse_args()
    if args.import_only:
        return
    [(total,)] = duckdb.sql(f"SELECT sum(Quantity * Price) FROM {source_sql(args.file)}").fetchall()
    print(total)


if __name__ == "__main__":
    main()
