"""Uploads: a private folder per server (0700), files 0600, pruned by age and size, a failed
upload deleted at once, and errors that name the user's file rather than the server's copy."""

from __future__ import annotations

import hashlib
import os
import stat
import time

import pytest

from tests.app.conftest import go
from ui import session

CSV = (
    b"Invoice,InvoiceDate,Customer ID,Quantity,Price\n"
    b"1,2024-01-05 10:00,A,2,5.00\n1,2024-01-05 10:00,A,1,1.00\n2,2024-02-01 09:00,B,1,3.00\n"
)


@pytest.fixture
def upload_dir(tmp_path, monkeypatch):
    folder = tmp_path / "uploads"
    monkeypatch.setenv("RFM_UPLOAD_DIR", str(folder))
    return folder


def _mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_upload_is_kept_private(app, upload_dir):
    go(app, "data")
    app.file_uploader(key="upload").set_value(("shop.csv", CSV, "text/csv")).run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    saved = upload_dir / (hashlib.sha256(CSV).hexdigest() + ".csv")
    assert [p.name for p in upload_dir.iterdir()] == [saved.name]
    assert saved.read_bytes() == CSV
    assert _mode(upload_dir) == 0o700 and _mode(saved) == 0o600
    assert app.session_state[session.SOURCE].name == "shop.csv"


def test_failed_upload_is_deleted_and_the_error_names_the_users_file(app, upload_dir):
    go(app, "data")
    broken = b"PK\x03\x04 not a workbook"
    app.file_uploader(key="upload").set_value(
        ("Quarterly sales.xlsx", broken, "application/octet-stream")
    ).run()
    assert not app.exception
    errors = [e.value for e in app.error]
    assert errors and "Quarterly sales.xlsx" in errors[0], errors
    assert str(upload_dir) not in errors[0] and hashlib.sha256(broken).hexdigest()[:8] not in errors[0]
    assert list(upload_dir.iterdir()) == []


def test_prune_by_age_and_total_size(upload_dir, monkeypatch):
    from ui import uploads

    monkeypatch.setenv("RFM_UPLOAD_MAX_AGE_HOURS", "1")
    monkeypatch.setenv("RFM_UPLOAD_MAX_MB", "1")
    folder = uploads.upload_dir()
    now = time.time()
    files = {
        "old.csv": (now - 2 * 3600, 10),
        "a.csv": (now - 600, 400_000),
        "b.csv": (now - 300, 400_000),
        "c.csv": (now - 60, 400_000),
        "kept.csv": (now - 7200, 10),
    }
    for name, (mtime, size) in files.items():
        (folder / name).write_bytes(b"x" * size)
        os.utime(folder / name, (mtime, mtime))
    deleted = uploads.prune_uploads(keep=folder / "kept.csv", now=now)
    # old.csv: over an hour unused; then 1,200,000 bytes > 1 MiB (1,048,576): the oldest, a.csv, goes
    assert sorted(deleted) == ["a.csv", "old.csv"]
    assert sorted(p.name for p in folder.iterdir()) == ["b.csv", "c.csv", "kept.csv"]


def test_default_folder_is_a_fresh_private_temp_folder(monkeypatch):
    from ui import uploads

    monkeypatch.delenv("RFM_UPLOAD_DIR", raising=False)
    monkeypatch.setattr(uploads, "_upload_dir", None)
    folder = uploads.upload_dir()
    assert folder.name.startswith("rfm-uploads-") and _mode(folder) == 0o700
    assert uploads.upload_dir() == folder  # one per server process
    monkeypatch.setattr(uploads, "_upload_dir", None)
    assert uploads.upload_dir() != folder  # another server gets another folder


def test_configured_folder_that_is_a_link_is_refused(tmp_path, monkeypatch):
    from core.errors import SegmentationError
    from ui import uploads

    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    monkeypatch.setenv("RFM_UPLOAD_DIR", str(tmp_path / "link"))
    with pytest.raises(SegmentationError, match="not a folder of this server's user"):
        uploads.upload_dir()
