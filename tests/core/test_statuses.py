"""Statuses and duplicates: files built from known records (tests/status_exports.py) give exactly
the RFM of the records the test counts as paid; a status no vocabulary knows is refused with
its lines and revenue until decided; exact copies are removed where the order ID must be
unique and counted otherwise."""

from __future__ import annotations

import pytest

from core.cleaning import PRESETS, CleaningConfig, duplicate_lines
from core.columns import resolve_mapping
from core.errors import ConfigError, DataValidationError
from core.io import read_transactions
from core.options import ReadOptions
from core.rfm import rfm_from_file
from core.statuses import (
    NOT_SALE,
    SALE,
    UnknownStatusError,
    normalise_status,
    parse_status_list,
    status_verdict,
    suggested_verdict,
)
from core.summary import how_read
from tests import status_exports
from tests.exports import assert_rfm, by_customer


def _assert_rfm(result, export):
    assert_rfm(by_customer(result.rfm), export.expected)
    assert result.as_of == export.as_of


def _removed(result) -> dict[str, int]:
    return {name: n for name, _, n in result.audit.removed}


# -- the vocabulary ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "written, plain",
    [
        ("Annulée", "annulee"),
        ("wc-on-hold", "wc on hold"),
        ("Partially_Refunded ", "partially refunded"),
        ("On backorder (paid)", "on backorder paid"),
        ("ZURÜCKERSTATTET", "zuruckerstattet"),
    ],
)
def test_one_normalisation_for_case_accents_and_separators(written, plain):
    assert normalise_status(written) == plain


@pytest.mark.parametrize(
    "value, verdict",
    [
        ("wc-processing", SALE),
        ("wc-completed", SALE),
        ("WC_COMPLETED", SALE),
        ("wc-on-hold", NOT_SALE),
        ("wc-pending", NOT_SALE),
        ("wc-refunded", NOT_SALE),
        ("wc-cancelled", NOT_SALE),
        ("wc-failed", NOT_SALE),
        ("Quote", NOT_SALE),
        ("Layaway", NOT_SALE),
        ("Void", NOT_SALE),
        ("Awaiting Cheque Payment", NOT_SALE),
        ("Livré", SALE),
        ("livre", SALE),
        ("Annulé", NOT_SALE),
        ("Remboursé", NOT_SALE),
        ("Versendet", SALE),
        ("Storniert", NOT_SALE),
        ("In Wartestellung", NOT_SALE),
        ("Pagado", SALE),
        ("Pendiente de pago", NOT_SALE),
        ("Completato", SALE),
        ("Annullato", NOT_SALE),
        ("Betaald", SALE),
        ("Terugbetaald", NOT_SALE),
        ("Entregue", SALE),
        ("Cancelado", NOT_SALE),
        ("", NOT_SALE),
        # a sale on one platform and not on another: the user decides
        ("closed", None),
        ("authorized", None),
        ("partially_refunded", None),
        (status_exports.NEW_STATUS, None),
    ],
)
def test_vocabulary_verdicts(value, verdict):
    assert status_verdict(value) == verdict


def test_decisions_win_over_the_vocabulary_and_are_compared_normalised():
    # what a user or an export profile declares (e.g. a shop where 'closed' means refunded)
    assert status_verdict("Closed", extra_not_sales=["closed"]) == NOT_SALE
    assert status_verdict("wc-awaiting glazier", extra_sales=[status_exports.NEW_STATUS]) == SALE
    assert status_verdict("Pending", extra_sales=["pending"]) == SALE
    assert parse_status_list(" Quote , wc-on-hold,,") == ("quote", "wc on hold")


def test_a_value_decided_both_ways_is_refused():
    with pytest.raises(ConfigError, match="wc on hold"):
        ReadOptions(sale_statuses=("wc-on-hold",), not_sale_statuses=("WC_ON_HOLD",))
    with pytest.raises(ConfigError, match="names no status"):
        parse_status_list(" , ", "--sale-status")


def test_suggestion_for_an_unknown_value_never_counts_revenue_on_a_guess():
    assert suggested_verdict("refund requested") == NOT_SALE
    assert suggested_verdict("shipped to store") == SALE
    assert suggested_verdict(status_exports.NEW_STATUS) == NOT_SALE


# -- files ------------------------------------------------------------------------------------
def test_woocommerce_refunded_and_on_hold_are_not_sales(tmp_path, duck):
    export = status_exports.woocommerce_orders(tmp_path)
    result = rfm_from_file(export.path, con=duck)
    _assert_rfm(result, export)
    assert _removed(result)["not_completed_sale"] == export.notes["not_sale_lines"] == 5
    counts = {c.value: (c.lines, c.revenue, c.verdict) for c in result.audit.status_values}
    assert counts["wc-on-hold"] == (1, 300.00, NOT_SALE)
    assert counts["wc-processing"] == (2, 132.70, SALE)  # 120.40 + 12.30
    summary = " ".join(how_read(result))
    assert "removed as not a sale 5 lines" in summary and "wc-refunded 1" in summary


def test_a_status_no_vocabulary_has_is_refused_with_its_lines_and_revenue(tmp_path, duck):
    export = status_exports.woocommerce_orders(tmp_path, unknown=True)
    with pytest.raises(UnknownStatusError) as caught:
        rfm_from_file(export.path, con=duck)
    error = caught.value
    assert [(c.value, c.lines, c.revenue) for c in error.unknown] == [
        (status_exports.NEW_STATUS, export.notes["unknown_lines"], export.notes["unknown_revenue"])
    ]
    message = str(error)
    assert message.startswith(f"{export.path.name}: status column 'Order Status'")
    assert f"'{status_exports.NEW_STATUS}' (2 lines, 243.50 revenue)" in message
    assert "--sale-status" in message and "--not-sale-status" in message
    assert "\n" not in message


@pytest.mark.parametrize("decision", ["sale", "not a sale"])
def test_after_the_decision_the_rfm_is_exact(decision, tmp_path, duck):
    paid_also = {status_exports.NEW_STATUS} if decision == "sale" else set()
    export = status_exports.woocommerce_orders(tmp_path, unknown=True, paid_also=paid_also)
    key = "sale_statuses" if decision == "sale" else "not_sale_statuses"
    result = rfm_from_file(export.path, ReadOptions(**{key: (status_exports.NEW_STATUS,)}), con=duck)
    _assert_rfm(result, export)
    assert ("40" in export.expected) == (decision == "sale")  # eve bought only that way


def test_statuses_in_six_languages_with_accents_and_case(tmp_path, duck):
    export = status_exports.european_orders(tmp_path)
    result = rfm_from_file(export.path, con=duck)
    _assert_rfm(result, export)
    assert _removed(result)["not_completed_sale"] == export.notes["not_sale_lines"]


def test_status_rule_switched_off_asks_nothing(tmp_path, duck):
    export = status_exports.woocommerce_orders(tmp_path, unknown=True)
    rules = tuple(r for r in PRESETS["generic"] if r != "not_completed_sale")
    result = rfm_from_file(export.path, ReadOptions(rules=rules), con=duck)
    assert result.audit.rows_out == export.notes["rows_in"]


# -- duplicates -------------------------------------------------------------------------------
def test_an_order_file_without_copies_says_so(tmp_path, duck):
    result = rfm_from_file(status_exports.woocommerce_orders(tmp_path).path, con=duck)
    assert result.audit.duplicates.checked and result.audit.duplicates.copies == 0
    assert "Duplicates: no line is an exact copy of another." in how_read(result)


def test_pasted_overlapping_downloads_count_each_order_once(tmp_path, duck):
    export = status_exports.woocommerce_orders(tmp_path, repeat=4)
    result = rfm_from_file(export.path, con=duck)
    _assert_rfm(result, export)  # the records' RFM, as if each order was written once
    assert _removed(result)["duplicate_copy"] == 4
    assert result.audit.rows_in == export.notes["rows_in"] == len(status_exports.WOO_ORDERS) + 4
    assert result.audit.duplicates.key == ("Order Number",)
    assert "4 exact copies of a line removed (Order Number must be unique" in " ".join(how_read(result))


def _item_lines(tmp_path):
    """Online-Retail-shaped lines (quantity x price): one item written twice on one invoice."""
    path = tmp_path / "items.csv"
    path.write_text(
        "Invoice,StockCode,Quantity,InvoiceDate,Price,Customer ID\n"
        "536365,85123A,2,2010-12-01 08:26,2.55,17850\n"
        "536365,85123A,2,2010-12-01 08:26,2.55,17850\n"
        "536365,71053,1,2010-12-01 08:26,3.39,17850\n"
        "536366,22633,3,2010-12-02 09:00,1.85,13047\n"
    )
    return path


def test_copies_in_an_item_file_are_kept_or_dropped_on_request(tmp_path, duck):
    path = _item_lines(tmp_path)
    kept = rfm_from_file(path, con=duck)
    assert not kept.audit.duplicates.checked and kept.audit.duplicates.removed == 0
    assert "duplicate_copy" not in _removed(kept)
    # the seed's way: 2 x 2.55 twice + 3.39 = 13.59
    assert by_customer(kept.rfm)["17850"] == (1, 1, 13.59)
    assert "every line is kept; --drop-duplicates removes exact copies" in " ".join(how_read(kept))
    dropped = rfm_from_file(path, ReadOptions(drop_duplicates=True), con=duck)
    assert _removed(dropped)["duplicate_copy"] == 1 and dropped.audit.duplicates.copies == 1
    assert by_customer(dropped.rfm)["17850"] == (1, 1, 8.49)  # 5.10 + 3.39


def test_different_lines_sharing_a_unique_key_are_refused(tmp_path, duck):
    path = _item_lines(tmp_path)
    path.write_text(path.read_text() + "536366,22633,3,2010-12-02 09:00,1.95,13047\n")
    # the hook an export profile fills: the columns whose values must be unique per line
    dataset = read_transactions(path, con=duck)
    cleaning = CleaningConfig(unique_key=("Invoice", "StockCode"))
    with pytest.raises(
        DataValidationError,
        match=r"2 different lines share the key "
        r"Invoice='536366', StockCode='22633'",
    ):
        duplicate_lines(dataset.table, cleaning, resolve_mapping(dataset.table), dataset.name)
    # copies of one key are removed; the rest kept
    path.write_text(path.read_text().rsplit("536366,22633,3,2010-12-02 09:00,1.95", 1)[0])
    dataset = read_transactions(path, con=duck)
    table, found = duplicate_lines(dataset.table, cleaning, resolve_mapping(dataset.table))
    assert (found.copies, found.removed, found.key) == (1, 1, ("Invoice", "StockCode"))
    assert table.count().execute() == 3
