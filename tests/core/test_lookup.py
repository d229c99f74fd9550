"""core.lookup: closest IDs, the last orders of one customer, actions worded for one customer."""

from __future__ import annotations

import datetime as dt

from core.actions import customer_actions
from core.lookup import closest_ids, last_orders
from core.options import ReadOptions
from core.rfm import open_source


def test_closest_ids_are_the_near_misses_best_first():
    ids = ["12345", "12346", "54321", "99990", "A-100"]
    # '99999' vs '99990': 4 of 5 characters match in order -> ratio 0.8; nothing else is >= 0.5
    assert closest_ids("99999", ids) == ["99990"]
    # '12347' is one character off both 12345 and 12346 (ratio 0.8 each); 54321 shares less
    assert sorted(closest_ids("12347", ids)[:2]) == ["12345", "12346"]
    assert closest_ids("zzz", ids) == []


def test_actions_speak_about_one_customer_with_its_own_figures():
    actions = customer_actions("Elite", recency=12, frequency=40, monetary=25_000.0)
    assert actions[0] == ("Assign a named account manager to this customer: 25,000.00 spent over 40 orders.")
    assert not any("these" in a for a in actions)
    # a cluster shade ('Regular 2') gets its family's actions; 125.00 over 5 orders
    assert "5 orders so far" in customer_actions("Regular 2", 30, 5, 125.0)[0]
    high = customer_actions("High_Spender", 3, 4, 1_000.0)
    assert "about 250.00 per order" in high[0]
    assert "last purchase 9 days ago" in customer_actions("Unknown", 9, 1, 5.0)[0]


def test_actions_take_the_money_format():
    high = customer_actions("High_Spender", 3, 4, 1_000.0, money=lambda v: f"€{v:,.2f}")
    assert high[0] == (
        "Offer premium bundles and concierge service: €1,000.00 spent, about €250.00 per order."
    )


# X's orders (quantity x price): 1001 on 01-05 = 2 x 5.00 + 1 x 3.00 = 13.00 (two lines);
# 1002 on 02-10 = 1 x 40.00, its second line a return (-1 x 40.00, removed by quantity <= 0);
# 1003 on 03-15 = 3 x 2.50 = 7.50; 1004 on 04-20 = 1 x 99.00 (after the as-of date below).
# Y's order 1005 is not X's.
ORDERS_CSV = """\
Invoice,InvoiceDate,Customer ID,Quantity,Price
1001,2024-01-05 10:00,X,2,5.00
1001,2024-01-05 10:00,X,1,3.00
1002,2024-02-10 12:30,X,1,40.00
1002,2024-02-10 12:30,X,-1,40.00
1005,2024-03-01 09:00,Y,1,500.00
1003,2024-03-15 08:00,X,3,2.50
1004,2024-04-20 16:00,X,1,99.00
"""


def test_last_orders_newest_first_from_the_kept_lines(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS_CSV)
    src = open_source(path, ReadOptions(preset="generic"))
    orders = last_orders(src, "X", n=3, until=dt.datetime(2024, 4, 1))
    assert list(orders.columns) == ["date", "order", "value"]
    assert [(d.strftime("%Y-%m-%d %H:%M"), o, v) for d, o, v in orders.itertuples(index=False)] == [
        ("2024-03-15 08:00", "1003", 7.50),
        ("2024-02-10 12:30", "1002", 40.00),
        ("2024-01-05 10:00", "1001", 13.00),
    ]
    assert last_orders(src, "X", n=1)["order"].tolist() == ["1004"]  # no as-of: every order
    assert last_orders(src, "nobody").empty
