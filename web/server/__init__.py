"""The station's web server: uvicorn's event loop in front, Flask in a thread pool behind, live events in the loop.

Why (README "The web server"): a live screen waits for minutes; under a
threaded WSGI server (waitress) each one held a worker thread, and 64 screens
starved every scan and page. Here a waiting screen costs a socket and a
coroutine (web.server.events), requests still run in Flask unchanged
(web.server.bridge), and the listening socket, start and stop live in
web.server.serve. An HTTP/1.1 request without one valid Host header is
refused before any of them (web.server.host).
"""
from __future__ import annotations

from typing import Any

from flask import Flask

from ..api import MAX_BODY
from ..api.stations import ASGI_ENVIRON
from . import host
from .bridge import WSGIBridge
from .events import EventHub

EVENTS_PREFIX, EVENTS_SUFFIX = "/api/stations/", "/events"


class StationASGI:
    """The ASGI app: live event requests to the hub (after Flask admits them), everything else to Flask."""

    def __init__(self, app: Flask, *, threads: int, max_streams: int, max_streams_per_client: int) -> None:
        self.flask = app
        self.bridge = WSGIBridge(app, threads=threads, max_body=MAX_BODY, extra_environ={ASGI_ENVIRON: True})
        self.events = EventHub(app, max_streams=max_streams, max_per_client=max_streams_per_client)

    async def __call__(self, scope: dict[str, Any], receive, send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":  # websockets: none here
            await send({"type": "websocket.close", "code": 1000})
            return
        wrong_host = host.problem(scope)
        if wrong_host is not None:  # before anything is carried out, the live events included
            await host.refuse(scope, send, wrong_host)
            return
        path = scope["path"]
        if scope["method"] in ("GET", "HEAD") and path.startswith(EVENTS_PREFIX) and path.endswith(EVENTS_SUFFIX):
            try:
                admitted = await self.bridge.respond(scope, receive)
            except (ConnectionResetError, TimeoutError):
                return
            await self.events.handle(scope, receive, send, admitted)
            return
        await self.bridge(scope, receive, send)

    def close(self) -> None:
        """End the live streams (call in the loop's thread)."""
        self.events.close()

    def shutdown(self) -> None:
        """Let the thread pools go (after the loop has stopped)."""
        self.bridge.close()
        self.events.shutdown()


__all__ = ["StationASGI"]
