"""Live event streams read over real sockets, as a browser's EventSource reads them.

``EventStream`` reads one stream in a thread and puts each event on a queue,
so a test waits on the queue (with a deadline), never sleeps. ``RawStream``
is the same without a thread, for tests that hold hundreds of streams and
read them all from one selector.
"""
from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from typing import Any


def request_bytes(path: str, host: str = "127.0.0.1", extra: dict[str, str] | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Accept: text/event-stream"]
    lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class RawStream:
    """One events request on its own socket; ``feed`` takes what arrived and returns the complete events."""

    def __init__(self, port: int, station: str, *, host: str = "127.0.0.1", source: str = "127.0.0.1") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
        self.sock.sendall(request_bytes(f"/api/stations/{station}/events", host))
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self._raw = b""  # bytes not yet parsed (the header, or chunked framing)
        self._text = ""  # de-chunked event text not yet split into events
        self.closed = False

    def fileno(self) -> int:
        return self.sock.fileno()

    def feed(self, data: bytes) -> list[str]:
        """Parse ``data`` (just read); the complete event blocks it finished, comments included."""
        if not data:
            self.closed = True
        self._raw += data
        if self.status is None:
            head, sep, rest = self._raw.partition(b"\r\n\r\n")
            if not sep:
                return []
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            self.status = int(status_line.split()[1])
            self.headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
            self._raw = rest
        if self.headers.get("transfer-encoding") != "chunked":
            self._text += self._raw.decode()
            self._raw = b""
        else:
            while True:
                size_line, sep, rest = self._raw.partition(b"\r\n")
                if not sep:
                    break
                size = int(size_line, 16)
                if len(rest) < size + 2:
                    break
                self._text += rest[:size].decode()
                self._raw = rest[size + 2:]
                if size == 0:
                    self.closed = True
                    break
        *blocks, self._text = self._text.split("\n\n")
        return blocks

    def read_ready(self) -> list[str]:
        return self.feed(self.sock.recv(65536))

    def body_json(self, timeout: float = 10.0) -> Any:
        """The JSON body of a refused (non-200) answer."""
        deadline = time.monotonic() + timeout
        length = int(self.headers.get("content-length", "0"))
        self.sock.settimeout(max(0.1, deadline - time.monotonic()))
        while len(self._text.encode()) + len(self._raw) < length and not self.closed:
            self.feed(self.sock.recv(65536))
        return json.loads((self._text.encode() + self._raw).decode())

    def close(self) -> None:
        self.sock.close()


def parse(block: str) -> tuple[str, Any] | None:
    """An event block as (kind, JSON data); None for a comment (heartbeat)."""
    if block.startswith(":"):
        return None
    fields = dict(line.split(": ", 1) for line in block.splitlines())
    return fields.get("event", "message"), json.loads(fields["data"])


class EventStream:
    """A stream read in a thread: events arrive on a queue, so the test waits with a timeout, never sleeps."""

    def __init__(self, port: int, station: str, *, host: str = "127.0.0.1") -> None:
        self.raw = RawStream(port, station, host=host)
        self.events: queue.Queue = queue.Queue()
        self.raw.sock.settimeout(None)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    @property
    def status(self) -> int | None:
        return self.raw.status

    def _read(self) -> None:
        try:
            while not self.raw.closed:
                for block in self.raw.read_ready():
                    self.events.put(block)
        except OSError as exc:  # closed by the test, or the server went away
            self.events.put(exc)
        self.events.put(EOFError("the stream ended"))

    def next(self, timeout: float = 10.0, *, comments: bool = False):
        """The next event (kind, data), skipping heartbeats unless asked for them (then the comment text)."""
        while True:
            block = self.events.get(timeout=timeout)
            if isinstance(block, Exception):
                raise block
            event = parse(block)
            if event is None:
                if comments:
                    return block
                continue
            return event

    def until(self, predicate, timeout: float = 10.0):
        while True:
            kind, data = self.next(timeout)
            if predicate(kind, data):
                return kind, data

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.raw.sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(timeout=10)
        self.raw.close()
        assert not self.thread.is_alive()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
