"""Export profiles (core/profiles): each platform's export, written from known records
(tests/platform_exports.py), is recognised and read with no flags to the RFM of its records;
what cannot be decided is refused with a message saying what to choose."""

from __future__ import annotations

import datetime as dt

import pytest

from core import header, identity, profiles, summary, values
from core.errors import ColumnMappingError, ConfigError, InputFileError, SegmentationError
from core.options import ReadOptions
from core.rfm import rfm_from_file
from core.statuses import NOT_SALE, SALE, UnknownStatusError
from tests import exports, platform_exports

ALL = {**platform_exports.BUILDERS, **platform_exports.REFUSED}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("platforms")


@pytest.mark.parametrize("kind", list(platform_exports.BUILDERS))
def test_platform_export_read_with_no_flags_gives_the_records_rfm(kind, folder, duck):
    export = platform_exports.BUILDERS[kind](folder)
    result = rfm_from_file(export.path, con=duck)
    exports.assert_expected_rfm(result, export)
    assert result.audit.rows_in == export.notes["rows_in"]
    assert result.reading[0].startswith("read as "), result.reading
    title = profiles.profiles()[export.notes["profile"]].title
    assert title in result.reading[0]
    if "currency" in export.notes:
        assert f"currency {export.notes['currency']}" in "; ".join(result.reading)


@pytest.mark.parametrize("kind", list(platform_exports.BUILDERS))
def test_the_detected_mapping_given_back_reads_the_same(kind, tmp_path, duck):
    """The Data page passes the mapping it detected back as the user's (ReadOptions.mapping):
    a column the profile chose, given back, is read the profile's way (its date format, time
    and zone), not as a plain column."""
    from core.cleaning import suggest_preset
    from core.io import read_transactions
    from core.rfm import read_mapped

    export = platform_exports.BUILDERS[kind](tmp_path)
    prepared, detected, _ = read_mapped(read_transactions(export.path, con=duck), check=False)
    options = ReadOptions(mapping=detected.as_dict(), preset=suggest_preset(detected, prepared.table))
    result = rfm_from_file(export.path, options, con=duck)
    exports.assert_expected_rfm(result, export)


@pytest.mark.parametrize("kind", list(ALL))
def test_each_fixture_is_recognised_as_its_profile(kind, folder, duck):
    from core.io import read_transactions

    export = ALL[kind](folder)
    columns = read_transactions(export.path, con=duck).columns
    assert profiles.recognise(columns).name == export.notes["profile"]


@pytest.mark.parametrize(
    "builder, name", [(exports.shopify_orders, "shopify"), (exports.stripe_payments, "stripe")]
)
def test_shopify_and_stripe_exports_are_recognised(builder, name, folder, duck):
    from core.io import read_transactions

    export = builder(folder)
    assert profiles.recognise(read_transactions(export.path, con=duck).columns).name == name


def test_every_profile_has_a_fixture():
    covered = {e for e in ALL} | {"shopify", "stripe"}
    assert set(profiles.profiles()) == covered


def test_no_export_fits_two_profiles_equally():
    """Each profile's own signature is recognised as that profile, never refused as a tie."""
    for name, profile in profiles.profiles().items():
        assert profiles.recognise(list(profile.signature)).name == name


def test_online_retail_and_generic_files_have_no_profile():
    assert (
        profiles.recognise(
            [
                "Invoice",
                "StockCode",
                "Description",
                "Quantity",
                "InvoiceDate",
                "Price",
                "Customer ID",
                "Country",
            ]
        )
        is None
    )
    assert profiles.recognise(["customer_id", "order_id", "order_date", "amount"]) is None


# -- identity -------------------------------------------------------------------------------
def test_woocommerce_guests_are_identified_by_email_and_said(folder, duck):
    export = platform_exports.woocommerce(folder)
    result = rfm_from_file(export.path, con=duck)
    assert "0" not in set(result.rfm.customer_id)
    said = "; ".join(result.reading)
    assert "customers by e-mail 'Email (Billing)' (trimmed, case-folded)" in said
    # guest.one: 1002 (20.00) and 1005 (35.00), one customer although typed two ways
    assert exports.by_customer(result.rfm)["guest.one@example.com"] == (2, 2, 55.00)


def test_woocommerce_total_repeated_on_each_product_row_counts_once(folder, duck):
    export = platform_exports.woocommerce(folder)
    result = rfm_from_file(export.path, con=duck)
    # ben's order 1007 has two rows each saying 150.00: he paid 150.00, not 300.00
    assert exports.by_customer(result.rfm)["ben@example.com"][2] == 150.00
    assert any("'Order Total Amount', the order's total" in s for s in result.reading)
    assert any("--amount 'Order Subtotal Amount'" in s for s in result.reading)
    verdicts = {c.value: c.verdict for c in result.audit.status_values}
    assert verdicts == {
        "wc-completed": SALE,
        "wc-processing": SALE,
        "wc-refunded": NOT_SALE,
        "wc-on-hold": NOT_SALE,
        "wc-cancelled": NOT_SALE,
    }


def test_placeholder_ids_are_a_missing_customer_without_a_profile(tmp_path, duck):
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer_id,order_id,order_date,amount\n"
        "17,o1,2024-01-01,10.00\n0,o2,2024-01-02,20.00\nguest,o3,2024-01-03,30.00\n"
        "N/A,o4,2024-01-04,40.00\n-1,o5,2024-01-05,50.00\n18,o6,2024-01-06,5.00\n"
    )
    result = rfm_from_file(path, con=duck)
    assert exports.by_customer(result.rfm) == {"17": (5, 1, 10.00), "18": (0, 1, 5.00)}
    assert dict((n, k) for n, _, k in result.audit.removed)["missing_customer"] == 4


@pytest.mark.parametrize("id_type", ["DOUBLE", "BIGINT"])
def test_placeholder_ids_in_a_number_column_are_a_missing_customer(id_type, tmp_path, duck):
    # A Parquet export whose customer column holds numbers: 0, -0.0 and -1 are the
    # placeholders '0' and '-1'; 17, 18 and (as a DOUBLE) 17.5 are customers.
    records = [(17, "o1", "2024-01-01", 10.0), (0, "o2", "2024-01-02", 20.0), (-1, "o3", "2024-01-03", 30.0)]
    records += [(18, "o4", "2024-01-06", 5.0), (-0.0, "o5", "2024-01-05", 40.0)]
    if id_type == "DOUBLE":
        records.append((17.5, "o6", "2024-01-04", 7.0))
    rows = ", ".join(f"({c}::{id_type}, '{o}', DATE '{d}', {a})" for c, o, d, a in records)
    path = tmp_path / "orders.parquet"
    duck.raw_sql(
        f"COPY (SELECT * FROM (VALUES {rows}) t(customer_id, order_id, order_date, amount)) "
        f"TO '{path}' (FORMAT parquet)"
    )
    result = rfm_from_file(path, con=duck)
    expected = {"17": (5, 1, 10.00), "18": (0, 1, 5.00)}
    if id_type == "DOUBLE":
        expected["17.5"] = (2, 1, 7.00)
    assert exports.by_customer(result.rfm) == expected
    assert dict((n, k) for n, _, k in result.audit.removed)["missing_customer"] == 3


def test_placeholder_ids_fall_back_to_the_email_column_without_a_profile(tmp_path, duck):
    path = tmp_path / "shop.csv"
    path.write_text(
        "customer_id,email,order_id,order_date,amount\n"
        "17,ana@example.com,o1,2024-01-01,10.00\n"
        "0,Guest@Example.com,o2,2024-01-02,20.00\n"
        "0,guest@example.com ,o3,2024-01-03,30.00\n"
    )
    result = rfm_from_file(path, con=duck)
    assert exports.by_customer(result.rfm) == {
        "ana@example.com": (2, 1, 10.00),
        "guest@example.com": (0, 2, 50.00),
    }
    assert any("customers by e-mail 'email'" in s for s in result.reading)


def test_one_id_holding_many_orders_with_many_emails_is_refused(tmp_path, duck):
    """The admin account (user 1) under which phone orders were typed is not one customer."""
    rows = [f"1,buyer{i}@example.com,o{i},2024-01-{i + 1:02d},10.00" for i in range(8)]
    rows += ["2,two@example.com,o90,2024-01-20,10.00", "3,three@example.com,o91,2024-01-21,10.00"]
    path = tmp_path / "admin.csv"
    path.write_text("customer_id,email,order_id,order_date,amount\n" + "\n".join(rows) + "\n")
    with pytest.raises(
        identity.IdentityError,
        match=r"customer ID '1' in 'customer_id' holds 80% "
        r"of the orders with 8 different 'email' values.*--customer 'email'",
    ):
        rfm_from_file(path, con=duck)
    # the user's choice decides: the ID confirmed, or the e-mail
    by_id = rfm_from_file(path, ReadOptions(mapping={"customer": "customer_id"}), con=duck)
    assert exports.by_customer(by_id.rfm)["1"][1:] == (8, 80.00)
    by_email = rfm_from_file(path, ReadOptions(mapping={"customer": "email"}), con=duck)
    assert len(exports.by_customer(by_email.rfm)) == 10


# -- value basis ----------------------------------------------------------------------------
def test_amount_on_the_price_column_moves_it_and_says_so(tmp_path, duck):
    path = tmp_path / "lines.csv"
    path.write_text(
        "customer_id,order_id,order_date,quantity,unit_price\n"
        "a,o1,2024-01-01,2,39.98\na,o2,2024-01-03,1,5.00\n"
    )
    result = rfm_from_file(path, ReadOptions(mapping={"amount": "unit_price"}), con=duck)
    assert result.mapping.price is None and result.mapping.amount == "unit_price"
    assert exports.by_customer(result.rfm) == {"a": (0, 2, 44.98)}  # never 2 x 39.98
    assert any("'unit_price' is the amount now, no longer the unit price" in s for s in result.reading)


def test_amazon_all_orders_is_refused_naming_what_to_do(folder, duck):
    export = platform_exports.amazon_all_orders(folder)
    with pytest.raises(profiles.ProfileError, match="names no buyer.*--customer COLUMN"):
        rfm_from_file(export.path, con=duck)


def test_amazon_item_price_is_the_line_total_once_the_customer_is_chosen(folder, duck):
    export = platform_exports.amazon_all_orders(folder)
    chosen = ReadOptions(mapping={"customer": "ship-postal-code"})
    result = rfm_from_file(export.path, chosen, con=duck)
    exports.assert_expected_rfm(result, export)  # 10001 paid 39.98 + 5.00, never 2 x 39.98
    assert result.mapping.price is None and result.mapping.amount == "item-price"


def test_etsy_order_total_is_what_the_buyer_paid(folder, duck):
    export = platform_exports.etsy_orders(folder)
    result = rfm_from_file(export.path, con=duck)
    assert result.mapping.amount == "Order Total"
    # janedoe: 30.00 + 4.50 + 2.70 and 45.00 + 4.05 (not the items' 75.00)
    assert exports.by_customer(result.rfm)["90011"][2] == 86.25
    alternative = rfm_from_file(export.path, ReadOptions(mapping={"amount": "Order Value"}), con=duck)
    assert exports.by_customer(alternative.rfm)["90011"][2] == 75.00


def test_lightspeed_sale_rows_are_counted_once(folder, duck):
    export = platform_exports.lightspeed(folder)
    result = rfm_from_file(export.path, con=duck)
    # receipt 1001: its Sale row says 30.00, its lines 20.00 + 10.00: 30.00, never 60.00
    assert exports.by_customer(result.rfm)["C-001"] == (7, 1, 30.00)


def test_magento_closed_is_a_refund_not_a_sale(folder, duck):
    export = platform_exports.magento(folder)
    result = rfm_from_file(export.path, con=duck)
    verdicts = {c.value: c.verdict for c in result.audit.status_values}
    assert verdicts["Closed"] == NOT_SALE and verdicts["Complete"] == SALE


def test_paypal_only_completed_payments_received_are_sales(folder, duck):
    export = platform_exports.paypal(folder)
    result = rfm_from_file(export.path, con=duck)
    # the dispute hold's reversal (+1,020.00) and the conversion (+25.00) are written under
    # the shop's own address: never a customer
    assert platform_exports.SHOP not in set(result.rfm.customer_id)
    verdicts = {c.value: c.verdict for c in result.audit.status_values}
    assert verdicts == {
        "Completed": SALE,
        "Partially Refunded": SALE,
        "Refunded": NOT_SALE,
        "Pending": NOT_SALE,
        "Denied": NOT_SALE,
        "Payment Refund": NOT_SALE,
        "General Withdrawal": NOT_SALE,
        "General Currency Conversion": NOT_SALE,
        "Hold on Balance for Dispute Investigation": NOT_SALE,
        "Reversal of General Account Hold": NOT_SALE,
    }
    assert any("'Status' where 'Type' is one a sale is written under" in s for s in result.reading)


def test_paypal_type_no_list_holds_is_refused_then_decided(folder, duck):
    export = platform_exports.paypal(folder, extra=[platform_exports.PAYPAL_DONATION])
    with pytest.raises(
        UnknownStatusError,
        match=r"'Donation Payment' \(1 lines, 50.00 revenue\)"
        r".*--sale-status \"Donation Payment\"",
    ):
        rfm_from_file(export.path, con=duck)
    decided = ReadOptions(not_sale_statuses=("Donation Payment",))
    exports.assert_expected_rfm(rfm_from_file(export.path, decided, con=duck), export)
    counted = rfm_from_file(export.path, ReadOptions(sale_statuses=("Donation Payment",)), con=duck)
    assert exports.by_customer(counted.rfm)["eve@example.com"] == (0, 1, 50.00)


def test_shopware_orders_are_judged_by_their_payment_state(folder, duck):
    export = platform_exports.shopware(folder)
    result = rfm_from_file(export.path, con=duck)
    verdicts = {c.value: c.verdict for c in result.audit.status_values}
    # 'cancelled' is the order's state (its payment's too); 'open' only payments
    assert verdicts == {
        "paid": SALE,
        "refunded_partially": SALE,
        "cancelled": NOT_SALE,
        "open": NOT_SALE,
        "reminded": NOT_SALE,
        "refunded": NOT_SALE,
        "failed": NOT_SALE,
    }
    # order 10009 is open (not shipped) and paid: a sale; 10005 open and unpaid: none
    assert exports.by_customer(result.rfm)["dan@example.com"] == (0, 1, 42.00)
    assert "cleo@example.com" not in set(result.rfm.customer_id)


@pytest.mark.parametrize("payment", ["authorized", "paid_partially"])
def test_shopware_payment_not_captured_or_a_deposit_is_asked(payment, folder, duck):
    extra = [("10010", "eve@example.com", dt.datetime(2024, 2, 18, 9, 0), "64.00", "open", payment, "open")]
    export = platform_exports.shopware(folder, extra=extra)
    with pytest.raises(UnknownStatusError, match=f"'{payment}' \\(1 lines, 64.00 revenue\\)"):
        rfm_from_file(export.path, con=duck)


def test_shopware_without_the_payment_column_reads_the_order_state(tmp_path, duck):
    """An orders profile without transactions: completed is a sale, open / in_progress are
    not paid yet, cancelled is not a sale."""
    header = [h for h in platform_exports.SHOPWARE_HEADER if not h.startswith("transactions.")]
    rows = [
        {
            "orderNumber": n,
            "orderCustomer.email": e,
            "amountTotal": t,
            "currency.isoCode": "EUR",
            "stateMachineState.technicalName": s,
            "orderDateTime": f"{w:%Y-%m-%dT%H:%M:%S}+00:00",
        }
        for n, e, w, t, s, *_ in platform_exports.SHOPWARE_ORDERS
    ]
    path = platform_exports._write(tmp_path / "orders.csv", header, rows, delimiter=";")
    result = rfm_from_file(path, con=duck)
    completed = [(e, w, t) for _, e, w, t, s, *_ in platform_exports.SHOPWARE_ORDERS if s == "completed"]
    assert sum(result.rfm.monetary) == pytest.approx(sum(float(t) for *_, t in completed))
    assert set(result.rfm.customer_id) == {e for e, *_ in completed}


# -- report footer (eBay) ------------------------------------------------------------------
@pytest.mark.parametrize(
    "line, footer",
    [
        ("3,record(s) downloaded", True),
        ("Seller ID: attic_treasures", True),
        ('"1,204","record(s) downloaded",,,', True),
        ("Seller ID : x;;;", True),
        ("1001,12-11111-11111,vintage_fan,Vintage Fan,fan@example.com", False),
        ("Seller ID: 7,12-1,vintage_fan,Fan,fan@example.com", False),  # a data row: 5 cells
        ("Report generated Sep-20-24", False),
        ("Total,128.99", False),
        ("", False),
    ],
)
def test_footer_lines(line, footer):
    assert header.is_footer_line(line) is footer


def test_ebay_footer_lines_are_left_out_and_nothing_else(folder, duck):
    export = platform_exports.ebay(folder)
    start = header.csv_footer_start(export.path)
    body = export.path.read_bytes()[:start].decode("utf-8")
    assert body.endswith(",No\r\n")  # the last row's last cell: the footer cut after it
    assert "record(s) downloaded" not in body and body.startswith("\r\nSales Record Number,")
    result = rfm_from_file(export.path, con=duck)
    exports.assert_expected_rfm(result, export)
    assert result.audit.rows_in == len(platform_exports.EBAY_ITEMS)
    # said, not silent: the two footer lines (record count, Seller ID) are counted
    assert result.audit.footer_lines == 2
    header_sentence = next(s for s in summary.how_read(result) if s.startswith("Header row"))
    assert "2 footer lines below the table" in header_sentence, header_sentence
    plain_folder = folder / "plain"  # the same file name: its own folder, not over the first
    plain_folder.mkdir()
    plain_export = platform_exports.ebay(plain_folder, footer=[])
    assert header.csv_footer_start(plain_export.path) is None
    plain = rfm_from_file(plain_export.path, con=duck)
    assert plain.audit.footer_lines == 0
    assert "footer" not in " ".join(summary.how_read(plain))


def test_a_line_below_the_table_that_is_no_known_footer_is_refused(folder, duck):
    """Read as data it would be a row; dropped it would be a guess: the line is named."""
    export = platform_exports.ebay(folder, footer=["", "Report generated Sep-20-24 by a tool"])
    with pytest.raises(InputFileError, match=r"eBay-OrdersReport-Sep-20-2024.csv: line 7 is broken"):
        rfm_from_file(export.path, con=duck)


def test_a_footer_line_inside_the_table_is_refused(folder, duck):
    """Only the lines after the table's last row are a footer."""
    export = platform_exports.ebay(folder, footer=[])
    lines = export.path.read_bytes().split(b"\r\n")
    lines.insert(3, b"Seller ID: attic_treasures")
    export.path.write_bytes(b"\r\n".join(lines))
    with pytest.raises(InputFileError, match=r"line 4 (.*)?is broken"):
        rfm_from_file(export.path, con=duck)


# -- time -----------------------------------------------------------------------------------
def test_square_date_time_and_zone_are_one_utc_timestamp(folder, duck):
    export = platform_exports.square_items(folder)
    result = rfm_from_file(export.path, con=duck)
    # T2: 2024-03-11 08:00 Eastern, after the DST change (UTC-4) -> 12:00 UTC is the last
    assert result.as_of.isoformat() == "2024-03-11T12:00:00"
    assert any("purchase time from 'Date' and 'Time' in 'Time Zone'" in s for s in result.reading)


def test_square_one_item_twice_in_a_sale_is_two_lines_sold(folder, duck):
    """No Square column tells two lines of one item apart: neither is refused as a clash of
    keys nor dropped as a copy; the identical pair is counted in the audit and kept."""
    export = platform_exports.square_items(folder)
    result = rfm_from_file(export.path, con=duck)
    # T1: 2 x 4.50 + 3.25 + 5.25 (oat milk); T2: 4.50 + 4.50 (two lines)
    assert exports.by_customer(result.rfm)["CUST-A"] == (0, 2, 26.50)
    assert (result.audit.duplicates.copies, result.audit.duplicates.removed) == (1, 0)


def test_an_unknown_time_zone_is_refused_naming_it(tmp_path, duck):
    header = platform_exports.SQUARE_TXN_HEADER
    rows = [
        {
            "Date": "2024-06-01",
            "Time": "09:00:00",
            "Time Zone": "Mars Standard Time",
            "Total Collected": "$5.00",
            "Gross Sales": "$5.00",
            "Transaction ID": "X1",
            "Customer ID": "C1",
            "Transaction Status": "Complete",
        }
    ]
    path = platform_exports._write(tmp_path / "mars.csv", header, rows)
    with pytest.raises(
        values.ReadingError, match="time zone 'Mars Standard Time' in column 'Time Zone' is not a time zone"
    ):
        rfm_from_file(path, con=duck)


@pytest.mark.parametrize(
    "text, zone",
    [
        ("Eastern Time (US & Canada)", "America/New_York"),
        ("Europe/Paris", "Europe/Paris"),
        ("+01:00", "Etc/GMT-1"),
        ("UTC-5", "Etc/GMT+5"),
        ("PST", "Etc/GMT+8"),
        ("Atlantis", None),
    ],
)
def test_time_zone_names(text, zone):
    assert values.iana_zone(text) == zone


# -- choosing the profile -------------------------------------------------------------------
def test_profile_none_reads_by_column_names(folder, duck):
    export = platform_exports.woocommerce(folder)
    result = rfm_from_file(export.path, ReadOptions(profile="none"), con=duck)
    # the name-based guess: the raw column, not the profile's total once per order
    assert result.mapping.amount == "Order Total Amount"
    assert not any(s.startswith("read as ") for s in result.reading)


def test_a_chosen_profile_that_does_not_fit_is_refused(folder, duck):
    export = platform_exports.etsy_orders(folder)
    with pytest.raises(profiles.ProfileError, match="profile 'shopify' needs the column"):
        rfm_from_file(export.path, ReadOptions(profile="shopify"), con=duck)
    with pytest.raises(ConfigError, match="unknown profile 'shopifi'"):
        ReadOptions(profile="shopifi")  # refused before any file is read


def test_a_tie_between_profiles_is_refused(monkeypatch):
    twin = profiles.profiles()["shopware"]
    fake = {"a": twin, "b": twin.__class__(**{**twin.__dict__, "name": "b"})}
    monkeypatch.setattr(profiles, "profiles", lambda: fake)
    with pytest.raises(profiles.ProfileError, match="fit two exports equally"):
        profiles.recognise(list(twin.signature))


def test_a_status_gate_without_the_values_it_judges_is_refused(tmp_path, monkeypatch):
    (tmp_path / "broken.toml").write_text(
        'signature = ["Type", "Gross"]\n[value]\ncolumn = "Gross"\nkind = "line_total"\n'
        '[statuses.gate]\ncolumn = "Type"\nnot_sales = ["Withdrawal"]\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(profiles, "FOLDER", tmp_path)
    profiles.profiles.cache_clear()
    try:
        with pytest.raises(
            ConfigError,
            match=r"broken.toml: \[statuses.gate\] needs a column "
            r"and the values it judges",
        ):
            profiles.profiles()
    finally:
        profiles.profiles.cache_clear()


def test_refusals_are_documented_errors():
    assert issubclass(profiles.ProfileError, ColumnMappingError)
    assert issubclass(identity.IdentityError, SegmentationError)


# -- currency -------------------------------------------------------------------------------
def test_currency_from_the_marks_in_the_values(tmp_path, duck):
    path = tmp_path / "eur.csv"
    path.write_text(
        "customer_id,order_id,order_date,amount\na,o1,2024-01-01,€10.00\nb,o2,2024-01-02,€5.50\n",
        encoding="utf-8",
    )
    result = rfm_from_file(path, con=duck)
    assert "currency EUR from the '€' in the values" in result.reading
