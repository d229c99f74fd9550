"""Files shaped like real exports, built from known records, with the RFM expected from them.

Each builder writes a file into ``folder`` and returns an ``Export``: the file's path and the
RFM per customer computed by hand from the records the builder wrote (a plain Python loop
over the records, never by reading the file back). The engine must read each file with no
flags and give exactly these numbers. The browser test uploads the same files.

The header rows follow the platforms' documented export columns (Shopify orders export,
Stripe payments export, a DATEV-style German sales list, a UK ERP's CSV).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Purchase:
    """One completed purchase as the customer made it: UTC time, order key, value paid."""

    customer: str
    when: dt.datetime
    order: str
    value: float


@dataclass
class Export:
    path: Path
    expected: dict[str, tuple[int, int, float]]  # customer -> (recency, frequency, monetary)
    as_of: dt.datetime  # the latest kept purchase (UTC)
    notes: dict = field(default_factory=dict)  # what the reading must report, by topic


def expected_rfm(purchases: list[Purchase]) -> tuple[dict[str, tuple[int, int, float]], dt.datetime]:
    """RFM by the definitions: recency whole days to the latest purchase, distinct orders,
    the sum of values rounded to cents."""
    as_of = max(p.when for p in purchases)
    out: dict[str, tuple[int, int, float]] = {}
    for customer in sorted({p.customer for p in purchases}):
        mine = [p for p in purchases if p.customer == customer]
        last = max(p.when for p in mine)
        out[customer] = (
            (as_of - last) // DAY,
            len({p.order for p in mine}),
            round(sum(p.value for p in mine), 2),
        )
    return out, as_of


def assert_expected_rfm(result, export: Export) -> None:
    """The engine's RFMResult holds exactly the export's expected customers, R, F and M (to
    the cent), at the export's as-of."""
    assert_rfm(by_customer(result.rfm), export.expected)
    assert result.as_of == export.as_of


def csv_text(header: list[str], rows: list[list[str]], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


# -- Shopify -------------------------------------------------------------------------------
SHOPIFY_HEADER = [
    "Name",
    "Email",
    "Financial Status",
    "Paid at",
    "Fulfillment Status",
    "Fulfilled at",
    "Accepts Marketing",
    "Currency",
    "Subtotal",
    "Shipping",
    "Taxes",
    "Total",
    "Discount Code",
    "Discount Amount",
    "Shipping Method",
    "Created at",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem price",
    "Lineitem compare at price",
    "Lineitem sku",
    "Lineitem requires shipping",
    "Lineitem taxable",
    "Lineitem fulfillment status",
    "Billing Name",
    "Billing Country",
    "Notes",
    "Cancelled at",
    "Payment Method",
    "Refunded Amount",
    "Vendor",
    "Id",
    "Tags",
    "Source",
]
# (order, email, financial status, created at with its offset, UTC of that, total, line items)
SHOPIFY_ORDERS = [
    (
        "#1001",
        "ana@example.com",
        "paid",
        "2024-03-01 10:15:00 +0100",
        dt.datetime(2024, 3, 1, 9, 15),
        "54.90",
        [(2, "Linen towel", "12.50"), (1, "Gift set\n(3 pieces, boxed)", "24.90")],
    ),
    (
        "#1002",
        "ben@example.com",
        "refunded",
        "2024-03-02 18:00:00 +0100",
        dt.datetime(2024, 3, 2, 17, 0),
        "99.00",
        [(3, "Wool blanket", "33.00")],
    ),
    (
        "#1003",
        "ana@example.com",
        "paid",
        "2024-03-10 23:30:00 -0500",
        dt.datetime(2024, 3, 11, 4, 30),
        "1234.50",
        [
            (1, "Oak table", "999.00"),
            (2, "Oak chair", "100.00"),
            (1, "Felt pads", "5.50"),
            (1, "Delivery", "30.00"),
        ],
    ),
    (
        "#1004",
        "cleo@example.com",
        "pending",
        "2024-03-12 09:00:00 +0100",
        dt.datetime(2024, 3, 12, 8, 0),
        "40.00",
        [(1, "Candle", "40.00")],
    ),
    (
        "#1005",
        "cleo@example.com",
        "paid",
        "2024-03-05 12:00:00 +0100",
        dt.datetime(2024, 3, 5, 11, 0),
        "18.00",
        [(1, "Soap", "9.00"), (1, "Soap dish", "9.00")],
    ),
    (
        "#1006",
        "dan@example.com",
        "voided",
        "2024-03-14 08:00:00 +0100",
        dt.datetime(2024, 3, 14, 7, 0),
        "75.00",
        [(1, "Lamp", "75.00")],
    ),
    (
        "#1007",
        "ben@example.com",
        "paid",
        "2024-03-13 16:45:00 +0100",
        dt.datetime(2024, 3, 13, 15, 45),
        "20.00",
        [(2, "Mug", "10.00")],
    ),
]
SHOPIFY_COMPLETED = {"paid"}


def shopify_orders(folder: Path) -> Export:
    """Shopify's orders export: one row per line item; the order's fields (Email, Financial
    Status, Total, Created at, ...) only on its first row; a quoted product name with a line
    break; refunded, pending and voided orders; offsets in 'Created at'."""
    rows = []
    for order_id, (name, email, status, created, _, total, items) in enumerate(SHOPIFY_ORDERS):
        for i, (qty, item, price) in enumerate(items):
            first = i == 0
            row = dict.fromkeys(SHOPIFY_HEADER, "")
            row.update(
                {
                    "Name": name,
                    "Lineitem quantity": str(qty),
                    "Lineitem name": item,
                    "Lineitem price": price,
                    "Lineitem sku": f"SKU-{order_id}{i}",
                    "Lineitem requires shipping": "true",
                    "Lineitem taxable": "true",
                    "Vendor": "Atelier",
                }
            )
            if first:
                row.update(
                    {
                        "Email": email,
                        "Financial Status": status,
                        "Currency": "EUR",
                        "Subtotal": total,
                        "Shipping": "0.00",
                        "Taxes": "0.00",
                        "Total": total,
                        "Created at": created,
                        "Billing Name": email.split("@")[0],
                        "Billing Country": "DE",
                        "Id": str(5_100_000_000 + order_id),
                        "Source": "web",
                        "Accepts Marketing": "no",
                        "Paid at": created if status == "paid" else "",
                    }
                )
            rows.append([row[h] for h in SHOPIFY_HEADER])
    path = folder / "orders_export_1.csv"
    path.write_text(csv_text(SHOPIFY_HEADER, rows), encoding="utf-8")
    purchases = [
        Purchase(email, utc, name, float(total))
        for name, email, status, _, utc, total, _ in SHOPIFY_ORDERS
        if status in SHOPIFY_COMPLETED
    ]
    expected, as_of = expected_rfm(purchases)
    lines = sum(len(o[-1]) for o in SHOPIFY_ORDERS)
    later_lines = lines - len(SHOPIFY_ORDERS)
    return Export(
        path,
        expected,
        as_of,
        {
            "mapping": {
                "customer": "Email",
                "invoice": "Name",
                "date": "Created at",
                "amount": "Total",
                "status": "Financial Status",
            },
            "rows_in": lines,
            "filled_from_order": later_lines,
            # lines of refunded (1), pending (1) and voided (1) orders
            "not_completed_sale": 3,
        },
    )


# -- Stripe --------------------------------------------------------------------------------
STRIPE_HEADER = [
    "id",
    "Description",
    "Seller Message",
    "Created (UTC)",
    "Amount",
    "Amount Refunded",
    "Currency",
    "Converted Amount",
    "Converted Amount Refunded",
    "Fee",
    "Taxes On Fee",
    "Converted Currency",
    "Mode",
    "Status",
    "Statement Descriptor",
    "Customer ID",
    "Customer Description",
    "Customer Email",
    "Captured",
    "Card ID",
    "Card Last4",
    "Card Brand",
    "Card Funding",
    "Card Exp Month",
    "Card Exp Year",
    "Card Name",
    "Card Address Country",
    "Card Issue Country",
    "Card Fingerprint",
    "Card CVC Status",
    "Disputed Amount",
    "Dispute Status",
    "Invoice ID",
    "Transfer",
]
# (charge id, customer, created UTC, amount, status)
STRIPE_PAYMENTS = [
    ("ch_3Ka1", "cus_Alpha", dt.datetime(2024, 5, 1, 9, 0, 5), "25.00", "Paid"),
    ("ch_3Ka2", "cus_Alpha", dt.datetime(2024, 5, 20, 14, 2, 11), "1,250.00", "Paid"),
    ("ch_3Ka3", "cus_Beta", dt.datetime(2024, 5, 21, 8, 30, 0), "5000.00", "Failed"),
    ("ch_3Ka4", "cus_Gamma", dt.datetime(2024, 5, 10, 12, 0, 0), "80.00", "Paid"),
    ("ch_3Ka5", "cus_Gamma", dt.datetime(2024, 5, 22, 12, 0, 0), "300.00", "Refunded"),
    ("ch_3Ka6", "cus_Delta", dt.datetime(2024, 5, 15, 7, 45, 0), "12.99", "Paid"),
    ("ch_3Ka7", "cus_Delta", dt.datetime(2024, 5, 18, 7, 45, 0), "40.00", "Failed"),
    ("ch_3Ka8", "cus_Alpha", dt.datetime(2024, 5, 23, 18, 0, 0), "9.50", "Paid"),
]


def stripe_payments(folder: Path) -> Export:
    """Stripe's payments export: failed and refunded payments; a customer whose only payment
    failed; 'id' is the charge, never the customer; 'Created (UTC)' is the date."""
    rows = []
    for charge, customer, created, amount, status in STRIPE_PAYMENTS:
        row = dict.fromkeys(STRIPE_HEADER, "")
        row.update(
            {
                "id": charge,
                "Description": "Subscription payment",
                "Created (UTC)": f"{created:%Y-%m-%d %H:%M:%S}",
                "Amount": amount,
                "Amount Refunded": amount if status == "Refunded" else "0.00",
                "Currency": "usd",
                "Mode": "Live",
                "Status": status,
                "Customer ID": customer,
                "Customer Email": f"{customer[4:].lower()}@example.com",
                "Captured": "true" if status != "Failed" else "false",
                "Card Brand": "Visa",
            }
        )
        rows.append([row[h] for h in STRIPE_HEADER])
    path = folder / "unified_payments.csv"
    path.write_text(csv_text(STRIPE_HEADER, rows), encoding="utf-8")
    purchases = [
        Purchase(customer, created, charge, float(amount.replace(",", "")))
        for charge, customer, created, amount, status in STRIPE_PAYMENTS
        if status == "Paid"
    ]
    expected, as_of = expected_rfm(purchases)
    return Export(
        path,
        expected,
        as_of,
        {
            "mapping": {
                "customer": "Customer ID",
                "date": "Created (UTC)",
                "amount": "Amount",
                "status": "Status",
            },
            # failed (2) and refunded (1) payments
            "rows_in": len(STRIPE_PAYMENTS),
            "not_completed_sale": 3,
        },
    )


# -- German ERP (DATEV-style) ---------------------------------------------------------------
GERMAN_HEADER = [
    "Kundennummer",
    "Rechnungsnummer",
    "Belegdatum",
    "Artikelnummer",
    "Bezeichnung",
    "Menge",
    "Einzelpreis",
    "Betrag",
    "Land",
]
# (customer, invoice, date, article, description, quantity, unit price in cents)
GERMAN_LINES = [
    ("10017", "RE-24-001", dt.datetime(2024, 1, 3), "A-100", "Größe L Jacke", 1, 124900),
    ("10017", "RE-24-001", dt.datetime(2024, 1, 3), "A-101", "Mütze", 2, 1250),
    ("10017", "RE-24-014", dt.datetime(2024, 2, 21), "A-102", "Schal Ökowolle", 3, 1999),
    ("20042", "RE-24-007", dt.datetime(2024, 1, 28), "A-100", "Größe M Jacke", 2, 124900),
    ("20042", "RE-24-020", dt.datetime(2024, 3, 15), "A-103", "Handschuhe", 1, 850),
    ("30099", "RE-24-011", dt.datetime(2024, 2, 9), "A-104", "Gürtel", 10, 1550),
    ("30099", "GS-24-002", dt.datetime(2024, 2, 12), "A-104", "Gutschrift Gürtel", -1, 1550),
]


def _german_money(cents: int, euro: bool) -> str:
    """12345678 -> '123.456,78' (with ' €' when ``euro``)."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    text = f"{sign}{whole:,}".replace(",", ".") + f",{rest:02d}"
    return text + " €" if euro else text


def german_datev(folder: Path) -> Export:
    """A German ERP export: ';' delimiter, cp1252 (ä ö ü ß €), decimal commas with '.'
    thousands, amounts with '€', dates dd.mm.yyyy; a credit note (negative) is not a sale."""
    rows = []
    for i, (cust, invoice, when, article, text, qty, cents) in enumerate(GERMAN_LINES):
        rows.append(
            [
                cust,
                invoice,
                f"{when:%d.%m.%Y}",
                article,
                text,
                str(qty),
                _german_money(cents, euro=False),
                _german_money(qty * cents, euro=i % 2 == 0),
                "Deutschland",
            ]
        )
    path = folder / "umsatz_export.csv"
    path.write_bytes(csv_text(GERMAN_HEADER, rows, delimiter=";").encode("cp1252"))
    purchases = [
        Purchase(cust, when, invoice, qty * cents / 100)
        for cust, invoice, when, _, _, qty, cents in GERMAN_LINES
        if qty > 0
    ]
    expected, as_of = expected_rfm(purchases)
    return Export(
        path,
        expected,
        as_of,
        {
            "mapping": {
                "customer": "Kundennummer",
                "invoice": "Rechnungsnummer",
                "date": "Belegdatum",
                "quantity": "Menge",
                "price": "Einzelpreis",
                "amount": "Betrag",
            },
            "rows_in": len(GERMAN_LINES),
            "decimal": ",",
            "date_order": "day-first",
        },
    )


# -- UK dd/mm/yyyy, ambiguous for its first 1,000 rows --------------------------------------
UK_HEADER = ["CustomerID", "InvoiceNo", "InvoiceDate", "Quantity", "UnitPrice", "Country"]


def uk_dayfirst_lines(n: int = 1_200, ambiguous: int = 1_000) -> list[tuple]:
    """(customer, invoice, datetime, quantity, unit price in pence): the first ``ambiguous``
    rows have day <= 12 (they read either way), the rest day 13-28."""
    lines = []
    for i in range(n):
        day = 1 + i % 12 if i < ambiguous else 13 + i % 16
        month = 1 + (i * 7) % 12
        when = dt.datetime(2023, month, day, 8 + i % 10, (i * 13) % 60)
        lines.append((f"C{i % 37:03d}", f"{700000 + i}", when, 1 + i % 5, 95 + (i * 37) % 900))
    return lines


def uk_dayfirst(folder: Path) -> Export:
    """A UK export with dd/mm/yyyy HH:MM dates whose first 1,000 rows fit both orders."""
    lines = uk_dayfirst_lines()
    rows = [
        [cust, inv, f"{when:%d/%m/%Y %H:%M}", str(qty), f"{pence / 100:.2f}", "United Kingdom"]
        for cust, inv, when, qty, pence in lines
    ]
    path = folder / "uk_sales.csv"
    path.write_text(csv_text(UK_HEADER, rows), encoding="utf-8")
    purchases = [Purchase(cust, when, inv, qty * pence / 100) for cust, inv, when, qty, pence in lines]
    expected, as_of = expected_rfm(purchases)
    return Export(path, expected, as_of, {"rows_in": len(lines), "date_order": "day-first"})


# -- a typo year ----------------------------------------------------------------------------
TYPO_LINES = [  # (customer, order, date text, real datetime or None for the typo, amount)
    ("k1", "o1", "2024-06-01 10:00", dt.datetime(2024, 6, 1, 10), "30.00"),
    ("k1", "o2", "2024-06-20 09:30", dt.datetime(2024, 6, 20, 9, 30), "12.00"),
    ("k2", "o3", "2024-06-18 16:00", dt.datetime(2024, 6, 18, 16), "45.50"),
    ("k2", "o4", "2999-06-19 11:00", None, "20.00"),  # typo: year 2999
    ("k3", "o5", "2024-05-02 12:00", dt.datetime(2024, 5, 2, 12), "7.25"),
    ("k3", "o6", "1899-05-03 12:00", None, "8.00"),  # typo: year 1899
]


def typo_year(folder: Path) -> Export:
    """Orders with a 2999 and an 1899 typo: removed as 'date out of range', counted."""
    rows = [[c, o, text, amount] for c, o, text, _, amount in TYPO_LINES]
    path = folder / "orders_with_typo.csv"
    path.write_text(csv_text(["customer_id", "order_id", "order_date", "amount"], rows))
    purchases = [Purchase(c, when, o, float(amount)) for c, o, _, when, amount in TYPO_LINES if when]
    expected, as_of = expected_rfm(purchases)
    return Export(path, expected, as_of, {"rows_in": len(TYPO_LINES), "date_out_of_range": 2})


BUILDERS = {
    "shopify": shopify_orders,
    "stripe": stripe_payments,
    "german": german_datev,
    "uk_dayfirst": uk_dayfirst,
    "typo_year": typo_year,
}


def by_customer(rfm) -> dict[str, tuple[int, int, float]]:
    """An RFM frame as customer -> (recency, frequency, monetary)."""
    return {r.customer_id: (int(r.recency), int(r.frequency), float(r.monetary)) for r in rfm.itertuples()}


def assert_rfm(got: dict[str, tuple], expected: dict[str, tuple[int, int, float]]) -> None:
    """The same customers, each with the expected recency and frequency and monetary to the
    tenth of a cent."""
    import pytest

    assert set(got) == set(expected)
    for customer, (recency, frequency, monetary) in expected.items():
        assert tuple(got[customer][:2]) == (recency, frequency), customer
        assert got[customer][2] == pytest.approx(monetary, abs=0.001), customer
