"""ASGI entry: the Streamlit dashboard plus the scoring API on the same server.

    .venv/bin/streamlit run app.py          # streamlit detects the st.App below

    GET  /api/health  -> {"status": "ok", "model_version": ...}
    POST /api/score   {"recency": R, "frequency": F, "monetary": M}
         -> segment, tier, cluster, explanation (reasons, distances, actions), model_version

The API scores with the model store's *current* version (folder: env RFM_MODEL_DIR, default
./models). With no current model it answers 503 and says how to train one: it never trains
on its own, so what it answers with is always a version someone saved.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

import streamlit as st
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from core.errors import ConfigError, ModelStoreError, SegmentationError
from core.store import ModelStore

LOG = logging.getLogger("rfm.api")
MAX_BODY_BYTES = 16 * 1024
_models: dict[tuple[str, str, str], object] = {}
_models_lock = threading.Lock()


def _store() -> ModelStore:
    return ModelStore(Path(os.environ.get("RFM_MODEL_DIR", "models")))


def _current_model():
    """(model, manifest) of the store's current version, loaded once per version and hash."""
    store = _store()
    version = store.current()
    if version is None:
        raise ModelStoreError(
            f"no current model in {store.root}; train one on the dashboard's Clusters page "
            "('Train and save a new version') or run: python -m core train FILE")
    manifest = store.manifest(version)
    key = (str(store.root.resolve()), version, manifest.get("sha256", ""))
    with _models_lock:
        if key not in _models:
            _models.clear()  # only the current version is kept
            _models[key] = store.load(version)
        return _models[key]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def health(request: Request) -> JSONResponse:
    store = _store()
    return JSONResponse({"status": "ok", "model_version": store.current(),
                         "model_dir": str(store.root)})


async def score(request: Request) -> JSONResponse:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return _error(413, f"request body over {MAX_BODY_BYTES} bytes")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return _error(400, f"body is not valid JSON ({exc.__class__.__name__}: {exc}); send "
                           '{"recency": 10, "frequency": 3, "monetary": 250.0}')
    if not isinstance(payload, dict):
        return _error(400, 'body must be a JSON object like {"recency": 10, "frequency": 3, '
                           '"monetary": 250.0}')
    missing = [f for f in ("recency", "frequency", "monetary") if f not in payload]
    if missing:
        return _error(422, f"missing field(s) {missing}; send recency (days), frequency "
                           "(purchases) and monetary (spend)")
    unknown = sorted(set(payload) - {"recency", "frequency", "monetary"})
    if unknown:
        return _error(422, f"unknown field(s) {unknown}; send only recency, frequency, monetary")
    try:
        model, manifest = _current_model()
    except ModelStoreError as exc:
        return _error(503, str(exc))
    try:
        explanation = model.explain(payload["recency"], payload["frequency"], payload["monetary"])
    except ConfigError as exc:
        return _error(422, str(exc))
    except SegmentationError as exc:
        return _error(400, str(exc))
    result = explanation.to_dict()
    return JSONResponse({
        "segment": result["segment"],
        "tier": result["tier"],
        "cluster": result["cluster"],
        "explanation": {"reasons": list(result["reasons"]), "distances": result["distances"],
                        "actions": list(result["actions"])},
        "input": {"recency": result["recency"], "frequency": result["frequency"],
                  "monetary": result["monetary"]},
        "model_version": manifest["version"],
    })


def _script_error(exc: Exception) -> bool:
    """Any unexpected error: log the traceback on the server, show one line in the browser."""
    LOG.error("unexpected error in the dashboard", exc_info=exc)
    st.error("Something went wrong on the server (the details are in its log). "
             "Reload the page or go back to the Data page.")
    return True


api_routes = [
    Route("/api/health", health, methods=["GET"]),
    Route("/api/score", score, methods=["POST"]),
]

app = st.App("streamlit_app.py", routes=api_routes, on_script_error=_script_error)

# Until some session calls st.navigation, Streamlit treats pages/ as a v1 multipage folder, so a
# server's very first request for /lookup would run pages/lookup.py without the router. The
# router always calls st.navigation: say so up front (the flag st.navigation itself sets).
# Streamlit has no public switch for this; tests/e2e/test_deep_link_and_movement.py fails if
# an upgrade breaks it (fresh server, first request /lookup?customer=ID, router's sidebar).
try:
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False
except ImportError:  # a future Streamlit without the flag: the first-request quirk may return
    pass

if __name__ == "__main__":
    app.run()
