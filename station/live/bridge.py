"""The Flask app behind the event loop: one request, one hop to a worker thread and one hop back.

Why not a2wsgi's WSGIMiddleware: it reads the request body from inside the
worker thread (a client that sends its headers and then trickles the body
holds a thread for as long as it likes: the very starvation the live events
caused), and it crosses between the loop and the thread once per ASGI
message (three or four hops a request; measured +0.22 ms on a bare app on
this project's 2-core machine, README "The web server"). Here the body is
read in the loop, at most ``max_body`` + 1 bytes and within ``body_timeout``
seconds, before a thread is involved, as waitress buffers it; the WSGI call
then runs in the pool and its whole answer comes back in one piece. Every
response of the app is small and made at once (the one stream, the live
events, is served by streams.py without a thread), so nothing needs
streaming back.

The environ is PEP 3333's, plus ``REQUEST_URI``/``RAW_URI`` from the ASGI
``raw_path`` (web.api.paths reads a serial's literal %2F from it) and the
caller's ``extra_environ``.
"""
from __future__ import annotations

import asyncio
import io
import logging
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)

Headers = list[tuple[bytes, bytes]]


class BodyTooSlow(TimeoutError):
    """The client did not send its announced body in time."""


def environ_of(scope: dict[str, Any], body: bytes, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The WSGI environ of an ASGI HTTP ``scope`` whose body has been read."""
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
    query = scope.get("query_string", b"")
    server = scope.get("server") or ("127.0.0.1", 80)
    client = scope.get("client") or ("", 0)
    request_uri = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode("utf-8").decode("latin-1"),
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": query.decode("latin-1"),
        "REQUEST_URI": request_uri,
        "RAW_URI": request_uri,
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] or 0),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0] or "",
        "REMOTE_PORT": str(client[1] or 0),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        **(extra or {}),
    }
    for name, value in scope.get("headers", ()):
        key = name.decode("latin-1").upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        text = value.decode("latin-1")
        environ[key] = environ[key] + "," + text if key in environ else text
    if environ.pop("HTTP_TRANSFER_ENCODING", None) is not None or ("CONTENT_LENGTH" not in environ and body):
        # The body is read, no longer chunked: its length as read (a cut one, limit + 1 bytes, is over
        # the limit and the app answers 413), as waitress passed it.
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


async def read_body(receive: Callable, limit: int, timeout: float) -> bytes:
    """The request body, cut after ``limit`` + 1 bytes (enough for the app to see it is too large)."""
    chunks: list[bytes] = []
    size = 0
    more = True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while more and size <= limit:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise BodyTooSlow
        try:
            message = await asyncio.wait_for(receive(), remaining)
        except TimeoutError:
            raise BodyTooSlow from None
        if message["type"] == "http.disconnect":
            raise ConnectionResetError("client went away mid-body")
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)[:limit + 1]


def call_wsgi(app: Callable, environ: dict[str, Any]) -> tuple[int, Headers, bytes]:
    """Run the WSGI app to the end of its answer (in a worker thread)."""
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status, headers, exc_info=None):
        if exc_info is not None and started:
            raise exc_info[1].with_traceback(exc_info[2])
        started[:] = [(status, headers)]
        return lambda data: chunks.append(data)

    chunks: list[bytes] = []
    iterable = app(environ, start_response)
    try:
        chunks.extend(iterable)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    status, headers = started[0]
    return int(status[:3]), [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers], b"".join(chunks)


class WSGIBridge:
    """An ASGI app that serves a WSGI app from a thread pool, one hop each way per request."""

    def __init__(self, app: Callable, *, threads: int, max_body: int, body_timeout: float = 30.0,
                 extra_environ: dict[str, Any] | None = None) -> None:
        self.app = app
        self.extra_environ = dict(extra_environ or {})
        self.max_body = max_body
        self.body_timeout = body_timeout
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="web")

    async def respond(self, scope: dict[str, Any], receive: Callable) -> tuple[int, Headers, bytes]:
        """The app's answer to the request (status, headers, body), made in a worker thread."""
        body = await read_body(receive, self.max_body, self.body_timeout)
        environ = environ_of(scope, body, self.extra_environ)
        return await asyncio.get_running_loop().run_in_executor(self.pool, call_wsgi, self.app, environ)

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        try:
            status, headers, body = await self.respond(scope, receive)
        except BodyTooSlow:
            status, headers, body = 408, [(b"content-type", b"application/json"), (b"connection", b"close")], (
                b'{"error": {"code": "request_timeout", "message": "The request body did not arrive in time."}}')
        except ConnectionResetError:
            return
        await send_response(send, status, headers, body, head=scope["method"] == "HEAD")

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


async def send_response(send: Callable, status: int, headers: Headers, body: bytes, *, head: bool = False) -> None:
    """A whole answer; its Content-Length is set when the app left it out."""
    if not any(k == b"content-length" for k, _ in headers):
        headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})
