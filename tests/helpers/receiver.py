"""A webhook receiver for the tests: a real HTTP server on loopback that answers as it is told, and an
independent check of the Standard Webhooks signature (plain ``hmac``, not the library the station signs with).

The server is Python's own ``http.server``, speaking ``protocol`` ("HTTP/1.1" by default, or "HTTP/1.0", the
``BaseHTTPRequestHandler`` default that closes every connection), over TLS when given a certificate. Each
request takes the next answer from ``script``, else the ``otherwise`` answer ("ok" unless told):

- ``ok``: 200 with a Content-Length (on HTTP/1.1 the connection stays open for another request)
- ``ok_eof``: 200 whose body ends with the connection, no length given (a plain ``http.server`` handler)
- ``ok_close``: 200 with ``Connection: close``
- ``chunked``: 200 in ``Transfer-Encoding: chunked``
- ``204``: no content
- ``slow``: 200 after ``slow`` seconds (a receiver that takes its time, under the sender's deadline)
- ``trickle``: a 200 written a byte every 0.1 s (each read of it is quick; the whole takes 8.5 s)
- ``302`` / ``307``: a redirect to ``moved_url`` (on this server: a request there is seen)
- ``500``; ``hang`` (no answer until ``release`` or 30 s: the sender's deadline passes first); ``close`` (the
  connection closed without an answer); ``reset`` (the request read, then the connection reset: RST, not FIN);
  ``twice`` (two whole 200 answers for the one request); ``hold`` (a 200, written only once ``release`` is called)

Every request is kept (as it arrives) with its path and the answer it gets; ``wait_for`` blocks on a condition
until a predicate over them holds. A TLS client that refuses the certificate never makes a request.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
TWO_XX = {"ok": 200, "ok_eof": 200, "ok_close": 200, "chunked": 200, "204": 204, "slow": 200, "twice": 200,
          "hold": 200}
PATH = "/hooks/station"
MOVED = "/moved"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answer: str  # what the receiver did: one of the answers above
    path: str = PATH
    at: float = field(default_factory=time.monotonic)

    @property
    def event_id(self) -> int:
        return int(self.headers["webhook-id"])

    @property
    def delivered(self) -> bool:
        """Answered 2xx (a ``hold`` too: its 200 goes out once released)."""
        return self.answer in TWO_XX

    @property
    def status(self) -> int | None:
        """The status it was answered with (None: no answer, or a reset)."""
        return TWO_XX.get(self.answer) or (int(self.answer) if self.answer.isdigit() else None)

    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


def verify(secret: str, received: Received, tolerance: float = 300.0) -> bool:
    """The signature checked by hand, as the specification gives it: HMAC-SHA256 over id.timestamp.body."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    msg_id, stamp = received.headers["webhook-id"], received.headers["webhook-timestamp"]
    if abs(time.time() - int(stamp)) > tolerance:
        return False
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + received.body,
                                         hashlib.sha256).digest()).decode()
    sent = [part.split(",", 1) for part in received.headers["webhook-signature"].split(" ")]
    return any(version == "v1" and hmac.compare_digest(value, expected) for version, value in sent)


class Receiver:
    def __init__(self, *, protocol: str = "HTTP/1.1", otherwise: str = "ok", slow: float = 9.0,
                 tls: tuple[Path, Path] | None = None) -> None:
        self.received: list[Received] = []
        self._script: list[str] = []
        self._otherwise = otherwise
        self._changed = threading.Condition()
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = protocol

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                answer = receiver._next()
                receiver._keep(Received({k.lower(): v for k, v in self.headers.items()}, body, answer,
                                        self.path))
                receiver._answer(self, answer, slow)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        base = f"{'https' if tls else 'http'}://127.0.0.1:{self.server.server_address[1]}"
        self.url, self.moved_url = base + PATH, base + MOVED
        self._thread = threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()

    def _answer(self, handler: BaseHTTPRequestHandler, answer: str, slow: float) -> None:
        if answer in ("hang", "hold"):
            self._release.wait(30)
        if answer == "slow":
            time.sleep(slow)  # simulates a slow receiver; not a wait for the code under test
        if answer == "trickle":
            _trickle(handler)
            return
        if answer == "reset":
            _reset(handler)
            return
        self._respond(handler, answer)
        if answer in ("hang", "close", "twice", "500", "hold"):
            handler.close_connection = True  # as these answers always did: one request per connection
        handler.wfile.flush()

    def _respond(self, handler: BaseHTTPRequestHandler, answer: str) -> None:
        """Write the scripted answer's bytes (none for "hang" and "close")."""
        if answer == "twice":
            handler.wfile.write(ANSWER + ANSWER)
        elif answer == "500":
            handler.send_response(500)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        elif answer in ("ok", "hold", "slow", "ok_close"):
            handler.send_response(200)
            handler.send_header("Content-Length", "2")
            if answer == "ok_close":
                handler.send_header("Connection", "close")
            handler.end_headers()
            handler.wfile.write(b"ok")
        elif answer == "ok_eof":
            handler.send_response(200)
            handler.end_headers()
            handler.wfile.write(b"ok")
            handler.close_connection = True
        elif answer == "chunked":
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            for piece in (b'{"received"', b':', b'true}'):
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            handler.wfile.write(b"0\r\n\r\n")
        elif answer == "204":
            handler.send_response(204)
            handler.end_headers()
        elif answer in ("302", "307"):
            handler.send_response(int(answer))
            handler.send_header("Location", self.moved_url)
            handler.send_header("Content-Length", "0")
            handler.end_headers()

    def script(self, *answers: str) -> None:
        with self._changed:
            self._script.extend(answers)

    def otherwise(self, answer: str) -> None:
        """The answer once the script is used up, from now on."""
        with self._changed:
            self._otherwise = answer

    def release(self) -> None:
        """Let every held or hanging request go on (and the next ones through at once)."""
        self._release.set()

    def hold_again(self) -> None:
        self._release.clear()

    def _next(self) -> str:
        with self._changed:
            return self._script.pop(0) if self._script else self._otherwise

    def _keep(self, got: Received) -> None:
        with self._changed:
            self.received.append(got)
            self._changed.notify_all()

    def delivered_ids(self) -> list[int]:
        with self._changed:
            return [r.event_id for r in self.received if r.delivered]

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float, what: str) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(list(self.received)), timeout):
                raise AssertionError(f"timed out after {timeout} s waiting for {what}; received "
                                     f"{[(r.event_id, r.answer) for r in self.received]}")

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


def _trickle(handler: BaseHTTPRequestHandler) -> None:
    """The answer a byte at a time, then the connection closed."""
    with contextlib.suppress(OSError):  # the sender gave up on it
        for byte in ANSWER:
            handler.wfile.write(bytes([byte]))
            time.sleep(0.1)  # simulates a receiver that trickles its answer
    handler.close_connection = True


def _reset(handler: BaseHTTPRequestHandler) -> None:
    """No answer: the connection reset."""
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.rfile.close()  # the last reference to the socket but the handler's own: close() now resets
    handler.connection.close()
    handler.close_connection = True
