"""The one-file HTML report: summary, the R x FM grid, named segments and actions, VIP tiers and
clusters, movement, the cleaning audit, the data fingerprint and the model version.

The file is self-contained and opens offline: plotly.js is embedded once (inline, with the
first figure) and every other figure reuses it. Everything that comes from the user's file
(file name, segment and column names) is HTML-escaped; no remote resource is referenced.
"""

from __future__ import annotations

import datetime as _dt
import html
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

from core import charts
from core.actions import named_profiles_with_actions, profiles_with_actions
from core.cleaning import CleaningAudit
from core.insights import named_segment_crosstab
from core.money import format_money
from core.scores import SLIPPING_AWAY, grid_cells, score_cut_points, segment_names, slipping_away

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportInputs:
    """What the report shows. ``scored``: the segmented table with scores (one row per customer)."""

    source_name: str
    scored: pd.DataFrame
    audit: CleaningAudit
    as_of: _dt.datetime
    generated_at: _dt.datetime
    data_fingerprint: str
    model_version: str | None
    model_k: int
    grid: Mapping | None = None
    currency: str | None = None
    # month_end, segment, customers (core.movement.month_end_sizes); None: not available
    movement: pd.DataFrame | None = None
    movement_note: str = ""
    file_hash: str | None = None
    extra_facts: Sequence[tuple[str, str]] = field(default_factory=tuple)
    # Lifetime value: shown when ``scored`` carries core.clv.VALUE_COLUMNS, else this note
    value_note: str = ""


def movement_sizes(source, grid=None) -> tuple[pd.DataFrame | None, str]:
    """Named-segment sizes at each month end of a ``core.rfm.Source`` (core.movement), with
    the sentence that says so."""
    from core import movement

    history = movement.PurchaseHistory.from_source(source)
    sizes = movement.month_end_sizes(history, movement.by_named_segment(grid))
    return sizes, "Customers in each named segment at every month end, as the data stood then."


def movement_chart(sizes: pd.DataFrame) -> go.Figure:
    """Stacked area of customers per named segment at each month end (the Movement page's chart)."""
    order = [n for n in segment_names() if n in set(sizes["segment"])]
    order += sorted(set(sizes["segment"]) - set(order))
    return charts.segment_sizes_area(sizes, order, charts.named_colours(order))


def _segments_table(profiles: pd.DataFrame, name_column: str, meaning=None) -> str:
    """One row per segment: name, (who they are), customers, revenue share, typical R and F, actions."""
    columns = {"Segment": profiles[name_column]}
    if meaning is not None:
        columns["Who they are"] = meaning
    columns.update(
        {
            "Customers": [f"{n:,}" for n in profiles["customers"]],
            "Revenue share": [f"{s:.1%}" for s in profiles["revenue_share"]],
            "Typical days since last order": [_num(v) for v in profiles["recency_median"]],
            "Typical orders": [_num(v) for v in profiles["frequency_median"]],
            "What to do": profiles["actions"],
        }
    )
    return '<div class="wrap">' + _table(pd.DataFrame(columns), {"What to do": _actions_html}) + "</div>"


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _table(
    frame: pd.DataFrame, formats: Mapping[str, Callable[[object], str]] | None = None, css: str = ""
) -> str:
    formats = formats or {}
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        cells = []
        for column in frame.columns:
            value = row[column]
            if column in formats:
                cells.append(f"<td>{formats[column](value)}</td>")  # formatter escapes itself
            else:
                cells.append(f"<td>{_e('' if pd.isna(value) else value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _actions_html(actions) -> str:
    return "<ul>" + "".join(f"<li>{_e(action)}</li>" for action in actions) + "</ul>"


class _Figures:
    """Figure HTML; plotly.js is inlined with the first figure only."""

    def __init__(self):
        self.count = 0

    def html(self, fig: go.Figure) -> str:
        first = self.count == 0
        self.count += 1
        return fig.to_html(
            full_html=False,
            include_plotlyjs=True if first else False,
            config={"displaylogo": False, "responsive": True},
            default_width="100%",
        )


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1100px;padding:16px;color:#1b2631;line-height:1.45;overflow-wrap:anywhere}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #d5dbdb}
.meta{color:#566573;font-size:.9rem}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px}
.figure{border:1px solid #d5dbdb;border-radius:6px;padding:8px}
.figure b{display:block;font-size:1.3rem}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:8px 0}
th,td{border-bottom:1px solid #e5e8e8;padding:4px 6px;text-align:left;vertical-align:top}
td ul{margin:0;padding-left:1.1rem}
.wrap{overflow-x:auto}
"""


def build_report(inputs: ReportInputs) -> str:
    """The report as one HTML document (str)."""
    scored, currency = inputs.scored, inputs.currency

    def money(value) -> str:
        return _e(format_money(value, currency))

    names = segment_names(inputs.grid)
    named = named_profiles_with_actions(scored, names, money=lambda v: format_money(v, currency))
    clusters = profiles_with_actions(scored)
    figures = _Figures()
    total_revenue = float(scored["monetary"].sum())
    best = named[named["customers"] > 0].head(1)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Customer segments: {_e(inputs.source_name)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Customer segments: {_e(inputs.source_name)}</h1>",
        f'<p class="meta">As of {inputs.as_of:%Y-%m-%d %H:%M} · model '
        f"{_e(inputs.model_version or 'unsaved (fitted on this file)')} · generated "
        f"{inputs.generated_at:%Y-%m-%d %H:%M} UTC</p>",
        "<h2>Summary</h2>",
        '<div class="figures">',
        _figure("Customers", f"{len(scored):,}"),
        _figure("Revenue", money(total_revenue)),
        _figure("Median days since last order", f"{scored['recency'].median():,.0f}" if len(scored) else "-"),
        _figure("Median orders per customer", f"{scored['frequency'].median():,.0f}" if len(scored) else "-"),
        "</div>",
    ]
    if not best.empty:
        row = best.iloc[0]
        parts.append(
            f"<p>Best customers: <b>{_e(row['rfm_segment'])}</b>, {row['customers']:,} "
            f"customers bringing {row['revenue_share']:.0%} of revenue.</p>"
        )
    slipping = slipping_away(named)
    if slipping["customers"].sum():
        n = int(slipping["customers"].sum())
        parts.append(
            f"<p>Slipping away: {n:,} customer{'s' if n != 1 else ''} "
            f"({' and '.join(SLIPPING_AWAY)}) who brought "
            f"{money(float(slipping['revenue'].sum()))}.</p>"
        )

    parts += [
        "<h2>Customers by R and FM score</h2>",
        "<p>Each cell: customers and revenue; the colour is the named segment. R = how "
        "recently they bought, FM = how often and how much (5 = best).</p>",
        figures.html(charts.rfm_grid_chart(grid_cells(scored, inputs.grid), currency)),
    ]

    parts += [
        "<h2>Named segments and what to do</h2>",
        figures.html(charts.named_segment_bars(named, currency)),
    ]
    parts.append(_segments_table(named, "rfm_segment", meaning=named["meaning"]))

    parts += [
        "<h2>VIP tiers and clusters</h2>",
        f"<p>The model ({inputs.model_k} clusters) splits off the statistical outliers as "
        "VIP tiers and groups everyone else by similar recency, orders and spend.</p>",
        figures.html(charts.segment_overview(clusters, currency)),
    ]
    parts.append(_segments_table(clusters, "segment"))
    crosstab = named_segment_crosstab(scored, names)
    parts.append(
        figures.html(
            charts.tier_cluster_heatmap(
                crosstab,
                x_title="VIP tier or cluster",
                y_title="named segment",
                title="Named segment x VIP tier / cluster",
            )
        )
    )

    parts.append("<h2>Movement over time</h2>")
    if inputs.movement is not None and not inputs.movement.empty:
        parts.append(f"<p>{_e(inputs.movement_note)}</p>")
        parts.append(figures.html(movement_chart(inputs.movement)))
    else:
        parts.append(f"<p>{_e(inputs.movement_note or 'Not available.')}</p>")

    parts += _value_section(inputs, names, figures)

    parts += ["<h2>How this was computed</h2>", "<h3>Cleaning audit</h3>", _table(_audit_frame(inputs.audit))]
    cuts = score_cut_points(scored) if len(scored) else {}
    if cuts:
        cut_rows = pd.DataFrame(
            [(k, *[f"{v:,.2f}" for v in vals]) for k, vals in cuts.items()],
            columns=["value", "20th", "40th", "60th", "80th"],
        )
        parts += [
            "<h3>Score cut points (percentiles over all customers)</h3>",
            "<p>F and M score = 1 + number of cut points below the value; R score = 5 - "
            "number of cut points below the days since the last order.</p>",
            _table(cut_rows),
        ]
    facts = [
        ("File", inputs.source_name),
        ("As of", f"{inputs.as_of:%Y-%m-%d %H:%M}"),
        ("Model version", inputs.model_version or "unsaved (fitted on this file)"),
        ("Clusters (k)", str(inputs.model_k)),
        ("RFM data fingerprint", inputs.data_fingerprint),
    ]
    if inputs.file_hash:
        facts.append(("File sha256", inputs.file_hash))
    if inputs.currency:
        facts.append(("Currency", inputs.currency))
    facts += list(inputs.extra_facts)
    parts += ["<h3>Data and model</h3>", _table(pd.DataFrame(facts, columns=["", "value"]))]
    parts.append("</body></html>")
    return "\n".join(parts)


def _value_section(inputs: ReportInputs, names: list[str], figures: _Figures) -> list[str]:
    """Lifetime value per named segment (core.clv), or the note saying why it is missing."""
    from core import clv, clv_charts
    from core.config import CLV_DEFAULTS as config

    scored = inputs.scored
    if "clv" not in scored.columns:
        return ["<h2>Lifetime value</h2>", f"<p>{_e(inputs.value_note or 'Not computed.')}</p>"]
    by_segment = clv.value_by_segment(scored, names)
    return [
        "<h2>Lifetime value</h2>",
        '<div class="figures">',
        _figure(
            f"Total CLV, {config.months} months",
            _e(format_money(float(scored["clv"].sum()), inputs.currency)),
        ),
        _figure(f"Expected purchases, {config.weeks:g} weeks", f"{scored['expected_purchases'].sum():,.0f}"),
        "</div>",
        f"<p>{_e(clv.ONE_TIME_BUYERS_NOTE)}</p>",
        figures.html(clv_charts.segment_value_bars(by_segment, inputs.currency)),
    ]


def _figure(label: str, value: str) -> str:
    return f'<div class="figure">{_e(label)}<b>{value}</b></div>'


def _num(value) -> str:
    return "-" if pd.isna(value) else f"{float(value):,.0f}"


def _audit_frame(audit: CleaningAudit) -> pd.DataFrame:
    frame = audit.to_frame()[["description", "rows"]]
    frame["rows"] = [f"{n:,}" for n in frame["rows"]]
    return frame.rename(columns={"description": "step"})
