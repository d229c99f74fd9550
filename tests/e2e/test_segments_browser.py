"""Segments page in a real browser: the R x FM grid, the e-mail-tool export and the report
download, and at 390 px wide no two axis labels of any chart overlap."""

from __future__ import annotations

import csv
import io

from tests.e2e.conftest import ARTIFACTS, nav, no_exceptions, settle, shot, upload

# Five customers (Customer ID detected; the Email column is carried into the exports).
# Named segments by hand (tests/app/test_segments_page.py): 1 Champions, 2 About to Sleep,
# 3 Loyal, 4 and 5 Hibernating.
ORDERS = """Invoice,Customer ID,Email,Currency,InvoiceDate,Quantity,Price,Billing Name
1001,1,a@shop.io,EUR,2024-03-10,1,10,Ann
1002,1,a@shop.io,EUR,2024-03-10,1,30,Ann
1003,2,b@shop.io,EUR,2024-03-05,2,10,Bob
1004,3,c@shop.io,EUR,2024-03-01,1,100,Cyd
1005,3,c@shop.io,EUR,2024-03-08,1,50,Cyd
1006,3,c@shop.io,EUR,2024-03-09,1,50,Cyd
1007,4,=d@shop.io,EUR,2024-01-10,1,5,Dee
1008,5,,EUR,2024-02-09,1,20,
"""

OVERLAPS = """() => {
  const boxes = (plot, sel) => [...plot.querySelectorAll(sel)].map(t => t.getBoundingClientRect())
      .filter(r => r.width > 0 && r.height > 0);
  const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 &&
                        a.top < b.bottom - 1 && b.top < a.bottom - 1;
  const found = [];
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    for (const sel of ['.xtick text', '.ytick text', '.legendtext']) {
      const r = boxes(plot, sel);
      for (let i = 0; i < r.length; i++) for (let j = i + 1; j < r.length; j++)
        if (hit(r[i], r[j])) found.push(sel);
    }
  }
  return found;
}"""


def _download(page, label: str) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("button", name=label).click()
    return open(info.value.path(), "rb").read()


def test_grid_exports_and_report_and_phone_width(browser, server, tmp_path):
    source = tmp_path / "orders.csv"
    source.write_text(ORDERS)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        upload(page, server, source)
        nav(page, "Segments")
        no_exceptions(page)
        page.get_by_text("The R x FM grid").first.wait_for()
        assert page.locator(".js-plotly-plot .heatmaplayer").count() >= 2  # grid + cross-tab
        assert "€285.00" in page.locator('[data-testid="stMetricValue"]').all_inner_texts()

        email = _download(page, "All customers: for your e-mail tool (CSV, Email first)")
        rows = list(csv.DictReader(io.StringIO(email.decode())))
        assert list(rows[0])[:2] == ["Email", "customer_id"]
        # customer 5 has no e-mail and is left out; 4's formula-like e-mail is neutralised
        assert {r["Email"]: r["rfm_segment"] for r in rows} == {
            "a@shop.io": "Champions",
            "b@shop.io": "About to Sleep",
            "c@shop.io": "Loyal",
            "'=d@shop.io": "Hibernating",
        }
        by_id = {r["customer_id"]: r for r in rows}
        assert (by_id["3"]["orders"], by_id["3"]["revenue"], by_id["3"]["average_order_value"]) == (
            "3",
            "200.0",
            "66.67",
        )
        assert by_id["1"]["first_purchase"].startswith("2024-03-10")

        report = _download(page, "Download the report (HTML)").decode()
        assert report.startswith("<!doctype html>") and report.count("Plotly.newPlot(") >= 4
        assert "orders.csv" in report and "€285.00" in report
        shot(page, "segments_shop", height=5000)

        # a reload is a new session: the bundled sample, whose 3 tiers + 4 clusters give the
        # cross-tab its most labels
        page.set_viewport_size({"width": 390, "height": 900})
        page.reload()
        settle(page)
        no_exceptions(page)
        page.set_viewport_size({"width": 390, "height": 9000})
        page.wait_for_timeout(2500)  # plotly lays out again at the new width
        assert page.locator(".js-plotly-plot").count() >= 4
        assert page.evaluate(OVERLAPS) == []
        page.screenshot(path=str(ARTIFACTS / "segments_390.png"), full_page=True)
    finally:
        context.close()
