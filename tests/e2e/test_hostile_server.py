"""Issue 20 against the real server in Chromium: a hostile workbook upload is a message and
the server lives on; a markdown link in a lookup URL is shown as text, no link or image forms;
and, under serve.py's limits, idle connections neither starve /api/health nor stay open."""

from __future__ import annotations

import selectors
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import _require_chromium, no_exceptions, settle, streamlit_server


def _corner_xlsx(path: Path) -> Path:
    """2 KB: cells A1 and XFD1048576 (calamine would allocate 512 GiB and abort the process)."""
    from tests.core.test_workbook_extent import text_cell, xlsx

    return xlsx(
        path, f'<row r="1">{text_cell("A1", "x")}</row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    )


def test_a_hostile_workbook_upload_is_a_message_and_the_server_lives(page, server, tmp_path):
    path = _corner_xlsx(tmp_path / "corner.xlsx")
    assert path.stat().st_size < 2048
    page.goto(server)
    settle(page)
    page.locator('input[type="file"]').first.set_input_files(str(path))
    settle(page, 120)
    page.get_by_text("has a cell in column 16,384").first.wait_for()
    no_exceptions(page)
    health = httpx.get(server + "/api/health", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    page.reload()
    settle(page)
    assert "online_retail_II_sample.xlsx" in page.inner_text('[data-testid="stSidebar"]')


@pytest.mark.parametrize(
    "wanted",
    ["[Session expired: sign in again](http://127.0.0.1:9/login)", "![x](http://127.0.0.1:9/pixel.png)"],
)
def test_a_markdown_link_in_the_lookup_url_stays_text(page, server, wanted):
    from urllib.parse import quote

    asked = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(f"{server}/lookup?customer={quote(wanted)}")
    settle(page)
    box = page.locator('[data-testid="stAlertContentError"]').first
    box.wait_for()
    assert "No customer" in box.inner_text()
    assert wanted.replace("!", "") in box.inner_text().replace("!", "")  # shown as written
    assert page.locator('a[href*="127.0.0.1:9"]').count() == 0
    assert page.locator('img[src*="127.0.0.1:9"]').count() == 0
    assert not [url for url in asked if "127.0.0.1:9/" in url]


@pytest.fixture
def limited_server(tmp_path):
    """serve.py (app.py under its limits) on a free port, header timeout 2 s: (URL, port)."""

    def command(port: int) -> list[str]:
        return [sys.executable, "serve.py", "--port", str(port), "--address", "127.0.0.1"]

    with streamlit_server(
        tmp_path / "models",
        tmp_path / "serve.log",
        command,
        {"RFM_HEADER_TIMEOUT_S": "2", "RFM_MAX_HTTP_CONNECTIONS": "256"},
    ) as url:
        yield url, int(url.rsplit(":", 1)[1])


def test_idle_connections_neither_starve_health_nor_stay_open(limited_server):
    url, port = limited_server
    held: list[socket.socket] = []
    try:
        for i in range(1000):  # silent ones and ones with an unfinished request head
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            if i % 2:
                sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            held.append(sock)
        time.sleep(1)
        started = time.perf_counter()
        health = httpx.get(url + "/api/health", timeout=5)
        assert health.status_code == 200
        assert time.perf_counter() - started < 1.0
        closed = _closed_within(held, 15)
        assert closed == len(held)  # by the cap (the quietest first) and the 2 s header timeout
    finally:
        for sock in held:
            sock.close()


def test_the_browser_session_survives_the_limits(limited_server, browser):
    _require_chromium()
    url, _ = limited_server
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(url)
        settle(page)
        time.sleep(4)  # past the header timeout: the session's WebSocket is not closed
        page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="RFM").first.click()
        settle(page)
        no_exceptions(page)
        assert page.get_by_text("Customers").count() > 0
    finally:
        context.close()


def _closed_within(sockets: list[socket.socket], seconds: float) -> int:
    """How many of ``sockets`` the server has closed within ``seconds`` (bounded wait)."""
    closed: set[int] = set()
    deadline = time.time() + seconds
    for sock in sockets:
        sock.setblocking(False)
    while len(closed) < len(sockets) and time.time() < deadline:
        with selectors.DefaultSelector() as selector:
            for index, sock in enumerate(sockets):
                if index not in closed:
                    selector.register(sock, selectors.EVENT_READ, index)
            for key, _ in selector.select(timeout=0.5):
                try:
                    if key.fileobj.recv(4096) == b"":
                        closed.add(key.data)
                except BlockingIOError:
                    pass
                except OSError:
                    closed.add(key.data)
    return len(closed)
