"""Bounded load test of the scoring API on 127.0.0.1: p50 / p99 latency and the server's memory.

    .venv/bin/python bench/api_load.py [--requests 2000] [--concurrency 8] [--time-limit 60]

Starts the real server (``serve.py``: app.py under its connection limits) on a free loopback
port with a temporary model store holding one model (fitted on synthetic customers), sends a
fixed number of POST /api/score requests from a few threads (stopping early at the time
limit), then streams one oversized chunked body (``--big-mb``, no Content-Length) to show the
body limit holds while streaming. Then the slow-client test: ``--idle`` connections (3,000)
are opened and held, half sending nothing and half an unfinished request head, while
/api/health must answer within 1 s; after the header timeout the server must have closed
them. Prints latency percentiles, throughput, status counts, the server's RSS before, after
the load and after the big body, and the slow-client figures. Only the server it started is
stopped; every loop is bounded and every socket is on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _train(model_dir: Path) -> str:
    from core.segmentation import SegmentationModel
    from core.store import ModelStore

    rng = np.random.default_rng(7)
    n = 20_000
    rfm = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(n)],
            "recency": np.floor(rng.lognormal(3.5, 1.0, n)),
            "frequency": 1 + np.floor(rng.lognormal(0.8, 0.9, n)),
            "monetary": np.round(rng.lognormal(6.0, 1.2, n), 2),
        }
    )
    return ModelStore(model_dir).save(SegmentationModel().fit(rfm), data_source="synthetic")


def _wait_healthy(url: str, server: subprocess.Popen, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}")
        try:
            response = httpx.get(url + "/api/health", timeout=2)
            if response.status_code == 200:
                return response.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("server did not become healthy in time")


def _load(url: str, total: int, concurrency: int, time_limit: float, token: str):
    latencies, statuses, lock = [], Counter(), threading.Lock()
    counter = iter(range(total))
    stop_at = time.monotonic() + time_limit
    rng = np.random.default_rng(1)
    bodies = [
        {"recency": float(r), "frequency": float(f), "monetary": float(m)}
        for r, f, m in zip(
            rng.integers(0, 400, 256), rng.integers(1, 30, 256), np.round(rng.lognormal(6, 1.2, 256), 2)
        )
    ]
    headers = {"Authorization": f"Bearer {token}"}

    def worker():
        with httpx.Client(timeout=30, headers=headers) as client:
            while time.monotonic() < stop_at:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                start = time.perf_counter()
                response = client.post(url + "/api/score", json=bodies[i % len(bodies)])
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    statuses[response.status_code] += 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return np.array(latencies), statuses, time.perf_counter() - start


def _big_body(url: str, megabytes: int, token: str) -> tuple[int | None, int]:
    """Stream a chunked body of ``megabytes`` MB; returns (status, bytes the client got to send)."""
    sent = [0]

    def chunks():
        block = b" " * (1 << 20)
        for _ in range(megabytes):
            sent[0] += len(block)
            yield block

    try:
        response = httpx.post(
            url + "/api/score",
            content=chunks(),
            timeout=60,
            headers={"content-type": "application/json", "Authorization": f"Bearer {token}"},
        )
        return response.status_code, sent[0]
    except httpx.HTTPError:  # the server may close the connection once it has answered 413
        return None, sent[0]


def _slow_clients(url: str, count: int, header_timeout: float = 10.0) -> dict:
    """Hold ``count`` idle connections to the server (half silent, half with a request head
    left unfinished), time one /api/health meanwhile, then wait (bounded) for the server to
    close them; every socket is closed on the way out."""
    host, port = url.removeprefix("http://").split(":")
    sockets = []
    try:
        for i in range(count):
            sock = socket.socket()
            sock.settimeout(5)
            try:
                sock.connect((host, int(port)))
            except OSError:
                sock.close()
                break
            if i % 2:
                sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            sock.setblocking(False)
            sockets.append(sock)
        time.sleep(1.0)  # the server accepts what its backlog holds: the connections are held
        status, health_s = None, float("inf")
        for _ in range(3):  # the slowest of three answers counts
            started = time.perf_counter()
            try:
                status = httpx.get(url + "/api/health", timeout=5).status_code
            except httpx.HTTPError:
                status = None
            elapsed = time.perf_counter() - started
            health_s = elapsed if health_s == float("inf") else max(health_s, elapsed)
        closed, waited = set(), time.perf_counter()
        deadline = waited + header_timeout + 20
        while len(closed) < len(sockets) and time.perf_counter() < deadline:
            open_ones = [s for s in sockets if s.fileno() not in closed]
            for sock in _readable(open_ones):  # readable: data, or the server's close
                try:
                    if sock.recv(4096) == b"":
                        closed.add(sock.fileno())
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    closed.add(sock.fileno())
            time.sleep(0.5)
        return {
            "opened": len(sockets),
            "health_status": status,
            "health_s": round(health_s, 3),
            "closed_by_server": len(closed),
            "waited_s": round(time.perf_counter() - waited, 1),
        }
    finally:
        for sock in sockets:
            sock.close()


def _readable(sockets: list) -> list:
    import selectors

    with selectors.DefaultSelector() as selector:
        for sock in sockets:
            selector.register(sock, selectors.EVENT_READ)
        return [key.fileobj for key, _ in selector.select(timeout=0)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--big-mb", type=int, default=300)
    parser.add_argument("--idle", type=int, default=3000, help="slow clients held open (0: skip)")
    parser.add_argument(
        "--json", action="store_true", help="also print one JSON line last (for bench/run.py)"
    )
    args = parser.parse_args()

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    token = "bench-token"
    with tempfile.TemporaryDirectory(prefix="rfm-api-load-") as tmp:
        version = _train(Path(tmp) / "models")
        env = {
            **os.environ,
            "RFM_MODEL_DIR": str(Path(tmp) / "models"),
            "RFM_API_TOKEN": token,
            "RFM_UPLOAD_DIR": str(Path(tmp) / "uploads"),
        }
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "serve.py"), "--port", str(port), "--address", "127.0.0.1"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            health = _wait_healthy(url, server)
            assert health["model_version"] == version, health
            httpx.post(
                url + "/api/score",
                json={"recency": 1, "frequency": 1, "monetary": 1},
                headers={"Authorization": f"Bearer {token}"},
            )  # load the model once
            rss_before = _rss_mib(server.pid)
            latencies, statuses, wall = _load(url, args.requests, args.concurrency, args.time_limit, token)
            rss_after = _rss_mib(server.pid)
            big_status, big_sent = _big_body(url, args.big_mb, token)
            rss_big = _rss_mib(server.pid)
            slow = _slow_clients(url, args.idle) if args.idle else None
        finally:
            server.terminate()
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
    ms = latencies * 1000
    print(
        f"api_load: {len(latencies):,} requests ({args.concurrency} threads, limit "
        f"{args.requests:,} / {args.time_limit:.0f} s) in {wall:.1f} s = "
        f"{len(latencies) / wall:,.0f} req/s"
    )
    print(
        f"  latency p50 {np.percentile(ms, 50):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms, "
        f"max {ms.max():.1f} ms; statuses {dict(statuses)}"
    )
    print(
        f"  server RSS: {rss_before:.0f} MiB before, {rss_after:.0f} MiB after the load, "
        f"{rss_big:.0f} MiB after a {args.big_mb} MB chunked body (status {big_status}, "
        f"client sent {big_sent / (1 << 20):.0f} MB before the answer)"
    )
    ok = statuses.get(200, 0) == len(latencies) and big_status in (413, None) and rss_big - rss_after < 100
    if slow is not None:
        print(
            f"  slow clients: {slow['opened']:,} idle connections held (half with an unfinished "
            f"request head); /api/health answered {slow['health_status']} in "
            f"{slow['health_s']:.3f} s (limit 1 s); {slow['closed_by_server']:,} closed by the "
            f"server within {slow['waited_s']:.0f} s"
        )
        ok = (
            ok
            and slow["health_status"] == 200
            and slow["health_s"] < 1.0
            and slow["closed_by_server"] == slow["opened"]
        )
    if args.json:
        print(
            json.dumps(
                {
                    "requests": len(latencies),
                    "concurrency": args.concurrency,
                    "wall_s": round(wall, 3),
                    "p50_ms": round(float(np.percentile(ms, 50)), 2),
                    "p99_ms": round(float(np.percentile(ms, 99)), 2),
                    "ok_200": statuses.get(200, 0),
                    "rss_before_mib": round(rss_before, 1),
                    "rss_after_mib": round(rss_after, 1),
                    "rss_big_mib": round(rss_big, 1),
                    "big_status": big_status,
                    "big_mb": args.big_mb,
                    "slow_clients": slow,
                    "ok": ok,
                }
            )
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
