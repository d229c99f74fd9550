"""core.store: versioned, atomic, hash-checked model store."""
from __future__ import annotations

import datetime as dt
import json

import joblib
import pandas as pd
import pytest

from core.errors import ModelStoreError
from core.segmentation import SegmentationModel
from core.store import ModelStore

T0 = dt.datetime(2026, 11, 25, 22, 14, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def store(tmp_path):
    return ModelStore(tmp_path / "models")


def test_save_load_round_trip(store, blob_model, blobs):
    version = store.save(blob_model, data_source="blobs.csv", now=T0)
    assert version == "v0001-20261125T221400Z"
    folder = store.root / version
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "model.joblib"]
    loaded, manifest = store.load(version)
    pd.testing.assert_frame_equal(loaded.segment(blobs), blob_model.segment(blobs))
    assert loaded.names_ == blob_model.names_
    assert manifest["version"] == version
    assert manifest["created_at"] == "2026-11-25T22:14:00+00:00"
    assert manifest["data_source"] == "blobs.csv"
    assert manifest["cluster_names"] == blob_model.names_
    assert manifest["config"]["k"] == 4
    assert manifest["training_fingerprint"] == blob_model.training_fingerprint_
    assert set(manifest["library_versions"]) == {"scikit-learn", "numpy", "pandas"}
    assert len(manifest["sha256"]) == 64
    assert json.loads((folder / "manifest.json").read_text()) == manifest


def test_versions_current_and_set_current(store, blob_model):
    assert store.versions() == [] and store.current() is None
    first = store.save(blob_model, now=T0)
    second = store.save(blob_model, now=T0 + dt.timedelta(hours=1))
    assert second == "v0002-20261125T231400Z"
    assert [v.version for v in store.versions()] == [first, second]
    assert [v.k for v in store.versions()] == [4, 4]
    assert store.current() == second  # the newest save becomes current
    assert (store.root / "current").read_text().strip() == second
    store.set_current(first)
    assert store.current() == first
    assert store.load()[1]["version"] == first  # no version: load current
    third = store.save(blob_model, now=T0 + dt.timedelta(hours=2), make_current=False)
    assert store.current() == first and third.startswith("v0003-")


def test_tampered_model_file_is_refused(store, blob_model):
    version = store.save(blob_model, now=T0)
    path = store.root / version / "model.joblib"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # flip one bit of one byte
    path.write_bytes(bytes(data))
    with pytest.raises(ModelStoreError, match="does not match the manifest"):
        store.load(version)


def test_missing_model_file_is_refused(store, blob_model):
    version = store.save(blob_model, now=T0)
    (store.root / version / "model.joblib").unlink()
    with pytest.raises(ModelStoreError, match="model file is missing"):
        store.load(version)


def test_unknown_or_malformed_version_and_no_current(store, blob_model):
    with pytest.raises(ModelStoreError, match="no current model"):
        store.load()
    store.save(blob_model, now=T0)
    with pytest.raises(ModelStoreError, match="no model version 'v0042-20261125T221400Z'") as info:
        store.load("v0042-20261125T221400Z")
    assert "v0001-20261125T221400Z" in str(info.value)  # lists the versions there are
    with pytest.raises(ModelStoreError, match="not a model version name"):
        store.load("../../etc/passwd")
    with pytest.raises(ModelStoreError):
        store.set_current("v0042-20261125T221400Z")


def test_failed_save_leaves_no_version_and_no_staging(store, blob_model, monkeypatch):
    first = store.save(blob_model, now=T0)

    def broken_dump(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(joblib, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        store.save(blob_model, now=T0 + dt.timedelta(hours=1))
    assert sorted(p.name for p in store.root.iterdir()) == ["current", first]
    assert [v.version for v in store.versions()] == [first]
    assert store.current() == first


def test_unfitted_model_cannot_be_saved(store):
    with pytest.raises(ModelStoreError, match="not fitted"):
        store.save(SegmentationModel())
    assert not store.root.exists() or list(store.root.iterdir()) == []


def test_incomplete_folder_is_not_a_version(store, blob_model):
    version = store.save(blob_model, now=T0)
    (store.root / "v0002-20261125T231400Z").mkdir()  # no manifest: half a version
    assert [v.version for v in store.versions()] == [version]
    with pytest.raises(ModelStoreError, match="no model version"):
        store.load("v0002-20261125T231400Z")
