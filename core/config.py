"""The segmentation method's knobs, validated once: the one source of every default."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import ConfigError

K_RANGE = (2, 50)
# Scoring a later date (Movement): on the earlier date's cut points ("from", so a move means the
# customer changed, not the scale) or re-cut over that date's customers ("each"). Here, not in
# core.scores, so the CLI's parser offers them without importing pandas.
CUT_POINTS = ("from", "each")
DEFAULT_CUT_POINTS = "from"


@dataclass(frozen=True)
class SegmentationConfig:
    """Every knob of the method (k, IQR factor, K-Means settings, sample sizes), validated once."""

    k: int = 4
    iqr_factor: float = 1.5
    random_state: int = 42
    max_iter: int = 1000
    n_init: int = 10
    fit_sample: int = 50_000  # the k-sweep fits each k on at most this many customers
    silhouette_sample: int = 10_000  # exact silhouette up to this many customers, else a sample

    def __post_init__(self):
        low, high = K_RANGE
        if isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer)) or not low <= self.k <= high:
            raise ConfigError(f"k must be a whole number from {low} to {high}, got {self.k!r}")
        if not (isinstance(self.iqr_factor, (int, float)) and self.iqr_factor > 0):
            raise ConfigError(f"iqr_factor must be a positive number, got {self.iqr_factor!r}")
        for name in ("max_iter", "n_init", "fit_sample", "silhouette_sample"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"{name} must be a whole number of at least 1, got {value!r}")


DEFAULTS = SegmentationConfig()


def _number(value) -> bool:
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


@dataclass(frozen=True)
class CLVConfig:
    """Customer lifetime value's knobs (core.clv), validated once: the one source of the CLV defaults.

    ``weeks``: horizon of expected purchases; ``months``: horizon of CLV; ``discount``: the
    monthly discount rate (0.01 = 1 % a month); ``weeks_per_month``: 52.14 / 12.
    """

    weeks: float = 39
    months: int = 12
    discount: float = 0.01
    weeks_per_month: float = 4.345

    def __post_init__(self):
        if not _number(self.weeks) or not 0 < self.weeks <= 520:
            raise ConfigError(f"weeks must be a number of weeks from 1 to 520, got {self.weeks!r}")
        if (
            isinstance(self.months, bool)
            or not isinstance(self.months, (int, np.integer))
            or not 1 <= self.months <= 120
        ):
            raise ConfigError(f"months must be a whole number from 1 to 120, got {self.months!r}")
        if not _number(self.discount) or not 0 <= self.discount < 1:
            raise ConfigError(
                f"discount must be a monthly rate from 0 to below 1 (0.01 = 1 %), got {self.discount!r}"
            )
        if not _number(self.weeks_per_month) or self.weeks_per_month <= 0:
            raise ConfigError(f"weeks_per_month must be positive, got {self.weeks_per_month!r}")


CLV_DEFAULTS = CLVConfig()


MODEL_DIR_ENV = "RFM_MODEL_DIR"


def model_dir() -> Path:
    """The model store folder of the app, the API and the CLI's default: env RFM_MODEL_DIR, else
    ./models (read on every call)."""
    return Path(os.environ.get(MODEL_DIR_ENV) or "models")
