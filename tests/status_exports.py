"""Files for the statuses, duplicates and header tests, built from known records.

Each builder writes a file and returns a ``tests.exports.Export`` whose ``expected`` RFM is
computed by ``tests.exports.expected_rfm`` from the records the builder chose to count (by the
test's own list of paid statuses, never by the product's vocabulary).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.exports import Export, Purchase, csv_text, expected_rfm

# The WooCommerce order export's columns (one row per order).
WOO_HEADER = [
    "Order ID",
    "Order Number",
    "Order Date",
    "Order Status",
    "Customer User ID",
    "Billing First Name",
    "Billing Last Name",
    "Email (Billing)",
    "Order Currency",
    "Payment Method Title",
    "Order Total Amount",
]
# (order, status, when, customer user ID, e-mail, total)
WOO_ORDERS = [
    ("5001", "wc-completed", dt.datetime(2024, 3, 1, 10, 0), "12", "ana@example.com", "50.00"),
    ("5002", "wc-refunded", dt.datetime(2024, 3, 2, 11, 30), "12", "ana@example.com", "80.00"),
    ("5003", "wc-processing", dt.datetime(2024, 3, 5, 9, 15), "15", "ben@example.com", "120.40"),
    ("5004", "wc-on-hold", dt.datetime(2024, 3, 6, 16, 0), "15", "ben@example.com", "300.00"),
    ("5005", "wc-cancelled", dt.datetime(2024, 3, 7, 8, 45), "21", "cleo@example.com", "45.00"),
    ("5006", "wc-completed", dt.datetime(2024, 3, 8, 18, 20), "21", "cleo@example.com", "19.99"),
    ("5007", "wc-pending", dt.datetime(2024, 3, 9, 12, 0), "33", "dan@example.com", "75.00"),
    ("5008", "wc-failed", dt.datetime(2024, 3, 9, 13, 0), "33", "dan@example.com", "75.00"),
    ("5009", "wc-processing", dt.datetime(2024, 3, 10, 7, 5), "12", "ana@example.com", "12.30"),
]
WOO_PAID = {"wc-completed", "wc-processing"}  # WooCommerce: processing = paid, being shipped
# A status word no vocabulary holds (a shop's own custom status).
NEW_STATUS = "wc-awaiting-glazier"
NEW_STATUS_ORDERS = [
    ("5010", NEW_STATUS, dt.datetime(2024, 3, 11, 10, 0), "40", "eve@example.com", "210.00"),
    ("5011", NEW_STATUS, dt.datetime(2024, 3, 12, 10, 0), "15", "ben@example.com", "33.50"),
]


def _woo_row(order, status, when, user, email, total) -> list[str]:
    first, last = email.split("@")[0].title(), "Doe"
    return [
        order,
        order,
        f"{when:%Y-%m-%d %H:%M:%S}",
        status,
        user,
        first,
        last,
        email,
        "EUR",
        "Direct bank transfer" if status == "wc-on-hold" else "Credit card",
        total,
    ]


def woocommerce_orders(
    folder: Path,
    *,
    unknown: bool = False,
    paid_also: set[str] = frozenset(),
    repeat: int = 0,
    name: str = "orders-2024-03.csv",
) -> Export:
    """WooCommerce's order export: ``wc-*`` slugs; on-hold is a bank transfer not yet received.

    ``unknown``: add orders whose status is ``NEW_STATUS``; ``paid_also``: statuses the test
    counts as paid beyond WOO_PAID (what a user decided); ``repeat``: the first ``repeat``
    orders written again at the end (two overlapping downloads pasted together)."""
    orders = WOO_ORDERS + (NEW_STATUS_ORDERS if unknown else [])
    rows = [_woo_row(*o) for o in orders] + [_woo_row(*o) for o in orders[:repeat]]
    path = folder / name
    path.write_text(csv_text(WOO_HEADER, rows), encoding="utf-8")
    paid = WOO_PAID | set(paid_also)
    purchases = [
        Purchase(user, when, order, float(total))
        for order, status, when, user, _, total in orders
        if status in paid
    ]
    expected, as_of = expected_rfm(purchases)
    unknown_lines = [o for o in orders if o[1] == NEW_STATUS]
    return Export(
        path,
        expected,
        as_of,
        {
            "rows_in": len(rows),
            "copies": repeat,
            "not_sale_lines": sum(1 for o in orders if o[1] not in paid),
            "unknown_lines": len(unknown_lines),
            "unknown_revenue": round(sum(float(o[5]) for o in unknown_lines), 2),
        },
    )


# A European shop's orders in French and German statuses (one row per order, ';' separated).
EU_HEADER = ["Commande", "Date", "Client", "Statut", "Montant"]
EU_ORDERS = [
    ("F-1", "Livré", "01/02/2024", "C1", "10,00"),
    ("F-2", "Annulé", "02/02/2024", "C1", "99,00"),
    ("F-3", "Remboursé", "03/02/2024", "C2", "15,00"),
    ("F-4", "Paiement accepté", "04/02/2024", "C2", "20,50"),
    ("F-5", "Versendet", "05/02/2024", "C3", "7,25"),
    ("F-6", "Storniert", "06/02/2024", "C3", "70,00"),
    ("F-7", "EN ATTENTE DE VIREMENT BANCAIRE", "07/02/2024", "C4", "400,00"),
    ("F-8", "Bezahlt", "08/02/2024", "C4", "1.250,00"),
    ("F-9", "Zahlung ausstehend", "09/02/2024", "C5", "5,00"),
    ("F-10", "Geannuleerd", "10/02/2024", "C5", "6,00"),
    ("F-11", "Entregue", "13/02/2024", "C5", "3,10"),
    ("F-12", "Pagato", "14/02/2024", "C1", "2,00"),
    ("F-13", "Reembolsado", "15/02/2024", "C2", "8,00"),
]
EU_PAID = {"Livré", "Paiement accepté", "Versendet", "Bezahlt", "Entregue", "Pagato"}


def european_orders(folder: Path) -> Export:
    """Statuses in French, German, Dutch, Spanish, Portuguese and Italian, accents and case as
    shops write them; decimal commas and day-first dates."""
    path = folder / "commandes.csv"
    path.write_text(
        csv_text(EU_HEADER, [list(o[:1]) + [o[2], o[3], o[1], o[4]] for o in EU_ORDERS], delimiter=";"),
        encoding="utf-8",
    )
    purchases = [
        Purchase(
            customer,
            dt.datetime.strptime(day, "%d/%m/%Y"),
            order,
            float(amount.replace(".", "").replace(",", ".")),
        )
        for order, status, day, customer, amount in EU_ORDERS
        if status in EU_PAID
    ]
    expected, as_of = expected_rfm(purchases)
    return Export(
        path, expected, as_of, {"rows_in": len(EU_ORDERS), "not_sale_lines": len(EU_ORDERS) - len(purchases)}
    )


# A back-office sales report: title rows above the header, a TOTAL row at the end.
REPORT_TITLES = [["Sales report"], ["Period: 01/01/2024 - 31/03/2024", "Shop: Main street"], []]
REPORT_HEADER = ["Customer", "Date", "Invoice", "Amount"]
REPORT_LINES = [
    ("k1", "2024-01-05", "A1", 10.00),
    ("k2", "2024-01-06", "A2", 20.50),
    ("k1", "2024-02-01", "A3", 5.25),
    ("Totally Tea Ltd", "2024-02-02", "A4", 8.00),
    ("k3", "2024-03-30", "A5", 100.00),
]


def sales_report(folder: Path, kind: str = "csv", total_label: str = "TOTAL") -> Export:
    """Title rows, then the header on row 4, lines, and a totals row (its label first). A
    customer whose name starts with 'Total' is a customer."""
    total = round(sum(v for *_, v in REPORT_LINES), 2)
    rows = [list(r) + [""] * (len(REPORT_HEADER) - len(r)) for r in REPORT_TITLES]
    rows += [REPORT_HEADER] + [[c, d, i, f"{v:.2f}"] for c, d, i, v in REPORT_LINES]
    rows += [[total_label, "", "", f"{total:.2f}"]]
    if kind == "csv":
        path = folder / "report.csv"
        path.write_text(csv_text(rows[0], rows[1:]), encoding="utf-8")
    else:
        import xlsxwriter

        path = folder / "report.xlsx"
        book = xlsxwriter.Workbook(str(path))
        sheet = book.add_worksheet("Report")
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value == "":
                    continue
                header_or_title = r <= len(REPORT_TITLES)
                sheet.write(r, c, value if header_or_title or c != 3 else float(value))
        book.close()
    purchases = [Purchase(c, dt.datetime.fromisoformat(d), i, v) for c, d, i, v in REPORT_LINES]
    expected, as_of = expected_rfm(purchases)
    return Export(path, expected, as_of, {"rows_in": len(REPORT_LINES) + 1, "header_row": 4, "total_rows": 1})
