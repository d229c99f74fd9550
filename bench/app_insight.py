"""Time to insight in the dashboard: upload a file in a real browser, wait for the numbers.

    python bench/app_insight.py FILE.xlsx [--port 8602] [--json]

Starts `streamlit run app.py` (a fresh server, a temporary model store), opens it in
headless Debian Chromium (/usr/bin/chromium, never downloaded), uploads FILE through the
Data page's file input, then measures, from the moment the file is handed to the input:

  to_rfm_s       until the RFM page shows its Customers figure and has finished running
  segments_s     then, after clicking Segments, until that page has finished running

Prints one JSON line (with --json) or a sentence; exit status 1 when a step fails or the
page shows an exception. A benchmark, not a test: its target lives in bench/run.py.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
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
NAV = '[data-testid="stSidebarNavLink"], [data-testid="stTopNavLink"]'
TIMEOUT_S = 300


def _wait_for_server(url: str, proc: subprocess.Popen) -> None:
    end = time.time() + 120
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("the server did not answer within 120 s")


# Checked inside the page every 50 ms (one evaluation, no round trip to this process per
# check: a poll from here costs the browser and the server CPU that a user's browser does not).
_READY_JS = """([text, heading, selector]) => {
    if (document.querySelector('[data-testid="stException"]')) return "exception";
    if (document.querySelector('[data-test-script-state="running"], [data-testid="stStatusWidget"]'))
        return false;
    if (text && !document.body.textContent.includes(text)) return false;
    if (heading && ![...document.querySelectorAll("h1")].some(h => h.textContent.includes(heading)))
        return false;
    return !selector || document.querySelector(selector) !== null;
}"""


def _wait(page, what: str, *, text: str = "", heading: str = "", selector: str = "") -> None:
    """Until the page holds ``text``, an h1 with ``heading`` and an element matching
    ``selector`` (each when given), and the script has stopped running."""
    handle = page.wait_for_function(
        _READY_JS, arg=[text, heading, selector], polling=50, timeout=TIMEOUT_S * 1000
    )
    if handle.json_value() == "exception":
        raise RuntimeError(f"{what}: the page shows an exception")


def _metric(page, label: str) -> str | None:
    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    found = dict(zip((x.strip() for x in labels), (v.strip() for v in values)))
    return found.get(label)


def measure(file: Path, port: int) -> dict:
    from playwright.sync_api import sync_playwright

    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="rfm-bench-app-") as models:
        env = {**os.environ, "RFM_MODEL_DIR": models}
        command = [
            str(REPO / ".venv" / "bin" / "streamlit"),
            "run",
            "app.py",
            f"--server.port={port}",
            "--server.headless=true",
        ]
        with open(Path(models) / "server.log", "w") as log:
            proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_for_server(url, proc)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(url)
                _wait(page, "the Data page", selector='input[type="file"]')
                started = time.perf_counter()
                page.locator('input[type="file"]').first.set_input_files(str(file))
                _wait(page, "the upload", text=f"Loaded: {file.name}")
                loaded_s = time.perf_counter() - started
                page.locator(NAV).filter(has_text="RFM").first.click()
                _wait(page, "the RFM page", heading="RFM", selector='[data-testid="stMetricValue"]')
                to_rfm_s = time.perf_counter() - started
                customers = _metric(page, "Customers")
                if customers is None:
                    raise RuntimeError("the RFM page shows no Customers figure")
                page.locator(NAV).filter(has_text="Segments").first.click()
                before = time.perf_counter()
                _wait(
                    page,
                    "the Segments page",
                    heading="Segments",
                    selector='[data-testid="stPlotlyChart"], [data-testid="stMetricValue"]',
                )
                segments_s = time.perf_counter() - before
                browser.close()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    return {
        "file": file.name,
        "loaded_s": round(loaded_s, 2),
        "to_rfm_s": round(to_rfm_s, 2),
        "segments_s": round(segments_s, 2),
        "customers": customers,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--port", type=int, default=int(os.environ.get("RFM_BENCH_PORT", "8602")))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing (apt-get install chromium)", file=sys.stderr)
        return 1
    try:
        result = measure(args.file.resolve(), args.port)
    except Exception as exc:  # a benchmark reports any failure in one line
        print(f"app_insight: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{result['file']}: loaded in {result['loaded_s']:.1f} s, RFM page after "
            f"{result['to_rfm_s']:.1f} s ({result['customers']} customers), Segments page "
            f"{result['segments_s']:.1f} s later"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
