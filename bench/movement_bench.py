"""Movement timings: month-end segment sizes over the whole history, and a two-date migration.

    python bench/movement_bench.py                       # 1M lines (month ends), 10M (migration)
    python bench/movement_bench.py --snapshot-lines 200000 --migration-lines 1000000 --repeats 1

The synthetic Online-Retail-like files (two years, 2009-12-01 .. 2011-12-09, so 25 month
ends) are made with `python -m core synth` and cached under bench/out/data/. Each timing
starts from the file on disk (read, map, clean, one grouped pass, segments per date) and is
the median of --repeats runs. For scale, the month ends are also timed the naive way once:
one Source.rfm scan per month end. Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the repo root, for `core`
DATA = REPO / "bench" / "out" / "data"
SEED = 0
MIGRATION_FROM, MIGRATION_TO = "2011-09-09", "2011-12-09 23:59:59"  # the last 91 days


def synthetic_file(lines: int) -> Path:
    """bench/out/data/movement-<lines>-c<customers>-s0.parquet, made once by `python -m core synth`."""
    customers = max(1_000, lines // 200)  # about 200 lines per customer, as the real export
    path = DATA / f"movement-{lines}-c{customers}-s{SEED}.parquet"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "core",
                "synth",
                "--lines",
                str(lines),
                "--customers",
                str(customers),
                "--seed",
                str(SEED),
                "-o",
                str(path),
            ],
            cwd=REPO,
            check=True,
        )
        print(f"generated {path.name} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return path


def _prepared(path: Path):
    from core.cleaning import CleaningConfig, suggest_preset
    from core.columns import resolve_mapping
    from core.io import read_transactions

    dataset = read_transactions(path)
    mapping = resolve_mapping(dataset.table, {}, dataset.name)
    from core.rfm import Source

    return Source(dataset, mapping, CleaningConfig.preset(suggest_preset(mapping)))


def _median_seconds(run, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def month_ends(path: Path, repeats: int, naive: bool) -> dict:
    from core import movement

    def grouped():
        history = movement.PurchaseHistory.from_source(_prepared(path))
        return history, movement.month_end_sizes(history)

    seconds, (history, sizes) = _median_seconds(grouped, repeats)
    ends = movement.month_ends(history.first_purchase, history.last_purchase)
    out = {
        "month_ends": len(ends),
        "snapshot_rows": int(sizes["customers"].sum()),
        "grouped_s": round(seconds, 3),
    }
    if naive:  # one scan per month end: what the grouped pass replaces
        prepared = _prepared(path)
        started = time.perf_counter()
        for when in ends:
            movement.by_named_segment()(prepared.rfm(when).rfm)
        out["one_scan_per_month_s"] = round(time.perf_counter() - started, 3)
        out["speedup"] = round(out["one_scan_per_month_s"] / seconds, 1)
    return out


def migration(path: Path, repeats: int) -> dict:
    from core import movement

    def run():
        history = movement.PurchaseHistory.from_source(_prepared(path))
        return movement.migration(history, MIGRATION_FROM, MIGRATION_TO)

    seconds, moves = _median_seconds(run, repeats)
    return {
        "from": MIGRATION_FROM,
        "to": MIGRATION_TO,
        "customers": len(moves),
        "moved": int((moves["from_segment"] != moves["to_segment"]).sum()),
        "seconds": round(seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot-lines", type=int, default=1_000_000)
    parser.add_argument("--migration-lines", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-naive", action="store_true", help="skip the one-scan-per-month run")
    parser.add_argument("--snapshot-file", type=Path, help="use this Parquet file for the month ends")
    parser.add_argument("--migration-file", type=Path, help="use this Parquet file for the migration")
    args = parser.parse_args()
    report = {
        "snapshot_lines": args.snapshot_lines,
        "month_end_sizes": month_ends(
            args.snapshot_file or synthetic_file(args.snapshot_lines), args.repeats, naive=not args.no_naive
        ),
        "migration_lines": args.migration_lines,
        "migration": migration(args.migration_file or synthetic_file(args.migration_lines), args.repeats),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
