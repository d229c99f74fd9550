"""`python -m core` on the bundled real sample and on small mapped files: outputs, values and
their agreement with the engine called in-process."""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from core.cleaning import CleaningConfig, suggest_preset
from core.columns import resolve_mapping
from core.io import read_transactions
from core.outliers import TIERS
from core.rfm import Source
from core.store import ModelStore
from tests.cli.test_cli_errors import run_cli
from tests.conftest import SAMPLE_XLSX


@pytest.fixture(scope="module")
def sample_runs(tmp_path_factory):
    """The commands that read the whole sample, started together: name -> (result, folder)."""
    folder = tmp_path_factory.mktemp("sample_runs")
    commands = {
        "rfm": ["rfm", SAMPLE_XLSX, "-o", folder / "rfm.csv"],
        "rfm_all": ["rfm", SAMPLE_XLSX, "--sheet", "all", "-o", folder / "rfm_all.csv"],
        "train": ["train", SAMPLE_XLSX, "--model-dir", folder / "models"],
        "segment": ["segment", SAMPLE_XLSX, "-o", folder / "segments.csv"],
    }
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        results = dict(zip(commands, pool.map(lambda args: run_cli(*args), commands.values())))
    return results, folder


def _read_output(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"customer_id": str}, keep_default_na=False, na_values=[""])


def _ok(result):
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def test_rfm_on_the_sample_matches_the_engine(sample_runs, sample_rfm):
    runs, folder = sample_runs
    out = folder / "rfm.csv"
    result = _ok(runs["rfm"])
    assert out.read_text().splitlines()[0] == "customer_id,recency,frequency,monetary"
    written = _read_output(out)
    assert written.customer_id.is_unique
    assert len(written) == len(sample_rfm) > 100
    pd.testing.assert_frame_equal(written, sample_rfm, check_dtype=False)
    # the audit line on stderr: rows read from the first sheet (data/README.md: 14,269)
    assert "14,269 lines read" in result.stderr
    assert f"wrote {len(sample_rfm):,} rows to {out}" in result.stderr


def test_train_then_score_json(sample_runs, sample_rfm):
    runs, folder = sample_runs
    models = folder / "models"
    trained = _ok(runs["train"])
    store = ModelStore(models)
    [info] = store.versions()
    assert store.current() == info.version
    assert re.search(rf"saved model {info.version} \(k=4; clusters: ", trained.stderr)
    names = info.manifest["cluster_names"]
    assert set(names) == {"Premium", "Regular", "Occasional", "Lapsed"}
    # the manifest's training fingerprint is the in-process RFM's: same data, same table
    from core.segmentation import fingerprint

    assert info.manifest["training_fingerprint"] == fingerprint(sample_rfm)

    # a customer sitting on a centroid is in that centroid's cluster
    centroid = info.manifest["centroids"][0]
    scored = _ok(
        run_cli(
            "score",
            "--recency",
            centroid["recency"],
            "--frequency",
            max(centroid["frequency"], 1),
            "--monetary",
            centroid["monetary"],
            "--model-dir",
            models,
            "--json",
        )
    )
    answer = json.loads(scored.stdout)
    assert answer["model_version"] == info.version
    assert answer["segment"] in names
    assert answer["segment"] == centroid["segment"]
    assert answer["tier"] is None and answer["cluster"] == 0
    assert set(answer["distances"]) == set(names)
    assert answer["actions"]

    # a customer far above the monetary fence is a VIP tier, not a cluster
    high = info.manifest["fences"]["monetary"]["high"] * 10
    vip = json.loads(
        _ok(
            run_cli(
                "score",
                "--recency",
                "1",
                "--frequency",
                "1",
                "--monetary",
                high,
                "--model",
                info.version,
                "--model-dir",
                models,
                "--json",
            )
        ).stdout
    )
    assert vip["segment"] == vip["tier"] == "High_Spender" and vip["cluster"] is None

    # plain text form
    text = _ok(
        run_cli("score", "--recency", "1", "--frequency", "1", "--monetary", high, "--model-dir", models)
    ).stdout
    assert text.startswith(f"segment: High_Spender  (model {info.version})")


def test_segment_fits_on_the_file(sample_runs, sample_rfm, sample_model):
    runs, folder = sample_runs
    out = folder / "segments.csv"
    result = _ok(runs["segment"])
    # the per-segment profile is printed on stderr
    assert all(name in result.stderr for name in sample_model.names_)
    assert (
        out.read_text().splitlines()[0]
        == "customer_id,recency,frequency,monetary,tier,cluster,segment,r_score,f_score,m_score,rfm_segment"
    )
    written = _read_output(out)
    assert len(written) == len(sample_rfm) and written.customer_id.is_unique
    assert written[["r_score", "f_score", "m_score"]].isin([1, 2, 3, 4, 5]).all().all()
    tiers = written[written.tier.notna()]
    assert (tiers.segment == tiers.tier).all() and tiers.cluster.isna().all()
    assert set(tiers.tier) <= set(TIERS)
    clustered = written[written.tier.isna()]
    assert set(clustered.segment) <= set(sample_model.names_)
    # the same default model in-process gives the same segments
    expected = sample_model.segment(sample_rfm)
    assert written.segment.tolist() == expected.segment.astype(str).tolist()


def test_segment_writes_scores_and_named_segments_computed_by_hand(tmp_path):
    source = tmp_path / "orders.csv"
    source.write_text(
        "cust,invoice,order_date,amount\n"
        "A,1,2024-03-10,10\nA,2,2024-03-10,30\n"
        "B,3,2024-03-05,20\n"
        "C,4,2024-03-01,100\nC,5,2024-03-08,50\nC,6,2024-03-09,50\n"
        "D,7,2024-01-10,5\n"
        "E,8,2024-02-09,20\n"
    )
    out = tmp_path / "segments.csv"
    _ok(run_cli("segment", source, "--k", "2", "-o", out))
    written = _read_output(out).set_index("customer_id")
    # as of 2024-03-10: recency A 0, B 5, C 1, D 60 (2024 is a leap year), E 30
    # five customers: percentile p sits at position 4p of the sorted values
    # recency 0 1 5 30 60 -> cuts 0.8, 3.4, 15, 36 -> r = 5 - #cuts below:
    #   A 5, B 3, C 4, D 1, E 2
    # frequency 1 1 1 2 3 (A 2, C 3) -> cuts 1, 1, 1.4, 2.2 -> f: A 4, B 1, C 5, D 1, E 1
    # monetary 5 20 20 40 200 (A 40, B 20, C 200, D 5, E 20) -> cuts 17, 20, 28, 72
    #   -> m: A 4, B 2, C 5, D 1, E 2
    # fm = floor((f + m) / 2 + 0.5): A floor(4.5) = 4, B floor(2.0) = 2, C 5, D 1, E 2
    assert written["r_score"].to_dict() == dict(A=5, B=3, C=4, D=1, E=2)
    assert written["f_score"].to_dict() == dict(A=4, B=1, C=5, D=1, E=1)
    assert written["m_score"].to_dict() == dict(A=4, B=2, C=5, D=1, E=2)
    assert written["rfm_segment"].to_dict() == {
        "A": "Champions",
        "B": "About to Sleep",
        "C": "Loyal",
        "D": "Hibernating",
        "E": "Hibernating",
    }
    # the named segments stand beside the VIP tiers: C (200 > the fence 70) is a High_Spender
    assert written.loc["C", "segment"] == "High_Spender"


def test_segment_with_a_saved_model(tmp_path, sample_model, sample_rfm):
    store = ModelStore(tmp_path / "models")
    version = store.save(sample_model, data_source="sample")
    out = tmp_path / "segments.csv"
    _ok(run_cli("segment", SAMPLE_XLSX, "--model", version, "--model-dir", store.root, "-o", out))
    written = _read_output(out)
    assert written.segment.tolist() == sample_model.segment(sample_rfm).segment.astype(str).tolist()


def test_rfm_with_mapping_flags_keeps_ids_as_written(tmp_path):
    source = tmp_path / "orders.csv"
    source.write_text(
        "cust,order_date,amount\n"
        "00017,2024-03-01 10:00,10.00\n"
        "00017,2024-03-04 09:00,2.50\n"
        "0042,2024-03-02 12:00,7.25\n"
        "007,2024-03-05 08:00,1.00\n"
    )
    out = tmp_path / "rfm.csv"
    _ok(run_cli("rfm", source, "--customer", "cust", "--date", "order_date", "--amount", "amount", "-o", out))
    # as-of = 03-05 08:00. 00017: last 03-04 09:00 -> 23 h -> 0 days, 2 timestamps, 12.50;
    # 0042: 03-02 12:00 -> 2 d 20 h -> 2; 007: 0.
    assert out.read_text() == (
        "customer_id,recency,frequency,monetary\n00017,0,2,12.5\n0042,2,1,7.25\n007,0,1,1.0\n"
    )


def test_rfm_with_flags_for_names_detection_cannot_guess(tmp_path):
    source = tmp_path / "odd.csv"
    source.write_text("buyer_code;when;paid\n00017;2024-03-01;10\n00017;2024-03-03;5\n")
    out = tmp_path / "rfm.csv"
    _ok(run_cli("rfm", source, "--customer", "buyer_code", "--date", "when", "--amount", "paid", "-o", out))
    assert out.read_text() == "customer_id,recency,frequency,monetary\n00017,0,2,15.0\n"


def test_sheet_all_stacks_both_years(sample_runs, duck, sample_rfm):
    runs, folder = sample_runs
    out = folder / "rfm_all.csv"
    result = _ok(runs["rfm_all"])
    assert f"{14_269 + 20_497:,} lines read" in result.stderr
    dataset = read_transactions(SAMPLE_XLSX, sheet="all", con=duck)
    mapping = resolve_mapping(dataset.table)
    expected = Source(dataset, mapping, CleaningConfig.preset(suggest_preset(mapping))).rfm().rfm
    written = _read_output(out)
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)
    assert len(written) > len(sample_rfm)


def test_returns_net_and_generic_preset_flags(tmp_path):
    source = tmp_path / "returns.csv"
    source.write_text(
        "Invoice,StockCode,Quantity,InvoiceDate,Price,Customer ID\n"
        "536365,22728,4,2010-12-01 08:00,5.00,00017\n"
        "C536366,22728,-1,2010-12-02 08:00,5.00,00017\n"
        "536367,POST,1,2010-12-03 08:00,18.00,00018\n"
    )
    dropped = _ok(run_cli("rfm", source, "-o", "-")).stdout
    # online-retail preset: POST dropped, so 00018 has no row; 00017 = 4 x 5.00 = 20.00
    assert dropped == "customer_id,recency,frequency,monetary\n00017,0,1,20.0\n"
    netted = _ok(run_cli("rfm", source, "--returns", "net", "--preset", "generic", "-o", "-")).stdout
    # generic: POST kept (as-of 12-03 08:00); net: 20.00 - 5.00 = 15.00
    assert netted == ("customer_id,recency,frequency,monetary\n00017,2,1,15.0\n00018,0,1,18.0\n")
