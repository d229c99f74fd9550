"""Atomic file output: write to a temporary sibling, rename into place on success."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is renamed to ``path``.

    On any exception the temporary file is removed, so a failed run never leaves a
    half-written output behind. ``mode``: the file's permissions (default: 0666 less the umask).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    temp = Path(temp_name)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield temp
        os.chmod(temp, 0o666 & ~umask if mode is None else mode)  # mkstemp makes 0600
        os.replace(temp, target)
    finally:
        if temp.exists():
            temp.unlink()
