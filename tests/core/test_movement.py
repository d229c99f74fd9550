"""Movement: RFM as the data stood at several dates, migration and month-end segment sizes.

The small file below is worked out by hand at each date; the month-end sizes are checked
against computing each month end on its own with Source.rfm (one scan per date).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import movement
from core.cleaning import CleaningConfig, suggest_preset
from core.columns import resolve_mapping
from core.errors import ConfigError, DataValidationError
from core.io import read_transactions
from core.rfm import Source
from core.scores import score_table
from tests.core.test_rfm_properties import BASE, SETTINGS, _write_csv, online_retail_lines

# Online Retail II shape. Kept lines by customer (value = quantity x price):
#   A 100001 2011-01-10 10:00  2 x  5.00 = 10.00
#   A 100002 2011-02-20 12:00  1 x 30.00 = 30.00
#   B 100003 2011-01-31 23:00  3 x  2.00 =  6.00
#   C 100005 2011-02-15 09:00  4 x 10.00 = 40.00 (two lines: 3 x 10 + 1 x 10)
#   C 100006 2011-03-05 08:00  1 x  1.50 =  1.50
#   D 100007 2011-03-01 00:00  1 x 100.00          (exactly the 'to' date's midnight)
# Removed: B's cancellation C100004 (quantity <= 0) and A's postage on 2011-01-05 (stock code).
HISTORY_CSV = """\
Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country
100001,22728,ALARM CLOCK,2,2011-01-10 10:00:00,5.00,A,United Kingdom
POST01,POST,POSTAGE,1,2011-01-05 08:00:00,18.00,A,United Kingdom
100003,21730,T-LIGHT HOLDER,3,2011-01-31 23:00:00,2.00,B,France
C100004,21730,T-LIGHT HOLDER,-1,2011-02-01 09:00:00,2.00,B,France
100005,22423,CAKESTAND,3,2011-02-15 09:00:00,10.00,C,Germany
100005,22424,CAKESTAND BLUE,1,2011-02-15 09:00:00,10.00,C,Germany
100002,22728,ALARM CLOCK,1,2011-02-20 12:00:00,30.00,A,United Kingdom
100007,85123A,HEART HOLDER,1,2011-03-01 00:00:00,100.00,D,Spain
100006,71053,LANTERN,1,2011-03-05 08:00:00,1.50,C,Germany
"""

# At 2011-02-01 00:00: A last 01-10 10:00 -> 21 d 14 h -> 21; B 01-31 23:00 -> 1 h -> 0.
AT_FEB_1 = {"A": (21, 1, 10.00), "B": (0, 1, 6.00)}
# At 2011-03-01 00:00: A 02-20 12:00 -> 8 d 12 h -> 8 (2 invoices, 40.00); B 28 d 1 h -> 28;
# C 02-15 09:00 -> 13 d 15 h -> 13 (one invoice of two lines, 40.00); D at the date itself -> 0.
AT_MAR_1 = {"A": (8, 2, 40.00), "B": (28, 1, 6.00), "C": (13, 1, 40.00), "D": (0, 1, 100.00)}


def _by_recency(rfm: pd.DataFrame) -> pd.Series:
    """A lens whose answer is obvious by hand: bought within 14 days or not."""
    return pd.Series(["active" if r <= 14 else "lapsing" for r in rfm["recency"]], dtype="string")


def _prepared(path, duck, returns="drop"):
    dataset = read_transactions(path, con=duck)
    mapping = resolve_mapping(dataset.table, {}, dataset.name)
    cleaning = CleaningConfig.preset(suggest_preset(mapping), returns=returns)
    return Source(dataset, mapping, cleaning)


@pytest.fixture
def history_file(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(HISTORY_CSV)
    return path


@pytest.fixture
def history(history_file, duck):
    return movement.PurchaseHistory.from_source(_prepared(history_file, duck))


def _as_dict(rfm: pd.DataFrame) -> dict:
    return {r.customer_id: (r.recency, r.frequency, r.monetary) for r in rfm.itertuples()}


def test_history_span_is_the_first_and_last_kept_purchase(history):
    assert history.first_purchase == dt.datetime(2011, 1, 10, 10, 0)  # postage on 01-05 dropped
    assert history.last_purchase == dt.datetime(2011, 3, 5, 8, 0)


def test_rfm_at_two_dates_matches_the_hand_computation(history):
    snapshots = history.rfm_at(["2011-02-01", dt.date(2011, 3, 1)])
    assert list(snapshots.columns) == ["as_of", "customer_id", "recency", "frequency", "monetary"]
    feb = snapshots[snapshots["as_of"] == pd.Timestamp("2011-02-01")]
    mar = snapshots[snapshots["as_of"] == pd.Timestamp("2011-03-01")]
    assert _as_dict(feb) == AT_FEB_1
    assert _as_dict(mar) == AT_MAR_1


def test_migration_by_hand_with_a_simple_lens(history):
    moves = movement.migration(history, "2011-02-01", "2011-03-01", segment_by=_by_recency)
    assert list(moves.columns) == ["customer_id", "from_segment", "to_segment"]
    assert {r.customer_id: (r.from_segment, r.to_segment) for r in moves.itertuples()} == {
        "A": ("lapsing", "active"),  # 21 days -> 8 days
        "B": ("active", "lapsing"),  # 0 days -> 28 days
        "C": ("(none)", "active"),  # first bought 02-15
        "D": ("(none)", "active"),  # bought at 03-01 00:00, on the 'to' date itself
    }
    matrix = movement.transition_matrix(moves, ["active", "lapsing"])
    assert matrix.index.tolist() == ["(none)", "active", "lapsing"]
    assert matrix.to_dict(orient="index") == {
        "(none)": {"active": 2, "lapsing": 0},
        "active": {"active": 0, "lapsing": 1},
        "lapsing": {"active": 1, "lapsing": 0},
    }
    assert movement.movers(moves, "(none)", "active").tolist() == ["C", "D"]


def test_migration_named_segments_re_cut_over_the_customers_of_each_date(history):
    moves = movement.migration(history, "2011-02-01", "2011-03-01", cut_points="each")

    # Scores re-cut at each date over that date's customers, from the hand-computed tables.
    def named(table):
        rfm = pd.DataFrame(
            [(c, *v) for c, v in table.items()], columns=["customer_id", "recency", "frequency", "monetary"]
        )
        return dict(zip(rfm["customer_id"], score_table(rfm)["rfm_segment"]))

    before, after = named(AT_FEB_1), named(AT_MAR_1)
    got = {r.customer_id: (r.from_segment, r.to_segment) for r in moves.itertuples()}
    assert got == {c: (before.get(c, "(none)"), after[c]) for c in AT_MAR_1}


# Fixed cut points. At 2011-06-01 00:00 five customers (R days, F orders, M):
#   K (0, 3, 500.00): 05-10, 05-20 00:00 (1 x 100.00 each), 05-31 18:00 (1 x 300.00)
#   A (10, 1, 10.00) 05-22 · B (20, 1, 20.00) 05-12 · C (30, 2, 30.00) 05-02 + 04-20 ·
#   D (40, 1, 40.00) 04-22, all at 00:00.
# Their cut points (20/40/60/80th, linear): R 8, 16, 24, 32; F 1, 1, 1.4, 2.2;
# M 18, 26, 34, 132. K: r 5 (none below 0), f 5, m 5 -> fm 5 -> Champions.
# By 12:00 the same day six new customers N1..N6 bought five orders of 1,000.00 each at 06:00;
# nobody else bought, so K, A, B, C, D keep their R, F, M (K: 18 h -> 0 days).
# Re-cut over the eleven customers: F 1, 3, 5, 5 and M 30, 500, 5000, 5000 (positions 2, 4, 6,
# 8 of the sorted values), R 0, 0, 0, 20: K gets f 2, m 2 -> fm 2, r 5 -> Potential Loyalist.
GROWTH_LINES = [
    ("200001", "2011-05-10 00:00:00", "100.00", "K"),
    ("200002", "2011-05-20 00:00:00", "100.00", "K"),
    ("200003", "2011-05-31 18:00:00", "300.00", "K"),
    ("200004", "2011-05-22 00:00:00", "10.00", "A"),
    ("200005", "2011-05-12 00:00:00", "20.00", "B"),
    ("200006", "2011-05-02 00:00:00", "15.00", "C"),
    ("200007", "2011-04-20 00:00:00", "15.00", "C"),
    ("200008", "2011-04-22 00:00:00", "40.00", "D"),
    *[(f"3{n}{i}0000"[:6], "2011-06-01 06:00:00", "1000.00", f"N{n}") for n in range(1, 7) for i in range(5)],
]


@pytest.fixture
def growth(tmp_path, duck):
    path = tmp_path / "growth.csv"
    path.write_text(
        "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
        + "".join(
            f"{inv},22728,ALARM CLOCK,1,{ts},{price},{cust},United Kingdom\n"
            for inv, ts, price, cust in GROWTH_LINES
        )
    )
    return movement.PurchaseHistory.from_source(_prepared(path, duck))


def test_unchanged_rfm_keeps_its_named_segment_on_the_from_dates_cut_points(growth):
    start, end = "2011-06-01 00:00", "2011-06-01 12:00"
    snapshots = growth.rfm_at([start, end])
    before = _as_dict(snapshots[snapshots["as_of"] == pd.Timestamp(start)])
    after = _as_dict(snapshots[snapshots["as_of"] == pd.Timestamp(end)])
    assert before["K"] == after["K"] == (0, 3, 500.00)
    assert len(before) == 5 and len(after) == 11
    fixed = movement.migration(growth, start, end).set_index("customer_id")
    assert (fixed.loc["K", "from_segment"], fixed.loc["K", "to_segment"]) == ("Champions", "Champions")
    # every old customer's R, F, M stayed, so none of them moved on fixed cut points
    old = fixed.loc[["K", "A", "B", "C", "D"]]
    assert (old["from_segment"] == old["to_segment"]).all()
    # re-cut over the grown file, K 'moves' although it did nothing: the scale moved
    each = movement.migration(growth, start, end, cut_points="each").set_index("customer_id")
    assert each.loc["K", "to_segment"] == "Potential Loyalist"
    assert movement.slipping(fixed.reset_index()).sum() == 0


def test_fixed_cut_points_need_customers_on_the_from_date(growth):
    with pytest.raises(DataValidationError, match="nobody had bought by the from date"):
        movement.migration(growth, "2011-01-01", "2011-06-01 12:00")
    # each date on its own cut points: everyone is new, nothing to refuse
    moves = movement.migration(growth, "2011-01-01", "2011-06-01 12:00", cut_points="each")
    assert set(moves["from_segment"]) == {"(none)"}
    with pytest.raises(ConfigError, match="cut points 'later' unknown"):
        movement.migration(growth, "2011-05-01", "2011-06-01", cut_points="later")


def test_slipping_is_a_good_segment_to_a_lapsing_one():
    moves = pd.DataFrame(
        {
            "customer_id": list("abcdef"),
            "from_segment": ["Champions", "Loyal", "Potential Loyalist", "At Risk", "(none)", "Champions"],
            "to_segment": ["At Risk", "Hibernating", "About to Sleep", "Hibernating", "At Risk", "Loyal"],
        }
    )
    assert movement.slipping(moves).tolist() == [True, True, True, False, False, False]


def test_point_in_time_equals_source_rfm_at_each_date_with_returns_netted(history_file, duck):
    prepared = _prepared(history_file, duck, returns="net")
    history = movement.PurchaseHistory.from_source(prepared)
    dates = ["2011-01-31 23:00", "2011-02-01 09:00", "2011-02-28", "2011-03-05 08:00", "2011-06-01"]
    snapshots = history.rfm_at(dates)
    for when in dates:
        expected = prepared.rfm(when).rfm
        got = snapshots[snapshots["as_of"] == pd.Timestamp(when)].drop(columns="as_of")
        pd.testing.assert_frame_equal(got.reset_index(drop=True), expected)
    # netted by hand: B's -1 x 2.00 on 02-01 09:00 counts from then on: 6.00 - 2.00 = 4.00
    at_feb_2 = snapshots[snapshots["as_of"] == pd.Timestamp("2011-02-28")]
    assert _as_dict(at_feb_2)["B"] == (27, 1, 4.00)


def test_month_ends_by_hand():
    ends = movement.month_ends(dt.datetime(2011, 11, 20), dt.datetime(2012, 2, 3))
    assert ends == [
        dt.datetime(2011, 11, 30, 23, 59, 59),
        dt.datetime(2011, 12, 31, 23, 59, 59),
        dt.datetime(2012, 1, 31, 23, 59, 59),
        dt.datetime(2012, 2, 29, 23, 59, 59),
    ]


def test_month_end_sizes_by_hand(history):
    sizes = movement.month_end_sizes(history, segment_by=_by_recency)
    # Jan 31 23:59:59: A 21 d 13 h -> 21 lapsing; B 59 min -> 0 active.
    # Feb 28 23:59:59: A 8 d -> active; B 28 d -> lapsing; C 13 d -> active.
    # Mar 31 23:59:59: A 39 d, B 59 d lapsing; C (03-05) 26 d lapsing; D 30 d lapsing.
    assert [(w.strftime("%Y-%m-%d"), s, n) for w, s, n in sizes.itertuples(index=False)] == [
        ("2011-01-31", "active", 1),
        ("2011-01-31", "lapsing", 1),
        ("2011-02-28", "active", 2),
        ("2011-02-28", "lapsing", 1),
        ("2011-03-31", "lapsing", 4),
    ]


def test_month_end_sizes_equal_one_source_rfm_per_month_end(sample_dataset, sample_model):
    dataset = sample_dataset
    mapping = resolve_mapping(dataset.table, {}, dataset.name)
    cleaning = CleaningConfig.preset(suggest_preset(mapping))
    history = movement.PurchaseHistory.from_source(Source(dataset, mapping, cleaning))
    ends = movement.month_ends(history.first_purchase, history.last_purchase)
    assert len(ends) == 13  # the sample runs 2009-12-01 .. 2010-12-09
    for lens in (movement.by_named_segment(), movement.by_model(sample_model)):
        sizes = movement.month_end_sizes(history, segment_by=lens)
        for when in ends:
            rfm = Source(dataset, mapping, cleaning).rfm(when).rfm
            expected = lens(rfm).value_counts().sort_index()
            got = sizes[sizes["month_end"] == pd.Timestamp(when)].set_index("segment")["customers"]
            assert got.sort_index().to_dict() == expected.to_dict(), when
    # the last month end is after the last purchase: every customer of the file is in it
    last = movement.month_end_sizes(history).query("month_end == @ends[-1]")
    assert last["customers"].sum() == len(Source(dataset, mapping, cleaning).rfm().rfm)


def test_bad_dates_are_refused_with_a_clear_message(history):
    with pytest.raises(ConfigError, match="from date 'someday' is not a date"):
        movement.migration(history, "someday", "2011-03-01")
    with pytest.raises(ConfigError, match="must be before the to date"):
        movement.migration(history, "2011-03-01", "2011-02-01")
    with pytest.raises(DataValidationError, match="no purchase on or before the to date 2010-12-01"):
        movement.migration(history, "2010-11-01", "2010-12-01")


def test_a_from_date_before_any_purchase_makes_everyone_new(history):
    moves = movement.migration(history, "2010-01-01", "2011-02-01", segment_by=_by_recency)
    assert moves.set_index("customer_id")["from_segment"].to_dict() == {"A": "(none)", "B": "(none)"}


# -- property: one grouped pass equals one Source.rfm per date, on generated files -------------


@SETTINGS
@given(
    lines=online_retail_lines,
    at_minutes=st.lists(st.integers(-60, 60 * 24 * 95), min_size=1, max_size=3),
    returns=st.sampled_from(["drop", "net"]),
)
def test_rfm_at_equals_source_rfm_at_each_date(tmp_path_factory, duck, lines, at_minutes, returns):
    path = _write_csv(tmp_path_factory.mktemp("movement"), lines)
    prepared = _prepared(path, duck, returns)
    try:
        history = movement.PurchaseHistory.from_source(prepared)
    except DataValidationError:  # nothing kept at all: Source.rfm refuses the file too
        with pytest.raises(DataValidationError):
            prepared.rfm()
        return
    dates = [BASE + dt.timedelta(minutes=m) for m in at_minutes]
    snapshots = history.rfm_at(dates)
    for when in dates:
        got = snapshots[snapshots["as_of"] == pd.Timestamp(when)].drop(columns="as_of")
        try:
            expected = prepared.rfm(when).rfm
        except DataValidationError:  # nobody had bought by then
            assert got.empty
            continue
        pd.testing.assert_frame_equal(got.reset_index(drop=True), expected)
