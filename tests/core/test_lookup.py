"""core.lookup: closest IDs, the fences a VIP crossed, actions worded for one customer."""
from __future__ import annotations

from core.actions import customer_actions
from core.lookup import closest_ids, fences_crossed
from core.outliers import Fence


def test_closest_ids_are_the_near_misses_best_first():
    ids = ["12345", "12346", "54321", "99990", "A-100"]
    # '99999' vs '99990': 4 of 5 characters match in order -> ratio 0.8; nothing else is >= 0.5
    assert closest_ids("99999", ids) == ["99990"]
    # '12347' is one character off both 12345 and 12346 (ratio 0.8 each); 54321 shares less
    assert sorted(closest_ids("12347", ids)[:2]) == ["12345", "12346"]
    assert closest_ids("zzz", ids) == []


def test_fences_crossed_by_hand():
    fences = {"monetary": Fence("monetary", q1=100.0, q3=300.0, low=-200.0, high=600.0),
              "frequency": Fence("frequency", q1=1.0, q3=3.0, low=-2.0, high=6.0)}
    table = fences_crossed(fences, frequency=4, monetary=750.0).set_index("measure")
    assert table.loc["monetary", "crossed"] == "above the upper fence"
    assert table.loc["monetary", "upper fence"] == 600.0
    assert table.loc["monetary", "this customer"] == 750.0
    assert table.loc["frequency", "crossed"] == "inside"


def test_actions_speak_about_one_customer_with_its_own_figures():
    actions = customer_actions("Elite", recency=12, frequency=40, monetary=25_000.0)
    assert actions[0] == ("Assign a named account manager to this customer: 25,000.00 spent "
                          "over 40 orders.")
    assert not any("these" in a for a in actions)
    # a cluster shade ('Regular 2') gets its family's actions; 125.00 over 5 orders
    assert "5 orders so far" in customer_actions("Regular 2", 30, 5, 125.0)[0]
    high = customer_actions("High_Spender", 3, 4, 1_000.0)
    assert "about 250.00 per order" in high[0]
    assert "last purchase 9 days ago" in customer_actions("Unknown", 9, 1, 5.0)[0]
