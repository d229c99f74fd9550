"""Issue 19 in a real browser at 1400 and 390 px: the customer card (named segment, the
customer's e-mail from the file, last orders, currency), Movement's default (slipping customers
on fixed cut points) and no element cut off on Data, Segments, Movement and the card."""

from __future__ import annotations

import datetime as dt

import pytest

from core.cleaning import CleaningConfig, suggest_preset
from core.columns import resolve_mapping
from core.io import read_transactions
from core.rfm import Source
from core.scores import GOOD_SEGMENTS, LAPSING_SEGMENTS, score_cut_points, score_table
from tests.e2e.conftest import SAMPLE, nav, no_exceptions, settle, upload

WIDTHS = (1400, 390)

# A shop in euros. C001 orders six times, the last on the file's latest day, and spends the
# most: r 5 (recency 0), f 5, m 5 -> Champions. Its e-mail changed: the latest is the new one.
# Everyone else (C002..C031) orders once or twice, earlier, for less.
C001_ORDERS = [  # invoice, date, quantity, price -> value
    ("500001", "2024-01-05 10:00", 2, 40.00),  # 80.00, the oldest: not among the last five
    ("500002", "2024-02-05 10:00", 3, 50.00),  # 150.00
    ("500003", "2024-03-05 10:00", 1, 120.00),  # 120.00
    ("500004", "2024-04-05 10:00", 4, 25.00),  # 100.00
    ("500005", "2024-05-05 10:00", 5, 30.00),  # 150.00
    ("500006", "2024-06-30 18:00", 2, 1234.50),  # 2,469.00, the newest
]


@pytest.fixture(scope="module")
def shop_csv(tmp_path_factory):
    rows = ["Invoice,InvoiceDate,Customer ID,Quantity,Price,Email,Name,Country,Currency"]
    for i, (invoice, when, qty, price) in enumerate(C001_ORDERS):
        email = "anna.old@example.com" if i < 3 else "anna@example.com"
        rows.append(f"{invoice},{when},C001,{qty},{price:.2f},{email},Anna Berg,Sweden,EUR")
    for n in range(2, 32):
        orders = 1 + n % 2
        for k in range(orders):
            day = dt.date(2024, 1, 1) + dt.timedelta(days=(n * 5 + k * 17) % 150)
            rows.append(
                f"6{n:03d}{k:02d},{day} 09:00,C{n:03d},1,{10 + n:.2f},"
                f"c{n}@example.com,Customer {n},Sweden,EUR"
            )
    path = tmp_path_factory.mktemp("shop") / "shop_eur.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def _metrics(page) -> dict[str, str]:
    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    return {label.strip(): value.strip() for label, value in zip(labels, values)}


def _nothing_cut_off(page, where: str) -> None:
    """Every element of the main pane lies inside the viewport's width, and no metric value
    or button label is cut with an ellipsis."""
    width = page.viewport_size["width"]
    boxes = page.evaluate("""() => Array.from(document.querySelectorAll(
        '[data-testid="stMain"] [data-testid="stElementContainer"]')).map(e => {
            const r = e.getBoundingClientRect();
            return {left: r.left, right: r.right, w: r.width, id: e.innerText.slice(0, 60)}; })""")
    visible = [b for b in boxes if b["w"] > 0]
    assert visible, where
    clipped = [b for b in visible if b["left"] < -1 or b["right"] > width + 1]
    assert not clipped, (where, width, clipped[:3])
    cut = page.evaluate("""() => Array.from(document.querySelectorAll(
        '[data-testid="stMain"] [data-testid="stMetricValue"] div, [data-testid="stMain"] button p'))
        .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)""")
    assert not cut, (where, width, cut)


def _at(page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 1000})
    settle(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_card_shows_named_segment_email_last_orders_and_currency(page, server, shop_csv, width):
    upload(page, server, shop_csv)
    nav(page, "Customer lookup")
    _at(page, width)
    no_exceptions(page)
    card = page.locator(".st-key-card_customer")
    card.get_by_text("Customer C001").wait_for()
    text = card.inner_text()
    assert "Champions" in text
    assert "What to do with Champions" in text
    assert "anna@example.com" in text and "anna.old@example.com" not in text
    assert "Anna Berg" in text
    # spend 80 + 150 + 120 + 100 + 150 + 2,469 = 3,069.00 euros
    assert _metrics(page)["Monetary"] == "€3,069.00"
    assert "Last 5 of 6 orders" in text
    orders = card.locator('[data-testid="stTable"]')
    orders.wait_for()
    cells = orders.inner_text()
    assert "500006" in cells and "500002" in cells and "500001" not in cells
    assert "€2,469.00" in cells
    assert "fence of €" in text or "usual range (up to €" in text  # the fence in euros
    _nothing_cut_off(page, "card")


@pytest.mark.parametrize("width", WIDTHS)
def test_movement_default_is_slipping_on_fixed_cut_points(page, server, width):
    dataset = read_transactions(SAMPLE)
    mapping = resolve_mapping(dataset.table, {}, dataset.name)
    cleaning = CleaningConfig.preset(suggest_preset(mapping))
    source = Source(dataset, mapping, cleaning)
    last = source.rfm().last_purchase
    # the page's default dates: the end of the last purchase's day and of 90 days before it
    to_at = dt.datetime.combine(last.date(), dt.time(23, 59, 59))
    from_at = to_at - dt.timedelta(days=90)
    before = score_table(source.rfm(from_at).rfm)
    after_rfm = source.rfm(to_at).rfm
    fixed = score_table(after_rfm, cuts=score_cut_points(before))
    each = score_table(after_rfm)

    def slipping(later):
        both = before.merge(later, on="customer_id", suffixes=("_from", "_to"))
        moved = both[
            both["rfm_segment_from"].isin(GOOD_SEGMENTS) & both["rfm_segment_to"].isin(LAPSING_SEGMENTS)
        ]
        return len(moved), float(moved["monetary_to"].sum())

    def moved(later):
        both = before.merge(later, on="customer_id", suffixes=("_from", "_to"))
        return int((both["rfm_segment_from"] != both["rfm_segment_to"]).sum())

    count, at_stake = slipping(fixed)
    assert count > 0 and moved(fixed) != moved(each)  # the two choices give different answers

    page.set_viewport_size({"width": width, "height": 1000})
    page.goto(f"{server}/movement")
    settle(page)
    page.locator('[data-testid="stMetricLabel"]').filter(has_text="Slipping").wait_for()
    settle(page)
    no_exceptions(page)
    assert _metrics(page)["Slipping"] == f"{count:,}"
    assert _metrics(page)["Moved to another segment"] == f"{moved(fixed):,}"
    page.get_by_text(f"{at_stake:,.2f} of revenue at stake").first.wait_for()
    page.get_by_text("Fixed cut points: the later date is scored on the earlier date's").wait_for()
    assert page.get_by_role("radio", name="Slipping away").is_checked()
    page.get_by_text(f"{count:,} customers slipped from").first.wait_for()
    _nothing_cut_off(page, "movement")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("path", ["", "/segments", "/lookup"])
def test_nothing_is_cut_off(page, server, path, width):
    page.set_viewport_size({"width": width, "height": 1000})
    page.goto(server + path)
    settle(page)
    no_exceptions(page)
    _nothing_cut_off(page, path or "/data")
