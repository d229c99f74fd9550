"""``python -m core``: the engine from the command line.

    rfm FILE [mapping] [--preset P] [--as-of DATE] -o OUT.csv
    train FILE [mapping] [--k K] [--model-dir models]
    segment FILE [mapping] [--model VERSION | --k K] -o OUT.csv
    score --recency R --frequency F --monetary M [--model VERSION] [--json]
    sweep FILE [mapping] [--ks 2-12]
    synth --lines N --customers C --seed S -o FILE.parquet|csv

Bad input exits with status 2 and one line on stderr; outputs are written atomically.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from core.errors import ConfigError, SegmentationError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line on stderr, not argparse's usage block
        raise ConfigError(f"{self.prog}: {message} (see --help)")


_ROLES = ("customer", "date", "invoice", "quantity", "price", "amount", "status", "product",
          "country")


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="transactions file: .csv/.tsv/.txt, .xlsx, .parquet")
    g = p.add_argument_group("column mapping (auto-detected; override by column name)")
    for role in _ROLES:
        g.add_argument(f"--{role}", metavar="COLUMN", help=f"column holding the {role}")
    g.add_argument("--sheet", help="Excel sheet name (default: the first; 'all' stacks sheets)")
    g = p.add_argument_group("reading values (decided from the whole column; force them here)")
    g.add_argument("--decimal", choices=(",", "."),
                   help="decimal mark of text numbers (default: decided per column)")
    g.add_argument("--date-format", dest="date_format", choices=("dayfirst", "monthfirst"),
                   help="order of dates that fit both (default: the file's locale hint, "
                        "else monthfirst)")
    p.add_argument("--preset", choices=("online-retail", "generic"),
                   help="cleaning rules (default: online-retail when the file has invoice and stock code)")
    p.add_argument("--returns", choices=("drop", "net"), default="drop",
                   help="returns: dropped (default) or netted against monetary")
    p.add_argument("--as-of", dest="as_of", metavar="DATE",
                   help="recency reference date (default: latest purchase)")
    p.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                   help="where RFM runs (spark needs requirements-spark.txt)")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m core", description="RFM customer segmentation engine")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("rfm", help="RFM per customer to CSV")
    _add_data_args(p)
    p.add_argument("-o", "--output", required=True, help="output CSV ('-' for stdout)")

    p = sub.add_parser("train", help="fit tiers + clusters and save a model version")
    _add_data_args(p)
    p.add_argument("--k", type=int, default=4, help="number of clusters (default 4)")
    p.add_argument("--model-dir", default="models", help="model store folder (default models/)")

    p = sub.add_parser("segment", help="segment every customer to CSV")
    _add_data_args(p)
    p.add_argument("--model", help="saved model version (default: fit a new model on FILE)")
    p.add_argument("--k", type=int, default=4, help="k when fitting on FILE (default 4)")
    p.add_argument("--model-dir", default="models")
    p.add_argument("-o", "--output", required=True, help="output CSV ('-' for stdout)")

    p = sub.add_parser("score", help="segment one customer from its R/F/M values")
    p.add_argument("--recency", required=True, help="days since last purchase")
    p.add_argument("--frequency", required=True, help="number of purchases")
    p.add_argument("--monetary", required=True, help="total spend")
    p.add_argument("--model", help="model version (default: current)")
    p.add_argument("--model-dir", default="models")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("sweep", help="k-sweep evidence: inertia, silhouette, CH, DB, knee")
    _add_data_args(p)
    p.add_argument("--ks", default="2-12", help="k range, e.g. 2-12 (default)")

    p = sub.add_parser("synth", help="write deterministic synthetic Online-Retail-like lines")
    p.add_argument("--lines", type=int, required=True)
    p.add_argument("--customers", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", required=True, help="FILE.parquet or FILE.csv")
    return parser


def _rfm(args):
    """Read, map, clean and compute RFM as the arguments say; returns the RFMResult."""
    from core.rfm import rfm_from_file

    overrides = {role: getattr(args, role) for role in _ROLES}
    return rfm_from_file(args.file, overrides=overrides, sheet=args.sheet, preset=args.preset,
                         returns=args.returns, as_of=args.as_of, decimal=args.decimal,
                         date_format=args.date_format, engine=args.engine)


def _report(result) -> None:
    out = sys.stderr  # looked up per call: a default argument would pin the stream at import
    a = result.audit
    removed = ", ".join(f"{label}: {n:,}" for _, label, n in a.removed)
    print(f"{a.rows_in:,} lines read; removed {removed}; {a.rows_out:,} kept; "
          f"{a.customers_out:,} customers; as of {result.as_of:%Y-%m-%d %H:%M}", file=out)
    notes = a.notes()
    if notes:
        print("; ".join(notes), file=out)


def _write(frame, output: str) -> None:
    from core.export import neutralise_formulas, write_csv

    if output == "-":
        neutralise_formulas(frame).to_csv(sys.stdout, index=False)
    else:
        write_csv(frame, output)
        print(f"wrote {len(frame):,} rows to {output}", file=sys.stderr)


def _fit(rfm, k: int):
    from core.segmentation import SegmentationConfig, SegmentationModel

    return SegmentationModel(SegmentationConfig(k=k)).fit(rfm)


def _check_k(k: int) -> None:
    """Refuse a bad --k before any data is read (one error line, nothing else printed)."""
    from core.segmentation import SegmentationConfig

    SegmentationConfig(k=k)


def _cmd_rfm(args) -> int:
    result = _rfm(args)
    _report(result)
    _write(result.rfm, args.output)
    return 0


def _cmd_train(args) -> int:
    from core.store import ModelStore

    _check_k(args.k)
    result = _rfm(args)
    model = _fit(result.rfm, args.k)
    version = ModelStore(args.model_dir).save(model, data_source=str(args.file))
    _report(result)  # after the fit: a failed run prints its error line and nothing else
    print(f"saved model {version} (k={args.k}; clusters: {', '.join(model.names_)}; "
          f"silhouette {model.metrics_['silhouette'] or float('nan'):.3f}) to {args.model_dir}/",
          file=sys.stderr)
    return 0


def _cmd_segment(args) -> int:
    from core.store import ModelStore

    if args.model:  # load first: an unknown version fails before the file is read
        model, _ = ModelStore(args.model_dir).load(args.model)
        result = _rfm(args)
    else:
        _check_k(args.k)
        result = _rfm(args)
        model = _fit(result.rfm, args.k)
    if args.engine == "spark":  # score where the data is: the model as a Spark expression
        from core.scoring import score_table

        segmented = score_table(model, result.rfm, backend="spark")
    else:
        segmented = model.segment(result.rfm)
    _report(result)  # after the fit: a failed run prints its error line and nothing else
    _print_profiles(segmented)
    _write(segmented, args.output)
    return 0


def _print_profiles(segmented) -> None:
    """Customers, shares and mean R/F/M per segment, on stderr (stdout may carry the CSV)."""
    from core.insights import segment_profiles

    profile = segment_profiles(segmented)
    columns = ["segment", "customers", "share", "revenue_share", "recency_mean",
               "frequency_mean", "monetary_mean"]
    print(profile[columns].to_string(index=False, float_format=lambda v: f"{v:,.2f}"),
          file=sys.stderr)


def _cmd_score(args) -> int:
    from core.store import ModelStore

    store = ModelStore(args.model_dir)
    model, manifest = store.load(args.model)
    explanation = model.explain(args.recency, args.frequency, args.monetary)
    if args.json:
        print(json.dumps({**explanation.to_dict(), "model_version": manifest["version"]}, indent=2))
    else:
        print(f"segment: {explanation.segment}  (model {manifest['version']})")
        for reason in explanation.reasons:
            print(f"  why: {reason}")
        for action in explanation.actions:
            print(f"  do:  {action}")
    return 0


def _parse_ks(text: str) -> list[int]:
    try:
        if "-" in text:
            lo, hi = (int(x) for x in text.split("-", 1))
            return list(range(lo, hi + 1))
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise ConfigError(f"--ks '{text}' is not a range like 2-12 or a list like 3,4,5") from None


def _cmd_sweep(args) -> int:
    from core.clustering import k_sweep
    from core.outliers import assign_tiers, iqr_fences

    ks = _parse_ks(args.ks)
    result = _rfm(args)
    rfm = result.rfm
    inside = rfm[assign_tiers(rfm, iqr_fences(rfm)).isna().to_numpy()]
    sweep = k_sweep(inside, ks)
    _report(result)  # after the sweep: a failed run prints its error line and nothing else
    print(sweep.table.to_string(index=False, float_format=lambda v: f"{v:,.3f}"))
    print(f"knee: {sweep.knee}; recommended k: {sweep.recommended_k}: {sweep.reason}")
    return 0


def _cmd_synth(args) -> int:
    from core.synth import write_synthetic

    if args.lines < 1 or args.customers < 1:
        raise ConfigError("--lines and --customers must be at least 1")
    n = write_synthetic(args.output, args.lines, args.customers, args.seed)
    print(f"wrote {n:,} lines to {args.output}", file=sys.stderr)
    return 0


COMMANDS = {"rfm": _cmd_rfm, "train": _cmd_train, "segment": _cmd_segment, "score": _cmd_score,
            "sweep": _cmd_sweep, "synth": _cmd_synth}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except SegmentationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # e.g. an output folder that cannot be written
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
