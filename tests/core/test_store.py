"""core.store: versioned, atomic, locked model store that loads model.json and never unpickles."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import os

import joblib
import numpy as np
import pandas as pd
import pytest

from core.errors import ModelStoreError
from core.segmentation import SegmentationModel
from core.store import ModelStore

T0 = dt.datetime(2026, 11, 25, 22, 14, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(tmp_path):
    return ModelStore(tmp_path / "models")


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_save_load_round_trip(store, blob_model, blobs):
    version = store.save(blob_model, data_source="blobs.csv", now=T0)
    assert version == "v0001-20261125T221400Z"
    folder = store.root / version
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "model.joblib", "model.json"]
    loaded, manifest = store.load(version)
    pd.testing.assert_frame_equal(loaded.segment(blobs), blob_model.segment(blobs), check_exact=True)
    # the numbers travel exactly (json writes floats by repr)
    np.testing.assert_array_equal(loaded.centroids_scaled_, blob_model.centroids_scaled_)
    np.testing.assert_array_equal(loaded.mean_, blob_model.mean_)
    np.testing.assert_array_equal(loaded.scale_, blob_model.scale_)
    assert loaded.fences == blob_model.fences
    assert loaded.names_ == blob_model.names_
    assert loaded.explain(40, 5, 1200).to_dict() == blob_model.explain(40, 5, 1200).to_dict()
    assert manifest["version"] == version
    assert manifest["created_at"] == "2026-11-25T22:14:00+00:00"
    assert manifest["data_source"] == "blobs.csv"
    assert manifest["cluster_names"] == blob_model.names_
    assert manifest["config"]["k"] == 4
    assert manifest["training_fingerprint"] == blob_model.training_fingerprint_
    assert set(manifest["library_versions"]) == {"scikit-learn", "numpy", "pandas"}
    # both files are listed with their sha256, computed here from the bytes on disk
    assert manifest["files"] == {
        "model.json": _sha(folder / "model.json"),
        "model.joblib": _sha(folder / "model.joblib"),
    }
    assert json.loads((folder / "manifest.json").read_text()) == manifest
    # model.json holds the numbers as plain JSON, with the schema version and the segment grid
    saved = json.loads((folder / "model.json").read_text())
    assert saved["schema_version"] == 1 and saved["segment_grid"] is None
    assert saved["scaler"]["mean"] == list(blob_model.mean_)
    assert saved["centroids_scaled"] == [list(row) for row in blob_model.centroids_scaled_]
    assert saved["fences"]["monetary"]["high"] == blob_model.fences["monetary"].high
    # model.joblib is the sklearn pipeline, for notebooks (loaded here by the test, never by the store)
    pipeline = joblib.load(folder / "model.joblib")
    assert list(pipeline.feature_names_in_) == ["recency", "frequency", "monetary"]


def test_segment_grid_is_saved_with_the_model(store, blob_model):
    grid = {"rows": [[1, 2, "Hibernating"]], "note": "test grid"}
    blob_model.segment_grid = grid
    try:
        version = store.save(blob_model, now=T0)
    finally:
        blob_model.segment_grid = None
    assert store.load(version)[0].segment_grid == grid


def test_versions_current_and_set_current(store, blob_model):
    assert store.versions() == [] and store.current() is None
    first = store.save(blob_model, now=T0)
    second = store.save(blob_model, now=T0 + dt.timedelta(hours=1))
    assert second == "v0002-20261125T231400Z"
    assert [v.version for v in store.versions()] == [first, second]
    assert [v.k for v in store.versions()] == [4, 4]
    assert store.current() == second
    assert (store.root / "current").read_text().strip() == second
    store.set_current(first)
    assert store.current() == first
    assert store.load()[1]["version"] == first  # no version: load current
    third = store.save(blob_model, now=T0 + dt.timedelta(hours=2), make_current=False)
    assert store.current() == first and third.startswith("v0003-")


def test_tampered_model_file_is_refused(store, blob_model):
    version = store.save(blob_model, now=T0)
    path = store.root / version / "model.json"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # flip one bit of one byte
    path.write_bytes(bytes(data))
    with pytest.raises(ModelStoreError, match="does not match the manifest"):
        store.load(version)


def test_missing_model_file_is_refused(store, blob_model):
    version = store.save(blob_model, now=T0)
    (store.root / version / "model.json").unlink()
    with pytest.raises(ModelStoreError, match="model file is missing"):
        store.load(version)


def test_store_never_unpickles_model_joblib(store, blob_model, blobs, monkeypatch):
    version = store.save(blob_model, now=T0)
    (store.root / version / "model.joblib").write_bytes(b"not a pickle at all")

    def refuse(*args, **kwargs):
        raise AssertionError("joblib.load was called")

    monkeypatch.setattr(joblib, "load", refuse)
    import pickle

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    model, _ = store.load(version)
    assert model.segment(blobs)["segment"].tolist() == blob_model.segment(blobs)["segment"].tolist()


def test_old_store_without_model_json_says_retrain(store, blob_model):
    """A version written by the previous release: model.joblib + manifest with one sha256."""
    folder = store.root / "v0001-20261125T221400Z"
    folder.mkdir(parents=True)
    joblib.dump({"pretend": "old model"}, folder / "model.joblib")
    (folder / "manifest.json").write_text(
        json.dumps(
            {
                "version": folder.name,
                "created_at": "2026-11-25T22:14:00+00:00",
                "config": {"k": 4},
                "sha256": _sha(folder / "model.joblib"),
            }
        )
    )
    (store.root / "current").write_text(folder.name + "\n")
    with pytest.raises(ModelStoreError, match="saved by an older release .*retrain"):
        store.load()


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


@pytest.mark.parametrize(
    "manifest_text, words",
    [
        ("{not json", "manifest is not valid JSON"),
        ("[1, 2]", "manifest is not a JSON object"),
        ("[" * 100_000 + "]" * 100_000, "manifest is not valid JSON"),
        ('{"version": "v0009-20261125T221400Z"}', "manifest names version 'v0009-20261125T221400Z'"),
        ("", "manifest is not valid JSON"),
    ],
)
def test_every_manifest_problem_is_a_model_store_error(store, blob_model, manifest_text, words):
    version = store.save(blob_model, now=T0)
    (store.root / version / "manifest.json").write_text(manifest_text)
    with pytest.raises(ModelStoreError, match=words):
        store.load()
    with pytest.raises(ModelStoreError):
        store.manifest(version)
    assert store.versions() == []  # listed nowhere


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda m: m.update(scaler={"mean": [0, 0], "scale": [1, 1]}), "scaler.mean must hold 3 numbers"),
        (lambda m: m["scaler"].update(scale=[1.0, 0.0, 1.0]), "scaler.scale must be positive"),
        # Issue 20 item 11: positive and finite, but every distance overflows (was loaded, then 500)
        (lambda m: m["scaler"].update(scale=[1e-300, 1.0, 1.0]), "scaler.scale 1e-300 .* of recency"),
        (lambda m: m["scaler"].update(mean=[1.0, 1e300, 1.0]), "of frequency make distances overflow"),
        (lambda m: m.update(centroids_scaled=[[1e200, 0, 0]] * 4), "make distances overflow"),
        (lambda m: m.update(cluster_names=["A", "A", "B", "C"]), "unique"),
        (lambda m: m.update(schema_version=99), "schema version 99"),
        (lambda m: m.pop("centroids_scaled"), "malformed"),
    ],
)
def test_malformed_model_json_with_a_matching_hash_is_refused(store, blob_model, edit, words):
    version = store.save(blob_model, now=T0)
    folder = store.root / version
    model = json.loads((folder / "model.json").read_text())
    edit(model)
    (folder / "model.json").write_text(json.dumps(model))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["model.json"] = _sha(folder / "model.json")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelStoreError, match=words):
        store.load(version)


def test_symlinked_version_folder_and_files_are_refused(store, blob_model, tmp_path):
    real = store.save(blob_model, now=T0)
    elsewhere = tmp_path / "elsewhere"
    ModelStore(elsewhere).save(blob_model, now=T0 + dt.timedelta(hours=1))
    linked = "v0002-20261125T231400Z"
    os.symlink(elsewhere / linked, store.root / linked)
    assert [v.version for v in store.versions()] == [real]
    with pytest.raises(ModelStoreError, match="version folder is a symbolic link"):
        store.load(linked)
    with pytest.raises(ModelStoreError, match="symbolic link"):
        store.set_current(linked)
    # a model.json replaced by a link to another file, even one with the right content
    folder = store.root / real
    (tmp_path / "copy.json").write_bytes((folder / "model.json").read_bytes())
    (folder / "model.json").unlink()
    os.symlink(tmp_path / "copy.json", folder / "model.json")
    with pytest.raises(ModelStoreError, match="model file is a symbolic link"):
        store.load(real)
    # a manifest that is a link
    (tmp_path / "manifest.json").write_bytes((folder / "manifest.json").read_bytes())
    (folder / "manifest.json").unlink()
    os.symlink(tmp_path / "manifest.json", folder / "manifest.json")
    with pytest.raises(ModelStoreError, match="manifest is a symbolic link"):
        store.load(real)
    # a current pointer that is a link
    (tmp_path / "pointer").write_text(real + "\n")
    (store.root / "current").unlink()
    os.symlink(tmp_path / "pointer", store.root / "current")
    with pytest.raises(ModelStoreError, match="current pointer is a symbolic link"):
        store.current()


def test_fifo_as_model_file_is_refused_without_blocking(store, blob_model):
    version = store.save(blob_model, now=T0)
    path = store.root / version / "model.json"
    path.unlink()
    os.mkfifo(path)
    with pytest.raises(ModelStoreError, match="not a regular file"):
        store.load(version)


def test_stale_staging_folders_are_removed_when_the_store_is_opened(store, blob_model):
    version = store.save(blob_model, now=T0)
    stale = store.root / ".staging-abc123"
    stale.mkdir()
    (stale / "model.json").write_text("{half")
    reopened = ModelStore(store.root)
    assert sorted(p.name for p in reopened.root.iterdir()) == [".lock", "current", version]
    assert reopened.load()[1]["version"] == version


def test_stale_current_temp_files_are_removed_when_the_store_is_opened(store, blob_model):
    # Issue 20 item 11: a kill between writing .current-XXXX and renaming it left the file
    # for ever. Like a staging folder, it is only ever present while its writer holds the lock.
    version = store.save(blob_model, now=T0)
    (store.root / ".current-k1ll3d").write_text(version + "\n")
    (store.root / ".current-link").symlink_to(store.root / "current")
    reopened = ModelStore(store.root)
    assert sorted(p.name for p in reopened.root.iterdir()) == [".lock", "current", version]
    assert (store.root / "current").read_text() == version + "\n"  # the link's target is kept


def test_an_oversized_model_json_is_refused_before_parsing(store, blob_model):
    # A model.json is a few KB; a 2 MB one (here: padded profiles, hash updated) was parsed on
    # every load (a 15 MB one took 5-7 s and 677 MiB). It is refused from its first MB.
    version = store.save(blob_model, now=T0)
    folder = store.root / version
    model = json.loads((folder / "model.json").read_text())
    model["profiles"] = model["profiles"] * 2000
    (folder / "model.json").write_text(json.dumps(model))
    assert (folder / "model.json").stat().st_size > 1 << 20
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["model.json"] = _sha(folder / "model.json")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelStoreError, match="model file is over 1 MB, not one this store wrote"):
        store.load(version)


def test_staging_of_a_writer_holding_the_lock_is_kept(store, blob_model):
    store.save(blob_model, now=T0)
    live = store.root / ".staging-live"
    ctx = multiprocessing.get_context("fork")
    ready, done = ctx.Event(), ctx.Event()

    def writer():
        with ModelStore(store.root)._locked():  # as save() holds it while its staging folder exists
            live.mkdir()
            ready.set()
            done.wait(30)
            os.rmdir(live)

    child = ctx.Process(target=writer)
    child.start()
    try:
        assert ready.wait(30)
        opener = ctx.Process(target=ModelStore, args=(store.root,))  # blocks on the lock
        opener.start()
        opener.join(1.0)
        assert opener.is_alive() and live.is_dir()
    finally:
        done.set()
        child.join(30)
        opener.join(30)
    assert child.exitcode == 0 and opener.exitcode == 0


def _save_after_barrier(root: str, model, barrier) -> str:
    barrier.wait(60)
    return ModelStore(root).save(model, data_source="parallel")


def test_sixteen_parallel_trainings_get_sixteen_versions(store, blob_model):
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Manager().Barrier(16)
    with ctx.Pool(16) as pool:
        versions = pool.starmap(_save_after_barrier, [(str(store.root), blob_model, barrier)] * 16)
    assert len(set(versions)) == 16
    assert sorted(int(v[1:5]) for v in versions) == list(range(1, 17))
    assert sorted(v.version for v in store.versions()) == sorted(versions)
    assert store.current() in versions
    for version in versions:
        assert store.load(version)[0].names_ == blob_model.names_
    assert not [p for p in store.root.iterdir() if p.name.startswith(".staging-")]


def test_failed_save_leaves_no_version_and_no_staging(store, blob_model, monkeypatch):
    first = store.save(blob_model, now=T0)

    def broken_dump(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(joblib, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        store.save(blob_model, now=T0 + dt.timedelta(hours=1))
    assert sorted(p.name for p in store.root.iterdir()) == [".lock", "current", first]
    assert [v.version for v in store.versions()] == [first]
    assert store.current() == first


def test_unfitted_model_cannot_be_saved(store):
    with pytest.raises(ModelStoreError, match="not fitted"):
        store.save(SegmentationModel())
    assert not store.root.exists() or list(store.root.iterdir()) == []


def test_incomplete_folder_is_not_a_version_and_its_number_is_not_reused(store, blob_model):
    version = store.save(blob_model, now=T0)
    (store.root / "v0002-20261125T231400Z").mkdir()  # no manifest: half a version
    assert [v.version for v in store.versions()] == [version]
    with pytest.raises(ModelStoreError, match="no model version"):
        store.load("v0002-20261125T231400Z")
    assert store.save(blob_model, now=T0).startswith("v0003-")
