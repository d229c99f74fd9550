"""Platform exports built from known records, one builder per export profile (core/profiles).

Each builder writes a file as the platform writes it (header set from the platform's export
documentation, encoding, separator, quoting, order fields blank or repeated on an order's
later rows, status values, money as the platform prints it) and returns an ``Export`` whose
``expected`` RFM is computed from the records by ``expected_rfm`` (a plain loop over the
records, never by reading the file). ``notes['profile']`` names the profile that must be
recognised; ``notes['refused']`` (instead of expected RFM) is the text the one-line refusal
must hold.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from tests.exports import Export, Purchase, expected_rfm

UTC = dt.UTC


def _write(
    path: Path,
    header: list[str],
    rows: list[dict],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    quote_all: bool = False,
) -> Path:
    """The rows (dicts, missing fields blank) as CSV with CRLF lines, as spreadsheets write."""
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=delimiter,
        lineterminator="\r\n",
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
    )
    writer.writerow(header)
    writer.writerows([[row.get(h, "") for h in header] for row in rows])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def _export(path: Path, purchases: list[Purchase], profile: str, rows_in: int, **notes) -> Export:
    expected, as_of = expected_rfm(purchases)
    return Export(path, expected, as_of, {"profile": profile, "rows_in": rows_in, **notes})


# -- WooCommerce (Advanced Order Export: one row per product, order fields repeated) ----------
WOO_HEADER = [
    "Order Number",
    "Order Status",
    "Order Date",
    "Customer Note",
    "First Name (Billing)",
    "Last Name (Billing)",
    "Email (Billing)",
    "Phone (Billing)",
    "Country Code (Billing)",
    "Payment Method Title",
    "Order Subtotal Amount",
    "Order Shipping Amount",
    "Order Refund Amount",
    "Order Total Amount",
    "Order Currency",
    "SKU",
    "Item #",
    "Item Name",
    "Quantity (- Refund)",
    "Item Cost",
    "Customer User ID",
]
# (order, status, local date, user id ('0': guest), e-mail as typed, total, items (sku, qty, cost))
WOO_ORDERS = [
    (
        "1001",
        "wc-completed",
        dt.datetime(2024, 4, 2, 9, 30),
        "17",
        "ana@example.com",
        "64.90",
        [("MUG", 2, "12.50"), ("TEA", 1, "29.90")],
    ),
    (
        "1002",
        "wc-processing",
        dt.datetime(2024, 4, 5, 14, 0),
        "0",
        "Guest.One@Example.com ",
        "20.00",
        [("MUG", 1, "12.50"), ("CARD", 1, "2.50")],
    ),
    (
        "1003",
        "wc-refunded",
        dt.datetime(2024, 4, 6, 8, 0),
        "0",
        "guest.one@example.com",
        "99.00",
        [("LAMP", 1, "99.00")],
    ),
    (
        "1004",
        "wc-on-hold",
        dt.datetime(2024, 4, 7, 8, 0),
        "0",
        "bank@example.com",
        "45.00",
        [("TEA", 1, "45.00")],
    ),
    (
        "1005",
        "wc-completed",
        dt.datetime(2024, 4, 9, 18, 15),
        "0",
        "guest.one@example.com",
        "35.00",
        [("TEA", 1, "29.90"), ("CARD", 2, "2.55")],
    ),
    (
        "1006",
        "wc-cancelled",
        dt.datetime(2024, 4, 10, 10, 0),
        "17",
        "ana@example.com",
        "12.50",
        [("MUG", 1, "12.50")],
    ),
    (
        "1007",
        "wc-processing",
        dt.datetime(2024, 4, 12, 11, 45),
        "23",
        "ben@example.com",
        "150.00",
        [("LAMP", 1, "99.00"), ("MUG", 4, "12.75")],
    ),
]
WOO_SALES = {"wc-completed", "wc-processing"}


def woocommerce(folder: Path) -> Export:
    """Guests with Customer User ID 0 (identified by their e-mail, typed in mixed case with
    a trailing blank), the order total repeated on each product row, refunded, on-hold and
    cancelled orders."""
    rows = []
    for order, status, when, user, email, total, items in WOO_ORDERS:
        for i, (sku, qty, cost) in enumerate(items):
            rows.append(
                {
                    "Order Number": order,
                    "Order Status": status,
                    "Order Date": f"{when:%Y-%m-%d %H:%M}",
                    "Email (Billing)": email,
                    "First Name (Billing)": email.split("@")[0].title(),
                    "Country Code (Billing)": "GB",
                    "Payment Method Title": "Card",
                    "Order Subtotal Amount": total,
                    "Order Shipping Amount": "0.00",
                    "Order Refund Amount": total if status == "wc-refunded" else "0",
                    "Order Total Amount": total,
                    "Order Currency": "GBP",
                    "SKU": sku,
                    "Item #": str(i + 1),
                    "Item Name": sku.title(),
                    "Quantity (- Refund)": str(qty),
                    "Item Cost": cost,
                    "Customer User ID": user,
                }
            )
    path = _write(folder / "orders-2024-04-12.csv", WOO_HEADER, rows)
    purchases = [
        Purchase(email.strip().lower(), when, order, float(total))
        for order, status, when, _, email, total, _ in WOO_ORDERS
        if status in WOO_SALES
    ]
    return _export(path, purchases, "woocommerce", len(rows), currency="GBP")


# -- Square item sales (date, time, time zone apart; refunds as 'Refund' rows) ---------------
SQUARE_ITEMS_HEADER = [
    "Date",
    "Time",
    "Time Zone",
    "Category",
    "Item",
    "Qty",
    "Price Point Name",
    "SKU",
    "Modifiers Applied",
    "Gross Sales",
    "Discounts",
    "Net Sales",
    "Tax",
    "Transaction ID",
    "Payment ID",
    "Device Name",
    "Notes",
    "Details",
    "Event Type",
    "Location",
    "Dining Option",
    "Customer ID",
    "Customer Name",
    "Customer Reference ID",
    "Unit",
    "Count",
    "Itemization Type",
    "Fulfillment Note",
    "Channel",
    "Token",
    "Card Brand",
    "PAN Suffix",
]
_EASTERN = "Eastern Time (US & Canada)"
_PACIFIC = "Pacific Time (US & Canada)"
# (transaction, local date-time, zone, UTC offset hours at that date, customer, event,
#  item lines (item, quantity, unit price, modifiers))
SQUARE_ITEMS = [
    (
        "T1",
        dt.datetime(2024, 3, 8, 17, 5, 9),
        _EASTERN,
        -5,
        "CUST-A",
        "Payment",
        [("Latte", 2, "4.50", ""), ("Bagel", 1, "3.25", ""), ("Latte", 1, "5.25", "Oat Milk")],
    ),
    (
        "T2",
        dt.datetime(2024, 3, 11, 8, 0, 0),
        _EASTERN,
        -4,
        "CUST-A",
        "Payment",  # after DST
        [("Latte", 1, "4.50", ""), ("Latte", 1, "4.50", "")],
    ),  # one item twice, two lines
    ("T3", dt.datetime(2024, 3, 10, 23, 30, 0), _PACIFIC, -7, "CUST-B", "Payment", [("Cake", 3, "6.00", "")]),
    ("T4", dt.datetime(2024, 3, 11, 9, 0, 0), _PACIFIC, -7, "CUST-B", "Refund", [("Cake", -1, "6.00", "")]),
    (
        "T5",
        dt.datetime(2024, 3, 11, 12, 0, 0),
        _EASTERN,
        -4,
        "",
        "Payment",  # walk-in: nobody
        [("Latte", 1, "4.50", "")],
    ),
]


def _dollars(amount: float) -> str:
    return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


def square_items(folder: Path) -> Export:
    """Date, Time and Time Zone in three columns (US time zones by name, across the DST
    change), money as '$4.50', one item twice in a sale (with another modifier, and as two
    identical lines: both were sold), a refund row, a walk-in sale with no customer."""
    rows = []
    for txn, local, zone, _, customer, event, items in SQUARE_ITEMS:
        for item, qty, price, modifiers in items:
            net = qty * float(price)
            rows.append(
                {
                    "Date": f"{local:%Y-%m-%d}",
                    "Time": f"{local:%H:%M:%S}",
                    "Time Zone": zone,
                    "Category": "Cafe",
                    "Item": item,
                    "Qty": str(qty),
                    "Price Point Name": "Regular",
                    "Modifiers Applied": modifiers,
                    "Gross Sales": _dollars(net),
                    "Discounts": "$0.00",
                    "Net Sales": _dollars(net),
                    "Tax": "$0.00",
                    "Transaction ID": txn,
                    "Payment ID": f"P-{txn}",
                    "Event Type": event,
                    "Location": "Main St",
                    "Dining Option": "For Here",
                    "Customer ID": customer,
                    "Customer Name": customer.title(),
                    "Itemization Type": "Physical Item",
                    "Channel": "Main St",
                    "Card Brand": "Visa",
                    "PAN Suffix": "4242",
                }
            )
    path = _write(folder / "items-2024-03-01-2024-03-12.csv", SQUARE_ITEMS_HEADER, rows)
    purchases = [
        Purchase(
            customer, (local - dt.timedelta(hours=offset)), txn, sum(q * float(p) for _, q, p, _ in items)
        )
        for txn, local, _, offset, customer, event, items in SQUARE_ITEMS
        if event == "Payment" and customer
    ]
    return _export(path, purchases, "square_items", len(rows), currency="USD")


# -- Square transactions ---------------------------------------------------------------------
SQUARE_TXN_HEADER = [
    "Date",
    "Time",
    "Time Zone",
    "Gross Sales",
    "Discounts",
    "Service Charges",
    "Net Sales",
    "Gift Card Sales",
    "Tax",
    "Tip",
    "Partial Refunds",
    "Total Collected",
    "Source",
    "Card",
    "Fees",
    "Net Total",
    "Transaction ID",
    "Payment ID",
    "Card Brand",
    "Staff Name",
    "Details",
    "Description",
    "Event Type",
    "Location",
    "Customer ID",
    "Customer Name",
    "Customer Reference ID",
    "Transaction Status",
]
# (transaction, local time, zone, offset, customer, net sales, tip, status)
SQUARE_TXNS = [
    ("X1", dt.datetime(2024, 6, 1, 9, 0), "America/Chicago", -5, "C1", "20.00", "3.00", "Complete"),
    ("X2", dt.datetime(2024, 6, 3, 22, 30), "America/Chicago", -5, "C1", "12.00", "0.00", "Complete"),
    ("X3", dt.datetime(2024, 6, 4, 7, 15), "Europe/London", 1, "C2", "40.00", "5.00", "Complete"),
    ("X4", dt.datetime(2024, 6, 4, 8, 0), "Europe/London", 1, "C2", "18.00", "0.00", "Pending"),
]


def square_transactions(folder: Path) -> Export:
    """Total Collected (with the tip) is what the customer paid; IANA zones; a pending one."""
    rows = [
        {
            "Date": f"{local:%Y-%m-%d}",
            "Time": f"{local:%H:%M:%S}",
            "Time Zone": zone,
            "Gross Sales": f"${net}",
            "Net Sales": f"${net}",
            "Tip": f"${tip}",
            "Total Collected": f"${float(net) + float(tip):.2f}",
            "Source": "Register",
            "Transaction ID": txn,
            "Payment ID": f"P{txn}",
            "Event Type": "Payment",
            "Customer ID": customer,
            "Customer Name": customer,
            "Transaction Status": status,
        }
        for txn, local, zone, _, customer, net, tip, status in SQUARE_TXNS
    ]
    path = _write(folder / "transactions-2024-06.csv", SQUARE_TXN_HEADER, rows)
    purchases = [
        Purchase(customer, local - dt.timedelta(hours=offset), txn, float(net) + float(tip))
        for txn, local, _, offset, customer, net, tip, status in SQUARE_TXNS
        if status == "Complete"
    ]
    return _export(path, purchases, "square_transactions", len(rows))


# -- PrestaShop (back office export: ';', every field quoted) --------------------------------
PRESTA_FR_HEADER = [
    "ID",
    "Référence",
    "Nouveau client",
    "Livraison",
    "Client",
    "Total",
    "Paiement",
    "État",
    "Date",
]
PRESTA_EN_HEADER = [
    "ID",
    "Reference",
    "New client",
    "Delivery",
    "Customer",
    "Total",
    "Payment",
    "Status",
    "Date",
]
# (reference, customer's name, total in cents, status FR, status EN, date)
PRESTA_ORDERS = [
    ("XKBKNABJK", "A. Martin", 5490, "Livré", "Delivered", dt.datetime(2024, 2, 1, 10, 15)),
    (
        "OHSATSERP",
        "B. Durand",
        123450,
        "Paiement accepté",
        "Payment accepted",
        dt.datetime(2024, 2, 3, 16, 0),
    ),
    ("FFATNOMMJ", "A. Martin", 2000, "Annulé", "Canceled", dt.datetime(2024, 2, 5, 9, 0)),
    ("UOYEVOLIJ", "C. Petit", 8800, "Remboursé", "Refunded", dt.datetime(2024, 2, 6, 9, 0)),
    (
        "KHWLILZLL",
        "C. Petit",
        1990,
        "En attente de virement bancaire",
        "Awaiting bank wire payment",
        dt.datetime(2024, 2, 7, 9, 0),
    ),
    ("ZRDEDRAFX", "A. Martin", 4500, "Expédié", "Shipped", dt.datetime(2024, 2, 14, 20, 45)),
]


def _euros_fr(cents: int) -> str:
    whole, rest = divmod(cents, 100)
    return f"{whole:,}".replace(",", "\u202f") + f",{rest:02d} €"


def prestashop(folder: Path, language: str = "fr") -> Export:
    """The back office's order list: ';' separated, every field quoted, 'Total' with its
    currency ('1 234,50 €' in French), customers by name, cancelled / refunded / awaiting
    transfer orders."""
    french = language == "fr"
    header = PRESTA_FR_HEADER if french else PRESTA_EN_HEADER
    rows = []
    for i, (ref, name, cents, fr, en, when) in enumerate(PRESTA_ORDERS):
        rows.append(
            dict(
                zip(
                    header,
                    [
                        str(i + 1),
                        ref,
                        "0",
                        "France",
                        name,
                        _euros_fr(cents) if french else f"€{cents / 100:,.2f}",
                        "Carte bancaire" if french else "Card",
                        fr if french else en,
                        f"{when:%Y-%m-%d %H:%M:%S}",
                    ],
                )
            )
        )
    path = _write(folder / f"order_{language}.csv", header, rows, delimiter=";", quote_all=True)
    sales = {"Livré", "Paiement accepté", "Expédié"}
    purchases = [
        Purchase(name, when, ref, cents / 100)
        for ref, name, cents, fr, _, when in PRESTA_ORDERS
        if fr in sales
    ]
    return _export(path, purchases, f"prestashop_{language}", len(rows), currency="EUR")


# -- Magento 2 / Adobe Commerce orders grid --------------------------------------------------
MAGENTO_HEADER = [
    "ID",
    "Purchase Point",
    "Purchase Date",
    "Bill-to Name",
    "Ship-to Name",
    "Grand Total (Base)",
    "Grand Total (Purchased)",
    "Status",
    "Billing Address",
    "Shipping Address",
    "Shipping Information",
    "Customer Email",
    "Customer Group",
    "Subtotal",
    "Shipping and Handling",
    "Customer Name",
    "Payment Method",
    "Total Refunded",
]
MAGENTO_ORDERS = [  # (id, e-mail, purchase date, grand total, status)
    ("000000101", "ana@example.com", dt.datetime(2024, 1, 5, 9, 5, 0), "54.90", "Complete"),
    ("000000102", "ben@example.com", dt.datetime(2024, 1, 6, 13, 30, 0), "1,250.00", "Processing"),
    ("000000103", "ana@example.com", dt.datetime(2024, 1, 20, 21, 0, 0), "80.00", "Closed"),
    ("000000104", "cleo@example.com", dt.datetime(2024, 1, 21, 8, 0, 0), "15.00", "Canceled"),
    ("000000105", "ben@example.com", dt.datetime(2024, 1, 22, 0, 10, 0), "9.99", "Complete"),
]


def magento(folder: Path) -> Export:
    """Dates as the grid prints them ('Jan 5, 2024 9:05:00 AM'), '$1,250.00', and 'Closed'
    (refunded by a credit memo), which the default vocabulary would take for a sale."""
    rows = [
        {
            "ID": oid,
            "Purchase Point": "Main Website\nMain Website Store\nDefault Store View",
            "Purchase Date": f"{when:%b} {when.day}, {when:%Y} {when:%I:%M:%S %p}".replace(" 0", " "),
            "Bill-to Name": email.split("@")[0].title(),
            "Grand Total (Base)": f"${total}",
            "Grand Total (Purchased)": f"${total}",
            "Status": status,
            "Customer Email": email,
            "Customer Group": "General",
            "Subtotal": f"${total}",
            "Payment Method": "checkmo",
            "Total Refunded": f"${total}" if status == "Closed" else "",
        }
        for oid, email, when, total, status in MAGENTO_ORDERS
    ]
    path = _write(folder / "export.csv", MAGENTO_HEADER, rows)
    purchases = [
        Purchase(email, when, oid, float(total.replace(",", "")))
        for oid, email, when, total, status in MAGENTO_ORDERS
        if status in ("Complete", "Processing")
    ]
    return _export(path, purchases, "magento", len(rows), currency="USD")


# -- BigCommerce (guests: Customer ID 0) -----------------------------------------------------
BIGC_HEADER = [
    "Order ID",
    "Customer ID",
    "Customer Name",
    "Customer Email",
    "Customer Phone",
    "Order Date",
    "Order Status",
    "Subtotal (inc tax)",
    "Subtotal (ex tax)",
    "Tax Total",
    "Shipping Cost (inc tax)",
    "Order Total (inc tax)",
    "Order Total (ex tax)",
    "Payment Method",
    "Total Quantity",
    "Order Currency Code",
    "Billing Country",
]
BIGC_ORDERS = [  # (order, customer id, e-mail, date, total inc tax, status)
    ("100", "5", "ana@example.com", dt.datetime(2024, 5, 2, 10, 0), "119.00", "Completed"),
    ("101", "0", "guest@example.com", dt.datetime(2024, 5, 3, 11, 0), "59.50", "Shipped"),
    ("102", "0", "other@example.com", dt.datetime(2024, 5, 4, 12, 0), "20.00", "Awaiting Payment"),
    ("103", "5", "ana@example.com", dt.datetime(2024, 5, 6, 9, 0), "35.70", "Awaiting Fulfillment"),
    ("104", "0", "GUEST@example.com", dt.datetime(2024, 5, 7, 18, 0), "11.90", "Completed"),
]


def bigcommerce(folder: Path) -> Export:
    """Guests under Customer ID 0 (identified by e-mail), tax-inclusive and exclusive totals."""
    rows = [
        {
            "Order ID": oid,
            "Customer ID": cid,
            "Customer Name": email.split("@")[0],
            "Customer Email": email,
            "Order Date": f"{when:%Y-%m-%d %H:%M:%S}",
            "Order Status": status,
            "Subtotal (inc tax)": total,
            "Order Total (inc tax)": total,
            "Order Total (ex tax)": f"{float(total) / 1.19:.2f}",
            "Payment Method": "Card",
            "Total Quantity": "1",
            "Order Currency Code": "EUR",
            "Billing Country": "Germany",
        }
        for oid, cid, email, when, total, status in BIGC_ORDERS
    ]
    path = _write(folder / "orders-2024-05-07.csv", BIGC_HEADER, rows)
    sales = {"Completed", "Shipped", "Awaiting Fulfillment"}
    purchases = [
        Purchase(email.lower(), when, oid, float(total))
        for oid, _, email, when, total, status in BIGC_ORDERS
        if status in sales
    ]
    return _export(path, purchases, "bigcommerce", len(rows), currency="EUR")


# -- Amazon Seller Central All Orders (tab-separated; no buyer column) -----------------------
AMAZON_HEADER = [
    "amazon-order-id",
    "merchant-order-id",
    "purchase-date",
    "last-updated-date",
    "order-status",
    "fulfillment-channel",
    "sales-channel",
    "order-channel",
    "url",
    "ship-service-level",
    "product-name",
    "sku",
    "asin",
    "item-status",
    "quantity",
    "currency",
    "item-price",
    "item-tax",
    "shipping-price",
    "shipping-tax",
    "gift-wrap-price",
    "gift-wrap-tax",
    "item-promotion-discount",
    "ship-promotion-discount",
    "ship-city",
    "ship-state",
    "ship-postal-code",
    "ship-country",
    "promotion-ids",
    "is-business-order",
    "purchase-order-number",
    "price-designation",
]
AMAZON_ITEMS = [  # (order, purchase UTC, status, sku, quantity, item-price = line total, postcode)
    ("111-0000001-0000001", dt.datetime(2024, 7, 1, 8, 0), "Shipped", "SKU-A", 2, "39.98", "10001"),
    ("111-0000001-0000001", dt.datetime(2024, 7, 1, 8, 0), "Shipped", "SKU-B", 1, "5.00", "10001"),
    ("111-0000002-0000002", dt.datetime(2024, 7, 3, 12, 0), "Cancelled", "SKU-A", 1, "19.99", "94105"),
    ("111-0000003-0000003", dt.datetime(2024, 7, 4, 16, 30), "Shipped", "SKU-C", 3, "30.00", "94105"),
]


def amazon_all_orders(folder: Path) -> Export:
    """Tab-separated, ISO dates with offsets; 'item-price' is the line's total for its
    quantity. There is no buyer column: read as is it is refused; with the postcode chosen
    as the customer (``--customer ship-postal-code``) the expected RFM holds."""
    rows = [
        {
            "amazon-order-id": order,
            "merchant-order-id": "",
            "purchase-date": f"{when:%Y-%m-%dT%H:%M:%S}+00:00",
            "last-updated-date": f"{when:%Y-%m-%dT%H:%M:%S}+00:00",
            "order-status": status,
            "fulfillment-channel": "Amazon",
            "sales-channel": "Amazon.com",
            "product-name": sku,
            "sku": sku,
            "asin": "B0" + sku[-1] * 8,
            "item-status": status,
            "quantity": str(qty),
            "currency": "USD",
            "item-price": price,
            "item-tax": "0.00",
            "ship-city": "Town",
            "ship-postal-code": postcode,
            "ship-country": "US",
            "is-business-order": "false",
        }
        for order, when, status, sku, qty, price, postcode in AMAZON_ITEMS
    ]
    path = _write(folder / "all_orders.txt", AMAZON_HEADER, rows, delimiter="\t")
    purchases = [
        Purchase(postcode, when, order, float(price))
        for order, when, status, _, _, price, postcode in AMAZON_ITEMS
        if status == "Shipped"
    ]
    return _export(
        path,
        purchases,
        "amazon_all_orders",
        len(rows),
        refused="names no buyer",
        flags=["--customer", "ship-postal-code"],
    )


# -- Etsy Sold Orders and Sold Order Items ---------------------------------------------------
ETSY_ORDERS_HEADER = [
    "Sale Date",
    "Order ID",
    "Buyer User ID",
    "Full Name",
    "First Name",
    "Last Name",
    "Number of Items",
    "Payment Method",
    "Date Shipped",
    "Street 1",
    "Street 2",
    "Ship City",
    "Ship State",
    "Ship Zipcode",
    "Ship Country",
    "Currency",
    "Order Value",
    "Coupon Code",
    "Coupon Details",
    "Discount Amount",
    "Shipping Discount",
    "Shipping",
    "Sales Tax",
    "Order Total",
    "Status",
    "Card Processing Fees",
    "Order Net",
    "Adjusted Order Total",
    "Adjusted Card Processing Fees",
    "Adjusted Net Order Amount",
    "Buyer",
    "Order Type",
    "Payment Type",
    "InPerson Discount",
    "InPerson Location",
    "SKU",
]
ETSY_ORDERS = [  # (order, sale date, buyer id, buyer, items value, shipping, tax, items)
    ("3012345678", dt.date(2024, 8, 1), "90011", "janedoe", "30.00", "4.50", "2.70", 2),
    ("3012345679", dt.date(2024, 8, 9), "90022", "bobsmith", "12.00", "3.00", "0.00", 1),
    ("3012345680", dt.date(2024, 8, 15), "90011", "janedoe", "45.00", "0.00", "4.05", 3),
]


def etsy_orders(folder: Path) -> Export:
    """Dates as MM/DD/YY; 'Order Value' (the items) beside 'Order Total' (what the buyer
    paid, with shipping and tax): the total is the value."""
    rows = []
    for order, sold, buyer_id, buyer, value, shipping, tax, items in ETSY_ORDERS:
        total = float(value) + float(shipping) + float(tax)
        rows.append(
            {
                "Sale Date": f"{sold:%m/%d/%y}",
                "Order ID": order,
                "Buyer User ID": buyer_id,
                "Full Name": buyer.title(),
                "Number of Items": str(items),
                "Payment Method": "Etsy Payments",
                "Ship Country": "United States",
                "Currency": "USD",
                "Order Value": value,
                "Shipping": shipping,
                "Sales Tax": tax,
                "Order Total": f"{total:.2f}",
                "Card Processing Fees": "0.99",
                "Order Net": f"{total - 0.99:.2f}",
                "Buyer": buyer,
                "Order Type": "online",
                "Payment Type": "online_cc",
            }
        )
    path = _write(folder / "EtsySoldOrders2024-8.csv", ETSY_ORDERS_HEADER, rows)
    purchases = [
        Purchase(
            buyer_id, dt.datetime.combine(sold, dt.time()), order, float(value) + float(shipping) + float(tax)
        )
        for order, sold, buyer_id, _, value, shipping, tax, _ in ETSY_ORDERS
    ]
    return _export(path, purchases, "etsy_orders", len(rows), currency="USD")


ETSY_ITEMS_HEADER = [
    "Sale Date",
    "Item Name",
    "Buyer",
    "Quantity",
    "Price",
    "Coupon Code",
    "Coupon Details",
    "Discount Amount",
    "Shipping Discount",
    "Order Shipping",
    "Order Sales Tax",
    "Item Total",
    "Currency",
    "Transaction ID",
    "Listing ID",
    "Date Paid",
    "Date Shipped",
    "Ship Name",
    "Ship Address1",
    "Ship City",
    "Ship State",
    "Ship Zipcode",
    "Ship Country",
    "Order ID",
    "Variations",
    "Order Type",
    "Listings Type",
    "Payment Type",
    "InPerson Discount",
    "InPerson Location",
    "VAT Paid by Buyer",
    "SKU",
]
ETSY_ITEMS = [  # (transaction, order, date, buyer, listing, quantity, price)
    ("4100000001", "3012345678", dt.date(2024, 8, 1), "janedoe", "L1", 2, "10.00"),
    ("4100000002", "3012345678", dt.date(2024, 8, 1), "janedoe", "L2", 1, "10.00"),
    ("4100000003", "3012345679", dt.date(2024, 8, 9), "bobsmith", "L1", 1, "12.00"),
    ("4100000004", "3012345680", dt.date(2024, 8, 15), "janedoe", "L3", 3, "15.00"),
]


def etsy_order_items(folder: Path) -> Export:
    """One row per item: 'Item Total' is price x quantity, the order's shipping and tax
    repeated on each row are not the item's (the value basis says so)."""
    rows = [
        {
            "Sale Date": f"{sold:%m/%d/%y}",
            "Item Name": f"Print {listing}",
            "Buyer": buyer,
            "Quantity": str(qty),
            "Price": price,
            "Order Shipping": "4.50",
            "Order Sales Tax": "2.70",
            "Item Total": f"{qty * float(price):.2f}",
            "Currency": "USD",
            "Transaction ID": txn,
            "Listing ID": listing,
            "Date Paid": f"{sold:%m/%d/%y}",
            "Ship Country": "United States",
            "Order ID": order,
            "Order Type": "online",
            "Listings Type": "listing",
            "Payment Type": "online_cc",
        }
        for txn, order, sold, buyer, listing, qty, price in ETSY_ITEMS
    ]
    path = _write(folder / "EtsySoldOrderItems2024-8.csv", ETSY_ITEMS_HEADER, rows)
    purchases = [
        Purchase(buyer, dt.datetime.combine(sold, dt.time()), order, qty * float(price))
        for _, order, sold, buyer, _, qty, price in ETSY_ITEMS
    ]
    return _export(path, purchases, "etsy_order_items", len(rows), currency="USD")


# -- eBay orders report ----------------------------------------------------------------------
EBAY_HEADER = [
    "Sales Record Number",
    "Order Number",
    "Buyer Username",
    "Buyer Name",
    "Buyer Email",
    "Buyer Note",
    "Buyer Address 1",
    "Buyer Address 2",
    "Buyer City",
    "Buyer State",
    "Buyer Zip",
    "Buyer Country",
    "Ship To Name",
    "Ship To Phone",
    "Ship To Address 1",
    "Ship To Address 2",
    "Ship To City",
    "Ship To State",
    "Ship To Zip",
    "Ship To Country",
    "Item Number",
    "Item Title",
    "Custom Label",
    "Sold Via Promoted Listings",
    "Quantity",
    "Sold For",
    "Shipping And Handling",
    "Seller Collected Tax",
    "eBay Collected Tax",
    "Total Price",
    "Payment Method",
    "Sale Date",
    "Paid On Date",
    "Ship By Date",
    "Shipped On Date",
    "Feedback Left",
    "Feedback Received",
    "My Item Note",
    "Shipping Service",
    "Tracking Number",
    "Transaction ID",
    "Variation Details",
    "Global Shipping Program",
]
EBAY_ITEMS = [  # (record, order, buyer, e-mail, item, qty, sold for, shipping, sale date)
    (
        "1001",
        "12-11111-11111",
        "vintage_fan",
        "fan@example.com",
        "2901",
        1,
        "25.00",
        "4.99",
        dt.date(2024, 9, 2),
    ),
    (
        "1002",
        "12-22222-22222",
        "collector99",
        "col@example.com",
        "2902",
        2,
        "10.00",
        "0.00",
        dt.date(2024, 9, 3),
    ),
    (
        "1003",
        "12-33333-33333",
        "vintage_fan",
        "fan@example.com",
        "2903",
        1,
        "99.00",
        "0.00",
        dt.date(2024, 9, 20),
    ),
]
EBAY_SELLER = "attic_treasures"


def ebay_footer(records: int) -> list[str]:
    """The lines eBay writes below the report's table: a blank line, how many records were
    downloaded, the seller's ID."""
    return ["", f"{records},record(s) downloaded", f"Seller ID: {EBAY_SELLER}"]


def ebay(folder: Path, footer: list[str] | None = None) -> Export:
    """As the report is downloaded: a blank first line above the header, the table, then
    footer lines (``ebay_footer``, or ``footer``); dates as 'Sep-02-24', money as '$25.00';
    'Total Price' is what the buyer paid for the item with its shipping
    (quantity x 'Sold For' + shipping)."""
    rows = [
        {
            "Sales Record Number": rec,
            "Order Number": order,
            "Buyer Username": buyer,
            "Buyer Name": buyer.replace("_", " ").title(),
            "Buyer Email": email,
            "Buyer Country": "United States",
            "Ship To Name": buyer.replace("_", " ").title(),
            "Ship To Country": "United States",
            "Item Number": item,
            "Item Title": f"Item {item}",
            "Sold Via Promoted Listings": "No",
            "Quantity": str(qty),
            "Sold For": f"${sold}",
            "Shipping And Handling": f"${shipping}",
            "Seller Collected Tax": "$0.00",
            "eBay Collected Tax": "$0.00",
            "Total Price": f"${qty * float(sold) + float(shipping):.2f}",
            "Payment Method": "Managed Payments",
            "Sale Date": f"{day:%b-%d-%y}",
            "Paid On Date": f"{day:%b-%d-%y}",
            "Feedback Left": "No",
            "Feedback Received": "",
            "Shipping Service": "USPS Ground Advantage",
            "Transaction ID": f"{rec}000",
            "Global Shipping Program": "No",
        }
        for rec, order, buyer, email, item, qty, sold, shipping, day in EBAY_ITEMS
    ]
    table = _write(folder / "eBay-OrdersReport-Sep-20-2024.csv", EBAY_HEADER, rows)
    below = ebay_footer(len(rows)) if footer is None else footer
    table.write_bytes(b"\r\n" + table.read_bytes() + "".join(f"{line}\r\n" for line in below).encode("utf-8"))
    purchases = [
        Purchase(buyer, dt.datetime.combine(day, dt.time()), order, qty * float(sold) + float(shipping))
        for _, order, buyer, _, _, qty, sold, shipping, day in EBAY_ITEMS
    ]
    return _export(table, purchases, "ebay", len(rows), currency="USD")


# -- PayPal activity download ----------------------------------------------------------------
PAYPAL_HEADER = [
    "Date",
    "Time",
    "TimeZone",
    "Name",
    "Type",
    "Status",
    "Currency",
    "Gross",
    "Fee",
    "Net",
    "From Email Address",
    "To Email Address",
    "Transaction ID",
    "Shipping Address",
    "Address Status",
    "Item Title",
    "Item ID",
    "Shipping and Handling Amount",
    "Insurance Amount",
    "Sales Tax",
    "Reference Txn ID",
    "Invoice Number",
    "Custom Number",
    "Quantity",
    "Receipt ID",
    "Balance",
    "Country Code",
    "Balance Impact",
]
SHOP = "shop@example.com"
# The types of a payment received from a customer (PayPal writes the same types for payments
# the account sends, with a negative Gross); every other type moves money that is no sale.
PAYPAL_PAYMENTS = {
    "Express Checkout Payment",
    "Website Payment",
    "General Payment",
    "Mobile Payment",
    "Subscription Payment",
    "PreApproved Payment Bill User Payment",
}
# (local date-time, zone, offset, type, status, gross, from, to, transaction, reference)
PAYPAL_ROWS = [
    (
        dt.datetime(2024, 10, 14, 9, 0),
        "PDT",
        -7,
        "Express Checkout Payment",
        "Partially Refunded",
        "54.90",
        "amy@example.com",
        SHOP,
        "1AB",
        "",
    ),
    (
        dt.datetime(2024, 10, 20, 23, 30),
        "PDT",
        -7,
        "Website Payment",
        "Completed",
        "1,020.00",
        "bo@example.com",
        SHOP,
        "2CD",
        "",
    ),
    (
        dt.datetime(2024, 10, 21, 8, 0),
        "PDT",
        -7,
        "Payment Refund",
        "Completed",
        "-10.00",
        SHOP,
        "amy@example.com",
        "3EF",
        "1AB",
    ),
    (
        dt.datetime(2024, 10, 22, 10, 0),
        "PDT",
        -7,
        "Express Checkout Payment",
        "Pending",
        "70.00",
        "cy@example.com",
        SHOP,
        "4GH",
        "",
    ),
    (
        dt.datetime(2024, 10, 23, 11, 0),
        "PDT",
        -7,
        "Hold on Balance for Dispute Investigation",
        "Completed",
        "-1,020.00",
        SHOP,
        "",
        "5HD",
        "2CD",
    ),
    (
        dt.datetime(2024, 10, 30, 11, 0),
        "PDT",
        -7,
        "Reversal of General Account Hold",
        "Completed",
        "1,020.00",
        SHOP,
        "",
        "6RV",
        "5HD",
    ),
    (
        dt.datetime(2024, 11, 4, 12, 0),
        "PST",
        -8,
        "General Withdrawal",
        "Completed",
        "-500.00",
        SHOP,
        "",
        "7IJ",
        "",
    ),
    (
        dt.datetime(2024, 11, 5, 16, 45),
        "PST",
        -8,
        "Express Checkout Payment",
        "Completed",
        "15.00",
        "amy@example.com",
        SHOP,
        "8KL",
        "",
    ),
    (
        dt.datetime(2024, 11, 5, 17, 0),
        "PST",
        -8,
        "General Currency Conversion",
        "Completed",
        "25.00",
        SHOP,
        "",
        "9CC",
        "",
    ),
    (
        dt.datetime(2024, 11, 6, 6, 30),
        "PST",
        -8,
        "Subscription Payment",
        "Completed",
        "9.99",
        "cy@example.com",
        SHOP,
        "10SB",
        "",
    ),
    (
        dt.datetime(2024, 11, 7, 13, 0),
        "PST",
        -8,
        "General Payment",
        "Denied",
        "40.00",
        "dee@example.com",
        SHOP,
        "11DN",
        "",
    ),
    (
        dt.datetime(2024, 11, 8, 9, 15),
        "PST",
        -8,
        "PreApproved Payment Bill User Payment",
        "Completed",
        "25.00",
        "dee@example.com",
        SHOP,
        "12PA",
        "",
    ),
    (
        dt.datetime(2024, 11, 9, 18, 0),
        "PST",
        -8,
        "Mobile Payment",
        "Completed",
        "12.00",
        "bo@example.com",
        SHOP,
        "13MB",
        "",
    ),
    (
        dt.datetime(2024, 11, 10, 10, 0),
        "PST",
        -8,
        "Express Checkout Payment",
        "Completed",
        "-30.00",
        SHOP,
        "supplier@example.com",
        "14PS",
        "",
    ),  # a payment the shop sent
    (
        dt.datetime(2024, 11, 11, 8, 0),
        "PST",
        -8,
        "Website Payment",
        "Refunded",
        "80.00",
        "cy@example.com",
        SHOP,
        "16WR",
        "",
    ),  # refunded in full, by the row below
    (
        dt.datetime(2024, 11, 12, 8, 0),
        "PST",
        -8,
        "Payment Refund",
        "Completed",
        "-80.00",
        SHOP,
        "cy@example.com",
        "17RF",
        "16WR",
    ),
]
PAYPAL_PAID = {"Completed", "Partially Refunded"}  # what the records say was paid
PAYPAL_FEE = 0.029  # of a payment received
# A type no list holds (a donation is no purchase, but nothing says so): asked, never counted.
PAYPAL_DONATION = (
    dt.datetime(2024, 11, 10, 12, 0),
    "PST",
    -8,
    "Donation Payment",
    "Completed",
    "50.00",
    "eve@example.com",
    SHOP,
    "15DO",
    "",
)


def paypal(folder: Path, extra: list[tuple] = ()) -> Export:
    """The whole account's activity, as downloaded (UTF-8 with a BOM, every field quoted):
    US dates (MM/DD/YYYY), time and zone abbreviations (PDT, PST) apart, '1,020.00', Gross,
    Fee and Net. Payments received of six types; a payment partly refunded and one refunded
    in full, each with its refund row, a dispute hold and its
    reversal (+1,020.00 under the shop's own address), a withdrawal, a currency conversion, a
    payment sent, pending and denied payments: only completed payments received are sales.
    ``extra`` rows (same shape) are written after the others and never counted."""
    rows = []
    balance = 0.0
    for when, zone, _, kind, status, gross, sender, to, txn, ref in [*PAYPAL_ROWS, *extra]:
        amount = float(gross.replace(",", ""))
        fee = -round(amount * PAYPAL_FEE + 0.30, 2) if kind in PAYPAL_PAYMENTS and amount > 0 else 0.0
        balance += amount + fee if status in PAYPAL_PAID else 0.0
        rows.append(
            {
                "Date": f"{when:%m/%d/%Y}",
                "Time": f"{when:%H:%M:%S}",
                "TimeZone": zone,
                "Name": (to if sender == SHOP else sender).split("@")[0].title(),
                "Type": kind,
                "Status": status,
                "Currency": "USD",
                "Gross": gross,
                "Fee": f"{fee:,.2f}",
                "Net": f"{amount + fee:,.2f}",
                "From Email Address": sender,
                "To Email Address": to,
                "Transaction ID": txn,
                "Reference Txn ID": ref,
                "Quantity": "1",
                "Balance": f"{balance:,.2f}",
                "Country Code": "US",
                "Balance Impact": "Debit" if amount < 0 else "Credit",
            }
        )
    path = _write(folder / "Download.CSV", PAYPAL_HEADER, rows, encoding="utf-8-sig", quote_all=True)
    purchases = [
        Purchase(sender, when - dt.timedelta(hours=offset), txn, float(gross.replace(",", "")))
        for when, _, offset, kind, status, gross, sender, _, txn, _ in PAYPAL_ROWS
        if kind in PAYPAL_PAYMENTS and status in PAYPAL_PAID and not gross.startswith("-")
    ]
    return _export(path, purchases, "paypal", len(rows), currency="USD")


# -- Lightspeed Retail (X-Series): a 'Sale' row, then its 'Sale Line' rows ------------------
LIGHTSPEED_HEADER = [
    "Date",
    "Receipt Number",
    "Line Type",
    "Customer Code",
    "Customer Name",
    "Note",
    "Quantity",
    "Subtotal",
    "Sales Tax",
    "Discount",
    "Loyalty",
    "Total",
    "Paid",
    "Details",
    "Register",
    "User",
    "Status",
    "Sku",
]
LIGHTSPEED_SALES = [  # (receipt, date, customer code, status, lines (sku, qty, line total))
    ("1001", dt.datetime(2024, 11, 1, 10, 0), "C-001", "CLOSED", [("A1", 1, "20.00"), ("B2", 2, "10.00")]),
    ("1002", dt.datetime(2024, 11, 2, 11, 0), "C-002", "LAYBY", [("A1", 1, "20.00")]),
    ("1003", dt.datetime(2024, 11, 3, 12, 0), "C-001", "VOIDED", [("B2", 1, "5.00")]),
    ("1004", dt.datetime(2024, 11, 8, 15, 30), "C-002", "CLOSED", [("C3", 3, "45.00")]),
]


def lightspeed(folder: Path) -> Export:
    """The sale's total on its 'Sale' row, the products' totals on 'Sale Line' rows below:
    summing every row would count each sale twice; layby and voided sales."""
    rows = []
    for receipt, when, customer, status, lines in LIGHTSPEED_SALES:
        total = sum(float(t) for *_, t in lines)
        rows.append(
            {
                "Date": f"{when:%Y-%m-%d %H:%M:%S}",
                "Receipt Number": receipt,
                "Line Type": "Sale",
                "Customer Code": customer,
                "Customer Name": customer,
                "Quantity": str(sum(q for _, q, _ in lines)),
                "Subtotal": f"{total:.2f}",
                "Sales Tax": "0.00",
                "Total": f"{total:.2f}",
                "Paid": f"{total:.2f}" if status == "CLOSED" else "0.00",
                "Register": "Main",
                "User": "Kim",
                "Status": status,
            }
        )
        for sku, qty, line_total in lines:
            rows.append(
                {
                    "Date": f"{when:%Y-%m-%d %H:%M:%S}",
                    "Receipt Number": receipt,
                    "Line Type": "Sale Line",
                    "Customer Code": customer,
                    "Customer Name": customer,
                    "Quantity": str(qty),
                    "Subtotal": line_total,
                    "Total": line_total,
                    "Status": status,
                    "Sku": sku,
                }
            )
    path = _write(folder / "sales_history.csv", LIGHTSPEED_HEADER, rows)
    purchases = [
        Purchase(customer, when, receipt, sum(float(t) for *_, t in lines))
        for receipt, when, customer, status, lines in LIGHTSPEED_SALES
        if status == "CLOSED"
    ]
    return _export(path, purchases, "lightspeed", len(rows))


# -- Odoo sale order lines -------------------------------------------------------------------
ODOO_HEADER = [
    "Order Reference",
    "Customer",
    "Product",
    "Description",
    "Quantity",
    "Delivered Quantity",
    "Invoiced Quantity",
    "Unit Price",
    "Taxes",
    "Subtotal",
    "Total",
    "Status",
    "Created on",
    "Salesperson",
]
ODOO_LINES = [  # (order, customer, product, qty, unit price, status, created)
    (
        "S00021",
        "Azure Interior",
        "[FURN_0096] Desk",
        2,
        "150.00",
        "Sales Order",
        dt.datetime(2024, 12, 2, 9, 0),
    ),
    (
        "S00021",
        "Azure Interior",
        "[FURN_0097] Chair",
        4,
        "40.00",
        "Sales Order",
        dt.datetime(2024, 12, 2, 9, 0),
    ),
    ("S00022", "Deco Addict", "[FURN_0096] Desk", 1, "150.00", "Quotation", dt.datetime(2024, 12, 3, 9, 0)),
    ("S00023", "Deco Addict", "[FURN_0098] Lamp", 3, "25.00", "Locked", dt.datetime(2024, 12, 9, 14, 0)),
    (
        "S00024",
        "Azure Interior",
        "[FURN_0098] Lamp",
        1,
        "25.00",
        "Cancelled",
        dt.datetime(2024, 12, 10, 14, 0),
    ),
]
ODOO_TAX = 0.15


def odoo_sale_lines(folder: Path) -> Export:
    """Order lines with 'Total' (with 15% tax) beside 'Subtotal'; quotations and cancelled
    orders are not sales."""
    rows = []
    for order, customer, product, qty, price, status, created in ODOO_LINES:
        subtotal = qty * float(price)
        rows.append(
            {
                "Order Reference": order,
                "Customer": customer,
                "Product": product,
                "Description": product.split("] ")[1],
                "Quantity": f"{qty:.2f}",
                "Delivered Quantity": "0.00",
                "Invoiced Quantity": "0.00",
                "Unit Price": price,
                "Taxes": "15%",
                "Subtotal": f"{subtotal:.2f}",
                "Total": f"{subtotal * (1 + ODOO_TAX):.2f}",
                "Status": status,
                "Created on": f"{created:%Y-%m-%d %H:%M:%S}",
                "Salesperson": "Mitchell Admin",
            }
        )
    path = _write(folder / "sale.order.line.csv", ODOO_HEADER, rows)
    purchases = [
        Purchase(customer, created, order, round(qty * float(price) * (1 + ODOO_TAX), 2))
        for order, customer, _, qty, price, status, created in ODOO_LINES
        if status in ("Sales Order", "Locked")
    ]
    return _export(path, purchases, "odoo_sale_lines", len(rows))


# -- Shopware 6 orders (Import/Export, field paths as headers) -------------------------------
SHOPWARE_HEADER = [
    "id",
    "orderNumber",
    "salesChannelId",
    "orderCustomer.firstName",
    "orderCustomer.lastName",
    "orderCustomer.email",
    "billingAddress.street",
    "billingAddress.zipcode",
    "billingAddress.city",
    "billingAddress.countryId",
    "lineItems",
    "amountTotal",
    "amountNet",
    "currency.isoCode",
    "stateMachineState.technicalName",
    "transactions.stateMachineState.technicalName",
    "deliveries.stateMachineState.technicalName",
    "orderDateTime",
]
# (number, e-mail, UTC, total, order state, payment state, delivery state): technical names
SHOPWARE_ORDERS = [
    ("10001", "ana@example.com", dt.datetime(2024, 2, 1, 9, 0), "119.00", "completed", "paid", "shipped"),
    ("10002", "ben@example.com", dt.datetime(2024, 2, 2, 18, 30), "59.50", "in_progress", "paid", "open"),
    (
        "10003",
        "ana@example.com",
        dt.datetime(2024, 2, 9, 7, 15),
        "23.80",
        "cancelled",
        "cancelled",
        "cancelled",
    ),
    (
        "10004",
        "ana@example.com",
        dt.datetime(2024, 2, 12, 12, 0),
        "47.60",
        "completed",
        "refunded_partially",
        "returned_partially",
    ),
    ("10005", "cleo@example.com", dt.datetime(2024, 2, 13, 8, 0), "30.00", "open", "open", "open"),
    ("10006", "ben@example.com", dt.datetime(2024, 2, 14, 9, 0), "15.00", "open", "reminded", "open"),
    (
        "10007",
        "cleo@example.com",
        dt.datetime(2024, 2, 15, 10, 0),
        "80.00",
        "completed",
        "refunded",
        "returned",
    ),
    ("10008", "dan@example.com", dt.datetime(2024, 2, 16, 11, 0), "12.00", "in_progress", "failed", "open"),
    ("10009", "dan@example.com", dt.datetime(2024, 2, 17, 16, 45), "42.00", "open", "paid", "open"),
]
# What the records say was paid: a paid (or partly refunded) payment of an order not cancelled.
SHOPWARE_PAID = {"paid", "refunded_partially"}


def shopware(folder: Path, extra: list[tuple] = ()) -> Export:
    """';' separated, ISO timestamps with offsets, 'id' a UUID (never the customer), the
    order state and the first payment's state as technical names: cancelled, unpaid (open),
    reminded, failed and refunded orders are not sales; an open order already paid is.
    ``extra`` orders (same shape) are written after the others and never counted."""
    rows = [
        {
            "id": f"{i + 1:032x}",
            "orderNumber": number,
            "salesChannelId": "98432def39fc4624b33213a56b8c944d",
            "orderCustomer.firstName": email.split("@")[0].title(),
            "orderCustomer.lastName": "Doe",
            "orderCustomer.email": email,
            "billingAddress.street": "Hauptstr. 1",
            "billingAddress.zipcode": "10115",
            "billingAddress.city": "Berlin",
            "billingAddress.countryId": "0189a1b2c3d4e5f60718293a4b5c6d7e",
            "lineItems": f"1x {i + 7:032x}",
            "amountTotal": total,
            "amountNet": f"{float(total) / 1.19:.2f}",
            "currency.isoCode": "EUR",
            "stateMachineState.technicalName": state,
            "transactions.stateMachineState.technicalName": payment,
            "deliveries.stateMachineState.technicalName": delivery,
            "orderDateTime": (
                when.replace(tzinfo=UTC)
                .astimezone(dt.timezone(dt.timedelta(hours=1)))
                .isoformat(timespec="milliseconds")
            ),
        }
        for i, (number, email, when, total, state, payment, delivery) in enumerate([*SHOPWARE_ORDERS, *extra])
    ]
    path = _write(folder / "order_export.csv", SHOPWARE_HEADER, rows, delimiter=";")
    purchases = [
        Purchase(email, when, number, float(total))
        for number, email, when, total, state, payment, _ in SHOPWARE_ORDERS
        if state != "cancelled" and payment in SHOPWARE_PAID
    ]
    return _export(path, purchases, "shopware", len(rows), currency="EUR")


BUILDERS = {
    "woocommerce": woocommerce,
    "square_items": square_items,
    "square_transactions": square_transactions,
    "prestashop_fr": lambda folder: prestashop(folder, "fr"),
    "prestashop_en": lambda folder: prestashop(folder, "en"),
    "magento": magento,
    "bigcommerce": bigcommerce,
    "etsy_orders": etsy_orders,
    "etsy_order_items": etsy_order_items,
    "ebay": ebay,
    "paypal": paypal,
    "lightspeed": lightspeed,
    "odoo_sale_lines": odoo_sale_lines,
    "shopware": shopware,
}
REFUSED = {"amazon_all_orders": amazon_all_orders}
