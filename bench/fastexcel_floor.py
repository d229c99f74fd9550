"""The floor for Excel: fastexcel reads the first sheet into Arrow, and nothing else.

python bench/fastexcel_floor.py FILE.xlsx
python bench/fastexcel_floor.py --import-only
"""

import argparse

import fastexcel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?")
    parser.add_argument("--import-only", action="store_true")
    args = parser.parse_args()
    if args.import_only:
        return
    batch = fastexcel.read_excel(args.file).load_sheet(0, eager=True)
    print(f"{batch.num_rows} rows, {batch.num_columns} columns")


if __name__ == "__main__":
    main()
