"""k-sweep and single-customer scoring timings, on a synthetic RFM table.

An RFM table of N customers is drawn directly with numpy (skewed like real shops:
lognormal frequency and spend, recency spread over two years) rather than built from
billions of transaction lines. Prints one JSON object on stdout.

    python bench/model_bench.py --customers 1000000
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root, for `core`


def synthetic_rfm(customers: int, seed: int = 0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frequency = 1 + np.floor(rng.lognormal(0.8, 1.0, customers)).astype(np.int64)
    monetary = np.round(frequency * rng.lognormal(np.log(300.0), 0.8, customers), 2)
    # Active customers bought recently; lapsed ones spread over the whole two years.
    lapsed = rng.random(customers) < 0.4
    recency = np.where(
        lapsed, rng.integers(90, 739, customers), np.minimum(rng.exponential(30.0, customers), 738)
    ).astype(np.int64)
    return pd.DataFrame(
        {
            "customer_id": (12346 + np.arange(customers)).astype(str),
            "recency": recency,
            "frequency": frequency,
            "monetary": monetary,
        }
    )


def agreement(rfm, fast) -> dict:
    """The sweep's fast path (each k fitted on a fixed sample) against full K-Means fits.

    For every k: adjusted Rand index between the labels of the sampled fit and of a fit on
    all customers, both applied to all customers; and the recommended k of both sweeps.
    """
    from sklearn.metrics import adjusted_rand_score
    from threadpoolctl import threadpool_limits

    from core.clustering import FIT_SAMPLE, _sample_rows, feature_frame, k_sweep, make_pipeline

    X = feature_frame(rfm)
    rows = _sample_rows(len(X), FIT_SAMPLE, 42) if len(X) > FIT_SAMPLE else None
    full = k_sweep(rfm, ks=range(2, 13), fit_sample=None)
    ari = {}
    with threadpool_limits(1):
        for k in range(2, 13):
            full_labels = make_pipeline(k).fit(X).predict(X)
            fast_labels = make_pipeline(k).fit(X if rows is None else X.iloc[rows]).predict(X)
            ari[k] = adjusted_rand_score(full_labels, fast_labels)
    return {
        "ari_by_k": ari,
        "ari_at_recommended": ari[int(full.recommended_k)],
        "recommended_k_full": int(full.recommended_k),
        "recommended_k_fast": int(fast.recommended_k),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--scores", type=int, default=2000, help="single-customer scores to time")
    parser.add_argument(
        "--agreement", action="store_true", help="also compare the sweep's sampled fit with full K-Means fits"
    )
    args = parser.parse_args()
    result = {"customers": args.customers}
    try:
        from core.clustering import k_sweep
        from core.segmentation import SegmentationConfig, SegmentationModel
    except ImportError as exc:
        result["unavailable"] = f"core.clustering / core.segmentation: {exc}"
        print(json.dumps(result))
        return

    rfm = synthetic_rfm(args.customers)

    started = time.perf_counter()
    sweep = k_sweep(rfm, ks=range(2, 13))
    result["k_sweep_s"] = time.perf_counter() - started
    result["recommended_k"] = int(sweep.recommended_k)
    result["metrics"] = [c for c in sweep.table.columns if c != "k"]

    if args.agreement:
        result.update(agreement(rfm, sweep))

    started = time.perf_counter()
    model = SegmentationModel(SegmentationConfig()).fit(rfm)
    result["fit_s"] = time.perf_counter() - started

    score = getattr(model, "score_one", None) or model.explain
    sample = rfm.sample(n=min(args.scores, len(rfm)), random_state=1)
    customers = list(
        zip(sample["recency"].tolist(), sample["frequency"].tolist(), sample["monetary"].tolist())
    )
    score(*customers[0])  # first call pays one-off lazy costs
    per_call = []
    for recency, frequency, monetary in customers:
        started = time.perf_counter()
        score(recency, frequency, monetary)
        per_call.append(time.perf_counter() - started)
    per_call.sort()
    result["score_call"] = score.__name__
    result["score_median_ms"] = statistics.median(per_call) * 1e3
    result["score_p99_ms"] = per_call[int(0.99 * (len(per_call) - 1))] * 1e3
    print(json.dumps(result))


if __name__ == "__main__":
    main()
