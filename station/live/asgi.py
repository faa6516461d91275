"""The station's web server: uvicorn's event loop in front, Flask in a thread pool behind, live events in the loop.

Why (README "The web server"): a live screen waits for minutes; under a
threaded WSGI server (waitress) each one held a worker thread, and 64 screens
starved every scan and page. Here a waiting screen costs a socket and a
coroutine (streams.py), requests still run in Flask unchanged (bridge.py),
and the listening socket, start and stop live in serve.py. An HTTP/1.1
request without one valid Host header is refused before any of them
(host.py).

The web app builds this (web.app.asgi_app): it hands in itself, the largest
body it takes, what to add to each request's environ, and the event hub.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import host
from .bridge import WSGIBridge
from .streams import EventHub

# The live events' URL (GET /api/stations/<station>/events, web.api.stations).
EVENTS_PREFIX, EVENTS_SUFFIX = "/api/stations/", "/events"


class StationASGI:
    """The ASGI app: live event requests to the hub (after the app admits them), everything else to the app."""

    def __init__(self, app: Callable, events: EventHub, *, threads: int, max_body: int,
                 environ: dict[str, Any] | None = None) -> None:
        self.app = app
        self.bridge = WSGIBridge(app, threads=threads, max_body=max_body, extra_environ=environ)
        self.events = events

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
