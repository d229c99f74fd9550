"""Fixtures for the dashboard's AppTest tests: a fresh app on a temporary model store."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from core.cleaning import CleaningConfig, suggest_preset  # noqa: E402
from core.columns import resolve_mapping  # noqa: E402
from core.io import read_transactions  # noqa: E402
from core.rfm import Source  # noqa: E402

SAMPLE = ROOT / "data" / "online_retail_II_sample.xlsx"
TIMEOUT = 60


@pytest.fixture
def model_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv("RFM_MODEL_DIR", str(folder))
    return folder


@pytest.fixture
def app(model_dir, monkeypatch) -> AppTest:
    """The router, run once (the sample is loaded), on an empty temporary model store."""
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="session")
def sample_rfm():
    """core's own RFM of the bundled sample (first sheet, suggested preset)."""
    dataset = read_transactions(SAMPLE)
    mapping = resolve_mapping(dataset.table, {}, dataset.name)
    return Source(dataset, mapping, CleaningConfig.preset(suggest_preset(mapping))).rfm()


def go(at: AppTest, page: str) -> AppTest:
    """Switch to pages/<page>.py and run it; fail on any uncaught exception."""
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def card_groups(at: AppTest) -> list[str]:
    """The VIP tier or cluster named on each customer card shown ('**VIP tier: Elite**')."""
    import re

    found = [re.match(r"\*\*(?:VIP tier|Cluster): (.+?)\*\*", m.value) for m in at.markdown]
    return [m.group(1).replace("\\", "") for m in found if m]
