"""Customer lifetime value (core.clv): BG/NBD + Gamma-Gamma by maximum likelihood.

Golden cases: the published CDNOW parameters (Fader, Hardie & Lee 2005; Fader & Hardie
2013) from the public 2,357-customer sample, and the CDNOW summary rebuilt from its raw lines
by the engine. Properties over generated customers. A hand-computed file through the command
line. Refusals for each rule. Expected values are computed here independently: the papers'
formulas written out in their plain form (no Euler transformation), pandas over the raw
file, and numbers worked out by hand.
"""

from __future__ import annotations

import datetime as dt
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.special import hyp2f1

from core import clv
from core.cleaning import GENERIC
from core.config import CLVConfig
from core.errors import ConfigError, DataValidationError
from core.movement import PurchaseHistory
from core.options import ReadOptions
from core.rfm import open_source

DATA = Path(__file__).resolve().parents[1] / "data"
REPO = Path(__file__).resolve().parents[2]
SUMMARY = DATA / "cdnow_summary.csv"
RAW = DATA / "cdnow_sample.csv"
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def cdnow():
    return pd.read_csv(SUMMARY)


@pytest.fixture(scope="module")
def bgnbd(cdnow):
    return clv.BetaGeoModel().fit(cdnow["x"], cdnow["t_x"], cdnow["T"])


def plain_expected(params, t, x, t_x, big_t):
    """FHL 2005 eq. (10) as printed (hyp2f1 in its plain form)."""
    r, alpha, a, b = params
    z = t / (alpha + big_t + t)
    head = (a + b + x - 1) / (a - 1)
    tail = 1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    odds = (a / (b + x - 1)) * ((alpha + big_t) / (alpha + t_x)) ** (r + x) if x > 0 else 0.0
    return head * tail / (1 + odds)


def plain_p_alive(params, x, t_x, big_t):
    r, alpha, a, b = params
    if x == 0:
        return 1.0
    return 1 / (1 + (a / (b + x - 1)) * ((alpha + big_t) / (alpha + t_x)) ** (r + x))


# ------------------------------------------------------------------ published CDNOW figures


def test_bgnbd_reproduces_the_published_cdnow_parameters(cdnow, bgnbd):
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in bgnbd.params().items():
        assert value == pytest.approx(published[name], rel=0.01), name
    assert bgnbd.log_likelihood_ == pytest.approx(-9582.4, abs=0.1)  # FHL 2005, table 1
    assert bgnbd.customers_ == 2357


def test_gamma_gamma_reproduces_the_published_cdnow_parameters(cdnow):
    model = clv.GammaGammaModel().fit(cdnow["x"], cdnow["zbar"])
    published = {"p": 6.25, "q": 3.74, "gamma": 15.44}
    for name, value in model.params().items():
        assert value == pytest.approx(published[name], rel=0.01), name
    assert model.customers_ == int((cdnow["x"] > 0).sum()) == 946
    assert model.zero_spend_ == 0


def test_conditional_expectation_matches_the_papers_worked_example():
    # FHL's note on the conditional expectation: customer x=2, t_x=30.43, T=38.86 expects
    # 1.226 purchases in the next 39 weeks under the published parameters.
    model = clv.BetaGeoModel()
    model.r_, model.alpha_, model.a_, model.b_ = 0.243, 4.414, 0.793, 2.426
    assert model.expected_purchases(39, [2], [30.43], [38.86])[0] == pytest.approx(1.226, abs=0.001)


@given(x=st.integers(0, 60), t_x=st.floats(0.1, 60), gap=st.floats(0, 60), t=st.floats(0.5, 120))
@SETTINGS
def test_stable_form_equals_the_printed_formula(bgnbd, x, t_x, gap, t):
    big_t = t_x + gap
    t_x = t_x if x > 0 else 0.0
    params = (bgnbd.r_, bgnbd.alpha_, bgnbd.a_, bgnbd.b_)
    plain = plain_expected(params, t, x, t_x, big_t)
    ours = bgnbd.expected_purchases(t, [x], [t_x], [big_t])[0]
    assert ours == pytest.approx(plain, rel=1e-7, abs=1e-10)
    # The fallback for frequent buyers, Euler's transformation, is the same number here.
    r, alpha, a, b = params
    z = t / (alpha + big_t + t)
    c = a + b + x - 1
    printed_term = (1 - z) ** (r + x) * hyp2f1(r + x, b + x, c, z)
    euler_term = (1 - z) ** (a - 1) * hyp2f1(c - r - x, a - 1, c, z)
    assert euler_term == pytest.approx(printed_term, rel=1e-8)
    assert bgnbd.p_alive([x], [t_x], [big_t])[0] == pytest.approx(
        plain_p_alive(params, x, t_x, big_t), rel=1e-9
    )


def test_frequent_buyers_get_finite_forecasts_where_the_printed_formula_overflows(bgnbd):
    x, t, big_t = np.array([5000.0, 200.0]), np.array([39.0, 520.0]), np.array([78.0, 10.0])
    with np.errstate(all="ignore"):
        printed = [
            plain_expected((bgnbd.r_, bgnbd.alpha_, bgnbd.a_, bgnbd.b_), t[i], x[i], big_t[i], big_t[i])
            for i in range(2)
        ]
    out = bgnbd.expected_purchases(t, x, big_t, big_t)
    assert not np.isfinite(printed).any()
    # Bought up to the as-of day: between a tenth and all of what the same customer would
    # buy at the posterior mean rate (r + x) / (alpha + T) if nobody ever dropped out.
    no_dropout = (bgnbd.r_ + x) / (bgnbd.alpha_ + big_t) * t
    assert np.isfinite(out).all() and (out < no_dropout).all() and (out > no_dropout / 10).all()


# ------------------------------------------------------------- the engine's summary stage


@pytest.fixture(scope="module")
def raw_history():
    # CDNOW counts $0 purchases as transactions: the engine's "amount <= 0" rule is off here.
    rules = tuple(r for r in GENERIC if r != "amount_not_positive")
    src = open_source(RAW, ReadOptions(rules=rules, loaded_on=dt.date(2024, 1, 1)))
    return PurchaseHistory.from_source(src)


def test_summary_from_raw_lines_matches_the_published_summary(cdnow, raw_history):
    days = clv.purchase_days(raw_history.purchases)
    ours = clv.summary_frame(days, dt.date(1997, 9, 30)).set_index("customer_id")
    theirs = cdnow.assign(customer_id=cdnow["ID"].astype(str)).set_index("customer_id")
    assert len(ours) == len(theirs) == 2357
    theirs = theirs.loc[ours.index]
    assert (ours["frequency"] == theirs["x"]).all()
    assert np.allclose(ours["recency_days"] / 7, theirs["t_x"], atol=0.006)
    assert np.allclose(ours["age_days"] / 7, theirs["T"], atol=0.006)
    assert np.allclose(ours["spend"], theirs["zbar"], atol=0.006)


def test_summary_counts_days_not_orders_by_hand(raw_history):
    # Customer 1 bought on 1997-01-01, 01-18 and 08-02 before the cut (raw file).
    days = clv.purchase_days(raw_history.purchases)
    row = clv.summary_frame(days, dt.date(1997, 9, 30)).set_index("customer_id").loc["1"]
    assert row["frequency"] == 2
    assert row["recency_days"] == (dt.date(1997, 8, 2) - dt.date(1997, 1, 1)).days
    assert row["age_days"] == (dt.date(1997, 9, 30) - dt.date(1997, 1, 1)).days
    assert row["spend"] == pytest.approx((29.73 + 14.96) / 2)


# ------------------------------------------------------------------------------ properties

customers = st.lists(
    st.tuples(st.integers(0, 40), st.floats(0.0, 1.0), st.floats(0.5, 80)), min_size=1, max_size=40
)


def _unpack(rows):
    x = np.array([r[0] for r in rows], float)
    big_t = np.array([r[2] for r in rows])
    t_x = np.where(x > 0, np.maximum(np.array([r[1] for r in rows]) * big_t, 1e-3), 0.0)
    return x, t_x, big_t


@given(rows=customers, t=st.floats(0, 200))
@SETTINGS
def test_predictions_are_non_negative_and_p_alive_a_probability(bgnbd, rows, t):
    x, t_x, big_t = _unpack(rows)
    expected = bgnbd.expected_purchases(t, x, t_x, big_t)
    alive = bgnbd.p_alive(x, t_x, big_t)
    assert (expected >= 0).all() and np.isfinite(expected).all()
    assert ((alive >= 0) & (alive <= 1)).all()
    assert (alive[x == 0] == 1.0).all()


@given(x=st.integers(0, 50), big_t=st.floats(1, 80))
@SETTINGS
def test_more_purchases_mean_more_expected_when_the_last_was_at_the_as_of(bgnbd, x, big_t):
    at_x = bgnbd.expected_purchases(39, [x], [big_t if x else 0.0], [big_t])[0]
    at_next = bgnbd.expected_purchases(39, [x + 1], [big_t], [big_t])[0]
    assert at_next > at_x


def test_more_purchases_long_ago_mean_fewer_expected(bgnbd):
    # The model's known reading (FHL 2005, fig. 4): a frequent buyer silent for long is
    # probably gone, so at an old last purchase more purchases lower the forecast.
    few, many = bgnbd.expected_purchases(39, [2, 10], [10.0, 10.0], [39.0, 39.0])
    assert many < few


@given(rows=customers)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_days_and_weeks_give_the_same_predictions(cdnow, bgnbd, rows):
    in_days = clv.BetaGeoModel().fit(cdnow["x"], cdnow["t_x"] * 7, cdnow["T"] * 7)
    x, t_x, big_t = _unpack(rows)
    weeks = bgnbd.expected_purchases(39, x, t_x, big_t)
    days = in_days.expected_purchases(39 * 7, x, t_x * 7, big_t * 7)
    assert np.allclose(days, weeks, rtol=1e-4, atol=1e-9)
    assert np.allclose(in_days.p_alive(x, t_x * 7, big_t * 7), bgnbd.p_alive(x, t_x, big_t), rtol=1e-4)
    assert in_days.alpha_ == pytest.approx(bgnbd.alpha_ * 7, rel=1e-4)


# --------------------------------------------------------------------- CLV and the config


def test_clv_is_the_discounted_sum_of_monthly_purchases_times_spend(cdnow):
    summary = pd.DataFrame(
        {
            "customer_id": cdnow["ID"].astype(str),
            "frequency": cdnow["x"],
            "recency_days": cdnow["t_x"] * 7,
            "age_days": cdnow["T"] * 7,
            "spend": cdnow["zbar"],
        }
    )
    result = clv.customer_value(summary, CLVConfig(weeks=39, months=12, discount=0.01))
    row = result.table.iloc[0]  # ID 1: x=2, t_x=30.43, T=38.86, zbar=22.35
    bg, gg = result.purchases, result.spend
    params = (bg.r_, bg.alpha_, bg.a_, bg.b_)
    spend = gg.p_ * (gg.gamma_ + 2 * 22.35) / (gg.p_ * 2 + gg.q_ - 1)
    value = (
        sum(
            (
                plain_expected(params, m * 4.345, 2, 30.43, 38.86)
                - plain_expected(params, (m - 1) * 4.345, 2, 30.43, 38.86)
            )
            / 1.01**m
            for m in range(1, 13)
        )
        * spend
    )
    assert row["expected_spend"] == pytest.approx(spend, rel=1e-9)
    assert row["clv"] == pytest.approx(value, rel=1e-7)
    assert row["expected_purchases"] == pytest.approx(plain_expected(params, 39, 2, 30.43, 38.86))
    assert list(result.table.columns) == list(clv.OUTPUT_COLUMNS)
    assert not result.table.isna().any().any()
    one_timers = result.table[result.table["frequency"] == 0]
    assert (one_timers["p_alive"] == 1).all()
    assert one_timers["expected_spend"].nunique() == 1  # the population mean p gamma / (q - 1)
    assert one_timers["expected_spend"].iloc[0] == pytest.approx(gg.p_ * gg.gamma_ / (gg.q_ - 1))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(weeks=0),
        dict(weeks=float("nan")),
        dict(months=0),
        dict(months=1.5),
        dict(discount=-0.01),
        dict(discount=1),
        dict(weeks_per_month=0),
        dict(months=True),
    ],
)
def test_config_refuses_values_out_of_range(kwargs):
    with pytest.raises(ConfigError):
        CLVConfig(**kwargs)


# -------------------------------------------------------------------------------- refusals


def _summary(n_repeat, n_once=50, age=200):
    """Repeat customers with varied frequency and recency, then one-time buyers."""
    ids = [f"c{i}" for i in range(n_repeat + n_once)]
    return pd.DataFrame(
        {
            "customer_id": ids,
            "frequency": [1 + i % 5 for i in range(n_repeat)] + [0] * n_once,
            "recency_days": [min(age, 10 + 7 * i) for i in range(n_repeat)] + [0] * n_once,
            "age_days": [age] * (n_repeat + n_once),
            "spend": [20.0 + i for i in range(n_repeat)] + [0.0] * n_once,
        }
    )


def test_refuses_too_few_repeat_customers():
    with pytest.raises(DataValidationError, match="only 19 customers bought on more than one day"):
        clv.customer_value(_summary(clv.MIN_REPEAT_CUSTOMERS - 1))


def test_refuses_a_short_span():
    with pytest.raises(DataValidationError, match="spans 55 days"):
        clv.customer_value(_summary(40, age=55))


def test_refuses_too_few_repeaters_with_spend():
    summary = _summary(40)
    summary.loc[:25, "spend"] = 0.0  # 26 repeat customers spent 0
    with pytest.raises(
        DataValidationError,
        match="only 14 customers have repeat purchases with a "
        r"spend above 0 \(26 repeaters spent 0\)",
    ):
        clv.customer_value(summary)


def test_zero_spend_repeaters_are_left_out_of_the_spend_fit_and_counted(cdnow):
    zbar = cdnow["zbar"].copy()
    repeaters = cdnow.index[cdnow["x"] > 0][:3]
    zbar.loc[repeaters] = 0.0
    model = clv.GammaGammaModel().fit(cdnow["x"], zbar)
    assert model.zero_spend_ == 3 and model.customers_ == 946 - 3


def test_refuses_a_fit_that_runs_away():
    with pytest.raises(DataValidationError, match="did not converge"):
        clv.maximum_likelihood(lambda p: -float(np.sum(p)), np.zeros(2), "test model")


def test_refuses_a_spend_with_no_finite_mean():
    rng = np.random.default_rng(3)
    x = rng.integers(1, 5, 400).astype(float)
    z = 1.0 / rng.uniform(0, 1, 400) ** 2.0  # Pareto, tail index 1/2: no mean
    with pytest.raises(DataValidationError, match="no finite mean spend"):
        clv.GammaGammaModel().fit(x, z)


def test_unfitted_model_refuses_to_predict():
    with pytest.raises(ConfigError, match="not fitted"):
        clv.BetaGeoModel().p_alive([1], [1.0], [2.0])


def test_refuses_recency_after_age():
    with pytest.raises(ConfigError, match="do not fit"):
        clv.BetaGeoModel().fit([1] * 30, [5.0] * 30, [4.0] * 30)


# ------------------------------------------------------------------------------- backtest


def test_backtest_on_cdnow_counts_what_happened(raw_history):
    raw = pd.read_csv(RAW, dtype={"customer_id": str}, parse_dates=["date"])
    days = raw.drop_duplicates(["customer_id", "date"])
    cut, end = pd.Timestamp("1997-09-30"), pd.Timestamp("1998-06-30")
    known = set(days.loc[days["date"] <= cut, "customer_id"])
    later = days[(days["date"] > cut) & (days["date"] <= end) & days["customer_id"].isin(known)]
    result = clv.backtest(clv.purchase_days(raw_history.purchases), end.date(), cut.date())
    assert result.actual_total == len(later)
    assert result.holdout_weeks == pytest.approx(39)
    bg = result.purchases
    assert bg.r_ == pytest.approx(0.243, rel=0.01)
    cal = raw_history  # predicted total = sum of eq. (10) at 39 weeks over the calibration rows
    summary = clv.summary_frame(clv.purchase_days(cal.purchases), cut.date())
    params = (bg.r_, bg.alpha_, bg.a_, bg.b_)
    predicted = sum(
        plain_expected(params, 39, x, tx / 7, t / 7)
        for x, tx, t in zip(summary["frequency"], summary["recency_days"], summary["age_days"])
    )
    assert result.predicted_total == pytest.approx(predicted, rel=1e-6)
    assert result.cumulative["actual"].iloc[-1] == result.actual_total
    assert result.cumulative["predicted"].iloc[-1] == pytest.approx(predicted, rel=1e-6)
    assert (np.diff(result.cumulative["actual"]) >= 0).all()
    assert result.by_frequency["customers"].sum() == len(known)
    assert list(result.by_frequency["repeat_purchases"]) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    per_customer = later.groupby("customer_id").size().reindex(sorted(known), fill_value=0)
    ours = result.customers.set_index("customer_id").loc[per_customer.index]
    assert (ours["actual"].to_numpy() == per_customer.to_numpy()).all()
    assert result.mae == pytest.approx((ours["predicted"] - ours["actual"]).abs().mean())
    words = result.words()
    assert f"{result.predicted_total:,.0f} purchases" in words and f"{len(later):,} happened" in words


def test_default_cut_holds_out_a_third_and_at_least_eight_weeks():
    assert clv.default_cut(dt.date(2020, 1, 1), dt.date(2020, 12, 31)) == dt.date(2020, 8, 31)
    assert clv.default_cut(dt.date(2020, 1, 1), dt.date(2020, 5, 1)) == dt.date(2020, 3, 6)
    with pytest.raises(DataValidationError, match="needs at least 16 weeks"):
        clv.default_cut(dt.date(2020, 1, 1), dt.date(2020, 4, 1))


# ---------------------------------------------------------------- end to end, by hand


def _hand_file(path: Path) -> dict:
    """Two hand-made customers plus 80 seeded random buyers (so that the model can be fitted);
    returns the random buyers' purchase days, from which the test computes their summary."""
    rows = [
        "Invoice,Customer,Date,Amount",
        # A: two orders on 2024-01-01 (one day), then 01-15 and 03-01 -> frequency 2
        "A1,A,2024-01-01 09:00,10.00",
        "A2,A,2024-01-01 17:30,5.00",
        "A3,A,2024-01-15 12:00,30.00",
        "A4,A,2024-03-01 08:00,50.00",
        # B: one day only, three orders -> frequency 0
        "B1,B,2024-02-10 10:00,7.00",
        "B2,B,2024-02-10 11:00,8.00",
        "B3,B,2024-02-10 23:59,9.00",
    ]
    rng = random.Random(7)
    bought = {}
    for i in range(80):
        first = rng.randrange(0, 120)
        days = {first} | {rng.randrange(first, 150) for _ in range(rng.choice([0, 0, 1, 2, 4, 8]))}
        bought[f"F{i:02d}"] = sorted(days)
        for k, day in enumerate(sorted(days)):
            for order in range(rng.choice([1, 1, 2])):  # sometimes two orders on one day
                when = dt.date(2024, 1, 1) + dt.timedelta(days=day)
                rows.append(f"F{i}-{k}-{order},F{i:02d},{when} {10 + order}:00,{rng.randint(5, 90)}.00")
    rows.append("Z1,Z,2024-06-01 10:00,1.00")  # the latest purchase: the default as-of day
    path.write_text("\n".join(rows) + "\n")
    return bought


def test_command_line_end_to_end_by_hand(tmp_path):
    source, out = tmp_path / "orders.csv", tmp_path / "clv.csv"
    bought = _hand_file(source)
    run = subprocess.run(
        [sys.executable, "-m", "core", "clv", str(source), "-o", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "r=" in run.stderr and "log-likelihood" in run.stderr and "P(alive) is 1" in run.stderr
    table = pd.read_csv(out, dtype={"customer_id": str}).set_index("customer_id")
    assert list(table.columns) == list(clv.OUTPUT_COLUMNS[1:])
    a, b = table.loc["A"], table.loc["B"]
    assert a["frequency"] == 2
    assert a["recency_weeks"] == pytest.approx(60 / 7, abs=1e-4)  # 01-01 -> 03-01 (leap year)
    assert a["age_weeks"] == pytest.approx(152 / 7, abs=1e-4)  # 01-01 -> 06-01
    assert b["frequency"] == 0 and b["recency_weeks"] == 0
    assert b["age_weeks"] == pytest.approx(112 / 7, abs=1e-4)  # 02-10 -> 06-01
    assert b["p_alive"] == 1
    assert len(table) == 83 and not table.isna().any().any()
    assert (table["expected_purchases"] >= 0).all() and (table["clv"] >= 0).all()
    as_of_day = (dt.date(2024, 6, 1) - dt.date(2024, 1, 1)).days
    for customer, days in bought.items():
        row = table.loc[customer]
        assert row["frequency"] == len(days) - 1
        assert row["recency_weeks"] == pytest.approx((days[-1] - days[0]) / 7, abs=1e-4)
        assert row["age_weeks"] == pytest.approx((as_of_day - days[0]) / 7, abs=1e-4)


def test_command_line_refuses_a_short_file_in_one_line(tmp_path):
    source, out = tmp_path / "short.csv", tmp_path / "clv.csv"
    source.write_text("Invoice,Customer,Date,Amount\n1,A,2024-01-01,5\n2,A,2024-01-20,5\n")
    run = subprocess.run(
        [sys.executable, "-m", "core", "clv", str(source), "-o", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "at least 8 weeks" in run.stderr
    assert not out.exists()


# ------------------------------------------------------- exports, report and lookup carry it


def _forecast_of(ids, clv_values):
    n = len(ids)
    return pd.DataFrame(
        {
            "customer_id": pd.array(ids, dtype="string"),
            "frequency": [1] * n,
            "recency_weeks": [1.0] * n,
            "age_weeks": [2.0] * n,
            "expected_purchases": [0.123456] * n,
            "p_alive": [0.98766] * n,
            "expected_spend": [10.005] * n,
            "clv": clv_values,
        }
    )


def test_campaign_export_and_report_carry_the_value_columns():
    from core.campaign import campaign_table
    from core.cleaning import CleaningAudit
    from core.report import ReportInputs, build_report
    from core.scores import score_table

    scored = score_table(
        pd.DataFrame(
            {
                "customer_id": pd.array(["a", "b", "c"], dtype="string"),
                "recency": [1, 20, 90],
                "frequency": [3, 1, 2],
                "monetary": [30.0, 5.0, 12.0],
                "tier": pd.array([pd.NA] * 3, dtype="string"),
                "cluster": pd.array([0, 1, 0], dtype="Int64"),
                "segment": ["Premium", "Lapsed", "Premium"],
            }
        )
    )
    valued = clv.with_value(scored, _forecast_of(["c", "a", "b"], [3.333, 100.0, 0.5]))
    assert len(valued) == 3 and list(valued["customer_id"]) == ["a", "b", "c"]
    assert list(valued["clv"]) == [100.0, 0.5, 3.33]  # rounded to cents, by customer
    assert valued["p_alive"].iloc[0] == 0.9877 and valued["expected_purchases"].iloc[0] == 0.1235
    attributes = pd.DataFrame(
        {
            "customer_id": pd.array(["a", "b", "c"], dtype="string"),
            "first_purchase": pd.NaT,
            "last_purchase": pd.NaT,
        }
    )
    export = campaign_table(valued, attributes)
    assert list(export.columns[-4:]) == list(clv.VALUE_COLUMNS)
    assert list(campaign_table(scored, attributes).columns[-1:]) == ["segment"]  # none: no columns

    audit = CleaningAudit(rows_in=3, removed=(), rows_out=3, customers_out=3)
    common = dict(
        source_name="f.csv",
        audit=audit,
        as_of=dt.datetime(2024, 3, 10),
        generated_at=dt.datetime(2024, 3, 11),
        data_fingerprint="x",
        model_version=None,
        model_k=2,
        currency="GBP",
    )
    page = build_report(ReportInputs(scored=valued, **common))
    section = page[page.index("<h2>Lifetime value</h2>") : page.index("<h2>How this was computed")]
    assert "£103.83" in section and "P(alive) is 1" in section and "plotly-graph-div" in section
    refused = build_report(
        ReportInputs(scored=scored, value_note="Lifetime value not available: only 3 customers", **common)
    )
    section = refused[refused.index("<h2>Lifetime value</h2>") :]
    assert "Lifetime value not available: only 3 customers" in section.split("<h2>")[1]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--discount", "1.5"], "discount must be a monthly rate"),
        (["--months", "0"], "months must be a whole number from 1 to 120"),
        (["--weeks", "0"], "weeks must be a number of weeks"),
        (["--engine", "spark"], "clv runs on DuckDB only"),
    ],
)
def test_command_line_refuses_bad_settings_before_reading(tmp_path, flags, message):
    out = tmp_path / "clv.csv"
    run = subprocess.run(
        [sys.executable, "-m", "core", "clv", str(tmp_path / "missing.csv"), *flags, "-o", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and message in run.stderr
    assert not out.exists()
