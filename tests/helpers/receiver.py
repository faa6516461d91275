"""A webhook receiver for the tests: a real HTTP server on loopback that answers as it is told, and an
independent check of the Standard Webhooks signature (plain ``hmac``, not the library the station signs with).

Each request takes the next answer from ``script`` ("ok" once the script is used up): ``ok`` (200), ``500``,
``hang`` (no answer until ``release`` or 30 s: the sender's deadline passes first), ``close`` (the connection
closed without an answer), ``twice`` (two whole 200 answers written for the one request) and ``hold``
(a 200, written only once ``release`` is called). Every request is
kept (as it arrives) with the answer it gets; ``wait_for`` blocks on a condition until a predicate over them holds.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answer: str  # what the receiver did: ok | 500 | hang | close | twice
    at: float = field(default_factory=time.monotonic)

    @property
    def event_id(self) -> int:
        return int(self.headers["webhook-id"])

    @property
    def delivered(self) -> bool:
        """Answered 2xx (a ``hold`` too: its 200 goes out once released)."""
        return self.answer in ("ok", "twice", "hold")

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
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._script: list[str] = []
        self._changed = threading.Condition()
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                answer = receiver._next()
                receiver._keep(Received({k.lower(): v for k, v in self.headers.items()}, body, answer))
                if answer in ("hang", "hold"):
                    receiver._release.wait(30)
                if answer == "hold":
                    answer = "ok"
                if answer == "hang":
                    pass
                elif answer == "500":
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif answer == "twice":
                    self.wfile.write(ANSWER + ANSWER)
                elif answer == "ok":
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                self.wfile.flush()
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/station"
        self._thread = threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()

    def script(self, *answers: str) -> None:
        with self._changed:
            self._script.extend(answers)

    def release(self) -> None:
        """Let every held or hanging request go on (and the next ones through at once)."""
        self._release.set()

    def hold_again(self) -> None:
        self._release.clear()

    def _next(self) -> str:
        with self._changed:
            return self._script.pop(0) if self._script else "ok"

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
