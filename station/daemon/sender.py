"""One webhook POST over HTTP(S), within a deadline: its outcome, never an exception.

Plain ``http.client`` (the standard library): one request per attempt on a
fresh connection, no redirects followed (a 3xx is not a delivery), the
certificate of an https:// receiver checked as ``ssl`` checks it by
default. The deadline (10 s) bounds the whole attempt, not each socket
operation: before every step the socket's timeout is set to what is left,
so a receiver that trickles its answer a byte at a time is cut off too.
"""
from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

TIMEOUT = 10.0
MAX_ANSWER = 64 * 1024  # of the receiver's answer body read (and dropped): enough to see it end


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: delivered on a 2xx, else the status or the error that says why not."""

    delivered: bool
    status: int | None = None
    error: str | None = None


class _Deadline:
    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError("no answer within the deadline")
        return left


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float = TIMEOUT) -> Outcome:
    """POST ``body`` to ``url``; delivered when the receiver answers 2xx within ``timeout`` seconds."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    deadline = _Deadline(timeout)
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.connect()
        conn.sock.settimeout(deadline.left())
        conn.request("POST", path, body=body, headers={**headers, "Content-Length": str(len(body))})
        conn.sock.settimeout(deadline.left())
        response = conn.getresponse()
        read = 0
        while read < MAX_ANSWER:
            conn.sock.settimeout(deadline.left())
            chunk = response.read1(MAX_ANSWER - read) if hasattr(response, "read1") else response.read(4096)
            if not chunk:
                break
            read += len(chunk)
        status = response.status
    except (TimeoutError, socket.timeout):
        return Outcome(False, error=f"no answer within {timeout:g} s")
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__)
    finally:
        conn.close()
    if 200 <= status < 300:
        return Outcome(True, status)
    return Outcome(False, status, f"answered {status}")
