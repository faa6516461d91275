"""uvicorn on a thread of its own, listening where ``[web]`` says, stoppable from another thread within a second.

The listening sockets are made here, before anything starts, so a taken
port fails ``station run`` at once with a sentence (and port 0 gives a free
one, for tests). They are made with ``IPPROTO_TCP``: asyncio turns Nagle's
algorithm off (TCP_NODELAY) only on sockets that say they are TCP, and
without it a response written in two pieces waits 40 ms for the client's
delayed ACK (measured: 44 ms a request instead of 0.3).

uvicorn is told not to trust ``X-Forwarded-For`` (``proxy_headers=False``):
web.security decides trust by the peer's own address, as waitress did with
``clear_untrusted_proxy_headers``. A request its HTTP parser cannot read (an
unknown method, a broken request line) is answered in the API's JSON error
shape, not uvicorn's plain text: the API answers JSON always.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from .asgi import StationASGI

log = logging.getLogger(__name__)

STOP_TICK = 0.1  # uvicorn looks at should_exit this often


class _Protocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with its one answer made before any app runs in JSON."""

    def send_400_response(self, msg: str) -> None:
        body = json.dumps({"error": {"code": "bad_request", "message": (
            f"The request is not one this server can read ({msg.rstrip('.')}): send HTTP/1.1 with a standard "
            "method.")}}).encode()
        head = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head += [b"content-type: application/json\r\n", b"content-length: %d\r\n" % len(body),
                 b"connection: close\r\n\r\n", body]
        self.transport.write(b"".join(head))
        self.transport.close()


def listen(host: str, port: int, backlog: int = 1024) -> list[socket.socket]:
    """Bound, listening TCP sockets for every address ``host`` names (OSError when none can be had)."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP,
                               flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    seen = set()
    try:
        for family, kind, proto, _, address in infos:
            if address[:2] in seen:
                continue
            seen.add(address[:2])
            sock = socket.socket(family, kind, proto)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and sockets:  # one free port for every address
                address = (address[0], sockets[0].getsockname()[1], *address[2:])
            sock.bind(address)
            sock.listen(backlog)
            sock.setblocking(False)
            sockets.append(sock)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class WebServer:
    """The station's ASGI app (web.app.asgi_app) behind uvicorn, on a thread; ``stop`` ends streams, then the server."""

    def __init__(self, asgi: StationASGI, host: str, port: int) -> None:
        import uvicorn

        self.asgi = asgi
        self.sockets = listen(host, port)
        config = uvicorn.Config(
            self.asgi, http=_Protocol, lifespan="off", log_config=None, access_log=False, proxy_headers=False,
            server_header=False, headers=[("server", "station")], timeout_graceful_shutdown=1,
            timeout_keep_alive=15, backlog=1024,
        )
        self.server = uvicorn.Server(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        self.thread = threading.Thread(target=self._run, name="web", daemon=True)

    @property
    def urls(self) -> list[str]:
        out = []
        for sock in self.sockets:
            host, port = sock.getsockname()[:2]
            out.append(f"http://{f'[{host}]' if ':' in host else host}:{port}/")
        return out

    @property
    def port(self) -> int:
        return self.sockets[0].getsockname()[1]

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._started.set()
            await self.server.serve(sockets=self.sockets)

        try:
            asyncio.run(main())
        except Exception:
            log.exception("the web server stopped")
        finally:
            self._started.set()

    def start(self) -> None:
        self.thread.start()
        self._started.wait(5)

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    def stop(self, timeout: float) -> None:
        """End the live streams, stop accepting, close the connections; gone within ``timeout``."""
        loop = self._loop
        if loop is not None and self.thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop has just closed
                loop.call_soon_threadsafe(self.asgi.close)
        self.server.should_exit = True
        self.thread.join(max(0.0, timeout - STOP_TICK))
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(STOP_TICK)
        for sock in self.sockets:
            sock.close()
        self.asgi.shutdown()
