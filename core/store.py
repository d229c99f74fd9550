"""Versioned model store: ``models/<version>/{model.json, model.joblib, manifest.json}`` + ``models/current``.

``model.json`` is the fitted model as numbers and names: it is what the CLI, the dashboard and
the API load, so loading never unpickles anything. ``model.joblib`` (the sklearn Pipeline) is
written for notebooks and listed in the manifest with its hash; this code never loads it.

Writes go to a ``.staging-*`` folder and are renamed into place while holding an exclusive
``fcntl`` lock on ``models/.lock``, which also guards the ``current`` switch: parallel
trainings (threads or processes) each get their own version. A staging folder found while
holding the lock belongs to a writer that died (the lock is released when a process dies):
it is removed when the store is opened, and so is a ``.current-*`` file (the ``current``
switch writes one under the lock and renames it). Symbolic links inside the store are
refused, JSON files over MAX_JSON_BYTES are not read, and every problem with a manifest or a
model file is a ``ModelStoreError``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

import joblib

from core.errors import ConfigError, ModelStoreError
from core.segmentation import SegmentationModel

MODEL_FILE, PIPELINE_FILE = "model.json", "model.joblib"
MANIFEST_FILE, CURRENT_FILE = "manifest.json", "current"
LOCK_FILE, STAGING_PREFIX, CURRENT_TEMP_PREFIX = ".lock", ".staging-", ".current-"
# A model.json is a few KB (k centroids, k + 3 profiles); a manifest about as much. Anything
# far larger was not written by this store, and would cost seconds and memory to parse.
MAX_JSON_BYTES = 1 << 20
_VERSION = re.compile(r"^v(\d{4,})-\d{8}T\d{6}Z$")
RETRAIN = "retrain to save a new version (python -m core train FILE, or the Clusters page)"


class UnusableModelError(ModelStoreError):
    """A model file that was read and refused; ``reason`` says why without the server path
    (safe to show an API client), the message adds the path (for the log and the CLI)."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.reason = reason


def _read_regular(path: Path, what: str) -> bytes:
    """The bytes of a regular file that is not a symbolic link, or ModelStoreError."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ModelStoreError(f"{path}: {what} is missing; {RETRAIN}") from None
    except OSError as exc:
        if path.is_symlink():
            raise ModelStoreError(
                f"{path}: {what} is a symbolic link; the store only reads its own files, refusing it"
            ) from None
        raise ModelStoreError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise ModelStoreError(f"{path}: {what} is not a regular file, refusing it")
        data = fh.read(MAX_JSON_BYTES + 1) if what != "pipeline file" else fh.read()
    if what != "pipeline file" and len(data) > MAX_JSON_BYTES:
        raise UnusableModelError(
            path, f"{what} is over {MAX_JSON_BYTES >> 20} MB, not one this store wrote; {RETRAIN}"
        )
    return data


def _json(path: Path, what: str) -> dict:
    data = _read_regular(path, what)
    try:
        parsed = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ModelStoreError(
            f"{path}: {what} is not valid JSON ({exc.__class__.__name__}); "
            f"it was edited or damaged; {RETRAIN}"
        ) from None
    if not isinstance(parsed, dict):
        raise ModelStoreError(f"{path}: {what} is not a JSON object; {RETRAIN}")
    return parsed


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class VersionInfo:
    """One saved model version: its name and its manifest (as written by ``save``)."""

    version: str
    manifest: dict

    @property
    def created_at(self) -> str:
        """When the version was saved (ISO 8601, UTC), '' when the manifest does not say."""
        return str(self.manifest.get("created_at", ""))

    @property
    def k(self) -> int:
        """The version's number of clusters; 0 when the manifest does not say or is malformed."""
        config = self.manifest.get("config")
        try:
            return int(config.get("k", 0)) if isinstance(config, dict) else 0
        except (TypeError, ValueError):
            return 0


class ModelStore:
    """Model versions under ``root`` (default ``models/``)."""

    def __init__(self, root: str | os.PathLike = "models"):
        self.root = Path(root)
        if self.root.is_dir():
            try:
                self.clean_stale_staging()
            except OSError:  # a read-only store can still be read
                pass

    # -- locking ---------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self):
        """Exclusive store lock (fcntl on models/.lock), released when the process dies."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def clean_stale_staging(self) -> list[str]:
        """Remove ``.staging-*`` folders and ``.current-*`` files left by writers that died;
        returns their names."""
        stale = (STAGING_PREFIX, CURRENT_TEMP_PREFIX)
        if not any(p.name.startswith(stale) for p in self.root.iterdir()):
            return []
        removed = []
        with self._locked():  # every live writer holds the lock while its temp files exist
            for path in self.root.iterdir():
                if path.name.startswith(stale):
                    if path.is_symlink() or not path.is_dir():
                        path.unlink()
                    else:
                        shutil.rmtree(path, ignore_errors=True)
                    removed.append(path.name)
        return removed

    # -- reading ---------------------------------------------------------------------
    def versions(self) -> list[VersionInfo]:
        """All complete versions, oldest first (folders that are links or lack a manifest are skipped)."""
        if not self.root.is_dir():
            return []
        out = []
        for folder in sorted(self.root.iterdir(), key=lambda p: (_number(p.name), p.name)):
            if not _VERSION.match(folder.name) or folder.is_symlink() or not folder.is_dir():
                continue
            try:
                out.append(VersionInfo(folder.name, self.manifest(folder.name)))
            except ModelStoreError:
                continue  # not a complete version: listed nowhere, loading it says why
        return out

    def current(self) -> str | None:
        """The version ``current`` names, or None when there is none (ModelStoreError if it is bad)."""
        pointer = self.root / CURRENT_FILE
        if not pointer.exists() and not pointer.is_symlink():
            return None
        name = _read_regular(pointer, "current pointer").decode("utf-8", "replace").strip()
        if not name:
            return None
        if not _VERSION.match(name):
            raise ModelStoreError(
                f"{pointer}: does not name a model version; make a version current "
                "on the Clusters page or retrain"
            )
        return name

    def _folder(self, version: str) -> Path:
        if not isinstance(version, str) or not _VERSION.match(version):
            raise ModelStoreError(f"'{version}' is not a model version name (like v0001-20261125T221400Z)")
        folder = self.root / version
        if folder.is_symlink():
            raise ModelStoreError(f"{folder}: version folder is a symbolic link; refusing it")
        if not (folder / MANIFEST_FILE).exists() and not (folder / MANIFEST_FILE).is_symlink():
            known = (
                sorted(
                    (
                        p.name
                        for p in self.root.iterdir()
                        if _VERSION.match(p.name) and (p / MANIFEST_FILE).is_file()
                    ),
                    key=_number,
                )
                if self.root.is_dir()
                else []
            )
            raise ModelStoreError(f"no model version '{version}' in {self.root}; versions: {known or 'none'}")
        return folder

    def manifest(self, version: str) -> dict:
        """The manifest of a version (ModelStoreError when it is missing, a link or not valid)."""
        manifest = _json(self._folder(version) / MANIFEST_FILE, "manifest")
        if manifest.get("version") != version:
            raise ModelStoreError(
                f"{self.root / version / MANIFEST_FILE}: manifest names version "
                f"{str(manifest.get('version'))[:40]!r}, not {version}; {RETRAIN}"
            )
        return manifest

    def load(self, version: str | None = None) -> tuple[SegmentationModel, dict]:
        """Load a version (default: current) from its model.json, after checking its sha256."""
        if version is None:
            version = self.current()
            if version is None:
                raise ModelStoreError(
                    f"no current model in {self.root}; train one first (python -m core train FILE)"
                )
        folder = self._folder(version)
        manifest = self.manifest(version)
        model_path = folder / MODEL_FILE
        files = manifest.get("files")
        if not isinstance(files, dict) or MODEL_FILE not in files:
            raise ModelStoreError(
                f"{folder}: version {version} was saved by an older release "
                f"(no {MODEL_FILE}); it is not loaded; {RETRAIN}"
            )
        data = _read_regular(model_path, "model file")
        actual = _sha256_bytes(data)
        if actual != files.get(MODEL_FILE):
            raise UnusableModelError(
                model_path,
                f"sha256 {actual[:12]}... does not match the manifest; "
                f"the file was changed or corrupted, refusing to load it; {RETRAIN}",
            )
        try:
            model = SegmentationModel.from_dict(json.loads(data))
        except (ValueError, RecursionError, ConfigError) as exc:
            raise UnusableModelError(model_path, f"not a usable model ({exc}); {RETRAIN}") from None
        return model, manifest

    def model_file_signature(self, version: str) -> tuple:
        """(size, modification time in ns, inode) of a version's model.json: changes whenever the
        file is replaced or written, so a loaded model can be cached under it (with the
        manifest's sha256) and the file read and verified again only when it changed."""
        try:
            info = os.stat(self._folder(version) / MODEL_FILE, follow_symlinks=False)
        except OSError:
            return ()
        return (info.st_size, info.st_mtime_ns, info.st_ino)

    # -- writing ---------------------------------------------------------------------
    def save(
        self,
        model: SegmentationModel,
        *,
        data_source: str = "",
        extra: dict | None = None,
        make_current: bool = True,
        now: _dt.datetime | None = None,
    ) -> str:
        """Write a new version atomically and return its name; it becomes current if ``make_current``."""
        if not getattr(model, "fitted", False):
            raise ModelStoreError("cannot save a model that was not fitted")
        now = now or _dt.datetime.now(_dt.UTC)
        model_json = json.dumps(model.to_dict(), indent=1, allow_nan=True).encode("utf-8")
        with self._locked():
            version = self._next_version(now)
            staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.root))
            try:
                (staging / MODEL_FILE).write_bytes(model_json)
                files = {MODEL_FILE: _sha256_bytes(model_json)}
                pipeline = getattr(model, "pipeline", None)
                if pipeline is not None:  # for notebooks only: never loaded by this code
                    joblib.dump(pipeline, staging / PIPELINE_FILE)
                    files[PIPELINE_FILE] = _sha256(staging / PIPELINE_FILE)
                manifest = {
                    "version": version,
                    "created_at": now.isoformat(timespec="seconds"),
                    "data_source": data_source,
                    **model.summary(),
                    "files": files,
                    "sha256": files[MODEL_FILE],
                    **(extra or {}),
                }
                (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, default=str))
                os.chmod(staging, 0o755)
                os.rename(staging, self.root / version)  # never over an existing version
            finally:
                if staging.exists():
                    shutil.rmtree(staging, ignore_errors=True)
            if make_current:
                self._write_current(version)
        return version

    def _next_version(self, now: _dt.datetime) -> str:
        """The next free number (callers hold the lock); counts every v* name, complete or not."""
        numbers = [_number(p.name) for p in self.root.iterdir() if _VERSION.match(p.name)]
        return f"v{max(numbers, default=0) + 1:04d}-{now:%Y%m%dT%H%M%SZ}"

    def set_current(self, version: str) -> None:
        """Point ``current`` at an existing, loadable version (atomic rename, under the lock)."""
        with self._locked():
            self.load(version)  # never point everyone at a version that cannot be loaded
            self._write_current(version)

    def _write_current(self, version: str) -> None:
        fd, temp = tempfile.mkstemp(prefix=CURRENT_TEMP_PREFIX, dir=self.root)
        with os.fdopen(fd, "w") as fh:
            fh.write(version + "\n")
        os.chmod(temp, 0o644)
        os.replace(temp, self.root / CURRENT_FILE)


def _number(name: str) -> int:
    match = _VERSION.match(name)
    return int(match.group(1)) if match else -1
