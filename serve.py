"""Serve app.py (the dashboard and the API) with uvicorn, under connection limits.

    .venv/bin/python serve.py [--port 8501] [--address 127.0.0.1]

Streamlit documents two ways to serve an ``st.App``: ``streamlit run app.py`` and any ASGI
server (``uvicorn app:app``). Neither sets a time limit on a connection that never sends its
request: 3,000 half-open connections were held until the descriptors ran out and health, score
and every page timed out. This launcher runs uvicorn's public ``Config``/``Server`` with the
limits below (docs/TEAM.md, "Server limits"):

- header timeout: a connection's first request head must arrive within HEADER_TIMEOUT_S;
- idle timeout: a connection that sends nothing for IDLE_TIMEOUT_S is closed (uvicorn's
  keep-alive timeout closes one idle between two requests sooner, KEEP_ALIVE_S);
- connection cap: past MAX_HTTP_CONNECTIONS open HTTP connections (WebSockets of browser
  sessions are not counted once upgraded), the one quiet the longest is closed, so a flood of
  idle connections cannot keep out a new request; past MAX_CONCURRENCY connections and tasks
  in all, uvicorn answers 503.

The WebSocket settings are Streamlit's own (its config options), as ``streamlit run`` sets
them. Each limit is read from the environment (RFM_HEADER_TIMEOUT_S, ...) when set.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from core.limits import env_number

HEADER_TIMEOUT_S = env_number("RFM_HEADER_TIMEOUT_S", 10)
IDLE_TIMEOUT_S = env_number("RFM_IDLE_TIMEOUT_S", 120)
KEEP_ALIVE_S = int(env_number("RFM_KEEP_ALIVE_S", 5))
MAX_HTTP_CONNECTIONS = int(env_number("RFM_MAX_HTTP_CONNECTIONS", 512))
MAX_CONCURRENCY = int(env_number("RFM_MAX_CONCURRENCY", 2048))
MAX_HEADER_BYTES = 64 * 1024  # an incomplete request head larger than this is refused (h11)


class LimitedHttp(asyncio.Protocol):
    """uvicorn's h11 HTTP protocol, with a header timeout, an idle timeout and the cap on open
    HTTP connections (module doc). It only watches: bytes and events go to the h11 protocol
    as they come, and once a connection is upgraded to a WebSocket it is not watched."""

    watched: dict[LimitedHttp, None] = {}  # open HTTP connections, the longest quiet first

    def __init__(self, *args, **kwargs):
        self.http = H11Protocol(*args, **kwargs)
        self.loop = self.http.loop
        self.transport: asyncio.Transport | None = None
        self.head_done = False
        self.tail = b""
        self.timer: asyncio.TimerHandle | None = None
        self.last_byte = time.monotonic()

    # asyncio.Protocol, passed on ----------------------------------------------------------
    def connection_made(self, transport) -> None:
        """asyncio.Protocol: a new connection, watched from now (header timeout, connection cap)."""
        self.transport = transport
        self.http.connection_made(transport)
        self.watched[self] = None
        self.timer = self.loop.call_later(HEADER_TIMEOUT_S, self._check)
        self._cap()

    def data_received(self, data: bytes) -> None:
        """asyncio.Protocol: bytes in; the connection is now the most recently active one."""
        self.last_byte = time.monotonic()
        self.watched.pop(self, None)
        self.watched[self] = None  # now the most recently active
        if not self.head_done:
            self.head_done = b"\r\n\r\n" in self.tail + data
            self.tail = (self.tail + data)[-3:]
        self.http.data_received(data)

    def eof_received(self):
        """asyncio.Protocol: passed on to uvicorn's protocol."""
        return self.http.eof_received()

    def connection_lost(self, exc) -> None:
        """asyncio.Protocol: no longer watched; passed on."""
        self.forget()
        self.http.connection_lost(exc)

    def pause_writing(self) -> None:
        """asyncio.Protocol: passed on."""
        self.http.pause_writing()

    def resume_writing(self) -> None:
        """asyncio.Protocol: passed on."""
        self.http.resume_writing()

    # the limits ---------------------------------------------------------------------------
    def is_watched(self) -> bool:
        """Still an HTTP connection of ours (not closed, not upgraded to a WebSocket)."""
        return (
            self.transport is not None
            and not self.transport.is_closing()
            and self.transport.get_protocol() is self
        )

    def _check(self) -> None:
        if not self.is_watched():
            return self.forget()
        quiet = time.monotonic() - self.last_byte
        if not self.head_done or quiet >= IDLE_TIMEOUT_S:
            self.transport.close()  # h11 hears connection_lost as from any closed connection
            return self.forget()
        self.timer = self.loop.call_later(IDLE_TIMEOUT_S - quiet, self._check)

    def _cap(self) -> None:
        while len(self.watched) > MAX_HTTP_CONNECTIONS:
            quietest = next(iter(self.watched))
            quietest.forget()
            if quietest.is_watched():
                quietest.transport.close()

    def forget(self) -> None:
        """Stop watching this connection (idempotent): out of the cap's count, its timer cancelled."""
        self.watched.pop(self, None)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


def config(app, host: str, port: int) -> uvicorn.Config:
    """uvicorn's configuration for ``app`` with the limits, and Streamlit's WebSocket settings."""
    import streamlit as st

    ping = st.get_option("server.websocketPingInterval") or 30
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=LimitedHttp,
        ws="websockets-sansio",
        ws_ping_interval=ping,
        ws_ping_timeout=ping,
        ws_max_size=int(st.get_option("server.maxMessageSize")) * 1024 * 1024,
        ws_per_message_deflate=bool(st.get_option("server.enableWebsocketCompression")),
        timeout_keep_alive=KEEP_ALIVE_S,
        limit_concurrency=MAX_CONCURRENCY,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        access_log=False,
        use_colors=False,
    )


def main(argv: list[str] | None = None) -> None:
    """Serve app.py on ``--address``/``--port`` under the connection limits until interrupted."""
    import streamlit as st

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--port",
        type=int,
        default=int(st.get_option("server.port")),
        help="default: Streamlit's server.port (8501)",
    )
    parser.add_argument(
        "--address",
        default=st.get_option("server.address") or "0.0.0.0",
        help="default: Streamlit's server.address, else every interface, as streamlit run does",
    )
    args = parser.parse_args(argv)
    from app import app

    uvicorn.Server(config(app, args.address, args.port)).run()


if __name__ == "__main__":
    main()
