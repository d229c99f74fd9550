"""Versioned model store: ``models/<version>/{model.joblib, manifest.json}`` + ``models/current``.

A version is written into a temporary folder and renamed into place, so a crash never leaves
half a version. The manifest records the sha256 of ``model.joblib``; loading recomputes it and
refuses a mismatch before anything is unpickled. Only files this store wrote are ever loaded:
user uploads never reach joblib.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import joblib

from core.errors import ModelStoreError
from core.segmentation import SegmentationModel

MODEL_FILE, MANIFEST_FILE, CURRENT_FILE = "model.joblib", "manifest.json", "current"
_VERSION = re.compile(r"^v(\d{4})-\d{8}T\d{6}Z$")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class VersionInfo:
    version: str
    manifest: dict

    @property
    def created_at(self) -> str:
        return self.manifest.get("created_at", "")

    @property
    def k(self) -> int:
        return int(self.manifest.get("config", {}).get("k", 0))


class ModelStore:
    """Model versions under ``root`` (default ``models/``)."""

    def __init__(self, root: str | os.PathLike = "models"):
        self.root = Path(root)

    def versions(self) -> list[VersionInfo]:
        """All complete versions, oldest first."""
        if not self.root.is_dir():
            return []
        out = []
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir() and _VERSION.match(p.name)):
            try:
                out.append(VersionInfo(folder.name, json.loads((folder / MANIFEST_FILE).read_text())))
            except (OSError, ValueError):
                continue  # not a complete version: skipped, never loaded
        return out

    def current(self) -> str | None:
        pointer = self.root / CURRENT_FILE
        if not pointer.is_file():
            return None
        name = pointer.read_text().strip()
        return name or None

    def _next_version(self, now: _dt.datetime) -> str:
        numbers = [int(_VERSION.match(v.version).group(1)) for v in self.versions()]
        return f"v{max(numbers, default=0) + 1:04d}-{now:%Y%m%dT%H%M%SZ}"

    def save(self, model: SegmentationModel, *, data_source: str = "", extra: dict | None = None,
             make_current: bool = True, now: _dt.datetime | None = None) -> str:
        """Write a new version atomically; returns its name."""
        if not model.fitted:
            raise ModelStoreError("cannot save a model that was not fitted")
        now = now or _dt.datetime.now(_dt.timezone.utc)
        self.root.mkdir(parents=True, exist_ok=True)
        version = self._next_version(now)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))
        try:
            joblib.dump(model, staging / MODEL_FILE)
            manifest = {
                "version": version,
                "created_at": now.isoformat(timespec="seconds"),
                "data_source": data_source,
                **model.summary(),
                "sha256": _sha256(staging / MODEL_FILE),
                **(extra or {}),
            }
            (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, default=str))
            os.replace(staging, self.root / version)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        if make_current:
            self.set_current(version)
        return version

    def set_current(self, version: str) -> None:
        """Point ``current`` at an existing version (atomic rename of the pointer file)."""
        self._folder(version)
        fd, tmp = tempfile.mkstemp(prefix=".current-", dir=self.root)
        with os.fdopen(fd, "w") as fh:
            fh.write(version + "\n")
        os.replace(tmp, self.root / CURRENT_FILE)

    def _folder(self, version: str) -> Path:
        if not _VERSION.match(version or ""):
            raise ModelStoreError(f"'{version}' is not a model version name (like v0001-20261125T221400Z)")
        folder = self.root / version
        if not (folder / MANIFEST_FILE).is_file():
            known = [v.version for v in self.versions()]
            raise ModelStoreError(f"no model version '{version}' in {self.root}; versions: {known or 'none'}")
        return folder

    def manifest(self, version: str) -> dict:
        return json.loads((self._folder(version) / MANIFEST_FILE).read_text())

    def load(self, version: str | None = None) -> tuple[SegmentationModel, dict]:
        """Load a version (default: current) after checking its sha256 against the manifest."""
        if version is None:
            version = self.current()
            if version is None:
                raise ModelStoreError(f"no current model in {self.root}; train one first "
                                      "(python -m core train FILE)")
        folder = self._folder(version)
        manifest = json.loads((folder / MANIFEST_FILE).read_text())
        model_path = folder / MODEL_FILE
        if not model_path.is_file():
            raise ModelStoreError(f"{model_path}: model file is missing; retrain")
        actual = _sha256(model_path)
        if actual != manifest.get("sha256"):
            raise ModelStoreError(f"{model_path}: sha256 {actual[:12]}... does not match the manifest; "
                                  "the file was changed or corrupted, refusing to load it; retrain")
        model = joblib.load(model_path)
        if not isinstance(model, SegmentationModel):
            raise ModelStoreError(f"{model_path}: not a segmentation model")
        return model, manifest
