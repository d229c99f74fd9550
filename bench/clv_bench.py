"""Customer lifetime value: fit BG/NBD + Gamma-Gamma and forecast every customer (core.clv).

The per-customer summary (frequency, recency and age in days, mean repeat spend) of N
customers is drawn from the models themselves with known parameters (r=0.25, alpha=4,
a=0.8, b=2.5 in weeks; p=6, q=4, gamma=15; first purchases spread over the first half of
two years), so the bench also shows that the fit recovers them. Timed: ``customer_value``
(both fits, then expected purchases, P(alive), expected spend and 12-month CLV for every
customer), median of ``--repeat`` runs in one process, imports excluded. Prints one JSON
object on stdout; ``--table`` prints the ratios against the targets instead.

    python bench/clv_bench.py --customers 25000,1000000 --table
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root, for `core`

TRUE = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5, "p": 6.0, "q": 4.0, "gamma": 15.0}
# Targets (issue 18): fit + predict on 25k customers < 2 s, on 1M < 60 s.
TARGETS_S = {25_000: 2.0, 1_000_000: 60.0}
SPAN_DAYS = 730


def synthetic_summary(customers: int, seed: int = 0):
    """A purchase_summary-shaped frame drawn from BG/NBD + Gamma-Gamma (weeks -> whole days)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    age_days = rng.integers(SPAN_DAYS // 2, SPAN_DAYS + 1, customers)
    age = age_days / 7.0
    rate = rng.gamma(TRUE["r"], 1.0 / TRUE["alpha"], customers)
    dropout = rng.beta(TRUE["a"], TRUE["b"], customers)
    clock = np.zeros(customers)
    count = np.zeros(customers, dtype=np.int64)
    last = np.zeros(customers)
    active = np.ones(customers, dtype=bool)
    while active.any():  # one repeat purchase per round for every customer still buying
        idx = np.flatnonzero(active)
        clock[idx] += rng.exponential(1.0, idx.size) / np.maximum(rate[idx], 1e-12)
        bought = clock[idx] <= age[idx]
        buyers = idx[bought]
        count[buyers] += 1
        last[buyers] = clock[buyers]
        active[idx[~bought]] = False
        active[buyers[rng.random(buyers.size) < dropout[buyers]]] = False
    recency_days = np.minimum(np.floor(last * 7.0), age_days).astype(np.int64)
    recency_days = np.where(count > 0, np.maximum(recency_days, 1), 0)
    nu = rng.gamma(TRUE["q"], 1.0 / TRUE["gamma"], customers)
    shape = np.maximum(TRUE["p"] * count, 1e-9)
    spend = np.where(count > 0, rng.gamma(shape, 1.0 / (nu * np.maximum(count, 1))), 0.0)
    return pd.DataFrame(
        {
            "customer_id": np.arange(customers).astype(str),
            "frequency": count,
            "recency_days": recency_days,
            "age_days": age_days,
            "spend": spend,
        }
    )


def measure(customers: int, repeat: int) -> dict:
    from core.clv import customer_value

    summary = synthetic_summary(customers)
    times, cpu, result = [], [], None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = customer_value(summary)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return {
        "customers": customers,
        "seconds": statistics.median(times),
        "cpu_seconds": statistics.median(cpu),
        "repeat_customers": int((summary["frequency"] > 0).sum()),
        "fitted": {**result.purchases.params(), **result.spend.params()},
        "true": TRUE,
        "clv_total": float(result.table["clv"].sum()),
    }


def table(results: list[dict]) -> str:
    lines = [
        "| customers | fit + predict s | CPU s | target s | ratio (target / measured) "
        "| verdict | fitted (true) |",
        "|--:|--:|--:|--:|--:|---|---|",
    ]
    for r in results:
        target = TARGETS_S.get(r["customers"])
        fitted = ", ".join(f"{k}={v:.3g} ({TRUE[k]:g})" for k, v in r["fitted"].items())
        if target is None:
            lines.append(
                f"| {r['customers']:,} | {r['seconds']:.2f} | {r['cpu_seconds']:.2f} | | | | {fitted} |"
            )
            continue
        verdict = "PASS" if r["seconds"] < target else "MISS"
        lines.append(
            f"| {r['customers']:,} | {r['seconds']:.2f} | {r['cpu_seconds']:.2f} | {target:g} | "
            f"{target / r['seconds']:.1f}x | {verdict} | {fitted} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", default="25000,1000000", help="comma-separated sizes")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--table", action="store_true", help="print the ratios table")
    args = parser.parse_args(argv)
    results = [measure(int(n), args.repeat) for n in args.customers.split(",")]
    print(table(results) if args.table else json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
