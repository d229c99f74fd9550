"""The real server (same command as `make run`) and headless Debian Chromium for e2e tests.

Skipped when /usr/bin/chromium is missing, unless CI=true: then missing browser = failure.
Never downloads a browser.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SAMPLE = ROOT / "data" / "online_retail_II_sample.xlsx"
RUN_COMMAND = [str(ROOT / ".venv" / "bin" / "streamlit"), "run", "app.py"]


def _require_chromium():
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing (apt-get install chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; CI=true, so the e2e tests fail instead of skipping")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@contextlib.contextmanager
def streamlit_server(model_dir: Path, log: Path, command=None, env: dict | None = None):
    """`streamlit run app.py` on a free port with the model store ``model_dir``; yields its URL.
    ``command(port)``: another way to start app.py (serve.py); ``env``: more variables."""
    port = _free_port()
    env = {**os.environ, "RFM_MODEL_DIR": str(model_dir), **(env or {})}
    argv = command(port) if command else RUN_COMMAND + [f"--server.port={port}", "--server.headless=true"]
    with log.open("w") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:  # /api/health is a plain HTTP route: it starts no Streamlit session
            try:
                if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail(f"server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def server(model_dir, tmp_path_factory):
    """The shared server of the browser tests, with a temporary model store; yields its URL."""
    _require_chromium()
    log = tmp_path_factory.mktemp("server") / "server.log"
    try:
        with streamlit_server(model_dir, log) as url:
            yield url
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        if log.exists():
            (ARTIFACTS / "server.log").write_text(log.read_text())


@pytest.fixture(scope="session")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


@pytest.fixture(scope="session")
def retail_csv(tmp_path_factory) -> Path:
    """The sample's second sheet as a CSV file, to upload through the real file input."""
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(SAMPLE)).get_sheet_by_name("Year 2010-2011").to_python()

    def cell(v):
        if isinstance(v, dt.datetime):
            return v.strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(v, float) and v.is_integer():
            return int(v)
        return v

    path = tmp_path_factory.mktemp("upload") / "retail_2011.csv"
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([[cell(v) for v in row] for row in rows])
    return path


def settle(page, timeout: float = 90) -> None:
    """Wait until the script has finished running (no running state, no status widget)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout * 1000)
    end = time.time() + timeout
    quiet = 0
    while time.time() < end:
        time.sleep(0.4)
        busy = (
            page.locator('[data-test-script-state="running"]').count()
            or page.locator('[data-testid="stStatusWidget"]').count()
        )
        quiet = 0 if busy else quiet + 1
        if quiet >= 3:
            return
    raise AssertionError("the app did not finish running")


def upload(page, server: str, path: Path) -> None:
    """Open the app, upload ``path`` through the real file input, wait for it to load."""
    page.goto(server)
    settle(page)
    page.locator('input[type="file"]').first.set_input_files(str(path))
    settle(page, 120)
    page.get_by_text(f"Loaded: {path.name}").wait_for()
    no_exceptions(page)


def metrics(page) -> dict[str, str]:
    """The page's st.metric values by label."""
    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    return {label.strip(): value.strip() for label, value in zip(labels, values)}


def amount(text: str) -> float:
    """'€1,309.40', '1,309.40 USD', '-£3.00' -> the number (the currency mark is not checked)."""
    match = re.search(r"-?[\d,]+\.\d{2}", text)
    assert match, f"no amount in {text!r}"
    return float(match.group().replace(",", ""))


def nav(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=title).first.click()
    settle(page)


def no_exceptions(page) -> None:
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, errors.all_inner_texts()


def shot(page, name: str, height: int = 2000) -> Path:
    """Screenshot into artifacts/; the app scrolls inside its own pane, so grow the viewport."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": height})
    page.wait_for_timeout(1200)  # plotly re-lays out to the new size
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path
