"""The customer card of the Customer lookup page: the named segment and what to do first, then
the VIP tier or cluster and why in words, the customer's own columns from the file and the
last orders, money in the file's currency."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

import pandas as pd
import streamlit as st

from core import charts
from core.actions import customer_actions, named_profiles_with_actions
from core.outliers import Fence
from core.scores import score_cut_points, score_table, segment_names
from core.segmentation import Explanation
from ui import render


@dataclass(frozen=True)
class NamedView:
    """The customer's named segment with its meaning and the segment's playbook."""

    segment: str
    meaning: str
    actions: tuple[str, ...]
    scores: tuple[int, int, int]  # r, f, m


@dataclass(frozen=True)
class CustomerFile:
    """What the file says about the customer: its own columns and its last orders."""

    attributes: Mapping[str, str] = field(default_factory=dict)  # column -> latest value
    orders: pd.DataFrame | None = None  # date, order, value
    total_orders: int = 0


def named_view(scored: pd.DataFrame, grid: Mapping, explanation: Explanation, money) -> NamedView:
    """The named segment of R/F/M values on the cut points of all customers (``scored``), with
    the segment's meaning and its actions (worded with the segment's figures, as on Segments)."""
    one = pd.DataFrame(
        {
            "recency": [explanation.recency],
            "frequency": [explanation.frequency],
            "monetary": [explanation.monetary],
        }
    )
    row = score_table(one, grid, cuts=score_cut_points(scored)).iloc[0]
    profiles = named_profiles_with_actions(scored, segment_names(grid), money=money)
    profile = profiles[profiles["rfm_segment"] == row["rfm_segment"]].iloc[0]
    return NamedView(
        row["rfm_segment"],
        profile["meaning"],
        tuple(profile["actions"]),
        (int(row["r_score"]), int(row["f_score"]), int(row["m_score"])),
    )


def share_below(series: pd.Series, value: float) -> float:
    """Share of customers (in %) whose value is strictly below ``value``."""
    values = series.to_numpy(dtype=float)
    return float((values < value).mean() * 100) if len(values) else float("nan")


def why_in_words(
    explanation: Explanation, rfm: pd.DataFrame, fences: Mapping[str, Fence], money
) -> list[str]:
    """Why the customer is in its VIP tier or cluster, in words a marketer reads: where the
    customer stands among all customers and against the upper fence (a lower fence below
    zero is never shown: nobody can be under it)."""
    figures = {
        "monetary": ("spends more than", money),
        "frequency": ("orders more often than", lambda v: f"{v:,.0f} orders"),
    }
    lines = []
    for feature, (verb, fmt) in figures.items():
        value, fence = getattr(explanation, feature), fences[feature]
        standing = f"{verb} {share_below(rfm[feature], value):.0f}% of customers"
        if value > fence.high:
            lines.append(f"{standing}; above the upper fence of {fmt(fence.high)}")
        elif value < fence.low:
            lines.append(f"{standing}; below the lower fence of {fmt(fence.low)}")
        else:
            lines.append(f"{standing}; inside the usual range (up to {fmt(fence.high)})")
    if explanation.tier:
        lines.append(
            f"so a VIP tier ({render.display_name(explanation.tier)}): kept out of the "
            "clusters, which group the customers inside the usual range"
        )
    elif explanation.distances:
        ranked = sorted(explanation.distances.items(), key=lambda kv: kv[1])
        name, distance = ranked[0]
        text = f"closest to the centre of {render.display_name(name)} ({distance:.2f} standardised units)"
        if len(ranked) > 1:
            text += f"; next {render.display_name(ranked[1][0])} ({ranked[1][1]:.2f})"
        lines.append(text)
    return lines


def customer_card(
    explanation: Explanation,
    rfm: pd.DataFrame,
    customer_id: str | None,
    model_label: str,
    *,
    fences: Mapping[str, Fence],
    code: str | None,
    named: NamedView | None = None,
    file: CustomerFile | None = None,
    value_figures: Mapping[str, str] | None = None,
) -> None:
    """One customer: named segment and what to do, R/F/M, tier or cluster and why, the
    customer's columns and last orders from the file.

    ``value_figures``: label -> formatted figure for the customer's value outlook (P(alive),
    expected purchases, CLV), shown in their own row when given.
    """

    def money(v):
        return render.money(v, code)

    esc = render.escape_markdown
    title = f"Customer {customer_id}" if customer_id is not None else "Typed values"
    with st.container(border=True, key="card_typed" if customer_id is None else "card_customer"):
        st.subheader(esc(title))
        if file is not None and file.attributes:
            st.markdown(
                " · ".join(f"**{esc(column)}**: {esc(value)}" for column, value in file.attributes.items())
            )
        # -- the named segment and what to do: first -------------------------------------
        if named is not None:
            st.markdown(f"##### {esc(named.segment)}", help=render.help_for("named_segment"))
            r, f, m = named.scores
            st.caption(f"{esc(named.meaning.capitalize())} · R {r}, F {f}, M {m} (scores 1-5, 5 = best)")
            st.markdown(f"**What to do with {esc(named.segment)}**")
            for i, action in enumerate(named.actions, start=1):
                st.markdown(f"{i}. {esc(action)}")
        # -- the figures --------------------------------------------------------------------
        cols = st.columns(3)
        for col, (feature, text, note) in zip(
            cols,
            (
                ("recency", f"{explanation.recency:,.0f} days", "lower is more recent"),
                ("frequency", f"{explanation.frequency:,.0f}", "orders"),
                ("monetary", money(explanation.monetary), "total spend"),
            ),
        ):
            col.metric(feature.capitalize(), text, help=render.help_for(feature))
            col.caption(
                f"percentile {render.percentile(rfm[feature], getattr(explanation, feature)):.0f} ({note})",
                help=render.help_for("customer_percentile"),
            )
        # -- P(alive), expected purchases and CLV go here (the Value page's figures) ----------
        if value_figures:
            for col, (label, figure) in zip(st.columns(len(value_figures)), value_figures.items()):
                col.metric(label, figure)
        # -- the statistical view: VIP tier or cluster, and why -----------------------------
        kind = "VIP tier" if explanation.tier else "Cluster"
        st.markdown(
            f"**{kind}: {esc(render.display_name(explanation.segment))}**"
            + ("" if explanation.tier else f" (model {esc(model_label)})"),
            help=render.help_for("vip_tier" if explanation.tier else "cluster"),
        )
        for line in why_in_words(explanation, rfm, fences, money):
            st.markdown(f"- {esc(line)}")
        with st.expander(
            f"What to do as a {kind.lower()} {render.display_name(explanation.segment)} customer"
        ):
            for i, action in enumerate(
                customer_actions(
                    explanation.segment,
                    explanation.recency,
                    explanation.frequency,
                    explanation.monetary,
                    money,
                ),
                start=1,
            ):
                st.markdown(f"{i}. {esc(action)}")
            if explanation.distances and not explanation.tier:
                st.caption(
                    "The customer joins the cluster whose centre is nearest, measured in "
                    "standardised units (each of R, F, M rescaled so they weigh the "
                    "same).",
                    help=render.help_for("standardised"),
                )
                render.plot(
                    charts.distance_bars(explanation.distances, explanation.segment),
                    key=f"distances_{customer_id}",
                )
        # -- the customer's last orders from the file ---------------------------------------
        if file is not None and file.orders is not None:
            shown = len(file.orders)
            st.markdown(
                f"**Last {shown:,} of {file.total_orders:,} orders**"
                if shown
                else "**No kept order in the file**"
            )
            if shown:
                # a static table: five rows wrap on a phone and read as text
                st.table(
                    pd.DataFrame(
                        {
                            "Date": file.orders["date"].dt.strftime("%Y-%m-%d %H:%M"),
                            "Order": file.orders["order"].astype(str),
                            "Value": [money(v) for v in file.orders["value"]],
                        }
                    ),
                    hide_index=True,
                    border="horizontal",
                )
        if customer_id is not None:
            st.markdown(
                f"[Link to this card](?customer={quote(str(customer_id))}) "
                "(opens it directly, also in a new browser session)"
            )
