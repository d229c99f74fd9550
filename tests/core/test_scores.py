"""core.scores: R/F/M scores 1-5 and the named segments, against hand computations."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import ConfigError
from core.scores import (
    DEFAULT_GRID,
    SEGMENT_ORDER,
    cut_points,
    grid_cells,
    grid_from_json,
    score_table,
    segment_names,
    segment_of,
    slipping_away,
    validate_grid,
)


def _table():
    # Seven customers A..G with ties in every column.
    return pd.DataFrame(
        {
            "customer_id": list("ABCDEFG"),
            "recency": [0, 0, 10, 30, 30, 100, 200],
            "frequency": [6, 1, 2, 2, 4, 1, 9],
            "monetary": [50.0, 15.0, 40.0, 40.0, 300.0, 25.0, 2000.0],
        }
    )


def test_cut_points_interpolate_linearly():
    # 7 values: the p-th percentile sits at position 6 * p (0-based) of the sorted values.
    # recency sorted 0 0 10 30 30 100 200:
    #   1.2 -> 0 + 0.2 * (10 - 0) = 2; 2.4 -> 10 + 0.4 * 20 = 18; 3.6 -> 30; 4.8 -> 30 + 0.8 * 70 = 86
    assert cut_points([0, 0, 10, 30, 30, 100, 200]) == pytest.approx((2.0, 18.0, 30.0, 86.0))
    # frequency sorted 1 1 2 2 4 6 9: 1.2 -> 1.2; 2.4 -> 2; 3.6 -> 2 + 0.6 * 2 = 3.2; 4.8 -> 5.6
    assert cut_points([6, 1, 2, 2, 4, 1, 9]) == pytest.approx((1.2, 2.0, 3.2, 5.6))
    # monetary sorted 15 25 40 40 50 300 2000: 28, 40, 40 + 0.6 * 10 = 46, 50 + 0.8 * 250 = 250
    assert cut_points([50, 15, 40, 40, 300, 25, 2000]) == pytest.approx((28.0, 40.0, 46.0, 250.0))


def test_scores_and_segments_by_hand_with_ties():
    # r = 5 - #cuts < recency with cuts (2, 18, 30, 86):
    #   0 -> 5, 10 -> 4, 30 -> 3 (30 is not strictly below 30), 100 -> 1, 200 -> 1
    # f = 1 + #cuts < frequency with cuts (1.2, 2, 3.2, 5.6):
    #   6 -> 5, 1 -> 1, 2 -> 2, 4 -> 4, 9 -> 5
    # m = 1 + #cuts < monetary with cuts (28, 40, 46, 250):
    #   50 -> 4, 15 -> 1, 40 -> 2, 300 -> 5, 25 -> 1, 2000 -> 5
    # fm = floor((f + m) / 2 + 0.5): A (5+4)/2 = 4.5 -> 5; E (4+5)/2 = 4.5 -> 5
    scored = score_table(_table()).set_index("customer_id")
    assert scored["r_score"].to_dict() == dict(A=5, B=5, C=4, D=3, E=3, F=1, G=1)
    assert scored["f_score"].to_dict() == dict(A=5, B=1, C=2, D=2, E=4, F=1, G=5)
    assert scored["m_score"].to_dict() == dict(A=4, B=1, C=2, D=2, E=5, F=1, G=5)
    # (r, fm): A (5,5) B (5,1) C (4,2) D (3,2) E (3,5) F (1,1) G (1,5)
    assert scored["rfm_segment"].to_dict() == {
        "A": "Champions",
        "B": "New Customers",
        "C": "Potential Loyalist",
        "D": "About to Sleep",
        "E": "Loyal",
        "F": "Hibernating",
        "G": "Can't Lose Them",
    }
    assert all(str(scored[c].dtype) == "int64" for c in ("r_score", "f_score", "m_score"))
    # the table's own columns are carried through untouched
    assert scored["monetary"].to_dict()["E"] == 300.0


def test_default_grid_is_the_design_grid_cell_by_cell():
    expected = {}
    for r in (1, 2):
        expected.update(
            {
                (r, 1): "Hibernating",
                (r, 2): "Hibernating",
                (r, 3): "At Risk",
                (r, 4): "At Risk",
                (r, 5): "Can't Lose Them",
            }
        )
    expected.update(
        {
            (3, 1): "About to Sleep",
            (3, 2): "About to Sleep",
            (3, 3): "Need Attention",
            (3, 4): "Loyal",
            (3, 5): "Loyal",
        }
    )
    expected.update(
        {
            (4, 1): "Promising",
            (4, 2): "Potential Loyalist",
            (4, 3): "Potential Loyalist",
            (4, 4): "Loyal",
            (4, 5): "Loyal",
        }
    )
    expected.update(
        {
            (5, 1): "New Customers",
            (5, 2): "Potential Loyalist",
            (5, 3): "Potential Loyalist",
            (5, 4): "Champions",
            (5, 5): "Champions",
        }
    )
    assert len(expected) == 25
    assert {(r, fm): segment_of(r, fm) for r in range(1, 6) for fm in range(1, 6)} == expected
    assert set(expected.values()) == set(SEGMENT_ORDER) and len(SEGMENT_ORDER) == 10


def test_grid_round_trips_through_json_and_an_edited_grid_is_used():
    assert grid_from_json(json.dumps(DEFAULT_GRID)) == DEFAULT_GRID
    edited = json.loads(json.dumps(DEFAULT_GRID))
    edited["5"][0] = "Welcome"
    scored = score_table(_table(), grid=edited).set_index("customer_id")
    assert scored.loc["B", "rfm_segment"] == "Welcome"  # B sits at (5, 1)
    assert scored.loc["A", "rfm_segment"] == "Champions"
    assert segment_names(edited)[-1] == "Welcome"
    assert "New Customers" not in segment_names(edited)
    # int keys are accepted and canonicalised
    assert validate_grid({int(k): v for k, v in DEFAULT_GRID.items()}) == DEFAULT_GRID


@pytest.mark.parametrize(
    "grid, message",
    [
        ({k: v for k, v in DEFAULT_GRID.items() if k != "3"}, "no row for r_score 3"),
        ({**DEFAULT_GRID, "6": ["x"] * 5}, "r_score '6'"),
        ({**DEFAULT_GRID, "2": ["a", "b"]}, "r_score 2 must list five names"),
        ({**DEFAULT_GRID, "4": ["a", "b", " ", "d", "e"]}, "r_score 4, fm 3 is empty"),
        ({**DEFAULT_GRID, "1": ["a", "b", "c", "d", "x" * 41]}, "r_score 1, fm 5"),
        (["not", "a", "mapping"], "must map r_score"),
    ],
)
def test_bad_grids_name_the_cell(grid, message):
    with pytest.raises(ConfigError, match=message):
        validate_grid(grid)


def test_grid_cells_count_customers_and_revenue_and_list_empty_cells():
    cells = grid_cells(score_table(_table())).set_index(["r_score", "fm"])
    assert len(cells) == 25
    # A (5,5) 50 ; E (3,5) 300 ; G (1,5) 2000 ; C (4,2) 40 ; D (3,2) 40 ; B (5,1) 15 ; F (1,1) 25
    assert cells.loc[(5, 5), "customers"] == 1 and cells.loc[(5, 5), "revenue"] == 50.0
    assert cells.loc[(1, 5), "revenue"] == 2000.0
    assert cells.loc[(2, 2), "customers"] == 0 and cells.loc[(2, 2), "revenue"] == 0.0
    assert cells["customers"].sum() == 7 and cells["revenue"].sum() == 2470.0
    assert cells.loc[(3, 3), "rfm_segment"] == "Need Attention"


def test_empty_table_and_bad_values():
    empty = score_table(_table().iloc[0:0])
    assert list(empty.columns[-4:]) == ["r_score", "f_score", "m_score", "rfm_segment"]
    assert empty.empty
    with pytest.raises(ConfigError):
        cut_points([])
    with pytest.raises(ConfigError, match="scores run 1-5"):
        segment_of(0, 3)


def test_one_customer_gets_a_score_of_its_own():
    # all four cut points equal the single value: nothing strictly below -> r 5, f 1, m 1
    one = score_table(
        pd.DataFrame({"customer_id": ["x"], "recency": [3], "frequency": [2], "monetary": [10.0]})
    )
    assert one[["r_score", "f_score", "m_score", "rfm_segment"]].iloc[0].tolist() == [
        5,
        1,
        1,
        "New Customers",
    ]


# --- properties -------------------------------------------------------------------------

_customers = st.lists(
    st.tuples(st.integers(0, 60), st.integers(1, 8), st.sampled_from([5.0, 10.0, 12.5, 80.0, 400.0])),
    min_size=1,
    max_size=40,
)


def _frame(rows):
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(len(rows))],
            "recency": [r[0] for r in rows],
            "frequency": [r[1] for r in rows],
            "monetary": [r[2] for r in rows],
        }
    )


@settings(max_examples=80, deadline=None)
@given(_customers)
def test_equal_values_get_equal_scores(rows):
    scored = score_table(_frame(rows))
    for value_column, score_column in (
        ("recency", "r_score"),
        ("frequency", "f_score"),
        ("monetary", "m_score"),
    ):
        assert (scored.groupby(value_column)[score_column].nunique() == 1).all()
        # and a larger value never scores worse (recency: never better)
        ordered = scored.sort_values(value_column)[score_column].to_numpy()
        steps = ordered[1:] - ordered[:-1]
        assert (steps <= 0).all() if value_column == "recency" else (steps >= 0).all()


@settings(max_examples=80, deadline=None)
@given(_customers, st.randoms(use_true_random=False))
def test_every_customer_in_exactly_one_named_segment_and_order_does_not_matter(rows, rnd):
    frame = _frame(rows)
    scored = score_table(frame)
    assert len(scored) == len(frame) and scored["customer_id"].is_unique
    assert scored["rfm_segment"].isin(SEGMENT_ORDER).all()
    assert scored[["r_score", "f_score", "m_score"]].isin([1, 2, 3, 4, 5]).all().all()
    shuffled = frame.sample(frac=1.0, random_state=rnd.randint(0, 10_000))
    again = score_table(shuffled).set_index("customer_id").loc[scored["customer_id"]]
    assert again["rfm_segment"].tolist() == scored["rfm_segment"].tolist()
    assert again["r_score"].tolist() == scored["r_score"].tolist()
    # the 25 cells partition the customers
    assert grid_cells(scored)["customers"].sum() == len(frame)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(SEGMENT_ORDER), min_size=25, max_size=25))
def test_any_grid_covers_all_25_cells(names):
    grid = {str(r): names[(r - 1) * 5 : r * 5] for r in range(1, 6)}
    for r in range(1, 6):
        for fm in range(1, 6):
            assert segment_of(r, fm, grid) == names[(r - 1) * 5 + fm - 1]
    assert grid_from_json(json.dumps(grid)) == grid


def test_slipping_away_is_at_risk_and_cant_lose_them_only():
    named = pd.DataFrame(
        {
            "rfm_segment": [
                "Champions",
                "At Risk",
                "Hibernating",
                "Can't Lose Them",
                "About To Sleep",
                "Loyal",
            ],
            "customers": [5, 3, 7, 2, 4, 6],
            "revenue": [50.0, 30.0, 7.0, 40.0, 4.0, 60.0],
        }
    )
    slipping = slipping_away(named)
    assert slipping["rfm_segment"].tolist() == ["At Risk", "Can't Lose Them"]
    assert (int(slipping["customers"].sum()), float(slipping["revenue"].sum())) == (5, 70.0)
