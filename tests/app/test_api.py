"""The scoring API (/api/score, /api/health) through Starlette's TestClient on app.py's routes."""
from __future__ import annotations

import warnings

import pytest
from starlette.applications import Starlette

with warnings.catch_warnings():  # starlette 1.x nudges towards httpx2; httpx is what we pin
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from core.segmentation import SegmentationConfig, SegmentationModel
from core.store import ModelStore


@pytest.fixture
def client(model_dir):
    from app import api_routes

    return TestClient(Starlette(routes=api_routes))


@pytest.fixture
def trained(model_dir, sample_rfm):
    model = SegmentationModel(SegmentationConfig(k=4)).fit(sample_rfm.rfm)
    version = ModelStore(model_dir).save(model, data_source="sample")
    return model, version


def test_no_model_is_503_with_what_to_do(client, model_dir):
    response = client.post("/api/score", json={"recency": 10, "frequency": 2, "monetary": 100})
    assert response.status_code == 503
    assert "train one" in response.json()["error"] and str(model_dir) in response.json()["error"]
    assert client.get("/api/health").json() == {"status": "ok", "model_version": None,
                                                "model_dir": str(model_dir)}


def test_valid_request_scores_with_the_current_model(client, trained):
    model, version = trained
    response = client.post("/api/score", json={"recency": 10, "frequency": 3, "monetary": 500.0})
    assert response.status_code == 200
    body = response.json()
    expected = model.explain(10, 3, 500.0)
    assert body["segment"] == expected.segment and body["cluster"] == expected.cluster
    assert body["tier"] is None and body["model_version"] == version
    assert body["explanation"]["reasons"] == list(expected.reasons)
    assert body["explanation"]["actions"] == list(expected.actions)
    assert body["explanation"]["distances"] == pytest.approx(expected.distances)
    assert client.get("/api/health").json()["model_version"] == version


def test_vip_tier_has_no_cluster(client, trained):
    body = client.post("/api/score", json={"recency": 1, "frequency": 200, "monetary": 1e6}).json()
    assert body["segment"] == body["tier"] == "Elite" and body["cluster"] is None


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe", b"[1, 2, 3]", b'"text"'])
def test_bad_json_is_400(client, trained, body):
    response = client.post("/api/score", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]


@pytest.mark.parametrize("payload, words", [
    ({"recency": -1, "frequency": 2, "monetary": 10}, "recency must be 0 or more"),
    ({"recency": 1, "frequency": 2, "monetary": -5}, "monetary must be 0 or more"),
    ({"recency": 1, "frequency": 0, "monetary": 5}, "frequency must be at least 1"),
    ({"recency": "soon", "frequency": 2, "monetary": 5}, "recency must be a number"),
    ({"recency": 1, "frequency": 2}, "missing field(s) ['monetary']"),
    ({"recency": 1, "frequency": 2, "monetary": 3, "x": 1}, "unknown field(s) ['x']"),
])
def test_bad_values_are_422_with_the_reason(client, trained, payload, words):
    response = client.post("/api/score", json=payload)
    assert response.status_code == 422
    assert words in response.json()["error"]


def test_get_on_score_is_405(client):
    assert client.get("/api/score").status_code == 405
