"""One webhook POST over HTTP(S), within a deadline: its outcome, never an exception.

Plain ``http.client`` (the standard library): one request per attempt on a
fresh connection, no redirects followed (a 3xx is not a delivery), the
certificate of an https:// receiver checked as ``ssl`` checks it by
default. The deadline (10 s) bounds the whole attempt: the connection (and
the TLS handshake, which ``ssl`` bounds as a whole) is given what is left
of it, the request is sent within what is left (``sendall``'s timeout is a
total), and the answer is read through a reader that sets the socket's
timeout to what is left before every read, so a receiver that trickles its
answer a byte at a time is cut off too.

The sender keeps its own socket and reads the answer from it: ``http.client``'s
connection forgets its socket once an answer says the connection ends
(HTTP/1.0, ``Connection: close``), which is how a 200 from such a receiver
once became an AttributeError, taken for the database being away, and the
same event sent again forever. Whatever goes wrong in here, even a bug, is
an ``Outcome`` with a sentence that says why: the deliverer records it as a
failed attempt of that delivery.

urllib3 was weighed and not taken: its total timeout is split into a connect
and a per-read timeout, which a trickling receiver outlasts as it does
``http.client``'s, and redirects, retries and pools would all be turned off.
"""
from __future__ import annotations

import http.client
import io
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

log = logging.getLogger(__name__)

TIMEOUT = 10.0
MAX_ANSWER = 64 * 1024  # of the receiver's answer body read (and dropped): enough to see it end
MAX_ERROR = 500  # characters of an error kept (the outbox's column)


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: delivered on a 2xx, else the status or the error that says why not."""

    delivered: bool
    status: int | None = None
    error: str | None = None


class _Deadline:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError("no answer within the deadline")
        return left


class _ReadWithin(io.RawIOBase):
    """The socket read with the deadline's time left as the timeout of every read."""

    def __init__(self, sock: socket.socket, deadline: _Deadline):
        self.sock, self.deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self.sock.settimeout(self.deadline.left())
        return self.sock.recv_into(buffer)


class _Answer:
    """What ``http.client.HTTPResponse`` reads an answer from: a socket's ``makefile``, here over ``_ReadWithin``."""

    def __init__(self, sock: socket.socket, deadline: _Deadline):
        self.sock, self.deadline = sock, deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_ReadWithin(self.sock, self.deadline))


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float = TIMEOUT) -> Outcome:
    """POST ``body`` to ``url``; delivered when the receiver answers 2xx within ``timeout`` seconds."""
    try:
        return _post(urlsplit(url), body, headers, _Deadline(timeout))
    except Exception as exc:  # a bug of ours: still this attempt's failure, never the deliverer's
        log.exception("webhook %s: the sender failed", url)
        return Outcome(False, error=_cut(f"the sender failed: {type(exc).__name__}: {exc}"))


def _post(parts: SplitResult, body: bytes, headers: dict[str, str], deadline: _Deadline) -> Outcome:
    host, https = parts.hostname or "", parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    sock: socket.socket | None = None
    try:
        sock = socket.create_connection((host, port), timeout=deadline.left())
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        context = None
        if https:
            context = ssl.create_default_context()
            sock.settimeout(deadline.left())
            sock = context.wrap_socket(sock, server_hostname=host)
        # The connection only writes the request (Host, Content-Length, the headers checked) on our socket.
        conn = (http.client.HTTPSConnection(host, port, context=context) if https
                else http.client.HTTPConnection(host, port))
        conn.sock = sock
        sock.settimeout(deadline.left())
        conn.request("POST", path, body=body, headers=headers)
        response = http.client.HTTPResponse(_Answer(sock, deadline), method="POST")
        response.begin()
        outcome = _outcome(response)
        _drain(response)
        return outcome
    except TimeoutError:
        return Outcome(False, error=f"no answer within {deadline.seconds:g} s")
    except Exception as exc:
        return Outcome(False, error=_cut(_why(exc, host, port)))
    finally:
        if sock is not None:
            sock.close()


def _drain(response: http.client.HTTPResponse) -> None:
    """Read the answer's body to its end (what it says is not kept), so that the connection ends cleanly. The
    status is the answer: a body cut short, slow or too long changes nothing of it."""
    read = 0
    try:
        while read < MAX_ANSWER:
            chunk = response.read1(MAX_ANSWER - read)
            if not chunk:
                break
            read += len(chunk)
    except (TimeoutError, OSError, http.client.HTTPException):
        pass
    finally:
        response.close()


def _outcome(response: http.client.HTTPResponse) -> Outcome:
    status, reason = response.status, response.reason.strip()
    said = f"answered {status}" + (f" {reason}" if reason else "")
    if 200 <= status < 300:
        return Outcome(True, status)
    if 300 <= status < 400:
        where = response.getheader("Location")
        return Outcome(False, status, _cut(f"{said}: a redirect to {where}, not followed" if where else
                                           f"{said}: a redirect, not followed"))
    return Outcome(False, status, _cut(said))


def _why(exc: Exception, host: str, port: int) -> str:
    """One sentence for what stopped an attempt before an answer came."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the certificate of {host} does not verify: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS with {host}:{port} failed: {exc.reason or exc}"
    if isinstance(exc, socket.gaierror):
        return f"{host} cannot be found: {exc.strerror}"
    if isinstance(exc, ConnectionRefusedError):
        return f"{host}:{port} refused the connection"
    if isinstance(exc, (http.client.RemoteDisconnected, BrokenPipeError)):  # RemoteDisconnected is a reset's kind
        return "the receiver closed the connection without an answer"
    if isinstance(exc, ConnectionResetError):
        return "the receiver reset the connection before it answered"
    if isinstance(exc, http.client.HTTPException):
        return f"not an HTTP answer ({type(exc).__name__}: {exc})"
    if isinstance(exc, OSError):
        return f"cannot reach {host}:{port}: {exc.strerror or exc}"
    log.exception("webhook %s:%d: the sender failed", host, port)
    return f"the sender failed: {type(exc).__name__}: {exc}"


def _cut(text: str) -> str:
    return text[:MAX_ERROR]
