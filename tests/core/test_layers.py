"""Layering: the engine (core/) never imports streamlit, so the CLI and batch jobs run without it."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO

ENGINE_MODULES = ["core.io", "core.columns", "core.cleaning", "core.rfm", "core.outliers",
                  "core.clustering", "core.segmentation", "core.insights", "core.store",
                  "core.export", "core.errors", "core.cli", "core.atomic"]


def test_importing_core_and_every_core_module_does_not_import_streamlit():
    # The modules named in DESIGN.md, then every other .py under core/ (charts, synth, ...),
    # discovered rather than listed, each checked right after its import.
    discovered = sorted(f"core.{p.stem}" for p in (REPO / "core").glob("*.py")
                        if p.stem not in ("__init__", "__main__"))
    assert set(ENGINE_MODULES) <= set(discovered)
    code = ("import importlib, json, sys\n"
            "import core\n"
            "assert 'streamlit' not in sys.modules, 'core'\n"
            f"for name in {ENGINE_MODULES + discovered!r}:\n"
            "    importlib.import_module(name)\n"
            "    assert 'streamlit' not in sys.modules, name\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('core.'))))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    imported = json.loads(result.stdout)
    assert set(discovered) <= set(imported)
