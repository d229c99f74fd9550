"""Issue 20 in the dashboard (AppTest): user text never becomes markdown (links, images),
uploads another live session holds are never pruned, the server data folder takes plain files
only, and a one-customer file is told which pages do not work."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import ROOT, TIMEOUT, go
from ui import files, session, uploads

GOOD = (
    b"Invoice,StockCode,Quantity,InvoiceDate,Price,Customer ID,Country\n"
    b"536365,85123A,6,2010-12-01 08:26,2.55,17850,United Kingdom\n"
    b"536366,22633,3,2010-12-02 10:00,1.85,17851,France\n"
    b"536367,84879,2,2010-12-03 11:15,1.50,17852,France\n"
    b"536368,22423,1,2010-12-04 09:00,12.75,17853,Germany\n"
    b"536369,22423,4,2010-12-05 09:30,10.00,17854,Norway\n"
)
LINK = "[Session expired: sign in again](http://evil.example/login)"
IMAGE = "![x](http://evil.example/pixel.png)"


def _texts(at: AppTest) -> list[str]:
    """Every markdown source the page sent (errors, markdown, captions, headers, labels)."""
    out = [e.value for e in [*at.error, *at.warning, *at.info, *at.markdown, *at.caption, *at.subheader]]
    out += [b.label for b in at.button]
    return out


def _no_live_markdown(texts: list[str]) -> None:
    for text in texts:
        if text.startswith("[Link to this card](?customer="):  # the app's own, the ID URL-quoted
            assert "(" not in text.split("](", 1)[1].split(")")[0].removeprefix("?customer="), text
            continue
        assert "](" not in text.replace("\\](", ""), text  # a link or an image would form
        assert "![" not in text, text
        assert "http://" not in text, text  # a bare address would be linked


@pytest.mark.parametrize("wanted", [LINK, IMAGE])
def test_a_lookup_link_with_markdown_shows_it_as_text(app, wanted):
    app.query_params["customer"] = wanted
    go(app, "lookup")
    errors = [e.value for e in app.error]
    assert any("No customer" in e for e in errors), errors
    _no_live_markdown(_texts(app))
    assert any("\\[Session expired" in e or "\\[x\\]" in e for e in errors), errors


def test_file_names_column_names_and_ids_from_the_data_are_not_markdown(app):
    data = (
        b"Invoice,StockCode,Quantity,InvoiceDate,Price,Customer ID,Country,"
        + IMAGE.encode()
        + b"\n"
        + GOOD.split(b"\n", 1)[1].replace(b"\n", b",x\n").replace(b"17850", LINK.encode().replace(b",", b""))
    )
    go(app, "data")
    # a file name holds no '/': the image points at a relative address
    app.file_uploader(key="upload").set_value(("![x](pixel.png).csv", data, "text/csv")).run()
    assert not app.exception, [e.value for e in app.exception]
    go(app, "data")
    _no_live_markdown(_texts(app))
    assert any("Loaded: !\\[x\\]" in s.value for s in app.subheader), [s.value for s in app.subheader]
    app.query_params["customer"] = LINK
    go(app, "lookup")
    _no_live_markdown(_texts(app))
    assert any(s.value.startswith("Customer \\[Session") for s in app.subheader), [
        s.value for s in app.subheader
    ]


def test_a_one_customer_file_does_not_say_the_lookup_works(app):
    go(app, "data")
    one = b"Customer ID,InvoiceDate,Invoice,Quantity,Price\nc1,2024-01-05 10:00,1001,1,10.00\n"
    app.file_uploader(key="upload").set_value(("one.csv", one, "text/csv")).run()
    go(app, "clusters")
    info = " ".join(i.value for i in app.info)
    assert "Customer lookup need a fitted model, so they do not work on this file" in info
    assert "lookup still work" not in info
    go(app, "lookup")
    assert app.error  # and indeed it does not


def _session(model_dir: Path) -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_pruning_never_deletes_a_file_another_live_session_holds(model_dir, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("RFM_UPLOAD_DIR", str(tmp_path / "uploads"))
    first, second = _session(model_dir), _session(model_dir)
    go(first, "data")
    first.file_uploader(key="upload").set_value(("first.csv", GOOD, "text/csv")).run()
    held = Path(first.session_state[session.SOURCE].path)
    assert held.is_file()
    old = held.stat().st_mtime - 3 * 86400  # unused for three days, and the folder over its bound
    os.utime(held, (old, old))
    monkeypatch.setenv("RFM_UPLOAD_MAX_MB", "0.0001")
    go(second, "data")
    second.file_uploader(key="upload").set_value(
        ("second.csv", GOOD.replace(b"17850", b"17860"), "text/csv")
    ).run()
    assert held.is_file()  # the first session still holds it
    go(first, "data")
    assert not first.error, [e.value for e in first.error]
    assert any("first.csv" in s.value for s in first.subheader)
    go(first, "movement")
    _no_paths = [t for t in _texts(first) if str(tmp_path) in t or held.stem in t]
    assert _no_paths == []


def test_an_upload_gone_from_the_server_says_so_without_its_path(app, tmp_path, monkeypatch):
    go(app, "data")
    app.file_uploader(key="upload").set_value(("mine.csv", GOOD, "text/csv")).run()
    path = Path(app.session_state[session.SOURCE].path)
    path.unlink()
    go(app, "movement")
    texts = _texts(app)
    assert any("Your upload mine.csv is no longer on the server" in t for t in texts), texts
    assert not [t for t in texts if path.stem in t or str(path.parent) in t]


@pytest.fixture
def data_folder(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "orders.csv").write_bytes(GOOD)
    (folder / "passwd.csv").symlink_to("/etc/passwd")
    secret = tmp_path / "secret.csv"
    secret.write_bytes(GOOD)
    os.link(secret, folder / "linked.csv")
    (folder / "config.csv").symlink_to(ROOT / ".streamlit" / "config.toml")
    monkeypatch.setenv("RFM_DATA_DIR", str(folder))
    return folder


def test_the_data_folder_lists_plain_files_only(data_folder):
    assert [p.name for p in uploads.server_files()] == ["orders.csv"]


@pytest.mark.parametrize(
    "name, reason",
    [
        ("passwd.csv", "is a symbolic link"),
        ("linked.csv", "has other hard links"),
        ("config.csv", "is a symbolic link"),
    ],
)
def test_the_data_folder_loader_refuses_links_without_reading_them(data_folder, name, reason):
    from core.errors import SegmentationError

    with pytest.raises(SegmentationError, match=f"{name}: {reason}") as caught:
        files.load_path(data_folder / name)
    assert "root:" not in str(caught.value) and "maxUploadSize" not in str(caught.value)
