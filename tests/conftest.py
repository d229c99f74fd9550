"""Fixtures shared by tests/core and tests/cli: one DuckDB connection, the bundled sample's
RFM table and a model fitted on it (computed once per session), and well separated blobs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_XLSX = REPO / "data" / "online_retail_II_sample.xlsx"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# Centres of four customer groups in (recency days, frequency, monetary), far apart relative to
# their spread; the sizes are chosen so that nobody falls outside the IQR fences.
BLOB_CENTRES = {
    "Premium": (5.0, 8.0, 2000.0),
    "Regular": (40.0, 5.0, 1200.0),
    "Occasional": (120.0, 2.0, 400.0),
    "Lapsed": (320.0, 2.0, 500.0),
}


def make_blobs(per_group: int = 50, seed: int = 0) -> pd.DataFrame:
    """RFM rows in four tight groups; column 'group' says which centre each row came from."""
    rng = np.random.default_rng(seed)
    rows = []
    for group, (r, f, m) in BLOB_CENTRES.items():
        for i in range(per_group):
            rows.append(
                {
                    "customer_id": f"{group[:3].upper()}{i:03d}",
                    "recency": int(round(r + rng.uniform(-3, 3))),
                    "frequency": int(round(f + rng.uniform(-0.4, 0.4))),
                    "monetary": round(m + rng.uniform(-40, 40), 2),
                    "group": group,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="session")
def duck():
    from core.io import connect

    return connect()


@pytest.fixture(scope="session")
def sample_dataset(duck):
    from core.io import read_transactions

    return read_transactions(SAMPLE_XLSX, con=duck)


@pytest.fixture(scope="session")
def sample_result(sample_dataset):
    """The sample's first sheet through the same path the CLI takes (detected mapping, preset)."""
    from core.cleaning import CleaningConfig, suggest_preset
    from core.columns import resolve_mapping
    from core.rfm import Source

    mapping = resolve_mapping(sample_dataset.table, {}, sample_dataset.name)
    return Source(sample_dataset, mapping, CleaningConfig.preset(suggest_preset(mapping))).rfm()


@pytest.fixture(scope="session")
def sample_rfm(sample_result) -> pd.DataFrame:
    return sample_result.rfm


@pytest.fixture(scope="session")
def sample_model(sample_rfm):
    from core.segmentation import SegmentationModel

    return SegmentationModel().fit(sample_rfm)


@pytest.fixture(scope="session")
def blobs() -> pd.DataFrame:
    return make_blobs()


@pytest.fixture(scope="session")
def blob_model(blobs):
    from core.segmentation import SegmentationModel

    return SegmentationModel().fit(blobs)
