"""The command line builds one ReadOptions from its flags, and takes its defaults from the one
place each lives (ReadOptions for reading, core.config.DEFAULTS for the model)."""

from __future__ import annotations

import datetime as dt

import pytest

from core.cli import build_parser, read_options
from core.config import DEFAULTS
from core.errors import ConfigError
from core.options import ReadOptions


@pytest.mark.parametrize("command", ["rfm", "segment", "report", "migration", "sweep", "train"])
def test_no_reading_flag_gives_the_default_options(command):
    extra = {
        "rfm": ["-o", "x.csv"],
        "segment": ["-o", "x.csv"],
        "report": ["-o", "x.html"],
        "migration": ["--from", "2010-01-01", "--to", "2010-02-01", "-o", "x.csv"],
        "sweep": [],
        "train": [],
    }[command]
    args = build_parser().parse_args([command, "f.csv", *extra])
    assert read_options(args) == ReadOptions()


def test_every_reading_flag_lands_in_the_options():
    args = build_parser().parse_args(
        [
            "rfm",
            "f.xlsx",
            "--customer",
            "Email",
            "--amount",
            "",
            "--sheet",
            "all",
            "--preset",
            "generic",
            "--returns",
            "net",
            "--decimal",
            ",",
            "--date-format",
            "dayfirst",
            "--as-of",
            "2011-12-09 12:50",
            "-o",
            "x.csv",
        ]
    )
    assert read_options(args) == ReadOptions(
        mapping=(("customer", "Email"), ("amount", "")),
        sheet="all",
        preset="generic",
        returns="net",
        decimal=",",
        date_format="dayfirst",
        as_of=dt.datetime(2011, 12, 9, 12, 50),
    )


def test_a_bad_as_of_is_refused_when_the_options_are_made():
    args = build_parser().parse_args(["rfm", "f.csv", "--as-of", "yesterday", "-o", "x.csv"])
    with pytest.raises(ConfigError, match="as-of date 'yesterday' is not a date"):
        read_options(args)


@pytest.mark.parametrize("command", ["train", "segment", "report"])
def test_k_defaults_to_the_model_default(command):
    extra = {"train": [], "segment": ["-o", "x.csv"], "report": ["-o", "x.html"]}[command]
    assert build_parser().parse_args([command, "f.csv", *extra]).k == DEFAULTS.k
