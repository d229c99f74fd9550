"""core.report: one self-contained HTML file; user data escaped; plotly.js embedded once."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from core.cleaning import CleaningAudit
from core.report import ReportInputs, build_report
from core.scores import score_table

PLOTLY_BANNER = "* plotly.js v"


def _scored():
    # Seven customers (the by-hand table of tests/core/test_scores.py): A Champions,
    # B New Customers, C Potential Loyalist, D About to Sleep, E Loyal, F Hibernating,
    # G Can't Lose Them. Tiers/clusters are given: the report only shows them.
    table = pd.DataFrame(
        {
            "customer_id": list("ABCDEFG"),
            "recency": [0, 0, 10, 30, 30, 100, 200],
            "frequency": [6, 1, 2, 2, 4, 1, 9],
            "monetary": [50.0, 15.0, 40.0, 40.0, 300.0, 25.0, 2000.0],
            "tier": pd.array([pd.NA] * 6 + ["Elite"], dtype="string"),
            "cluster": pd.array([0, 1, 0, 1, 0, 1, pd.NA], dtype="Int64"),
            "segment": ["Premium", "Lapsed", "Premium", "Lapsed", "Premium", "Lapsed", "Elite"],
        }
    )
    return score_table(table)


def _inputs(**overrides):
    audit = CleaningAudit(
        rows_in=20, removed=(("missing_customer", "Missing customer ID", 3),), rows_out=17, customers_out=7
    )
    values = dict(
        source_name="<script>alert('x')</script>.csv",
        scored=_scored(),
        audit=audit,
        as_of=dt.datetime(2024, 3, 10, 12, 0),
        generated_at=dt.datetime(2024, 3, 11, 8, 0),
        data_fingerprint="abc123def4567890",
        model_version="20240311-080000-ab12",
        model_k=2,
        currency="GBP",
        movement=None,
        movement_note="(movement hook)",
    )
    values.update(overrides)
    return ReportInputs(**values)


def test_report_is_one_file_with_plotly_once_and_every_figure():
    page = build_report(_inputs())
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert page.count(PLOTLY_BANNER) == 1  # plotly.js inlined once
    assert page.count("Plotly.newPlot(") == 4  # grid, named bars, tiers/clusters, cross-tab
    assert page.index(PLOTLY_BANNER) < page.index("Plotly.newPlot(")
    # nothing is fetched from the network: no external script, stylesheet or image
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']https?:", page)


def test_user_data_is_escaped():
    page = build_report(_inputs())
    assert "<script>alert(" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;.csv" in page


def test_report_figures_by_hand():
    page = build_report(_inputs())
    # revenue 50 + 15 + 40 + 40 + 300 + 25 + 2000 = 2,470 in pounds
    assert "<b>£2,470.00</b>" in page
    # Champions: A only (50 of 2,470 = 2.0%); Can't Lose Them: G (2000 of 2,470 = 81.0%)
    assert (
        "<td>Champions</td><td>bought recently, buy often and spend the most</td><td>1</td><td>2.0%</td>"
    ) in page
    assert "<td>Can&#x27;t Lose Them</td>" in page and "<td>81.0%</td>" in page
    # slipping away: At Risk (none) + Can't Lose Them (G): 1 customer, £2,000.00
    assert "Slipping away: 1 customer (At Risk and Can't Lose Them) who brought £2,000.00" in page.replace(
        "&#x27;", "'"
    )
    # the audit, the fingerprint and the model version
    assert "<td>removed: Missing customer ID</td><td>-3</td>" in page
    assert "<td>Rows kept</td><td>17</td>" in page
    assert "abc123def4567890" in page and "20240311-080000-ab12" in page
    # cut points of recency (2, 18, 30, 86, see test_scores)
    assert "<td>recency</td><td>2.00</td><td>18.00</td><td>30.00</td><td>86.00</td>" in page
    assert "(movement hook)" in page


def test_movement_sizes_become_a_fifth_figure():
    sizes = pd.DataFrame(
        {
            "month_end": pd.to_datetime(["2024-01-31", "2024-01-31", "2024-02-29"]),
            "segment": ["Champions", "Hibernating", "Champions"],
            "customers": [3, 1, 4],
        }
    )
    page = build_report(_inputs(movement=sizes, movement_note="sizes at month ends"))
    assert page.count("Plotly.newPlot(") == 5 and page.count(PLOTLY_BANNER) == 1
    assert "sizes at month ends" in page


def test_movement_uses_the_movement_pages_chart_when_there_is_one(monkeypatch):
    import plotly.graph_objects as go

    from core import charts
    from core.report import movement_chart

    calls = []

    def area(sizes, order, colours):
        calls.append((list(order), colours["Champions"]))
        return go.Figure()

    monkeypatch.setattr(charts, "segment_sizes_area", area, raising=False)
    sizes = pd.DataFrame(
        {
            "month_end": pd.to_datetime(["2024-01-31", "2024-01-31"]),
            "segment": ["Hibernating", "Champions"],
            "customers": [1, 3],
        }
    )
    movement_chart(sizes)
    assert calls == [(["Champions", "Hibernating"], charts.NAMED_COLOURS["Champions"])]
