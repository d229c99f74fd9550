"""ASGI entry: the Streamlit dashboard plus the scoring API on the same server.

    .venv/bin/python serve.py --port 8501   # uvicorn with header/idle timeouts and a cap
    .venv/bin/streamlit run app.py          # streamlit detects the st.App below (no limits)

    GET  /api/health  -> {"status": "ok" | "unhealthy", "model_version": ...} (+ "error", "reason")
    POST /api/score   {"recency": R, "frequency": F, "monetary": M}   (Content-Type: application/json)
         -> segment, tier, cluster, explanation (reasons, distances, actions), model_version

The API scores with the model store's *current* version (folder: env RFM_MODEL_DIR, default
./models), loaded from its model.json. With no current model it answers 503 and says how to
train one: it never trains on its own. With env RFM_API_TOKEN set, /api/score needs
``Authorization: Bearer <token>`` (401 else). Every answer is JSON, errors included: 400
invalid or too deeply nested JSON, 401, 405 other methods, 413 body over MAX_BODY_BYTES
(checked from Content-Length and while reading: never more is buffered), 415 a body that is
not application/json, 422 missing, unknown, non-numeric (a number given as a string
included), non-finite or out-of-range values, 503 no usable model. The loaded model (or the
reason it cannot be loaded) is kept per version, manifest hash and model.json signature,
so a request never re-reads it unless it changed. Answers never show server paths; the
details of a model problem go to the server log.
"""

from __future__ import annotations

import functools
import json
import logging
import threading

import streamlit as st
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from core.config import model_dir
from core.errors import ConfigError, ModelStoreError, SegmentationError
from core.store import ModelStore, UnusableModelError
from ui import access

LOG = logging.getLogger("rfm.api")
MAX_BODY_BYTES = 16 * 1024
MAX_JSON_DEPTH = 8  # a score request is one flat object; deeper is refused before parsing
MAX_INT_DIGITS = 20  # integers longer than this are out of range (and slow to convert)
FIELDS = ("recency", "frequency", "monetary")
EXAMPLE = '{"recency": 10, "frequency": 3, "monetary": 250.0}'
NO_MODEL = (
    "no current model; train one on the dashboard's Clusters page (save a version and "
    "make it current) or run: python -m core train FILE"
)
BAD_MODEL = (
    "the current model cannot be loaded (details in the server log); retrain, or make "
    "another version current on the Clusters page"
)
_models: dict[tuple, object] = {}  # one entry: (model, manifest), or the ModelStoreError
_models_lock = threading.Lock()


class _Refused(Exception):
    """A request refused with an HTTP status and a JSON error message."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


def _store() -> ModelStore:
    return ModelStore(model_dir())


def _current_model():
    """(model, manifest) of the store's current version, loaded (its sha256 verified) once per
    version, manifest hash and model.json signature; a model that cannot be loaded raises its
    ModelStoreError again without being re-read, until the file or the version changes."""
    store = _store()
    version = store.current()
    if version is None:
        raise _Refused(503, NO_MODEL)
    manifest = store.manifest(version)
    key = (
        str(store.root.resolve()),
        version,
        str(manifest.get("sha256", "")),
        store.model_file_signature(version),
    )
    with _models_lock:
        if key not in _models:
            _models.clear()  # only the current version is kept
            try:
                _models[key] = store.load(version)
            except ModelStoreError as exc:
                _models[key] = exc
        loaded = _models[key]
    if isinstance(loaded, ModelStoreError):
        raise loaded.with_traceback(None)  # a fresh traceback: raising it again must not grow one
    return loaded


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class _JsonEndpoint:
    """An ASGI endpoint answering every method: 405 for those it does not take, refusals with
    their status, any bug with a JSON 500 (an ASGI app, not a function, so that Starlette
    routes every method here instead of letting Streamlit's page answer the others)."""

    def __init__(self, handler, methods: tuple[str, ...]):
        self.handler, self.methods = handler, methods
        functools.update_wrapper(self, handler)

    async def __call__(self, scope, receive, send) -> None:
        request = Request(scope, receive)
        response = await self._respond(request)
        await response(scope, receive, send)

    async def _respond(self, request: Request) -> JSONResponse:
        if request.method not in self.methods:
            return _error(
                405,
                f"{request.method} is not allowed on {request.url.path}; use {' or '.join(self.methods)}",
                {"Allow": ", ".join(self.methods)},
            )
        try:
            return await self.handler(request)
        except _Refused as refused:
            return _error(refused.status, refused.message, refused.headers)
        except ClientDisconnect:
            return _error(400, "the client went away before the body was read")
        except Exception:  # a bug: the traceback goes to the log, never to the client
            LOG.exception("unexpected error answering %s %s", request.method, request.url.path)
            return _error(500, "internal error (details in the server log)")


def _json_endpoint(methods: tuple[str, ...]):
    return lambda handler: _JsonEndpoint(handler, methods)


def _check_token(request: Request) -> None:
    """With RFM_API_TOKEN set, require 'Authorization: Bearer <token>' (constant-time compare)."""
    if not access.api_token_required():
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not access.api_token_accepts(given.strip()):
        raise _Refused(
            401,
            "this API needs a token: send the header 'Authorization: Bearer <token>'",
            {"WWW-Authenticate": "Bearer"},
        )


async def _read_body(request: Request) -> bytes:
    """The body, refused (413) from its Content-Length or as soon as it passes MAX_BODY_BYTES."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise _Refused(400, "Content-Length is not a number")
        if int(declared) > MAX_BODY_BYTES:
            raise _Refused(413, f"request body over {MAX_BODY_BYTES} bytes; send one customer's {EXAMPLE}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:  # stop reading: the rest is never buffered
            raise _Refused(413, f"request body over {MAX_BODY_BYTES} bytes; send one customer's {EXAMPLE}")
        chunks.append(chunk)
    return b"".join(chunks)


def json_depth(text: str) -> int:
    """Deepest nesting of [ and { outside strings (scanned before parsing, so no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _reject_constant(name: str):
    raise _Refused(422, f"{name} is not a finite number; send plain numbers like {EXAMPLE}")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(422, f"a number of {len(text)} digits is out of range; send values like {EXAMPLE}")
    return int(text)


def _parse_payload(body: bytes) -> dict:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused(400, f"body is not valid JSON (not UTF-8 text); send {EXAMPLE}") from None
    if json_depth(text) > MAX_JSON_DEPTH:
        raise _Refused(
            400,
            f"body is not valid JSON for this API (nested more than {MAX_JSON_DEPTH} levels); send {EXAMPLE}",
        )
    try:
        payload = json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
    except (ValueError, RecursionError) as exc:
        raise _Refused(
            400, f"body is not valid JSON ({exc.__class__.__name__}: {str(exc)[:80]}); send {EXAMPLE}"
        ) from None
    if not isinstance(payload, dict):
        raise _Refused(400, f"body must be a JSON object like {EXAMPLE}")
    return payload


@_json_endpoint(("GET", "HEAD"))
async def health(request: Request) -> JSONResponse:
    """ok with the current version (None: no model yet); unhealthy (503) when it cannot be loaded."""
    try:
        version = _store().current()
        if version is not None:
            _current_model()
    except ModelStoreError as exc:
        LOG.error("health: the current model cannot be loaded: %s", exc)
        answer = {"status": "unhealthy", "model_version": None, "error": BAD_MODEL}
        if isinstance(exc, UnusableModelError):  # its reason names no server path
            answer["reason"] = exc.reason
        return JSONResponse(answer, status_code=503)
    return JSONResponse({"status": "ok", "model_version": version})


@_json_endpoint(("POST",))
async def score(request: Request) -> JSONResponse:
    """POST /api/score: R, F, M of customers (JSON or CSV) scored by the current saved model
    (docs/TEAM.md); a refused request is a JSON error with its status."""
    _check_token(request)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise _Refused(
            415,
            f"send the body as Content-Type: application/json, not {media_type[:60] or 'no content type'}",
        )
    payload = _parse_payload(await _read_body(request))
    missing = [f for f in FIELDS if f not in payload]
    if missing:
        raise _Refused(
            422,
            f"missing field(s) {missing}; send recency (days), frequency (purchases) and monetary (spend)",
        )
    unknown = sorted(set(payload) - set(FIELDS))
    if unknown:
        raise _Refused(
            422, f"unknown field(s) {[u[:40] for u in unknown[:5]]}; send only recency, frequency, monetary"
        )
    for name in FIELDS:
        value = payload[name]
        if not isinstance(value, (int, float)):  # a JSON string, array, object or null
            kind = {str: "a string", list: "an array", dict: "an object"}.get(type(value), "null")
            raise _Refused(
                422,
                f"{name} must be a number, not {kind} ({json.dumps(value)[:40]}); "
                f"send plain numbers like {EXAMPLE}",
            )
    try:
        model, manifest = _current_model()
    except ModelStoreError as exc:
        LOG.error("score: the current model cannot be loaded: %s", exc)
        raise _Refused(503, BAD_MODEL) from None
    try:
        explanation = model.explain(payload["recency"], payload["frequency"], payload["monetary"])
    except ConfigError as exc:
        raise _Refused(422, str(exc)) from None
    except SegmentationError as exc:
        raise _Refused(400, str(exc)) from None
    result = explanation.to_dict()
    return JSONResponse(
        {
            "segment": result["segment"],
            "tier": result["tier"],
            "cluster": result["cluster"],
            "explanation": {
                "reasons": list(result["reasons"]),
                "distances": result["distances"],
                "actions": list(result["actions"]),
            },
            "input": {
                "recency": result["recency"],
                "frequency": result["frequency"],
                "monetary": result["monetary"],
            },
            "model_version": manifest["version"],
        }
    )


@_json_endpoint(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
async def unknown_route(request: Request) -> JSONResponse:
    """Any other /api/ path: 404 naming the routes there are."""
    raise _Refused(404, f"no API route {request.url.path[:80]}; there are /api/health and /api/score")


def _script_error(exc: Exception) -> bool:
    """Any unexpected error: log the traceback on the server, show one line in the browser."""
    LOG.error("unexpected error in the dashboard", exc_info=exc)
    st.error(
        "Something went wrong on the server (the details are in its log). "
        "Reload the page or go back to the Data page."
    )
    return True


# No methods= on the routes: Starlette would match other methods only partially and let
# Streamlit's catch-all page answer them (200 with HTML); the endpoints answer 405 themselves.
api_routes = [
    Route("/api/health", health),
    Route("/api/score", score),
    Route("/api/{rest:path}", unknown_route),
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

if __name__ == "__main__":  # `python app.py`: served under the connection limits (serve.py)
    from serve import main

    main()
