"""The file this session analyses: loading it (upload, server folder, sample), choosing how it
is read (sheet, header row, export profile, settings), and what the pages show of it.

A load commits a ``Source`` and the settings detected from the file to the session
(ui/session.py) in one step, so a page never sees a file with another file's settings; the
reads themselves are the cached engine calls of ui/engine.py, keyed by the file's content
hash. Where an upload is kept, and for how long, is ui/uploads.py.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path

import pandas as pd

from core.atomic import atomic_output
from core.cleaning import PRESETS
from core.errors import SegmentationError
from core.io import check_plain_file
from ui import engine, session, uploads
from ui.session import Settings, Source

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_PATH = ROOT / "data" / "online_retail_II_sample.xlsx"


def _commit(loaded: Source, sheet: str | None = None) -> None:
    """Make ``loaded`` the session's file with settings detected from it (raises on a bad file)."""
    info = engine.file_info(loaded.content_hash, loaded.name, sheet, loaded.raw)
    detected = Settings(sheet=info.sheet, mapping=info.detected, rules=PRESETS[info.preset])
    if loaded.origin == "upload":
        uploads.hold(loaded)
    session.set_source(loaded, detected)


def load_bytes(name: str, data: bytes, origin: str = "upload") -> None:
    """Load an upload (or any bytes with a file name); the tested path for file_uploader.

    The bytes are written once (mode 0600) to this server's private upload folder, named by
    their hash: sessions then hold a path, not the file, and every cached engine call scans
    that one copy. A file that cannot be loaded is deleted at once, and the error names the
    user's file, not the server's copy. Old uploads are pruned (ui.uploads.prune_uploads).
    """
    display = Path(name).name
    content_hash = hashlib.sha256(data).hexdigest()
    path = uploads.upload_dir() / f"{content_hash}{Path(display).suffix.lower()}"
    fresh = not path.exists()
    if fresh:
        with atomic_output(path, mode=0o600) as tmp:
            tmp.write_bytes(data)
    else:
        os.utime(path)  # pruning goes by last use
    try:
        _commit(Source(name=display, content_hash=content_hash, path=str(path), origin=origin))
    except Exception as exc:
        if fresh:
            path.unlink(missing_ok=True)
        if isinstance(exc, SegmentationError):
            message = str(exc).replace(str(path), display).replace(path.name, display)
            raise type(exc)(message) from None
        raise
    uploads.prune_uploads(keep=path)


def load_path(path: str | os.PathLike, origin: str = "server") -> None:
    """Load a file the server can read (the sample, or one from the data folder: a plain file
    only, SegmentationError for a link or a missing file)."""
    path = Path(path)
    if origin == "server":
        check_plain_file(path)
    if not path.is_file():
        raise SegmentationError(f"{path.name}: no such file on the server")
    info = path.stat()
    _commit(
        Source(
            name=path.name,
            content_hash=engine.path_hash(str(path), info.st_size, info.st_mtime_ns),
            path=str(path),
            origin=origin,
        )
    )


def load_sample() -> None:
    """Load the bundled Online Retail II sample."""
    load_path(SAMPLE_PATH, origin="sample")


def ensure_source() -> None:
    """Load the bundled sample on a session's first run, so every page works at once."""
    if session.source() is None:
        load_sample()


def source() -> Source:
    """The loaded file. An upload no longer on the server (removed while no session held it, or
    by hand) is replaced by the sample, and ``session.lost_upload`` names it for the page to say so."""
    ensure_source()
    loaded = session.source()
    if loaded.origin == "upload" and not Path(loaded.path).is_file():
        load_sample()
        session.set_lost_upload(loaded.name)  # until another file is loaded
        loaded = session.source()
    return loaded


def settings() -> Settings:
    """How the loaded file is read (loading the sample first on a session's first run)."""
    ensure_source()
    return session.settings()


def select_sheet(sheet: str) -> None:
    """Switch to another sheet: columns may differ, so the mapping is detected again."""
    src, s = source(), settings()
    info = engine.file_info(src.content_hash, src.name, sheet, src.raw, s.profile)
    session.set_settings(replace(s, sheet=info.sheet, mapping=info.detected, header_row=None))
    session.next_generation()


def select_header_row(row: int | None) -> None:
    """Read the header from another row (None: found): columns differ, so the mapping is
    detected again."""
    src, s = source(), settings()
    info = engine.file_info(src.content_hash, src.name, s.sheet, src.raw, s.profile, row)
    session.set_settings(replace(s, header_row=row, mapping=info.detected))
    session.next_generation()


def select_profile(profile: str | None) -> None:
    """Read the file by another export profile (None: recognised; 'none': without one): the
    columns and their meaning change, so the mapping is detected again."""
    src, s = source(), settings()
    info = engine.file_info(src.content_hash, src.name, s.sheet, src.raw, profile, s.header_row)
    session.set_settings(replace(s, profile=profile, mapping=info.detected))
    session.next_generation()


def current_info() -> engine.FileInfo:
    """The loaded file as read under the current sheet, profile and header row (ui.engine.file_info)."""
    src, s = source(), settings()
    return engine.file_info(src.content_hash, src.name, s.sheet, src.raw, s.profile, s.header_row)


def current_preview() -> pd.DataFrame:
    """The loaded file's first rows as read, for the Data page."""
    return current_info().preview


def current() -> engine.Loaded:
    """RFM of the loaded file under the current settings (raises SegmentationError)."""
    src = source()
    return engine.rfm_result(src.content_hash, src.name, settings(), src.raw)
