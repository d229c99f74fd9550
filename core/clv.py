"""Customer lifetime value: who will buy again, and what each customer is worth.

Two probability models, fitted by maximum likelihood on the user's own purchases:

- BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive a
  customer buys at a Poisson rate (rates Gamma(r, alpha) over customers); after each purchase
  they may drop out for good with probability p (p ~ Beta(a, b)). From a customer's
  frequency, recency and age it gives the expected purchases in the next t and P(alive).
- Gamma-Gamma (Fader & Hardie 2013, "The Gamma-Gamma model of monetary value"): the value
  of a transaction is Gamma(p, nu) around the customer's mean, nu ~ Gamma(q, gamma); it
  gives the expected spend per purchase, the customer's own mean shrunk towards the mean of all.

Definitions (DESIGN.md, "Customer lifetime value"): a transaction is a distinct purchase
*day* (several orders on one day are one); frequency = repeat transactions (purchase days
- 1); recency = days from the first to the last purchase day; age = days from the first
purchase day to the as-of day; spend = mean value of the repeat transactions (the first
day's value is left out, as in the papers). Zero-spend repeaters are left out of the
Gamma-Gamma fit and counted. Times are fitted in weeks (the papers' unit); the models are
scale-free (any unit gives the same predictions, a test checks it).

One-time buyers (frequency 0) have P(alive) = 1 *by the model's construction*: BG/NBD lets
a customer drop out only right after a repeat purchase, so someone who bought once cannot
yet have dropped out. Their expected purchases are still small: the model expects few
purchases from a customer with one purchase in a long time.

    history = PurchaseHistory.from_source(open_source(path, options))   # core.movement
    result = clv_from_history(history, as_of)      # both fits, every customer's forecast
    result.table                                   # customer_id, frequency, ... clv
    checked = backtest_history(history, as_of)     # the forecast checked on the file
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy import optimize, special
from threadpoolctl import threadpool_limits

from core import query
from core.config import CLV_DEFAULTS as DEFAULTS
from core.config import CLVConfig
from core.errors import ConfigError, DataValidationError
from core.options import parse_as_of, parse_given_date

DAYS_PER_WEEK = 7.0
MIN_REPEAT_CUSTOMERS = 20  # fewer customers who came back cannot pin down a dropout rate
MIN_SPAN_WEEKS = 8  # from the first purchase in the data to the as-of date
HOLDOUT_SHARE = 1 / 3  # backtest: the last third of the span is held out ...
MIN_HOLDOUT_WEEKS = 8  # ... and at least this many weeks
REPEAT_BUCKETS = 7  # backtest chart: 0..6 repeat purchases, then "7+"

VALUE_COLUMNS = ("expected_purchases", "p_alive", "expected_spend", "clv")  # carried by exports
OUTPUT_COLUMNS = (
    "customer_id",
    "frequency",
    "recency_weeks",
    "age_weeks",
    "expected_purchases",
    "p_alive",
    "expected_spend",
    "clv",
)


# --------------------------------------------------------------------------- the data stage


def purchase_days(orders: ibis.Table, until: _dt.datetime | None = None) -> ibis.Table:
    """Per (customer_id, day): the kept purchases of that day and their value (grain: a day).

    ``orders``: the pipeline's per-order stage (core.rfm.group_orders, or its reduction
    core.movement.PurchaseHistory.purchases): customer_id, invoice_ts, value, failed (0 = kept).
    ``until``: only orders with a timestamp up to it (the data as it stood then). Returns
    customer_id, day (date), value (the orders' exact decimal sum; returns are not netted here).
    """
    o = orders
    o = o.filter((o.failed == 0) & o.customer_id.notnull())
    if until is not None:
        o = o.filter(o.invoice_ts <= ibis.literal(until))
    return o.group_by(customer_id=o.customer_id, day=o.invoice_ts.date()).aggregate(
        value=o.value.sum()
    )  # exact decimals: a float sum's order would move the fit


def purchase_summary(days: ibis.Table, as_of_day: _dt.date) -> ibis.Table:
    """Per customer (grain: a customer) at ``as_of_day``, from ``purchase_days``: frequency
    (repeat purchase days), recency_days (first to last purchase day), age_days (first
    purchase day to ``as_of_day``), spend (mean value of the repeat days, 0 with none).
    Only days up to ``as_of_day`` count. Ordered by customer_id."""
    d = days.filter(days.day <= ibis.literal(as_of_day))
    d = d.mutate(first_day=d.day.min().over(ibis.window(group_by="customer_id")))
    first = d.day == d.first_day
    per = d.group_by("customer_id").aggregate(
        purchase_days=d.day.count(),
        first_day=d.first_day.min(),
        last_day=d.day.max(),
        repeat_value=d.value.sum(where=~first).fill_null(0),
    )
    frequency = per.purchase_days - 1
    return per.select(
        customer_id=per.customer_id,
        frequency=frequency.cast("int64"),
        recency_days=per.last_day.delta(per.first_day, unit="day").cast("int64"),
        age_days=ibis.literal(as_of_day).delta(per.first_day, unit="day").cast("int64"),
        spend=ibis.ifelse(frequency > 0, per.repeat_value.cast("float64") / frequency, 0.0),
    ).order_by("customer_id")


# ----------------------------------------------------------------------------- the models


def _compress(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct rows of the columns, how many customers share each, and the inverse
    (the likelihood and predictions are computed once per distinct row)."""
    stacked = np.column_stack(columns)
    order = np.lexsort(stacked.T[::-1])  # a sort per column: np.unique(axis=0) is 5x slower
    ordered = stacked[order]
    starts = np.r_[True, np.any(ordered[1:] != ordered[:-1], axis=1)]
    group = np.cumsum(starts) - 1
    inverse = np.empty(len(stacked), dtype=np.int64)
    inverse[order] = group
    counts = np.bincount(group).astype(float)
    return ordered[starts], counts, inverse


def _weighted_sum(weights: np.ndarray, values: np.ndarray) -> float:
    # Not np.dot: a BLAS call spins up its thread pool per call, 30x slower on a busy machine.
    return float((weights * values).sum())


LOG_PARAMETER_LIMIT = 20.0  # parameters between e^-20 and e^20 on the fit's scale


def maximum_likelihood(negative_ll, start: np.ndarray, what: str) -> np.ndarray:
    """The log-parameters minimising ``negative_ll``: L-BFGS-B within +-LOG_PARAMETER_LIMIT,
    then Nelder-Mead from there if it did not converge. DataValidationError naming ``what``
    when neither converges or a parameter ends on the limit (running away)."""
    limit = LOG_PARAMETER_LIMIT
    with threadpool_limits(1):  # L-BFGS-B's BLAS calls on 4 numbers: threads only cost
        res = optimize.minimize(
            negative_ll,
            start,
            method="L-BFGS-B",
            bounds=[(-limit, limit)] * len(start),
            options={"maxiter": 5000, "ftol": 1e-13, "gtol": 1e-8},
        )
        if not (res.success and np.isfinite(res.fun)):
            res = optimize.minimize(
                negative_ll,
                np.clip(res.x, -limit, limit),
                method="Nelder-Mead",
                options={"maxiter": 8000, "xatol": 1e-9, "fatol": 1e-10},
            )
    if (
        not res.success
        or not np.isfinite(res.fun)
        or not np.all(np.isfinite(res.x))
        or np.any(np.abs(res.x) >= limit - 1e-3)
    ):
        raise DataValidationError(
            f"the {what} fit did not converge on this data (parameters running away); the "
            "purchases may be too few or too regular for the model: use a longer span or more "
            "customers"
        )
    return res.x


def _learned() -> Any:
    """A field the fit sets: None until then, and no argument of the constructor."""
    return field(default=None, init=False)


@dataclass
class _FittedModel:
    """What each model's fit learns besides its parameters: ``log_likelihood_``, the fit's
    total log-likelihood, and ``customers_``, how many customers it was fitted on."""

    log_likelihood_: float | None = _learned()
    customers_: int | None = _learned()


@dataclass
class BetaGeoModel(_FittedModel):
    """BG/NBD: fit on (frequency, recency, age) in one time unit, then predict in that unit.

    Learned: ``r_``, ``alpha_`` (purchase rates ~ Gamma(r, alpha)), ``a_``, ``b_`` (dropout
    probability ~ Beta(a, b)), ``log_likelihood_`` (the fit's total log-likelihood),
    ``customers_``. ``expected_purchases`` and ``p_alive`` refuse an unfitted model.
    """

    r_: float | None = _learned()
    alpha_: float | None = _learned()
    a_: float | None = _learned()
    b_: float | None = _learned()

    def fit(self, frequency, recency, age) -> BetaGeoModel:
        """Maximum likelihood (FHL 2005, eq. 6, in log space). ``frequency``: repeat
        purchases; ``recency``: first to last purchase; ``age``: first purchase to as-of (the
        same unit). DataValidationError when too few customers came back or the fit fails."""
        x, t_x, big_t = _bgnbd_arrays(frequency, recency, age)
        repeaters = int((x > 0).sum())
        if repeaters < MIN_REPEAT_CUSTOMERS:
            raise DataValidationError(
                f"only {repeaters} customers bought on more than one day; the purchase model "
                f"needs at least {MIN_REPEAT_CUSTOMERS}: use a file with more history or more "
                "customers"
            )
        # Scale-free: times are divided by the mean age so that alpha starts near 1 in any unit.
        scale = float(big_t.mean()) or 1.0
        rows, weights, _ = _compress(x, t_x / scale, big_t / scale)
        xs, txs, ts = rows[:, 0], rows[:, 1], rows[:, 2]
        distinct_x, x_index = np.unique(xs, return_inverse=True)

        def negative_ll(log_params):
            # FHL 2005 eq. (6) in logs; the gamma and beta functions depend on x alone and are
            # taken once per distinct x; B(a+1, b+x-1) = B(a, b+x) a / (b+x-1).
            r, alpha, a, b = np.exp(log_params)
            head = special.gammaln(r + distinct_x) - special.gammaln(r) + r * np.log(alpha)
            still_x = special.betaln(a, b + distinct_x) - special.betaln(a, b)
            with np.errstate(divide="ignore", invalid="ignore"):
                dropped_x = np.where(
                    distinct_x > 0,
                    still_x + np.log(a) - np.log(np.maximum(b + distinct_x - 1.0, 1e-300)),
                    -np.inf,
                )
            power = r + xs
            ll = head[x_index] + np.logaddexp(
                still_x[x_index] - power * np.log(alpha + ts),
                dropped_x[x_index] - power * np.log(alpha + txs),
            )
            total = _weighted_sum(weights, ll)
            return -total if np.isfinite(total) else np.inf

        log_params = maximum_likelihood(negative_ll, np.zeros(4), "purchase model (BG/NBD)")
        r, alpha, a, b = np.exp(log_params)
        self.r_, self.alpha_, self.a_, self.b_ = float(r), float(alpha * scale), float(a), float(b)
        # ln L in the data's time unit: scaling times by s moves it by -x ln s per customer.
        self.log_likelihood_ = float(-negative_ll(log_params) - _weighted_sum(weights, xs) * np.log(scale))
        self.customers_ = int(len(x))
        return self

    def _params(self) -> tuple[float, float, float, float]:
        if self.r_ is None or self.alpha_ is None or self.a_ is None or self.b_ is None:
            raise ConfigError("the purchase model is not fitted yet; call fit first")
        return self.r_, self.alpha_, self.a_, self.b_

    def p_alive(self, frequency, recency, age) -> np.ndarray:
        """P(the customer has not dropped out by ``age``), FHL 2005 eq. (9) as given in their
        note on P(alive). 1 for frequency 0 by the model's construction (dropout happens only
        after a repeat purchase)."""
        r, alpha, a, b = self._params()
        x, t_x, big_t = _bgnbd_arrays(frequency, recency, age)
        return 1.0 / (1.0 + _dropout_odds(r, alpha, a, b, x, t_x, big_t))

    def expected_purchases(self, t, frequency, recency, age) -> np.ndarray:
        """Expected purchases in the next ``t`` (same unit as the fit), FHL 2005 eq. (10).

        The Gauss hypergeometric term (1-z)^(r+x) 2F1(r+x, b+x; c; z), c = a+b+x-1, is taken
        as printed where it is finite, else through Euler's transformation
        (1-z)^(a-1) 2F1(c-r-x, a-1; c; z), whose series stays small for frequent buyers where
        the printed form overflows (and which itself overflows when a and b are large)."""
        r, alpha, a, b = self._params()
        x, t_x, big_t = _bgnbd_arrays(frequency, recency, age)
        t = np.broadcast_to(np.asarray(t, dtype=float), x.shape)
        if np.any(t < 0):
            raise ConfigError("the forecast horizon must not be negative")
        a_eff = a if abs(a - 1.0) > 1e-6 else 1.0 + 1e-6  # eq. (10) has a - 1 below the line
        c = a_eff + b + x - 1.0
        z = t / (alpha + big_t + t)
        head = c / (a_eff - 1.0)
        with np.errstate(all="ignore"):
            term = (1.0 - z) ** (r + x) * special.hyp2f1(r + x, b + x, c, z)
            bad = ~np.isfinite(term)
            if bad.any():
                zb, cb = z[bad], c[bad]
                term[bad] = (1.0 - zb) ** (a_eff - 1.0) * special.hyp2f1(
                    a_eff + b - 1.0 - r, a_eff - 1.0, cb, zb
                )
        tail = 1.0 - term
        out = head * tail / (1.0 + _dropout_odds(r, alpha, a_eff, b, x, t_x, big_t))
        return np.maximum(out, 0.0)

    def params(self) -> dict[str, float]:
        """The fitted parameters by name."""
        r, alpha, a, b = self._params()
        return {"r": r, "alpha": alpha, "a": a, "b": b}


def _bgnbd_arrays(frequency, recency, age):
    x = np.asarray(frequency, dtype=float)
    t_x = np.asarray(recency, dtype=float)
    big_t = np.asarray(age, dtype=float)
    if x.shape != t_x.shape or x.shape != big_t.shape:
        raise ConfigError("frequency, recency and age must have one value per customer")
    bad = ~np.isfinite(x) | (x < 0) | (t_x < 0) | (big_t < t_x) | ((x > 0) & (t_x <= 0))
    if np.any(bad):
        i = int(np.argmax(bad))
        raise ConfigError(
            f"customer {i}: frequency {x[i]:g}, recency {t_x[i]:g}, age {big_t[i]:g} "
            "do not fit (need frequency >= 0, 0 <= recency <= age, recency > 0 "
            "when frequency > 0)"
        )
    return x, t_x, big_t


def _dropout_odds(r, alpha, a, b, x, t_x, big_t) -> np.ndarray:
    """a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x) for x > 0, else 0 (computed in logs)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_odds = (
            np.log(a)
            - np.log(np.maximum(b + x - 1.0, 1e-300))
            + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
        )
        odds = np.exp(np.minimum(log_odds, 700.0))
    return np.where(x > 0, odds, 0.0)


@dataclass
class GammaGammaModel(_FittedModel):
    """Gamma-Gamma spend model, fitted on the customers with a repeat purchase and spend > 0.

    Learned: ``p_``, ``q_``, ``gamma_``, ``log_likelihood_``, ``customers_`` (fitted on),
    ``zero_spend_`` (repeat customers left out because their mean repeat spend is 0).
    """

    p_: float | None = _learned()
    q_: float | None = _learned()
    gamma_: float | None = _learned()
    zero_spend_: int | None = _learned()

    def fit(self, frequency, spend) -> GammaGammaModel:
        """Maximum likelihood (Fader & Hardie 2013, in log space) over customers with
        frequency > 0 and spend > 0. DataValidationError with too few such customers, a
        fit that fails, or q <= 1 (no finite mean spend)."""
        x = np.asarray(frequency, dtype=float)
        z = np.asarray(spend, dtype=float)
        repeat = x > 0
        zero = int((repeat & ~(z > 0)).sum())
        use = repeat & (z > 0) & np.isfinite(z)
        if int(use.sum()) < MIN_REPEAT_CUSTOMERS:
            raise DataValidationError(
                f"only {int(use.sum())} customers have repeat purchases with a spend above 0 "
                f"({zero} repeaters spent 0); the spend model needs at least "
                f"{MIN_REPEAT_CUSTOMERS}: check the value columns or use more history"
            )
        scale = float(z[use].mean())
        rows, weights, _ = _compress(x[use], z[use] / scale)
        xs, zs = rows[:, 0], rows[:, 1]
        distinct_x, x_index = np.unique(xs, return_inverse=True)
        x_weight = np.bincount(x_index, weights=weights)  # customers per distinct x
        log_z = np.log(zs)
        sum_x_log_z, sum_log_z = _weighted_sum(weights * xs, log_z), _weighted_sum(weights, log_z)

        def negative_ll(log_params):
            # ln f(z | x) = lnG(px+q) - lnG(px) - lnG(q) + q ln g + px ln x + (px-1) ln z
            #               - (px+q) ln(g + x z); the terms in x alone once per distinct x.
            p, q, g = np.exp(log_params)
            px = p * distinct_x
            per_x = (
                special.gammaln(px + q)
                - special.gammaln(px)
                - special.gammaln(q)
                + q * np.log(g)
                + px * np.log(distinct_x)
            )
            total = (
                _weighted_sum(x_weight, per_x)
                + p * sum_x_log_z
                - sum_log_z
                - _weighted_sum(weights, (p * xs + q) * np.log(g + xs * zs))
            )
            return -total if np.isfinite(total) else np.inf

        log_params = maximum_likelihood(negative_ll, np.zeros(3), "spend model (Gamma-Gamma)")
        p, q, g = np.exp(log_params)
        if q <= 1.0:
            raise DataValidationError(
                f"the spend model found no finite mean spend (q = {q:.3f} <= 1): a few very "
                "large repeat purchases dominate; check the value columns for outliers"
            )
        # ln L in the data's money unit: scaling z by s moves each term by -ln s per customer.
        self.log_likelihood_ = float(-negative_ll(log_params) - np.log(scale) * weights.sum())
        self.p_, self.q_, self.gamma_ = float(p), float(q), float(g * scale)
        self.customers_, self.zero_spend_ = int(use.sum()), zero
        return self

    def _params(self) -> tuple[float, float, float]:
        if self.p_ is None or self.q_ is None or self.gamma_ is None:
            raise ConfigError("the spend model is not fitted yet; call fit first")
        return self.p_, self.q_, self.gamma_

    def expected_spend(self, frequency, spend) -> np.ndarray:
        """Expected value of a future purchase, E[Z | x, z̄] = p (gamma + x z̄) / (p x + q - 1):
        the customer's mean weighted against the population mean p gamma / (q - 1) (which
        one-time buyers get)."""
        p, q, g = self._params()
        x = np.asarray(frequency, dtype=float)
        z = np.where(x > 0, np.maximum(np.asarray(spend, dtype=float), 0.0), 0.0)
        return p * (g + x * z) / (p * x + q - 1.0)

    def params(self) -> dict[str, float]:
        """The fitted parameters by name."""
        p, q, g = self._params()
        return {"p": p, "q": q, "gamma": g}


# ------------------------------------------------------------------------- applying both


@dataclass(frozen=True)
class CLVResult:
    """One row per customer (OUTPUT_COLUMNS), the two fitted models and the as-of day."""

    table: pd.DataFrame
    purchases: BetaGeoModel
    spend: GammaGammaModel
    as_of: _dt.date | None  # None when fit_clv was given none
    config: CLVConfig

    def fit_lines(self) -> list[str]:
        """The fitted parameters and log-likelihoods in plain lines (the CLI's stderr)."""
        bg, gg = self.purchases, self.spend
        return [
            f"purchase model (BG/NBD, weeks): r={bg.r_:.4f} alpha={bg.alpha_:.4f} a={bg.a_:.4f} "
            f"b={bg.b_:.4f}; log-likelihood {bg.log_likelihood_:,.2f} over {bg.customers_:,} customers",
            f"spend model (Gamma-Gamma): p={gg.p_:.4f} q={gg.q_:.4f} gamma={gg.gamma_:.4f}; "
            f"log-likelihood {gg.log_likelihood_:,.2f} over {gg.customers_:,} repeat customers"
            + (f" ({gg.zero_spend_:,} repeat customers with spend 0 left out)" if gg.zero_spend_ else ""),
        ]


def check_span(summary: pd.DataFrame, where: str = "the data") -> None:
    """DataValidationError when the oldest customer's age is under MIN_SPAN_WEEKS."""
    span_days = int(summary["age_days"].max()) if len(summary) else 0
    if span_days < MIN_SPAN_WEEKS * DAYS_PER_WEEK:
        raise DataValidationError(
            f"{where} spans {span_days} days from the first purchase to the as-of date; the "
            f"value forecast needs at least {MIN_SPAN_WEEKS} weeks of history: use a later "
            "as-of date or a file with more history"
        )


def fit_models(summary: pd.DataFrame) -> tuple[BetaGeoModel, GammaGammaModel]:
    """Both models fitted (in weeks) on a ``purchase_summary`` frame."""
    weeks = _weeks(summary)
    purchases = BetaGeoModel().fit(summary["frequency"], *weeks)
    spend = GammaGammaModel().fit(summary["frequency"], summary["spend"])
    return purchases, spend


def _weeks(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return (
        summary["recency_days"].to_numpy(float) / DAYS_PER_WEEK,
        summary["age_days"].to_numpy(float) / DAYS_PER_WEEK,
    )


def predict(
    summary: pd.DataFrame, purchases: BetaGeoModel, spend: GammaGammaModel, config: CLVConfig = DEFAULTS
) -> pd.DataFrame:
    """The OUTPUT_COLUMNS per customer of ``summary`` from fitted models.

    CLV = sum over months m = 1..M of (expected purchases by the end of month m minus by its
    start) x expected spend / (1 + discount)^m; a month is ``weeks_per_month`` weeks. The
    distinct (frequency, recency, age) rows are computed once.
    """
    recency, age = _weeks(summary)
    x = summary["frequency"].to_numpy(float)
    rows, _, inverse = _compress(x, recency, age)
    xs, txs, ts = rows[:, 0], rows[:, 1], rows[:, 2]
    expected = purchases.expected_purchases(config.weeks, xs, txs, ts)[inverse]
    alive = purchases.p_alive(xs, txs, ts)[inverse]
    months = np.arange(config.months + 1) * config.weeks_per_month
    cumulative = np.stack([purchases.expected_purchases(w, xs, txs, ts) for w in months])
    per_month = np.diff(cumulative, axis=0)
    discounted = (per_month / (1.0 + config.discount) ** np.arange(1, config.months + 1)[:, None]).sum(axis=0)
    value = spend.expected_spend(x, summary["spend"].to_numpy(float))
    out = pd.DataFrame(
        {
            "customer_id": summary["customer_id"].astype("string").to_numpy(),
            "frequency": summary["frequency"].astype("int64").to_numpy(),
            "recency_weeks": recency,
            "age_weeks": age,
            "expected_purchases": expected,
            "p_alive": np.clip(alive, 0.0, 1.0),
            "expected_spend": value,
            "clv": discounted[inverse] * value,
        }
    )
    numbers = out.columns[2:]
    if not np.isfinite(out[numbers].to_numpy()).all():
        raise DataValidationError(
            "the fitted models gave a non-finite forecast for some "
            "customers; the fit is not usable on this data"
        )
    return out


def customer_value(
    summary: pd.DataFrame, config: CLVConfig = DEFAULTS, as_of: _dt.date | None = None
) -> CLVResult:
    """Fit both models on a ``purchase_summary`` frame and forecast every customer.

    Refuses (DataValidationError) a span under MIN_SPAN_WEEKS, too few repeat customers,
    a fit that does not converge; the table never holds NaN."""
    check_span(summary)
    purchases, spend = fit_models(summary)
    return CLVResult(predict(summary, purchases, spend, config), purchases, spend, as_of, config)


def summary_frame(days: ibis.Table, as_of_day: _dt.date) -> pd.DataFrame:
    """``purchase_summary`` run on the engine, as pandas (customer_id as string)."""
    frame = query.arrow(purchase_summary(days, as_of_day)).to_pandas()
    return frame.astype({"customer_id": "string"})


ONE_TIME_BUYERS_NOTE = (
    "P(alive) is 1 for customers who bought on one day only: the model lets a customer drop out "
    "only right after a repeat purchase, so it cannot yet tell whether they are gone; read "
    "their expected purchases instead."
)


def rounded(table: pd.DataFrame) -> pd.DataFrame:
    """The forecast table rounded for output: weeks and counts to 4 decimals, money to cents."""
    return table.round(
        {
            "recency_weeks": 4,
            "age_weeks": 4,
            "expected_purchases": 4,
            "p_alive": 4,
            "expected_spend": 2,
            "clv": 2,
        }
    )


def clv_from_history(history, as_of=None, config: CLVConfig = DEFAULTS) -> CLVResult:
    """CLV per customer of a core.movement.PurchaseHistory (``PurchaseHistory.from_source``:
    the file scanned once) at ``as_of`` (default: the last purchase; a date alone means its
    midnight, as for RFM): the data as it stood then."""
    as_of_ts = parse_as_of(as_of) or history.last_purchase
    days = purchase_days(history.purchases, as_of_ts).cache()
    summary = summary_frame(days, as_of_ts.date())
    if summary.empty:
        raise DataValidationError(
            f"{history.source}: no purchase on or before the as-of date "
            f"{as_of_ts:%Y-%m-%d %H:%M}; give a later as-of date"
        )
    return customer_value(summary, config, as_of_ts.date())


# ------------------------------------------------------------------------------ backtest


@dataclass(frozen=True)
class Backtest:
    """The forecast checked against what happened after a cut date.

    ``customers``: the calibration customers with predicted and actual hold-out purchases;
    ``by_frequency``: mean actual vs predicted per repeat purchases before the cut (0..6,
    "7+"); ``cumulative``: repeat purchases week by week after the cut, actual vs predicted.
    """

    cut: _dt.date
    end: _dt.date
    holdout_weeks: float
    predicted_total: float
    actual_total: int
    mae: float
    customers: pd.DataFrame
    by_frequency: pd.DataFrame
    cumulative: pd.DataFrame
    purchases: BetaGeoModel

    @property
    def error_share(self) -> float:
        """(predicted - actual) / actual; 0 when nothing happened and nothing was expected."""
        if self.actual_total == 0:
            return 0.0 if self.predicted_total == 0 else math.inf
        return (self.predicted_total - self.actual_total) / self.actual_total

    def words(self) -> str:
        """The result in one plain sentence."""
        share = "" if not math.isfinite(self.error_share) else f" ({self.error_share:+.0%})"
        return (
            f"Fitted on purchases up to {self.cut:%Y-%m-%d} and asked for the next "
            f"{self.holdout_weeks:.0f} weeks (to {self.end:%Y-%m-%d}), the model expected "
            f"{self.predicted_total:,.0f} purchases from the {len(self.customers):,} customers "
            f"known at the cut; {self.actual_total:,} happened{share}. Per customer it was "
            f"off by {self.mae:.2f} purchases on average."
        )


def default_cut(first_day: _dt.date, end_day: _dt.date) -> _dt.date:
    """The last third of the span held out, at least MIN_HOLDOUT_WEEKS weeks; DataValidationError
    when what is left before the cut is under MIN_SPAN_WEEKS."""
    span = (end_day - first_day).days
    holdout = max(math.ceil(span * HOLDOUT_SHARE), int(MIN_HOLDOUT_WEEKS * DAYS_PER_WEEK))
    cut = end_day - _dt.timedelta(days=holdout)
    if (cut - first_day).days < MIN_SPAN_WEEKS * DAYS_PER_WEEK:
        raise DataValidationError(
            f"the data spans {span} days; a backtest needs at least "
            f"{MIN_SPAN_WEEKS + MIN_HOLDOUT_WEEKS} weeks ({MIN_SPAN_WEEKS} to fit, "
            f"{MIN_HOLDOUT_WEEKS} held out): use a file with more history"
        )
    return cut


def backtest(days: ibis.Table, end_day: _dt.date, cut: _dt.date | None = None) -> Backtest:
    """Fit BG/NBD on the purchase days up to ``cut`` (default ``default_cut``), predict each
    customer's purchases in (cut, end_day], and compare with what they did.

    Only customers who had bought by the cut are counted (newcomers after it are not part
    of the forecast). Raises what ``customer_value`` raises, and ConfigError for a cut not
    before ``end_day``.
    """
    span = query.first_row(days.aggregate(first=days.day.min()))
    if span["first"] is None:
        raise DataValidationError("no purchases to backtest")
    first_day = span["first"]
    cut = cut or default_cut(first_day, end_day)
    if cut >= end_day:
        raise ConfigError(f"the backtest cut {cut:%Y-%m-%d} must be before the end {end_day:%Y-%m-%d}")
    calibration = summary_frame(days, cut)
    check_span(calibration, "the data before the cut")
    recency, age = _weeks(calibration)
    model = BetaGeoModel().fit(calibration["frequency"], recency, age)
    holdout_days = (end_day - cut).days
    later = days.filter((days.day > ibis.literal(cut)) & (days.day <= ibis.literal(end_day)))
    later = later.mutate(week=(later.day.delta(ibis.literal(cut), unit="day") - 1) // 7)
    actual_by_customer = (
        query.arrow(later.group_by("customer_id").aggregate(actual=later.day.count()))
        .to_pandas()
        .astype({"customer_id": "string"})
    )
    known = calibration[["customer_id", "frequency"]].merge(actual_by_customer, on="customer_id", how="left")
    known["actual"] = known["actual"].fillna(0).astype("int64")
    x = calibration["frequency"].to_numpy(float)
    rows, _, inverse = _compress(x, recency, age)
    weeks = int(math.ceil(holdout_days / DAYS_PER_WEEK))
    horizon = np.minimum(np.arange(1, weeks + 1) * DAYS_PER_WEEK, holdout_days) / DAYS_PER_WEEK
    # Cumulative expected purchases per distinct customer row at each week's end.
    curves = np.stack([model.expected_purchases(w, rows[:, 0], rows[:, 1], rows[:, 2]) for w in horizon])
    known["predicted"] = curves[-1][inverse]
    counts = np.bincount(inverse, minlength=len(rows)).astype(float)
    predicted_cumulative = (curves * counts).sum(axis=1)
    weekly = query.arrow(
        later.join(calibration_ids(calibration), "customer_id")
        .group_by("week")
        .aggregate(n=later.day.count())
    ).to_pandas()
    actual_weekly = np.zeros(weeks)
    for week, n in zip(weekly["week"], weekly["n"]):
        actual_weekly[min(int(week), weeks - 1)] += n
    cumulative = pd.DataFrame(
        {
            "week": np.arange(1, weeks + 1),
            "actual": np.cumsum(actual_weekly).astype("int64"),
            "predicted": predicted_cumulative,
        }
    )
    bucket = np.minimum(known["frequency"].to_numpy(), REPEAT_BUCKETS)
    by_frequency = (
        known.assign(bucket=bucket)
        .groupby("bucket")
        .agg(customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean"))
        .reset_index()
    )
    by_frequency["repeat_purchases"] = [
        f"{b}+" if b == REPEAT_BUCKETS else str(b) for b in by_frequency["bucket"]
    ]
    by_frequency = by_frequency[["repeat_purchases", "customers", "actual", "predicted"]]
    return Backtest(
        cut=cut,
        end=end_day,
        holdout_weeks=holdout_days / DAYS_PER_WEEK,
        predicted_total=float(known["predicted"].sum()),
        actual_total=int(known["actual"].sum()),
        mae=float((known["predicted"] - known["actual"]).abs().mean()),
        customers=known,
        by_frequency=by_frequency,
        cumulative=cumulative,
        purchases=model,
    )


def calibration_ids(calibration: pd.DataFrame) -> ibis.Table:
    """The calibration customers' IDs as an in-memory table (to join on the engine)."""
    return ibis.memtable(pd.DataFrame({"customer_id": calibration["customer_id"].astype(str)}))


def backtest_history(history, as_of=None, cut=None) -> Backtest:
    """``backtest`` over a core.movement.PurchaseHistory, ending at ``as_of`` (default: the
    last purchase); ``cut`` a date (default: the last third held out)."""
    end_ts = parse_as_of(as_of) or history.last_purchase
    cut_day = parse_given_date(cut, "cut").date() if cut else None
    days = purchase_days(history.purchases, end_ts).cache()
    return backtest(days, end_ts.date(), cut_day)


# ----------------------------------------------------------------- views for the dashboard


def frequency_recency_grid(
    model: BetaGeoModel, age_weeks: float, max_frequency: int, weeks: float, recency_steps: int = 20
) -> pd.DataFrame:
    """The model's expected purchases in ``weeks`` and P(alive) for a customer of age
    ``age_weeks`` at each frequency 0..max_frequency and recency from 0 to the age (the
    standard frequency x recency matrix). Columns: frequency, recency_weeks,
    expected_purchases, p_alive; frequency 0 only at recency 0 (one purchase, no repeat)."""
    recency = np.linspace(0.0, age_weeks, recency_steps + 1)
    freq, rec = np.meshgrid(np.arange(max_frequency + 1, dtype=float), recency, indexing="ij")
    keep = (freq > 0) & (rec > 0) | (freq == 0) & (rec == 0)
    x, t_x = freq[keep], rec[keep]
    age = np.full_like(x, age_weeks)
    return pd.DataFrame(
        {
            "frequency": x.astype("int64"),
            "recency_weeks": t_x,
            "expected_purchases": model.expected_purchases(weeks, x, t_x, age),
            "p_alive": model.p_alive(x, t_x, age),
        }
    )


def value_by_segment(table: pd.DataFrame, order: list[str] | None = None) -> pd.DataFrame:
    """Per named segment: customers, mean P(alive), mean expected purchases, mean and total
    CLV. ``table``: the forecast with an rfm_segment column (core.scores.score_table's);
    rows in ``order`` (best to worst) where given, customers without a segment left out."""
    joined = table.dropna(subset=["rfm_segment"])
    out = (
        joined.groupby("rfm_segment", sort=False)
        .agg(
            customers=("customer_id", "size"),
            p_alive=("p_alive", "mean"),
            expected_purchases=("expected_purchases", "mean"),
            clv_mean=("clv", "mean"),
            clv_total=("clv", "sum"),
        )
        .reset_index()
    )
    if order:
        rank = {name: i for i, name in enumerate(order)}
        out = out.sort_values("rfm_segment", key=lambda s: s.map(lambda n: rank.get(n, len(rank))))
    return out.reset_index(drop=True)


def with_value(frame: pd.DataFrame, forecast: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (one row per customer_id) with VALUE_COLUMNS of the forecast, rounded as in
    the CLI's output; for the campaign exports and the report."""
    value = rounded(forecast)[["customer_id", *VALUE_COLUMNS]].astype({"customer_id": "string"})
    out = frame.drop(columns=[c for c in VALUE_COLUMNS if c in frame.columns])
    return out.astype({"customer_id": "string"}).merge(
        value, on="customer_id", how="left", validate="one_to_one"
    )


__all__ = [
    "CLVConfig",
    "DEFAULTS",
    "BetaGeoModel",
    "GammaGammaModel",
    "CLVResult",
    "Backtest",
    "purchase_days",
    "purchase_summary",
    "summary_frame",
    "customer_value",
    "fit_models",
    "predict",
    "clv_from_history",
    "backtest",
    "backtest_history",
    "default_cut",
    "check_span",
    "maximum_likelihood",
    "OUTPUT_COLUMNS",
    "ONE_TIME_BUYERS_NOTE",
    "rounded",
    "frequency_recency_grid",
    "value_by_segment",
    "VALUE_COLUMNS",
    "with_value",
]
