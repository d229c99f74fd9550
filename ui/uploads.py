"""Files on the server: this server's private upload folder and the server data folder.

An upload is written once into a private folder (mode 0700) named by its content hash; the
sessions that loaded it *hold* it (``hold``) until they end, and ``prune_uploads`` deletes
the others by age and total size. The data folder (env RFM_DATA_DIR) lists the files a user
may open where they lie, plain files only. Security and disk bounds of files live here; what
a session loaded is ui/files.py, and nothing here touches the session.
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import tempfile
import threading
import time
import weakref
from collections import Counter
from pathlib import Path

import streamlit as st

from core.errors import SegmentationError
from core.io import SUPPORTED, check_plain_file
from core.limits import env_number
from ui.session import Source

UPLOAD_MAX_AGE_HOURS = 24.0  # env RFM_UPLOAD_MAX_AGE_HOURS: uploads unused this long are deleted
UPLOAD_MAX_MB = 2048.0  # env RFM_UPLOAD_MAX_MB: the oldest uploads go past this total


# -- the server data folder ----------------------------------------------------------------
def data_dir() -> Path:
    """The server-side data folder: env RFM_DATA_DIR, default ./data."""
    return Path(os.environ.get("RFM_DATA_DIR", "data"))


def upload_limit_mb() -> int:
    """The largest upload the server accepts, in MB (Streamlit's server.maxUploadSize)."""
    return int(st.get_option("server.maxUploadSize"))


def server_files() -> list[Path]:
    """Transaction files directly inside the data folder, by name: plain files only (no
    symbolic or hard link, which could show any file the server can read; see
    ui.files.load_path)."""
    folder = data_dir()
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in SUPPORTED and not p.name.startswith(".") and _plain(p)
    )


def _plain(path: Path) -> bool:
    try:
        check_plain_file(path)
    except SegmentationError:
        return False
    return True


# -- uploads: a private folder per server ------------------------------------------------
_upload_dir: Path | None = None
_upload_lock = threading.Lock()


def upload_dir() -> Path:
    """This server's upload folder, mode 0700: env RFM_UPLOAD_DIR, else a fresh temp folder.

    The temp folder is made once per server process (tempfile.mkdtemp: private, unguessable)
    and removed when the server exits; a configured folder is created 0700 and refused when
    it is a symbolic link or belongs to another user.
    """
    global _upload_dir
    with _upload_lock:
        configured = os.environ.get("RFM_UPLOAD_DIR")
        if configured:
            folder = Path(configured)
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = os.lstat(folder)
            if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
                raise SegmentationError(
                    f"RFM_UPLOAD_DIR {folder} is not a folder of this server's user; "
                    "point it at a private folder"
                )
            if stat.S_IMODE(info.st_mode) != 0o700:
                os.chmod(folder, 0o700)
            return folder
        if _upload_dir is None or not _upload_dir.is_dir():
            _upload_dir = Path(tempfile.mkdtemp(prefix="rfm-uploads-"))
            atexit.register(shutil.rmtree, _upload_dir, True)
        return _upload_dir


# Uploads a live session holds (its Source in session state): path -> number of holders. A
# holder is counted off when its Source is collected (the session ended), never before.
_holders: Counter[str] = Counter()


def hold(source: Source) -> None:
    """Count ``source``'s upload as in use for as long as the object lives (pruning spares it)."""
    with _upload_lock:
        _holders[source.path] += 1
    weakref.finalize(source, _release, source.path)


def _release(path: str) -> None:
    with _upload_lock:
        _holders[path] -= 1
        if _holders[path] <= 0:
            del _holders[path]


def uploads_in_use() -> set[str]:
    """The paths of the uploads some live session has loaded."""
    with _upload_lock:
        return set(_holders)


def prune_uploads(keep: Path | None = None, now: float | None = None) -> list[str]:
    """Delete uploads unused for RFM_UPLOAD_MAX_AGE_HOURS, then the oldest past RFM_UPLOAD_MAX_MB.

    ``keep`` (the file just loaded) and every upload a live session holds (``uploads_in_use``)
    are never deleted: the total may then stay above the bound until those sessions end.
    Returns the names deleted.
    """
    folder = upload_dir()
    now = time.time() if now is None else now
    max_age = env_number("RFM_UPLOAD_MAX_AGE_HOURS", UPLOAD_MAX_AGE_HOURS) * 3600
    max_bytes = env_number("RFM_UPLOAD_MAX_MB", UPLOAD_MAX_MB) * (1 << 20)
    files = []
    for path in folder.iterdir():
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISREG(info.st_mode):
            files.append((info.st_mtime, info.st_size, path))
    files.sort()  # oldest use first
    deleted, total = [], sum(size for _, size, _ in files)
    held = uploads_in_use()
    for mtime, size, path in files:
        if (keep is not None and path == keep) or str(path) in held:
            continue
        if now - mtime > max_age or total > max_bytes:
            path.unlink(missing_ok=True)
            deleted.append(path.name)
            total -= size
    return deleted
