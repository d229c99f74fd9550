"""Deterministic synthetic transactions shaped like the UCI "Online Retail II" export.

Used for demos, tests and benchmarks where the real file is too small or cannot be
shipped. The output has the real export's eight columns and its mess: cancellations
(``C`` invoices, negative quantities), adjustments (``A`` invoices), non-product stock
codes (POST, M, D, DOT, ...), missing customers and zero prices, so every cleaning rule
has something to remove. Customers are skewed (a few heavy buyers) so the IQR fences
find outliers.

Determinism: the same ``(lines, customers, seed)`` always gives the same rows and, for
one pyarrow version, the same file bytes. Lines are produced in fixed chunks of
``CHUNK_LINES``; each chunk has its own random stream derived from ``(seed, chunk
index)`` and its own block of invoice numbers, so a chunk never depends on another and
an invoice never spans two chunks. A file of N lines therefore starts with the same
rows as a file of fewer lines made with the same seed and customers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.atomic import atomic_output
from core.errors import ConfigError

__all__ = ["SCHEMA", "CHUNK_LINES", "generate", "write_synthetic"]

SCHEMA = pa.schema(
    [
        ("Invoice", pa.string()),
        ("StockCode", pa.string()),
        ("Description", pa.string()),
        ("Quantity", pa.int64()),
        ("InvoiceDate", pa.timestamp("us")),
        ("Price", pa.float64()),
        ("Customer ID", pa.float64()),
        ("Country", pa.string()),
    ]
)

CHUNK_LINES = 1_000_000
ROW_GROUP_LINES = 250_000
MEAN_LINES_PER_INVOICE = 20
# Invoice numbers are six digits (100000..999999); past 900,000 invoices (about 18M
# lines) they wrap around, as a real sequence would have to.
FIRST_INVOICE_NUMBER = 100_000
INVOICE_NUMBER_SPAN = 900_000
FIRST_CUSTOMER_ID = 12346

FIRST_DAY = dt.date(2009, 12, 1)
LAST_DAY = dt.date(2011, 12, 9)
N_DAYS = (LAST_DAY - FIRST_DAY).days + 1
OPENING_MINUTE = 7 * 60  # the shop's orders arrive between 07:00 and 19:59
TRADING_MINUTES = 13 * 60

CANCELLED_INVOICE_SHARE = 0.02
ADJUSTMENT_INVOICE_SHARE = 0.005
MISSING_CUSTOMER_SHARE = 0.20
NON_PRODUCT_LINE_SHARE = 0.01
ZERO_PRICE_LINE_SHARE = 0.003

N_PRODUCTS = 4000

# Non-product stock codes: (code, description, typical price, share of such lines).
NON_PRODUCT_CODES = [
    ("POST", "POSTAGE", 18.0, 0.55),
    ("DOT", "DOTCOM POSTAGE", 150.0, 0.12),
    ("M", "Manual", 5.0, 0.13),
    ("D", "Discount", 20.0, 0.05),
    ("C2", "CARRIAGE", 50.0, 0.06),
    ("BANK CHARGES", "Bank Charges", 15.0, 0.05),
    ("AMAZONFEE", "AMAZON FEE", 3000.0, 0.04),
]
ADJUSTMENT_CODE = ("B", "Adjust bad debt")

COUNTRIES = [
    ("United Kingdom", 0.82),
    ("Germany", 0.03),
    ("France", 0.03),
    ("EIRE", 0.025),
    ("Netherlands", 0.015),
    ("Spain", 0.01),
    ("Belgium", 0.01),
    ("Switzerland", 0.01),
    ("Portugal", 0.01),
    ("Australia", 0.008),
    ("Italy", 0.007),
    ("Sweden", 0.006),
    ("Norway", 0.005),
    ("Channel Islands", 0.004),
    ("Unspecified", 0.006),
]

# Quantities as the shop sells them: singles, small packs, dozens and trade boxes.
QUANTITY_STEPS = np.array([1, 2, 3, 4, 6, 8, 10, 12, 16, 24, 36, 48, 72, 96, 144, 288])
QUANTITY_WEIGHTS = np.array([14, 12, 6, 8, 10, 4, 5, 16, 3, 8, 2, 3, 1, 1, 1, 0.3])

_PRODUCT_STYLES = [
    "RETRO SPOT",
    "VINTAGE",
    "PINK POLKADOT",
    "WHITE HANGING",
    "RED",
    "BLUE",
    "IVORY",
    "REGENCY",
    "JUMBO",
    "SET/3",
    "SET OF 6",
    "PAPER",
    "GLASS",
    "WOODEN",
    "ENAMEL",
    "HEART",
    "STAR",
    "CHRISTMAS",
    "FELTCRAFT",
    "SPACEBOY",
    "DOLLY GIRL",
    "ALPHABET",
    "LUNCH BAG",
    "CHARLOTTE BAG ,",
    "ANTIQUE SILVER",
    "ZINC",
    "SWEETHEART",
    "PARTY",
]
_PRODUCT_ITEMS = [
    "MUG",
    "BAG",
    "T-LIGHT HOLDER",
    "CAKE CASES",
    "LANTERN",
    "NAPKINS",
    "BUNTING",
    "DOORMAT",
    "TEA TOWEL",
    "STORAGE BOX",
    "PHOTO FRAME",
    "CANDLE",
    "CUSHION COVER",
    "BOWL",
    "CLOCK",
    "SIGN",
    "HOT WATER BOTTLE",
    "PURSE",
    "JAR",
    "DECORATION",
    "WRAP",
    "BOTTLE",
    "PLATE",
    "TIN",
    "SUKI DESIGN",
    "MAGAZINE RACK",
]


def generate(lines: int, customers: int, seed: int = 0) -> pa.Table:
    """Return ``lines`` synthetic transaction lines as an Arrow table with ``SCHEMA``.

    ``customers`` is the size of the customer universe (IDs ``12346`` upward); heavy
    buyers make most purchases, so not every ID need appear. ``seed`` selects the data
    set. Raises ``ConfigError`` if ``lines`` or ``customers`` is below 1 or ``seed`` is
    negative.
    """
    return pa.Table.from_batches(list(_generate_chunks(lines, customers, seed)), SCHEMA)


def write_synthetic(path: str | Path, lines: int, customers: int, seed: int = 0) -> int:
    """Write ``generate(lines, customers, seed)`` to ``path`` and return the lines written.

    The format follows the suffix: ``.parquet`` or ``.csv`` (dates as
    ``YYYY-MM-DD HH:MM:SS``, customer IDs as ``12347.0`` or empty, as the real export).
    Data is produced and written one chunk at a time, so memory stays flat however many
    lines are asked for. The file appears only when complete. Raises ``ConfigError``
    for any other suffix and for the arguments ``generate`` refuses.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise ConfigError(
            f"cannot write synthetic data to {str(path)!r}: unknown output format "
            f"{target.suffix or '(no suffix)'!r}; name the file *.parquet or *.csv"
        )
    batches = _generate_chunks(lines, customers, seed)  # validates before touching disk
    written = 0
    with atomic_output(target) as tmp:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            with pq.ParquetWriter(tmp, SCHEMA, compression="snappy") as writer:
                for batch in batches:
                    writer.write_batch(batch, row_group_size=ROW_GROUP_LINES)
                    written += batch.num_rows
        else:
            with open(tmp, "wb") as out:
                out.write(CSV_HEADER.encode())
                for batch in batches:
                    out.write(_csv_lines(batch))
                    written += batch.num_rows
    return written


# ---------------------------------------------------------------------------------------
# Internals


def _generate_chunks(lines: int, customers: int, seed: int) -> Iterator[pa.RecordBatch]:
    _check_positive_int("lines", lines)
    _check_positive_int("customers", customers)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    lines, customers, seed = int(lines), int(customers), int(seed)
    catalogue = _Catalogue(_rng(seed, 0))
    universe = _CustomerUniverse(customers, _rng(seed, 1))

    def chunks() -> Iterator[pa.RecordBatch]:
        for index in range(math.ceil(lines / CHUNK_LINES)):
            chunk_lines = min(CHUNK_LINES, lines - index * CHUNK_LINES)
            yield _chunk(index, chunk_lines, catalogue, universe, _rng(seed, 2, index))

    return chunks()


def _check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a whole number of at least 1, got {value!r}")


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=stream))


class _Catalogue:
    """Products (5-digit codes, some with a letter suffix), then the non-product codes."""

    def __init__(self, rng: np.random.Generator) -> None:
        numbers = rng.choice(np.arange(10000, 100000), size=N_PRODUCTS, replace=False)
        letters = np.array(list("ABCDEFGHJKLMNPRSTUVWabcdefghklnpsw"))
        suffix = np.where(rng.random(N_PRODUCTS) < 0.2, rng.choice(letters, N_PRODUCTS), "")
        product_codes = np.char.add(numbers.astype(str), suffix)
        product_names = np.char.add(
            np.char.add(rng.choice(_PRODUCT_STYLES, N_PRODUCTS), " "),
            rng.choice(_PRODUCT_ITEMS, N_PRODUCTS),
        )
        # Prices cluster on the shop's x.x5 price points; popularity is Zipf-like.
        raw = rng.lognormal(np.log(2.5), 0.8, N_PRODUCTS)
        product_prices = np.round(np.maximum(np.round(raw, 1) - 0.05, 0.19), 2)
        popularity = 1.0 / np.arange(1, N_PRODUCTS + 1) ** 0.8
        self.product_weights = rng.permutation(popularity / popularity.sum())

        specials = NON_PRODUCT_CODES + [(*ADJUSTMENT_CODE, 1000.0, 0.0)]
        codes = [c for c, _, _, _ in specials]
        names = [n for _, n, _, _ in specials]
        self.first_non_product = N_PRODUCTS
        self.adjustment_item = N_PRODUCTS + len(NON_PRODUCT_CODES)
        shares = np.array([s for _, _, _, s in NON_PRODUCT_CODES])
        self.non_product_weights = shares / shares.sum()
        self.prices = np.concatenate([product_prices, [p for _, _, p, _ in specials]])
        self.codes = pa.array(np.concatenate([product_codes, codes]).tolist(), pa.string())
        self.names = pa.array(np.concatenate([product_names, names]).tolist(), pa.string())


class _CustomerUniverse:
    """Per customer: how often they buy, how much per line, when active, where."""

    def __init__(self, customers: int, rng: np.random.Generator) -> None:
        self.size = customers
        activity = rng.lognormal(0.0, 1.3, customers)  # heavy buyers: long right tail
        self.invoice_weights = activity / activity.sum()
        self.basket_scale = rng.lognormal(0.0, 0.6, customers)
        # Customers join at some point and many lapse, so recency spreads out.
        self.first_day = rng.integers(0, int(N_DAYS * 0.9), customers)
        lifetime = rng.exponential(N_DAYS * 0.7, customers).astype(np.int64)
        still_active = rng.random(customers) < 0.35
        self.last_day = np.where(still_active, N_DAYS - 1, np.minimum(self.first_day + lifetime, N_DAYS - 1))
        self.country = rng.choice(len(COUNTRIES), customers, p=_COUNTRY_WEIGHTS)


_COUNTRY_WEIGHTS = np.array([w for _, w in COUNTRIES]) / sum(w for _, w in COUNTRIES)
_COUNTRY_NAMES = pa.array([c for c, _ in COUNTRIES], pa.string())
_EPOCH_MINUTE = int(np.datetime64(FIRST_DAY.isoformat(), "m").astype(np.int64))


def _chunk(
    index: int,
    lines: int,
    catalogue: _Catalogue,
    universe: _CustomerUniverse,
    rng: np.random.Generator,
) -> pa.RecordBatch:
    # --- invoices: how many lines, what kind, whose, when
    n_invoices = min(lines, math.ceil(lines / MEAN_LINES_PER_INVOICE))
    basket_weights = rng.lognormal(0.0, 1.0, n_invoices)
    sizes = 1 + rng.multinomial(lines - n_invoices, basket_weights / basket_weights.sum())
    kind_draw = rng.random(n_invoices)
    cancelled = kind_draw < CANCELLED_INVOICE_SHARE
    adjustment = ~cancelled & (kind_draw < CANCELLED_INVOICE_SHARE + ADJUSTMENT_INVOICE_SHARE)
    # Adjustments are bookkeeping without a customer, as in the real export.
    anonymous = (rng.random(n_invoices) < MISSING_CUSTOMER_SHARE) | adjustment
    customer = rng.choice(universe.size, n_invoices, p=universe.invoice_weights)
    first, last = universe.first_day[customer], universe.last_day[customer]
    day = np.where(
        anonymous,
        rng.integers(0, N_DAYS, n_invoices),
        first + (rng.random(n_invoices) * (last - first + 1)).astype(np.int64),
    )
    minute = _EPOCH_MINUTE + day * 1440 + OPENING_MINUTE + rng.integers(0, TRADING_MINUTES, n_invoices)
    country = np.where(
        anonymous, rng.choice(len(COUNTRIES), n_invoices, p=_COUNTRY_WEIGHTS), universe.country[customer]
    )
    # Invoice numbers run in time order inside the chunk's own block of numbers, which
    # is as large as a full chunk's invoice count.
    order = np.argsort(minute, kind="stable")
    sizes, cancelled = sizes[order], cancelled[order]
    adjustment, anonymous = adjustment[order], anonymous[order]
    customer, minute, country = customer[order], minute[order], country[order]
    serial = index * math.ceil(CHUNK_LINES / MEAN_LINES_PER_INVOICE) + np.arange(n_invoices)
    number = FIRST_INVOICE_NUMBER + serial % INVOICE_NUMBER_SPAN
    prefix = np.where(cancelled, "C", np.where(adjustment, "A", ""))
    invoice_text = pc.binary_join_element_wise(
        pa.array(prefix, pa.string()), pc.cast(pa.array(number), pa.string()), ""
    )

    # --- lines: spread each invoice over its lines
    line_invoice = np.repeat(np.arange(n_invoices), sizes)
    line_cancelled = cancelled[line_invoice]
    line_adjustment = adjustment[line_invoice]
    item = rng.choice(N_PRODUCTS, lines, p=catalogue.product_weights)
    non_product = rng.random(lines) < NON_PRODUCT_LINE_SHARE
    special = catalogue.first_non_product + rng.choice(
        len(NON_PRODUCT_CODES), lines, p=catalogue.non_product_weights
    )
    item = np.where(line_adjustment, catalogue.adjustment_item, np.where(non_product, special, item))
    is_product = item < N_PRODUCTS

    price = catalogue.prices[item]
    # Fees and adjustments vary per line around their typical amount.
    jitter = np.round(rng.lognormal(0.0, 0.5, lines), 1)
    price = np.where(is_product, price, np.round(price * np.maximum(jitter, 0.1), 2))
    price = np.where(rng.random(lines) < ZERO_PRICE_LINE_SHARE, 0.0, price)

    scale = np.where(anonymous, 1.0, universe.basket_scale[customer])[line_invoice]
    steps = rng.choice(QUANTITY_STEPS, lines, p=QUANTITY_WEIGHTS / QUANTITY_WEIGHTS.sum())
    quantity = np.maximum(1, np.rint(steps * scale)).astype(np.int64)
    quantity = np.where(is_product, quantity, 1)
    quantity = np.where(line_cancelled, -quantity, quantity)

    customer_id = (FIRST_CUSTOMER_ID + customer).astype(np.float64)[line_invoice]
    timestamp_us = (minute * 60_000_000)[line_invoice].view("datetime64[us]")
    return pa.RecordBatch.from_arrays(
        [
            invoice_text.take(pa.array(line_invoice)),
            catalogue.codes.take(pa.array(item)),
            catalogue.names.take(pa.array(item)),
            pa.array(quantity, pa.int64()),
            pa.array(timestamp_us, pa.timestamp("us")),
            pa.array(price, pa.float64()),
            pa.array(customer_id, pa.float64(), mask=anonymous[line_invoice]),
            _COUNTRY_NAMES.take(pa.array(country[line_invoice])),
        ],
        schema=SCHEMA,
    )


CSV_HEADER = ",".join(SCHEMA.names) + "\n"


def _csv_lines(batch: pa.RecordBatch) -> pa.Buffer:
    """Render a batch as CSV text the way the real export (pandas ``to_csv``) shows it.

    Dates as ``YYYY-MM-DD HH:MM:SS``, floats with at least one decimal (``3.0``,
    ``12347.0``), an empty field for a missing customer, quotes only where a value holds
    a comma or quote. Arrow's own CSV writer quotes every string and writes ``3`` for
    3.0, so the rows are joined here instead.
    """
    date_text = pc.cast(pc.cast(batch.column("InvoiceDate"), pa.timestamp("s")), pa.string())
    customer_text = pc.fill_null(_float_text(batch.column("Customer ID")), "")
    fields = [
        _quoted_if_needed(batch.column("Invoice")),
        _quoted_if_needed(batch.column("StockCode")),
        _quoted_if_needed(batch.column("Description")),
        pc.cast(batch.column("Quantity"), pa.string()),
        date_text,
        _float_text(batch.column("Price")),
        customer_text,
        _quoted_if_needed(batch.column("Country")),
    ]
    rows = pc.binary_join_element_wise(pc.binary_join_element_wise(*fields, ","), "\n", "")
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32)
    start, end = int(offsets[rows.offset]), int(offsets[rows.offset + len(rows)])
    return rows.buffers()[2].slice(start, end - start)


def _float_text(values: pa.Array) -> pa.Array:
    text = pc.cast(values, pa.string())  # shortest repr: 2.95, but 3 for 3.0
    return pc.if_else(pc.match_substring(text, "."), text, pc.binary_join_element_wise(text, ".0", ""))


def _quoted_if_needed(values: pa.Array) -> pa.Array:
    needs_quotes = pc.match_substring_regex(values, '[",\\r\\n]')
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(values, '"', '""'), '"', "")
    return pc.if_else(needs_quotes, quoted, values)
