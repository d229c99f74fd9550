"""Money metrics stay readable: a figure too long for a metric is shown short, exact below."""

from __future__ import annotations

import pytest

from ui import render


class _Column:
    """Records what a page writes into one st.columns() column."""

    def __init__(self):
        self.calls = []

    def metric(self, label, value, help=None):
        self.calls.append(("metric", label, value))

    def caption(self, text):
        self.calls.append(("caption", text))


@pytest.mark.parametrize(
    "value, code, shown",
    [
        # fits a metric (10 characters): exact, nothing under it
        (543_814.85, None, [("metric", "Revenue", "543,814.85")]),
        (874.5, "GBP", [("metric", "Revenue", "£874.50")]),
        # too long: short in the metric, the exact figure under it
        (43_659_512.34, None, [("metric", "Revenue", "43.66m"), ("caption", "43,659,512.34 exactly")]),
        (43_659_512.34, "GBP", [("metric", "Revenue", "£43.66m"), ("caption", "£43,659,512.34 exactly")]),
        (
            43_659_512.34,
            "CHF",
            [("metric", "Revenue", "43.66m CHF"), ("caption", "43,659,512.34 CHF exactly")],
        ),
        (2_345_678_901.0, None, [("metric", "Revenue", "2.35bn"), ("caption", "2,345,678,901.00 exactly")]),
        (123_456.78, "EUR", [("metric", "Revenue", "€123.46k"), ("caption", "€123,456.78 exactly")]),
    ],
)
def test_money_metric(value, code, shown):
    column = _Column()
    render.money_metric(column, "Revenue", value, code)
    assert column.calls == shown
