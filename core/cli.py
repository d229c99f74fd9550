"""``python -m core``: the engine from the command line.

    rfm FILE [mapping] [--preset P] [--as-of DATE] -o OUT.csv
    train FILE [mapping] [--k K] [--model-dir DIR]
    segment FILE [mapping] [--model VERSION | --k K] -o OUT.csv
    report FILE [mapping] [--model VERSION | --k K] [--currency CODE] -o REPORT.html
    score --recency R --frequency F --monetary M [--model VERSION] [--json]
    sweep FILE [mapping] [--ks 2-12]
    migration FILE [mapping] --from DATE --to DATE [--model VERSION] [--cut-points from|each]
              -o OUT.csv
    synth --lines N --customers C --seed S -o FILE.parquet|csv
    clv FILE [mapping] [--as-of DATE] [--weeks 39] [--months 12] [--discount 0.01] [--backtest] -o OUT.csv

Bad input exits with status 2 and one line on stderr; outputs are written atomically.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from core.config import DEFAULTS, model_dir
from core.errors import ConfigError, SegmentationError, engine_failure

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line on stderr, not argparse's usage block
        raise ConfigError(f"{self.prog}: {message} (see --help)")


_ROLES = ("customer", "date", "invoice", "quantity", "price", "amount", "status", "product", "country")


def _add_model_dir_arg(p: argparse.ArgumentParser) -> None:
    """--model-dir, defaulting to the app's store (core.config.model_dir)."""
    p.add_argument(
        "--model-dir",
        default=str(model_dir()),
        help="model store folder (default: env RFM_MODEL_DIR, else models/)",
    )


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="transactions file: .csv/.tsv/.txt, .xlsx, .parquet")
    g = p.add_argument_group("column mapping (auto-detected; override by column name)")
    for role in _ROLES:
        g.add_argument(f"--{role}", metavar="COLUMN", help=f"column holding the {role}")
    g.add_argument("--sheet", help="Excel sheet name (default: the first; 'all' stacks sheets)")
    g.add_argument(
        "--profile",
        metavar="NAME|none",
        help="export profile to read by (default: recognised from the header; "
        "'none' reads by column names; see docs/FORMATS.md)",
    )
    g = p.add_argument_group("reading values (decided from the whole column; force them here)")
    g.add_argument(
        "--decimal", choices=(",", "."), help="decimal mark of text numbers (default: decided per column)"
    )
    g.add_argument(
        "--date-format",
        dest="date_format",
        choices=("dayfirst", "monthfirst"),
        help="order of dates that fit both (default: the file's locale hint, else monthfirst)",
    )
    g.add_argument(
        "--header-row",
        dest="header_row",
        type=int,
        metavar="N",
        help="the header is on row N (1 = the first; default: found, title rows above it skipped)",
    )
    g = p.add_argument_group("statuses and duplicates")
    g.add_argument(
        "--sale-status",
        dest="sale_status",
        metavar='"A,B"',
        help="status values that are completed sales (comma-separated; they win "
        "over the built-in vocabulary)",
    )
    g.add_argument(
        "--not-sale-status",
        dest="not_sale_status",
        metavar='"C,D"',
        help="status values that are not a sale (comma-separated)",
    )
    g.add_argument(
        "--drop-duplicates",
        dest="drop_duplicates",
        action="store_true",
        help="remove every exact copy of a line (default: only where the order ID "
        "must be unique; other copies are kept and counted)",
    )
    p.add_argument(
        "--preset",
        choices=("online-retail", "generic"),
        help="cleaning rules (default: online-retail when the file has invoice and stock code)",
    )
    p.add_argument(
        "--returns", choices=("drop", "net"), help="returns: dropped (default) or netted against monetary"
    )
    p.add_argument(
        "--as-of", dest="as_of", metavar="DATE", help="recency reference date (default: latest purchase)"
    )
    p.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default="duckdb",
        help="where RFM runs (spark needs requirements-spark.txt)",
    )


def build_parser() -> argparse.ArgumentParser:
    """Every command's flags; parsing them imports no engine (a test checks)."""
    from core.config import CUT_POINTS, DEFAULT_CUT_POINTS

    parser = _Parser(prog="python -m core", description="RFM customer segmentation engine")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("rfm", help="RFM per customer to CSV")
    _add_data_args(p)
    p.add_argument("-o", "--output", required=True, help="output .csv or .xlsx ('-': CSV on stdout)")

    p = sub.add_parser("train", help="fit tiers + clusters and save a model version")
    _add_data_args(p)
    p.add_argument("--k", type=int, default=DEFAULTS.k, help=f"number of clusters (default {DEFAULTS.k})")
    _add_model_dir_arg(p)

    p = sub.add_parser("segment", help="segment every customer to CSV")
    _add_data_args(p)
    p.add_argument("--model", help="saved model version (default: fit a new model on FILE)")
    p.add_argument("--k", type=int, default=DEFAULTS.k, help=f"k when fitting on FILE (default {DEFAULTS.k})")
    _add_model_dir_arg(p)
    p.add_argument("-o", "--output", required=True, help="output .csv or .xlsx ('-': CSV on stdout)")

    p = sub.add_parser("report", help="one self-contained HTML report (opens offline)")
    _add_data_args(p)
    p.add_argument("--model", help="saved model version (default: fit a new model on FILE)")
    p.add_argument("--k", type=int, default=DEFAULTS.k, help=f"k when fitting on FILE (default {DEFAULTS.k})")
    _add_model_dir_arg(p)
    p.add_argument(
        "--currency",
        metavar="CODE",
        help="currency of the money figures, e.g. GBP (default: the file's Currency column, else none)",
    )
    p.add_argument("-o", "--output", required=True, help="output HTML file")

    p = sub.add_parser("score", help="segment one customer from its R/F/M values")
    p.add_argument("--recency", required=True, help="days since last purchase")
    p.add_argument("--frequency", required=True, help="number of purchases")
    p.add_argument("--monetary", required=True, help="total spend")
    p.add_argument("--model", help="model version (default: current)")
    _add_model_dir_arg(p)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("sweep", help="k-sweep evidence: inertia, silhouette, CH, DB, knee")
    _add_data_args(p)
    p.add_argument("--ks", default="2-12", help="k range, e.g. 2-12 (default)")

    p = sub.add_parser("migration", help="each customer's segment at two dates, to CSV")
    _add_data_args(p)
    p.add_argument(
        "--from",
        dest="from_date",
        required=True,
        metavar="DATE",
        help="earlier date: the data as it stood then (YYYY-MM-DD = its midnight)",
    )
    p.add_argument("--to", dest="to_date", required=True, metavar="DATE", help="later date")
    p.add_argument(
        "--model", help="segment by this saved model's tiers and clusters (default: the named RFM segments)"
    )
    p.add_argument(
        "--cut-points",
        choices=CUT_POINTS,
        default=DEFAULT_CUT_POINTS,
        help="named segments at the to date: scored on the from date's cut points "
        "(from, default: a move means the customer changed) or on its own "
        "(each: the scale is re-cut)",
    )
    _add_model_dir_arg(p)
    p.add_argument("-o", "--output", required=True, help="output CSV ('-' for stdout)")

    p = sub.add_parser("synth", help="write deterministic synthetic Online-Retail-like lines")
    p.add_argument("--lines", type=int, required=True)
    p.add_argument("--customers", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", required=True, help="FILE.parquet or FILE.csv")
    _add_clv_parser(sub)
    return parser


def _rfm(args):
    """Read, map, clean and compute RFM as the arguments say; returns the RFMResult and what
    the summary of the reading needs (core.summary.Context)."""
    from core.summary import context_of

    src = _prepared(args)
    return src.rfm(), context_of(src)


def read_options(args):
    """The reading flags as one validated core.options.ReadOptions (its defaults where a
    flag is not given); ConfigError naming a bad value."""
    from core.options import ReadOptions

    # _ROLES mirrors core.columns.ROLES so that parsing arguments imports no engine (a test checks)
    mapping = tuple((role, getattr(args, role)) for role in _ROLES if getattr(args, role) is not None)
    given = {
        name: getattr(args, name)
        for name in ("sheet", "preset", "returns", "decimal", "date_format", "as_of", "profile")
        if getattr(args, name) is not None
    }
    given.update(
        {name: getattr(args, name) for name in ("header_row", "drop_duplicates") if getattr(args, name)}
    )
    from core.statuses import parse_status_list

    return ReadOptions(
        mapping=mapping,
        **given,
        sale_statuses=parse_status_list(args.sale_status, "--sale-status"),
        not_sale_statuses=parse_status_list(args.not_sale_status, "--not-sale-status"),
    )


class WorkbookReadAhead:
    """A workbook's parse started in a thread now, before the engine is imported: the Rust
    reader releases the GIL, so the two overlap. A core.excel.WorkbookReader: the read of the
    same file (unchanged), sheet and display name waits for that parse and raises its
    errors; any other read reads its file (core.excel.read_workbook). Not a workbook (by its
    first bytes), or unreadable: nothing is started. The thread is a daemon: a command that
    fails first does not wait for it."""

    def __init__(self, path: str | Path, sheet: str | None):
        import threading
        from concurrent.futures import Future

        from core import excel

        path = Path(path)
        self.key: tuple | None = None
        self.parse: Future | None = None
        try:
            with path.open("rb") as fh:
                if not excel.is_workbook(fh.read(8)):
                    return
            self.key = (excel.file_identity(path), sheet, path.name)
        except OSError:
            return
        self.parse = Future()
        threading.Thread(
            target=self._run, args=(self.parse, path, sheet), name="read-ahead", daemon=True
        ).start()

    @staticmethod
    def _run(parse, path: Path, sheet: str | None) -> None:
        from core import excel

        try:
            parse.set_result(excel.parse_isolated(path, sheet, path.name))
        except BaseException as exc:  # handed to the read that waits for it
            parse.set_exception(exc)

    def __call__(self, path: Path, sheet: str | None, display: str, text_columns):
        """The read of ``path``: the parse started ahead when it is the same (once)."""
        from core import excel

        parse, self.parse = self.parse, None
        if parse is not None and self.key == (excel.file_identity(path), sheet, display):
            return excel.with_text_columns(parse.result(), text_columns)
        return excel.read_workbook(path, sheet, display, text_columns)


def _prepared(args):
    """The file read and mapped with its cleaning rules, as the arguments say (core.rfm.Source)."""
    # a workbook's read starts now and overlaps the engine's imports
    ahead = WorkbookReadAhead(args.file, args.sheet) if args.engine == "duckdb" else None
    options = read_options(args)  # a bad value fails before the file is read
    from core.rfm import open_source

    return open_source(args.file, options, engine=args.engine, workbooks=ahead)


def _report(result, context=None) -> None:
    """The audit's counts, the reading notes and the summary of how the file was read
    (core.summary), on stderr."""
    from core.summary import how_read

    out = sys.stderr  # looked up per call: a default argument would pin the stream at import
    a = result.audit
    removed = ", ".join(f"{label}: {n:,}" for _, label, n in a.removed)
    print(
        f"{a.rows_in:,} lines read; removed {removed}; {a.rows_out:,} kept; "
        f"{a.customers_out:,} customers; as of {result.as_of:%Y-%m-%d %H:%M}",
        file=out,
    )
    notes = a.notes()  # the reading's sentences are in the summary below (core.summary)
    if notes:
        print("; ".join(notes), file=out)
    for sentence in how_read(result, context) if context is not None else ():
        print(sentence, file=out)


def _check_output(args) -> None:
    """Refuse a bad -o before any data is read (a link, a FIFO or device, the input itself)."""
    from core.export import check_output_path

    if args.output != "-":
        check_output_path(args.output, [args.file])


def _write(frame, output: str, inputs=()) -> None:
    """The CSV on stdout for '-', else the file: .xlsx a workbook, any other name CSV."""
    from core.export import to_csv_text, write_output

    if output == "-":
        sys.stdout.write(to_csv_text(frame))
    else:
        kind = write_output(frame, output, inputs)
        print(f"wrote {len(frame):,} rows to {output} ({kind})", file=sys.stderr)


def _fit(rfm, k: int):
    from core.segmentation import SegmentationConfig, SegmentationModel

    return SegmentationModel(SegmentationConfig(k=k)).fit(rfm)


def _check_k(k: int) -> None:
    """Refuse a bad --k before any data is read (one error line, nothing else printed)."""
    from core.segmentation import SegmentationConfig

    SegmentationConfig(k=k)


def _cmd_rfm(args) -> int:
    _check_output(args)
    result, context = _rfm(args)
    _report(result, context)
    _write(result.table, args.output, [args.file])  # Arrow: the command imports no pandas
    return 0


def _cmd_train(args) -> int:
    from core.store import ModelStore

    _check_k(args.k)
    result, context = _rfm(args)
    model = _fit(result.rfm, args.k)
    version = ModelStore(args.model_dir).save(model, data_source=str(args.file), make_current=True)
    _report(result, context)  # after the fit: a failed run prints its error line and nothing else
    print(
        f"saved model {version} (k={args.k}; clusters: {', '.join(model.names_)}; "
        f"silhouette {model.metrics_['silhouette'] or float('nan'):.3f}) to {args.model_dir}/",
        file=sys.stderr,
    )
    return 0


def _cmd_segment(args) -> int:
    from core.store import ModelStore

    _check_output(args)
    if args.model:  # load first: an unknown version fails before the file is read
        model, _ = ModelStore(args.model_dir).load(args.model)
        result, context = _rfm(args)
    else:
        _check_k(args.k)
        result, context = _rfm(args)
        model = _fit(result.rfm, args.k)
    if args.engine == "spark":  # score where the data is: the model as a Spark expression
        from core.scoring import score_table

        segmented = score_table(model, result.rfm, backend="spark")
    else:
        segmented = model.segment(result.rfm)
    segmented = with_scores(segmented, getattr(model, "segment_grid", None))
    _report(result, context)  # after the fit: a failed run prints its error line and nothing else
    _print_profiles(segmented)
    _write(segmented, args.output, [args.file])
    return 0


def with_scores(segmented, grid=None):
    """The segmented table plus r_score, f_score, m_score and rfm_segment (DESIGN.md)."""
    from core.scores import score_table

    return score_table(segmented, grid=grid)


def _cmd_report(args) -> int:
    import datetime as dt
    import hashlib

    from core.atomic import atomic_output
    from core.export import check_output_path
    from core.report import ReportInputs, build_report, movement_sizes
    from core.segmentation import fingerprint
    from core.store import ModelStore
    from core.summary import Context, context_of

    if args.engine == "spark":
        raise ConfigError("report runs on DuckDB only; leave out --engine spark")
    currency = _currency_code(args.currency)
    check_output_path(args.output, [args.file])  # before the file is read
    if args.model:  # load first: an unknown version fails before the file is read
        model, manifest = ModelStore(args.model_dir).load(args.model)
        version = manifest["version"]
    else:
        _check_k(args.k)
        model, version = None, None
    src = _prepared(args)
    dataset = src.dataset
    result = src.rfm()
    model = model or _fit(result.rfm, args.k)
    grid = getattr(model, "segment_grid", None)
    scored = with_scores(model.segment(result.rfm), grid)
    scored, value_note = _with_value(scored, src)
    sizes, note = movement_sizes(src, grid)
    digest = hashlib.sha256()
    with open(args.file, "rb") as fh:
        for block in iter(lambda: fh.read(8 << 20), b""):
            digest.update(block)
    page = build_report(
        ReportInputs(
            source_name=dataset.name,
            scored=scored,
            audit=result.audit,
            as_of=result.as_of,
            generated_at=dt.datetime.now(dt.UTC),
            data_fingerprint=fingerprint(result.rfm),
            model_version=version,
            model_k=model.config.k,
            grid=grid,
            currency=currency or src.reading.currency,
            movement=sizes,
            movement_note=note,
            file_hash=digest.hexdigest(),
            value_note=value_note,
        )
    )
    _report(
        result,
        Context(
            currency=currency or None,
            currency_source="--currency",
            profile=context_of(src).profile,
            reading=context_of(src).reading,
        )
        if currency
        else context_of(src),
    )
    with atomic_output(check_output_path(args.output, [args.file])) as tmp:
        tmp.write_text(page, encoding="utf-8")
    print(f"wrote the report ({len(scored):,} customers) to {args.output}", file=sys.stderr)
    return 0


def _currency_code(text: str | None) -> str | None:
    if text is None:
        return None
    code = text.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ConfigError(f"--currency '{text}' is not a three-letter code like GBP, EUR or USD")
    return code


def _print_profiles(segmented) -> None:
    """Customers, shares and mean R/F/M per segment, on stderr (stdout may carry the CSV)."""
    from core.insights import segment_profiles

    profile = segment_profiles(segmented)
    columns = [
        "segment",
        "customers",
        "share",
        "revenue_share",
        "recency_mean",
        "frequency_mean",
        "monetary_mean",
    ]
    print(profile[columns].to_string(index=False, float_format=lambda v: f"{v:,.2f}"), file=sys.stderr)


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
    from core.outliers import inside_fences, iqr_fences

    ks = _parse_ks(args.ks)
    result, context = _rfm(args)
    rfm = result.rfm
    inside = rfm[inside_fences(rfm, iqr_fences(rfm))]
    sweep = k_sweep(inside, ks)
    _report(result, context)  # after the sweep: a failed run prints its error line and nothing else
    print(sweep.table.to_string(index=False, float_format=lambda v: f"{v:,.3f}"))
    print(f"knee: {sweep.knee}; recommended k: {sweep.recommended_k}: {sweep.reason}")
    return 0


def _cmd_migration(args) -> int:
    from core import movement
    from core.store import ModelStore

    if args.engine == "spark":
        raise ConfigError("migration runs on DuckDB only; leave out --engine spark")
    if args.as_of:
        raise ConfigError("migration takes --from and --to, not --as-of")
    _check_output(args)
    segment_by = None
    if args.model:  # load first: an unknown version fails before the file is read
        model, _ = ModelStore(args.model_dir).load(args.model)
        segment_by = movement.by_model(model)
    movement.date_pair(args.from_date, args.to_date)  # bad dates fail before the file is read
    src = _prepared(args)
    history = movement.PurchaseHistory.from_source(src)
    moves = movement.migration(history, args.from_date, args.to_date, segment_by, cut_points=args.cut_points)
    moved = int((moves["from_segment"] != moves["to_segment"]).sum())
    new = int((moves["from_segment"] == movement.NOT_YET).sum())
    print(
        f"{len(moves):,} customers at {args.to_date}: {new:,} new since {args.from_date}, "
        f"{moved - new:,} changed segment",
        file=sys.stderr,
    )
    _write(moves, args.output, [args.file])
    return 0


def _cmd_synth(args) -> int:
    from core.synth import write_synthetic

    if args.lines < 1 or args.customers < 1:
        raise ConfigError("--lines and --customers must be at least 1")
    n = write_synthetic(args.output, args.lines, args.customers, args.seed)
    print(f"wrote {n:,} lines to {args.output}", file=sys.stderr)
    return 0


# --- clv: expected purchases, P(alive) and value per customer (core.clv) -------------------


def _add_clv_parser(sub) -> None:
    from core.config import CLV_DEFAULTS as CLV

    p = sub.add_parser("clv", help="expected purchases, P(alive) and lifetime value per customer")
    _add_data_args(p)
    for knob, kind, what in (  # each flag: the CLVConfig field of its name, with its default
        ("weeks", float, f"horizon of expected purchases in weeks (default {CLV.weeks:g})"),
        ("months", int, f"horizon of the lifetime value in months (default {CLV.months})"),
        ("discount", float, f"monthly discount rate (default {CLV.discount:g} = 1 %% a month)"),
    ):
        p.add_argument(f"--{knob}", type=kind, default=getattr(CLV, knob), help=what)
    p.add_argument(
        "--backtest",
        action="store_true",
        help="also check the forecast on your file: fit up to a cut date, compare "
        "with what happened after it (on stderr)",
    )
    p.add_argument("-o", "--output", required=True, help="output .csv or .xlsx ('-': CSV on stdout)")


def _cmd_clv(args) -> int:
    from core import clv
    from core.config import CLVConfig

    config = CLVConfig(weeks=args.weeks, months=args.months, discount=args.discount)
    if args.engine == "spark":
        raise ConfigError("clv runs on DuckDB only; leave out --engine spark")
    _check_output(args)
    from core.movement import PurchaseHistory

    src = _prepared(args)
    history = PurchaseHistory.from_source(src)
    result = clv.clv_from_history(history, src.options.as_of, config)
    checked = clv.backtest_history(history, src.options.as_of) if args.backtest else None
    for line in result.fit_lines():
        print(line, file=sys.stderr)
    print(clv.ONE_TIME_BUYERS_NOTE, file=sys.stderr)
    if checked is not None:
        print(checked.words(), file=sys.stderr)
        print(
            checked.by_frequency.to_string(index=False, float_format=lambda v: f"{v:,.3f}"), file=sys.stderr
        )
    _write(clv.rounded(result.table), args.output, [args.file])
    return 0


def _with_value(scored, src):
    """The report's table with the default forecast's value columns, or unchanged with the
    reason when the forecast refuses the file."""
    from core import clv
    from core.movement import PurchaseHistory

    try:
        forecast = clv.clv_from_history(PurchaseHistory.from_source(src), src.options.as_of)
    except SegmentationError as exc:
        return scored, f"Lifetime value not available: {exc}"
    return clv.with_value(scored, forecast.table), ""


COMMANDS = {
    "rfm": _cmd_rfm,
    "train": _cmd_train,
    "segment": _cmd_segment,
    "score": _cmd_score,
    "report": _cmd_report,
    "sweep": _cmd_sweep,
    "synth": _cmd_synth,
    "migration": _cmd_migration,
}
COMMANDS["clv"] = _cmd_clv


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command (``argv``, default sys.argv[1:]); the exit status: 0 done, 2 a user
    mistake (one line on stderr naming what to decide; nothing written)."""
    args = None
    try:
        args = build_parser().parse_args(argv)
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
    except Exception as exc:  # an engine error on the user's file: one line, never a traceback
        message = engine_failure(exc, str(getattr(args, "file", "") or ""))
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return EXIT_USAGE
