"""The scoring API (/api/score, /api/health) through Starlette's TestClient on app.py's routes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import pathlib
import pickle
import subprocess
import sys
import warnings

import pytest
from starlette.applications import Starlette

with warnings.catch_warnings():  # starlette 1.x nudges towards httpx2; httpx is what we pin
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from core.segmentation import SegmentationConfig, SegmentationModel
from core.store import ModelStore

ROOT = pathlib.Path(__file__).resolve().parents[2]
OK = {"recency": 10, "frequency": 3, "monetary": 500.0}


@pytest.fixture
def client(model_dir, monkeypatch):
    from app import api_routes

    monkeypatch.delenv("RFM_API_TOKEN", raising=False)
    return TestClient(Starlette(routes=api_routes))


@pytest.fixture(scope="module")
def sample_model(sample_rfm_module):
    return SegmentationModel(SegmentationConfig(k=4)).fit(sample_rfm_module)


@pytest.fixture(scope="module")
def sample_rfm_module():
    from core.cleaning import CleaningConfig, suggest_preset
    from core.columns import resolve_mapping
    from core.io import read_transactions
    from core.rfm import Source

    dataset = read_transactions(ROOT / "data" / "online_retail_II_sample.xlsx")
    mapping = resolve_mapping(dataset.table, {}, dataset.name)
    return Source(dataset, mapping, CleaningConfig.preset(suggest_preset(mapping))).rfm().rfm


@pytest.fixture
def trained(model_dir, sample_model):
    version = ModelStore(model_dir).save(sample_model, data_source="sample")
    return sample_model, version


def _assert_no_path(response, model_dir):
    assert str(model_dir) not in response.text and "/tmp" not in response.text


def test_no_model_is_503_with_what_to_do_and_health_is_ok_without_a_version(client, model_dir):
    response = client.post("/api/score", json=OK)
    assert response.status_code == 503
    assert "train one" in response.json()["error"]
    health = client.get("/api/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "model_version": None}
    _assert_no_path(response, model_dir)


def test_valid_request_scores_with_the_current_model(client, trained, model_dir):
    model, version = trained
    response = client.post("/api/score", json=OK)
    assert response.status_code == 200
    body = response.json()
    expected = model.explain(10, 3, 500.0)
    assert body["segment"] == expected.segment and body["cluster"] == expected.cluster
    assert body["tier"] is None and body["model_version"] == version
    assert body["explanation"]["reasons"] == list(expected.reasons)
    assert body["explanation"]["actions"] == list(expected.actions)
    assert body["explanation"]["distances"] == pytest.approx(expected.distances)
    health = client.get("/api/health")
    assert health.status_code == 200 and health.json() == {"status": "ok", "model_version": version}
    _assert_no_path(health, model_dir)


def test_vip_tier_has_no_cluster(client, trained):
    body = client.post("/api/score", json={"recency": 1, "frequency": 200, "monetary": 1e6}).json()
    assert body["segment"] == body["tier"] == "Elite" and body["cluster"] is None


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"\xff\xfe",
        b"[1, 2, 3]",
        b'"text"',
        b"[" * 8000 + b"]" * 8000,
        b'{"a":' * 2000 + b"1" + b"}" * 2000,
        b"[" * 20,
    ],
)
def test_bad_or_deep_json_is_400(client, trained, body):
    response = client.post("/api/score", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]


def test_brackets_inside_a_string_are_not_nesting(client, trained):
    body = json.dumps({"recency": "[" * 500, "frequency": 2, "monetary": 5})
    response = client.post("/api/score", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422 and "recency must be a number" in response.json()["error"]


@pytest.mark.parametrize(
    "payload, words",
    [
        ({"recency": -1, "frequency": 2, "monetary": 10}, "recency must be 0 or more"),
        ({"recency": 1, "frequency": 2, "monetary": -5}, "monetary must be 0 or more"),
        ({"recency": 1, "frequency": 0, "monetary": 5}, "frequency must be at least 1"),
        ({"recency": "soon", "frequency": 2, "monetary": 5}, "recency must be a number"),
        ({"recency": 1, "frequency": 2}, "missing field(s) ['monetary']"),
        ({"recency": 1, "frequency": 2, "monetary": 3, "x": 1}, "unknown field(s) ['x']"),
        ({"recency": 1, "frequency": 2, "monetary": 1e308}, "monetary must be at most"),
        ({"recency": 1e300, "frequency": 2, "monetary": 1}, "recency must be at most"),
        ({"recency": 1, "frequency": True, "monetary": 1}, "frequency must be a finite number"),
        ({"recency": [1], "frequency": 2, "monetary": 1}, "recency must be a number"),
    ],
)
def test_bad_values_are_422_with_the_reason(client, trained, payload, words):
    response = client.post("/api/score", json=payload)
    assert response.status_code == 422
    assert words in response.json()["error"]


@pytest.mark.parametrize(
    "text, words",
    [
        ('{"recency": NaN, "frequency": 2, "monetary": 1}', "NaN is not a finite number"),
        ('{"recency": 1, "frequency": 2, "monetary": Infinity}', "Infinity is not a finite number"),
        ('{"recency": 1, "frequency": 2, "monetary": -Infinity}', "-Infinity is not a finite number"),
        ('{"recency": 1, "frequency": 2, "monetary": 1e999}', "monetary must be a finite number"),
        ('{"recency": 1, "frequency": 2, "monetary": ' + "9" * 5000 + "}", "5000 digits is out of range"),
    ],
)
def test_non_finite_and_huge_numbers_are_422(client, trained, text, words):
    response = client.post("/api/score", content=text, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert words in response.json()["error"]


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/score"),
        ("PUT", "/api/score"),
        ("DELETE", "/api/score"),
        ("PATCH", "/api/score"),
        ("POST", "/api/health"),
        ("DELETE", "/api/health"),
    ],
)
def test_other_methods_are_405_json(client, method, path):
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/json"
    assert f"{method} is not allowed" in response.json()["error"]
    assert response.headers["allow"] in ("POST", "GET, HEAD")


def test_unknown_api_route_is_404_json(client):
    response = client.get("/api/nothing/here")
    assert response.status_code == 404 and "no API route" in response.json()["error"]


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
def test_non_json_content_types_are_415(client, trained, content_type):
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/api/score", content=json.dumps(OK), headers=headers)
    assert response.status_code == 415
    assert "application/json" in response.json()["error"]


def test_json_with_charset_is_accepted(client, trained):
    response = client.post(
        "/api/score", content=json.dumps(OK), headers={"content-type": "application/json; charset=utf-8"}
    )
    assert response.status_code == 200


def test_declared_oversized_body_is_413(client, trained):
    body = json.dumps({**OK, "pad": "x" * 20_000})
    response = client.post("/api/score", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "over 16384 bytes" in response.json()["error"]


def test_streamed_body_is_cut_at_the_limit_without_buffering_the_rest(model_dir, monkeypatch):
    """A chunked body with no Content-Length: the app stops reading just past 16 KB."""
    from app import api_routes

    monkeypatch.delenv("RFM_API_TOKEN", raising=False)
    app = Starlette(routes=api_routes)
    chunk, pulled, sent = b"x" * 1024, [], []

    async def receive():
        pulled.append(1)
        return {"type": "http.request", "body": chunk, "more_body": True}  # endless

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/score",
        "raw_path": b"/api/score",
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "http_version": "1.1",
        "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 1234),
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert len(pulled) == 17  # 16 KB + the chunk that crossed the limit; nothing more was read
    assert b"over 16384 bytes" in b"".join(m.get("body", b"") for m in sent[1:])


def test_token_protects_score_but_not_health(client, trained, monkeypatch):
    monkeypatch.setenv("RFM_API_TOKEN", "s3cret-token")
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic s3cret-token"},
        {"Authorization": "s3cret-token"},
        {"Authorization": "Bearer s3cret-token2"},
    ):
        response = client.post("/api/score", json=OK, headers=headers)
        assert response.status_code == 401, headers
        assert "Authorization: Bearer" in response.json()["error"]
        assert response.headers["www-authenticate"] == "Bearer"
    response = client.post("/api/score", json=OK, headers={"Authorization": "Bearer s3cret-token"})
    assert response.status_code == 200 and response.json()["model_version"] == trained[1]
    assert client.get("/api/health").status_code == 200


def test_token_is_compared_in_constant_time(monkeypatch):
    import hmac

    import app as app_module

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    monkeypatch.setenv("RFM_API_TOKEN", "tok")

    class FakeRequest:
        headers = {"authorization": "Bearer tok"}

    app_module._check_token(FakeRequest())
    assert calls == [(b"tok", b"tok")]


@pytest.mark.parametrize("damage", ["{broken", "[]", ""])
def test_broken_manifest_is_503_json_and_health_unhealthy(client, trained, model_dir, damage):
    _, version = trained
    (model_dir / version / "manifest.json").write_text(damage)
    response = client.post("/api/score", json=OK)
    assert response.status_code == 503
    assert "cannot be loaded" in response.json()["error"]
    health = client.get("/api/health")
    assert health.status_code == 503
    assert health.json()["status"] == "unhealthy" and "cannot be loaded" in health.json()["error"]
    _assert_no_path(response, model_dir)
    _assert_no_path(health, model_dir)


class _Trap:
    """Unpickling this object creates the marker file: proof that a pickle was run."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_swapped_pickle_with_a_matching_hash_runs_no_code(client, trained, model_dir, tmp_path):
    """A crafted model.joblib whose loading would create a marker file, its hash edited into the
    manifest: scoring through the CLI and the API uses model.json and runs nothing."""
    model, version = trained
    marker = tmp_path / "pwned"
    folder = model_dir / version
    (folder / "model.joblib").write_bytes(pickle.dumps(_Trap(str(marker)), protocol=4))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["model.joblib"] = hashlib.sha256((folder / "model.joblib").read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))

    expected = model.explain(10, 3, 500.0)
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "core",
            "score",
            "--recency",
            "10",
            "--frequency",
            "3",
            "--monetary",
            "500",
            "--json",
            "--model-dir",
            str(model_dir),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["segment"] == expected.segment
    assert json.loads(cli.stdout)["model_version"] == version
    api = client.post("/api/score", json=OK)
    assert api.status_code == 200 and api.json()["segment"] == expected.segment
    assert not marker.exists()
    # the trap is armed: loading the file as a pickle does create the marker
    subprocess.run(
        [sys.executable, "-c", "import joblib, sys; joblib.load(sys.argv[1])", str(folder / "model.joblib")],
        cwd=pathlib.Path(__file__).parent,
        timeout=120,
        capture_output=True,
    )
    assert marker.exists()


def test_no_input_gives_a_500(client, trained):
    """A spread of hostile bodies: every answer is JSON with a 4xx status."""
    bodies = [
        b"null",
        b"{}",
        b'{"recency": {}}',
        b'{"recency": 1, "frequency": 2, "monetary": "1e308"}',
        b'{"recency": 1, "frequency": 2, "monetary": "nan"}',
        b'{"\\ud800": 1}',
        b"\x00",
        json.dumps({"recency": 1, "frequency": 1, "monetary": 0}).encode(),
        json.dumps({"recency": 36525, "frequency": 1e9, "monetary": 1e15}).encode(),
    ]
    for body in bodies:
        response = client.post("/api/score", content=body, headers={"content-type": "application/json"})
        assert response.status_code < 500, (body, response.text)
        assert isinstance(response.json(), dict)


@pytest.mark.parametrize(
    "payload, words",
    [
        (
            {"recency": "10", "frequency": 3, "monetary": 500.0},
            'recency must be a number, not a string ("10")',
        ),
        ({"recency": 10, "frequency": "3", "monetary": 500.0}, "frequency must be a number, not a string"),
        ({"recency": 10, "frequency": 3, "monetary": "500.0"}, "monetary must be a number, not a string"),
        ({"recency": 10, "frequency": 3, "monetary": None}, "monetary must be a number, not null"),
    ],
)
def test_numbers_given_as_strings_are_422(client, trained, payload, words):
    # Issue 20 item 11: {"recency": "10", ...} was scored as 10 (200); a JSON API takes numbers.
    response = client.post("/api/score", json=payload)
    assert response.status_code == 422
    assert words in response.json()["error"]


def test_below_the_lower_fences_is_not_a_vip_in_the_api(client, model_dir):
    # Issue 20 item 5 through the API: spends 5.00 among 100-120 customers (monetary fences
    # [82.5, 132.5]: sorted 5, 5, 100 .. 120, Q1 101.25, Q3 113.75) and ordered once among
    # three-order customers (frequency fences [3, 3]): clustered, with cluster actions.
    import pandas as pd

    rfm = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(11)],
            "recency": [5, 6, 7, 8, 9, 100, 110, 120, 130, 140, 150],
            "frequency": [3] * 9 + [1, 3],
            "monetary": [100, 102.5, 105, 107.5, 110, 112.5, 115, 117.5, 120, 5.0, 5.0],
        }
    )
    model = SegmentationModel(SegmentationConfig(k=2)).fit(rfm)
    assert (model.fences["monetary"].low, model.fences["frequency"].high) == (82.5, 3.0)
    ModelStore(model_dir).save(model)
    body = client.post("/api/score", json={"recency": 140, "frequency": 1, "monetary": 5.0}).json()
    assert body["tier"] is None and body["cluster"] in (0, 1)
    assert body["segment"] == model.names_[body["cluster"]]
    assert "account manager" not in " ".join(body["explanation"]["actions"])
    above = client.post("/api/score", json={"recency": 140, "frequency": 3, "monetary": 500.0}).json()
    assert above["tier"] == "High_Spender"


def _rewrite_model_json(folder, edit) -> None:
    """Edit a saved model.json and put its new sha256 in the manifest (a consistent tampering)."""
    data = json.loads((folder / "model.json").read_text())
    edit(data)
    raw = json.dumps(data).encode()
    (folder / "model.json").write_bytes(raw)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["model.json"] = manifest["sha256"] = hashlib.sha256(raw).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_a_model_that_cannot_score_is_refused_at_load_and_health_says_why(client, trained, model_dir):
    # Issue 20 item 11: scale 1e-300 loaded fine, health said ok, and every score was a 500
    # (infinite distances are not JSON). Now loading refuses it and health names the reason.
    _, version = trained
    _rewrite_model_json(model_dir / version, lambda d: d["scaler"]["scale"].__setitem__(0, 1e-300))
    response = client.post("/api/score", json=OK)
    assert response.status_code == 503 and "cannot be loaded" in response.json()["error"]
    health = client.get("/api/health")
    assert health.status_code == 503 and health.json()["status"] == "unhealthy"
    assert "scaler.scale 1e-300" in health.json()["reason"] and "recency" in health.json()["reason"]
    _assert_no_path(health, model_dir)


def test_the_model_is_read_once_until_its_file_changes(client, trained, model_dir, monkeypatch):
    # Issue 20 item 11: a model was re-read on every request when it could not be loaded (a
    # 15 MB model.json: 5-7 s each); and a cached model was served after its file was changed.
    import app as app_module

    _, version = trained
    loads = []
    real_load = ModelStore.load
    monkeypatch.setattr(ModelStore, "load", lambda self, v=None: loads.append(v) or real_load(self, v))
    monkeypatch.setattr(app_module, "_models", {})
    for _ in range(3):
        assert client.post("/api/score", json=OK).status_code == 200
    assert client.get("/api/health").status_code == 200 and len(loads) == 1
    model_file = model_dir / version / "model.json"
    model_file.write_bytes(model_file.read_bytes().replace(b'"schema_version": 1', b'"schema_version":  1'))
    for _ in range(3):  # changed behind the manifest's back: refused, read once more only
        assert client.post("/api/score", json=OK).status_code == 503
    assert client.get("/api/health").status_code == 503 and len(loads) == 2
