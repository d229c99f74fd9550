"""core.campaign: campaign-ready exports from a Shopify-shaped orders file, value by value."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from core.campaign import (
    campaign_table,
    customer_attributes,
    email_column,
    email_tool_frame,
    suggest_attribute_columns,
)
from core.cleaning import CleaningConfig
from core.columns import resolve_mapping
from core.errors import ColumnMappingError
from core.export import to_csv_bytes
from core.io import read_transactions
from core.rfm import Source
from core.scores import score_table
from core.segmentation import SegmentationConfig, SegmentationModel

# A Shopify orders export: one line per line item; Email on every line; the later lines of an
# order leave Total and Billing fields blank. Bob's second order has no Billing Name; Dee's
# e-mail is a formula; Ann's last line has quantity 0 (not a purchase) but a new country.
SHOPIFY = """Name,Email,Accepts Marketing,Total,Created at,Lineitem quantity,Lineitem name,Lineitem price,Billing Name,Billing Country
#1001,ann@example.com,yes,30.00,2024-03-01 10:00:00,1,Mug,10.00,Ann Lee,DE
#1001,ann@example.com,,,2024-03-01 10:00:00,2,Tea,10.00,,
#1002,bob@example.com,no,5.00,2024-03-02 09:30:00,1,Card,5.00,Bob Ray,FR
#1003,ann@example.com,yes,12.00,2024-03-05 18:00:00,1,Pot,12.00,Ann Lee-Smith,AT
#1004,bob@example.com,no,7.50,2024-03-07 08:00:00,3,Pen,2.50,,
#1005,=cmd@evil.example,no,40.00,2024-03-08 12:00:00,1,Lamp,40.00,Dee,ES
#1006,ann@example.com,yes,0.00,2024-03-09 11:00:00,0,Sample,3.00,,CH
#1007,cyd@example.com,,9.00,2024-03-09 11:00:00,1,Soap,9.00,Cyd Moe,
"""  # noqa: E501 (a real export header, one line)
OVERRIDES = {
    "customer": "Email",
    "date": "Created at",
    "invoice": "Name",
    "quantity": "Lineitem quantity",
    "price": "Lineitem price",
    "amount": "",
    "product": "",
    "country": "",
}


@pytest.fixture()
def shopify(tmp_path):
    path = tmp_path / "orders_export.csv"
    path.write_text(SHOPIFY)
    dataset = read_transactions(path)
    mapping = resolve_mapping(dataset.table, OVERRIDES, dataset.name)
    return dataset, mapping, CleaningConfig.preset("generic")


def test_attribute_columns_are_suggested_without_the_order_number(shopify):
    dataset, mapping, _ = shopify
    assert suggest_attribute_columns(dataset.columns, mapping) == [
        "Email",
        "Accepts Marketing",
        "Billing Name",
        "Billing Country",
    ]
    assert email_column(dataset.columns) == "Email"
    assert email_column(["customer_id", "E-Mail Address"]) == "E-Mail Address"
    assert email_column(["customer_id", "name"]) is None


def test_latest_non_empty_attribute_and_kept_purchase_dates(shopify):
    dataset, mapping, cleaning = shopify
    attrs = customer_attributes(
        Source(dataset, mapping, cleaning), ["Billing Name", "Billing Country", "Accepts Marketing"]
    )
    rows = attrs.set_index("customer_id")
    assert list(rows.index) == ["=cmd@evil.example", "ann@example.com", "bob@example.com", "cyd@example.com"]
    # Ann: names 'Ann Lee' (03-01), 'Ann Lee-Smith' (03-05) -> the later; countries DE, AT, and
    # CH on 03-09 (a quantity-0 line: not a purchase, but the country is still hers)
    assert rows.loc["ann@example.com", "Billing Name"] == "Ann Lee-Smith"
    assert rows.loc["ann@example.com", "Billing Country"] == "CH"
    # Bob's later order has no billing fields: the latest non-empty ones are from 03-02
    assert rows.loc["bob@example.com", "Billing Name"] == "Bob Ray"
    assert rows.loc["bob@example.com", "Billing Country"] == "FR"
    assert rows.loc["cyd@example.com", "Accepts Marketing"] is pd.NA
    assert rows.loc["cyd@example.com", "Billing Country"] is pd.NA
    # first / last purchase over kept lines: Ann's 03-09 line has quantity 0 and is removed
    assert rows.loc["ann@example.com", "first_purchase"] == pd.Timestamp("2024-03-01 10:00:00")
    assert rows.loc["ann@example.com", "last_purchase"] == pd.Timestamp("2024-03-05 18:00:00")
    assert rows.loc["bob@example.com", "last_purchase"] == pd.Timestamp("2024-03-07 08:00:00")


def test_purchase_dates_follow_the_cleaning_rules_given(shopify):
    # Loaded on 03-05: dates from 03-07 00:00 on are out of range (typos), so Bob's 03-07 order
    # and Dee's 03-08 one are not purchases; the rules given are the ones applied.
    dataset, mapping, _ = shopify
    cleaning = CleaningConfig.preset("generic", loaded_on=dt.date(2024, 3, 5))
    rows = customer_attributes(Source(dataset, mapping, cleaning)).set_index("customer_id")
    assert rows.loc["bob@example.com", "last_purchase"] == pd.Timestamp("2024-03-02 09:30:00")
    assert rows.loc["ann@example.com", "last_purchase"] == pd.Timestamp("2024-03-05 18:00:00")
    assert pd.isna(rows.loc["=cmd@evil.example", "last_purchase"])


def test_as_of_reads_only_the_lines_up_to_it(shopify):
    dataset, mapping, cleaning = shopify
    attrs = customer_attributes(
        Source(dataset, mapping, cleaning), ["Billing Name"], as_of=dt.datetime(2024, 3, 4)
    ).set_index("customer_id")
    assert list(attrs.index) == ["ann@example.com", "bob@example.com"]
    assert attrs.loc["ann@example.com", "Billing Name"] == "Ann Lee"
    assert attrs.loc["ann@example.com", "last_purchase"] == pd.Timestamp("2024-03-01 10:00:00")


def test_unknown_attribute_column_is_named(shopify):
    dataset, mapping, cleaning = shopify
    with pytest.raises(ColumnMappingError, match="no column 'Phone'"):
        customer_attributes(Source(dataset, mapping, cleaning), ["Phone"])


def test_campaign_table_and_email_tool_csv(shopify):
    dataset, mapping, cleaning = shopify
    result = Source(dataset, mapping, cleaning).rfm()
    rfm = result.rfm
    # as of the last purchase 2024-03-09 11:00: Ann orders #1001 (10 + 2 x 10 = 30) and #1003
    # (12): 2 orders, 42.00; Bob #1002 (5) and #1004 (3 x 2.50 = 7.50): 2 orders, 12.50
    model = SegmentationModel(SegmentationConfig(k=2)).fit(rfm)
    scored = score_table(model.segment(rfm))
    attrs = customer_attributes(
        Source(dataset, mapping, cleaning), ["Email", "Billing Name", "Billing Country"], as_of=result.as_of
    )
    table = campaign_table(scored, attrs).set_index("customer_id")
    assert list(table.columns[:3]) == ["Email", "Billing Name", "Billing Country"]
    ann = table.loc["ann@example.com"]
    assert (ann["orders"], ann["revenue"], ann["average_order_value"]) == (2, 42.0, 21.0)
    assert ann["first_purchase"] == pd.Timestamp("2024-03-01 10:00:00")
    bob = table.loc["bob@example.com"]
    assert (bob["orders"], bob["revenue"], bob["average_order_value"]) == (2, 12.5, 6.25)
    assert bob["recency"] == 2  # 03-07 08:00 to 03-09 11:00: 2 days 3 hours -> 2
    assert {"r_score", "f_score", "m_score", "rfm_segment", "tier", "segment"} <= set(table.columns)

    frame, without = email_tool_frame(table.reset_index(), "Email")
    assert frame.columns[0] == "Email" and without == 0
    csv_text = to_csv_bytes(frame).decode()
    header, *lines = csv_text.splitlines()
    assert header.startswith("Email,customer_id,Billing Name")
    # the formula-looking e-mail is neutralised in both its columns
    assert any(line.startswith("'=cmd@evil.example,'=cmd@evil.example,Dee,ES") for line in lines)


def test_email_tool_frame_leaves_out_customers_without_email():
    table = pd.DataFrame(
        {"customer_id": ["1", "2", "3"], "email": ["a@x.io", None, "  "], "revenue": [1.0, 2.0, 3.0]}
    )
    frame, without = email_tool_frame(table, "email")
    assert frame.to_dict("list") == {"email": ["a@x.io"], "customer_id": ["1"], "revenue": [1.0]}
    assert without == 2
    with pytest.raises(ColumnMappingError, match="no e-mail column 'Email'"):
        email_tool_frame(table, "Email")
