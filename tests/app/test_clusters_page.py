"""The Clusters page's three steps: preview any k (session only), save, make current; tokens."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from core.clustering import FEATURES
from core.segmentation import SegmentationConfig, SegmentationModel
from core.store import ModelStore
from tests.app.conftest import go
from ui import session

SAVE_3 = "FormSubmitter:save-Save the k=3 preview as a new version"


def _preview(app, k: int):
    go(app, "clusters")
    app.number_input(key="preview_k_input").set_value(k)
    app.button(key="FormSubmitter:preview-Preview").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    return app


def _names_by_brute_force(reference: SegmentationModel, candidate: SegmentationModel) -> list[str]:
    """Reference names given to candidate clusters by trying every pairing (independent of scipy)."""
    z = (candidate.centroids_[list(FEATURES)].to_numpy() - reference.mean_) / reference.scale_
    cost = np.sqrt(((z[:, None, :] - reference.centroids_scaled_[None]) ** 2).sum(axis=2))
    k_new, k_ref = cost.shape
    names = list(candidate.names_)
    if k_new <= k_ref:  # each candidate cluster takes a distinct reference cluster
        best = min(
            itertools.permutations(range(k_ref), k_new),
            key=lambda refs: sum(cost[i, j] for i, j in enumerate(refs)),
        )
        for i, j in enumerate(best):
            names[i] = reference.names_[j]
    else:  # each reference cluster is taken by a distinct candidate cluster
        best = min(
            itertools.permutations(range(k_new), k_ref),
            key=lambda cands: sum(cost[i, j] for j, i in enumerate(cands)),
        )
        for j, i in enumerate(best):
            names[i] = reference.names_[j]
    return names


def test_preview_saves_nothing_and_shows_what_would_change(app, model_dir, sample_rfm):
    _preview(app, 3)
    assert not (model_dir.exists() and ModelStore(model_dir).versions())
    rfm = sample_rfm.rfm
    in_use = SegmentationModel(SegmentationConfig(k=4)).fit(rfm)
    fitted = SegmentationModel(SegmentationConfig(k=3)).fit(rfm)
    names = _names_by_brute_force(in_use, fitted)
    before = in_use.segment(rfm)["segment"].to_numpy()
    labels = fitted.segment(rfm)
    clusters = labels["cluster"].fillna(-1).astype(int)
    after = np.where(clusters < 0, labels["tier"].astype(str), [names[c] for c in clusters])
    changed = int((before != after).sum())
    text = " ".join(m.value for m in app.markdown)
    assert f"**{changed:,} of {len(rfm):,} customers would change segment**" in text
    counts = next(
        d.value for d in app.dataframe if list(d.value.columns) == ["segment", "before", "after", "change"]
    ).set_index("segment")
    for segment in set(after):  # shown as people read them: 'High Spender'
        assert counts.loc[segment.replace("_", " "), "after"] == int((after == segment).sum())
    matrix = next(d.value for d in app.dataframe if d.value.index.name == "before")
    assert int(matrix.to_numpy().sum()) == len(rfm)
    for segment in set(before):
        shown = segment.replace("_", " ")
        assert counts.loc[shown, "before"] == int((before == segment).sum())
        assert matrix.loc[shown].sum() == int((before == segment).sum())
    assert "The model in use has k=4" in app.success[0].value or "already has k=4" in app.success[0].value


def test_save_does_not_switch_current_unless_asked(app, model_dir):
    _preview(app, 3)
    app.button(key=SAVE_3).click().run()
    assert not app.exception and not app.error
    store = ModelStore(model_dir)
    versions = store.versions()
    assert len(versions) == 1 and versions[0].k == 3
    assert store.current() is None
    assert any("current version is unchanged" in s.value for s in app.success)
    # then make it current: every page uses it
    app.button(key="FormSubmitter:switch-Make current").click().run()
    assert not app.exception and not app.error
    assert store.current() == versions[0].version
    go(app, "segments")
    assert any(f"**{versions[0].version}** (k=3)" in c.value for c in app.caption)


def test_save_and_make_current_in_one_step_keeps_names(app, model_dir, sample_rfm):
    _preview(app, 3)
    app.checkbox(key="save_make_current").check()
    app.button(key=SAVE_3).click().run()
    assert not app.exception and not app.error
    store = ModelStore(model_dir)
    (version,) = [v.version for v in store.versions()]
    assert store.current() == version and app.session_state[session.PINNED_VERSION] == version
    saved, _ = store.load(version)
    in_use = SegmentationModel(SegmentationConfig(k=4)).fit(sample_rfm.rfm)
    fitted = SegmentationModel(SegmentationConfig(k=3)).fit(sample_rfm.rfm)
    assert saved.names_ == _names_by_brute_force(in_use, fitted)


def test_admin_token_guards_saving_and_switching(app, model_dir, monkeypatch):
    monkeypatch.setenv("RFM_ADMIN_TOKEN", "adm1n")
    _preview(app, 3)
    assert any("protected (needs the admin token)" in c.value for c in app.caption)
    app.text_input(key="save_token").input("wrong")
    app.button(key=SAVE_3).click().run()
    assert any("admin token is missing or wrong" in e.value for e in app.error)
    assert not (model_dir.exists() and ModelStore(model_dir).versions())
    app.text_input(key="save_token").input("adm1n")
    app.button(key=SAVE_3).click().run()
    assert not app.error
    store = ModelStore(model_dir)
    (version,) = [v.version for v in store.versions()]
    assert store.current() is None
    app.button(key="FormSubmitter:switch-Make current").click().run()
    assert any("admin token is missing or wrong" in e.value for e in app.error)
    assert store.current() is None
    app.text_input(key="switch_token").input("adm1n")
    app.button(key="FormSubmitter:switch-Make current").click().run()
    assert not app.error and store.current() == version


def test_page_says_open_when_no_token_is_set(app, monkeypatch):
    monkeypatch.delenv("RFM_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("RFM_API_TOKEN", raising=False)
    go(app, "clusters")
    caption = " ".join(c.value for c in app.caption)
    assert "API: open" in caption and "open to every visitor" in caption
    assert "Model in use: unsaved model (k=4)" in app.info[0].value


def _page_text(app) -> str:
    parts = [
        e.value
        for kind in ("markdown", "caption", "info", "success", "error", "warning")
        for e in getattr(app, kind)
    ]
    return " ".join(str(p) for p in parts)


def test_empty_store_says_no_versions_without_the_server_path(app, model_dir):
    go(app, "clusters")
    assert not app.error, [e.value for e in app.error]
    assert any(c.value == "No saved versions yet." for c in app.caption)
    assert str(model_dir) not in _page_text(app)


def test_the_groups_table_leads_with_counts_revenue_and_typical_values(app, sample_rfm):
    rfm = sample_rfm.rfm
    labels = SegmentationModel(SegmentationConfig(k=4)).fit(rfm).segment(rfm)
    go(app, "clusters")
    assert "How many groups, and is that a good number?" in _page_text(app)
    table = next(
        d.value for d in app.dataframe if list(d.value.columns)[:3] == ["segment", "customers", "share"]
    ).set_index("segment")
    assert int(table["customers"].sum()) == len(rfm)
    for segment, group in labels.groupby("segment"):
        name = str(segment).replace("_", " ")  # shown as people read it
        assert table.loc[name, "customers"] == len(group)
        assert table.loc[name, "revenue"] == pytest.approx(group["monetary"].sum())
        assert table.loc[name, "recency"] == pytest.approx(np.median(group["recency"].to_numpy()))
    # the statistics are behind "How this was computed", not on the first screen
    assert not any(word in s.value for s in app.success for word in ("inertia", "silhouette"))
    how = [e for e in app.expander if e.label == "How this was computed"]
    assert any("inertia" in m.value for e in how for m in e.markdown)
