"""Real export shapes read with no flags give the RFM computed by hand from their records
(tests/exports.py builds each file from known records and computes the expectation)."""

from __future__ import annotations

import pytest

from core.rfm import rfm_from_file
from tests import exports


def _by_customer(rfm):
    return {r.customer_id: (int(r.recency), int(r.frequency), float(r.monetary)) for r in rfm.itertuples()}


def _removed(result) -> dict[str, int]:
    return {name: n for name, _, n in result.audit.removed}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("exports")


@pytest.mark.parametrize("kind", list(exports.BUILDERS))
def test_export_read_with_no_flags_gives_the_hand_computed_rfm(kind, folder, duck):
    export = exports.BUILDERS[kind](folder)
    result = rfm_from_file(export.path, con=duck)
    exports.assert_expected_rfm(result, export)
    assert result.audit.rows_in == export.notes["rows_in"]
    for role, column in export.notes.get("mapping", {}).items():
        assert getattr(result.mapping, role) == column, role


def test_shopify_orders(folder, duck):
    export = exports.shopify_orders(folder)
    result = rfm_from_file(export.path, con=duck)
    audit = result.audit
    # the order's later line items are filled from its first line, not "missing customer"
    assert audit.filled_from_order == export.notes["filled_from_order"] == 5
    assert _removed(result)["missing_customer"] == 0
    assert _removed(result)["not_completed_sale"] == export.notes["not_completed_sale"]
    assert _removed(result)["amount_not_positive"] == 0  # blank Total inside an order: kept
    assert {c.value: c.verdict for c in audit.status_values} == {
        "paid": "sale",
        "refunded": "not a sale",
        "pending": "not a sale",
        "voided": "not a sale",
    }
    assert audit.line_value == "amount column 'Total'"
    # ben's refunded order (99.00) is not revenue: only his paid 20.00
    assert _by_customer(result.rfm)["ben@example.com"][2] == 20.00
    assert "dan@example.com" not in set(result.rfm.customer_id)  # only a voided order


def test_stripe_failed_payment_customer_is_not_a_customer(folder, duck):
    export = exports.stripe_payments(folder)
    result = rfm_from_file(export.path, con=duck)
    assert "cus_Beta" not in set(result.rfm.customer_id)  # only payment failed (5,000.00)
    assert _removed(result)["not_completed_sale"] == 3
    assert result.mapping.customer == "Customer ID"  # never the charge 'id'
    # 1,250.00 read as one thousand two hundred and fifty
    assert _by_customer(result.rfm)["cus_Alpha"] == (0, 3, 1284.50)


def test_german_export_reads_commas_dates_and_cp1252(folder, duck):
    export = exports.german_datev(folder)
    result = rfm_from_file(export.path, con=duck)
    assert result.readings.number("Betrag").decimal == ","
    assert result.readings.number("Einzelpreis").decimal == ","
    assert result.readings.date.order == "day-first" and not result.readings.date.ambiguous
    assert _removed(result)["unparseable_number"] == 0
    assert _removed(result)["quantity_not_positive"] == 1  # the credit note
    # 10017: 1 x 1.249,00 + 2 x 12,50 (RE-24-001) + 3 x 19,99 (RE-24-014) = 1,333.97; last
    # bought 21.02.2024, as-of 15.03.2024 (20042): 8 days of February 2024 + 15 = 23
    assert _by_customer(result.rfm)["10017"] == (23, 2, 1333.97)
    assert any("decimal comma" in line for line in result.audit.readings)


def test_uk_dates_ambiguous_in_the_first_thousand_rows_read_day_first(folder, duck):
    export = exports.uk_dayfirst(folder)
    result = rfm_from_file(export.path, con=duck)
    assert result.readings.date.order == "day-first"
    assert _removed(result)["unparseable_date"] == 0


def test_typo_years_are_out_of_range_and_counted(folder, duck):
    export = exports.typo_year(folder)
    result = rfm_from_file(export.path, con=duck)
    assert _removed(result)["date_out_of_range"] == 2
    # k1's last order 06-20 09:30 is the as-of; k2's 06-18 16:00 -> 1 day 17.5 h -> 1;
    # k3's 05-02 12:00 -> 06-20 09:30 is 48 days 21.5 h -> 48 (the 1899 line does not count)
    assert _by_customer(result.rfm) == {"k1": (0, 2, 42.00), "k2": (1, 1, 45.50), "k3": (48, 1, 7.25)}
