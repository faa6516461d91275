"""What every loopback stand-in printer shares: a threaded TCP server on an ephemeral port, and its faults.

A stand-in counts its connections (1, 2, ...) and looks up a ``Fault`` for
each, so a test can say "the first connection breaks, the second works"
without any timing.  ``stop()`` and ``start(port)`` switch the printer off
and back on at the same address.
"""

from __future__ import annotations

import abc
import contextlib
import queue
import socket
import socketserver
import struct
import threading
from dataclasses import dataclass, field


@dataclass
class Fault:
    """What one connection does wrong: drop after `drop_after` bytes, never answer,
    or print a label and then drop instead of answering the status request after it."""

    drop_after: int | None = None
    silent: bool = False
    drop_after_print: bool = False


@dataclass
class LoopbackPrinter(abc.ABC):
    """Base of the stand-ins: ``printed`` holds what was printed, ``discarded`` jobs cut off before their end."""

    printed: queue.Queue = field(default_factory=queue.Queue)
    discarded: list = field(default_factory=list)
    faults: dict = field(default_factory=dict)  # connection number -> Fault
    connections: int = 0
    port: int = 0

    def start(self, port: int = 0):
        standin = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                standin.connections += 1
                with contextlib.suppress(ConnectionError):  # the sender hung up while we answered: its business
                    standin.serve(self.request, standin.faults.get(standin.connections, Fault()))

        self._server = _Server(("127.0.0.1", port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self):
        """Started on a free port; stopped on the way out."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    @abc.abstractmethod
    def serve(self, sock: socket.socket, fault: Fault) -> None:
        """Answer one connection as this kind of printer does, doing what ``fault`` says wrong."""


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True  # "comes back" on the same port
    daemon_threads = True


def receive(sock: socket.socket, fault: Fault, received: int) -> bytes:
    """The next bytes of the connection; b"" at its end, or once `fault.drop_after` bytes have come."""
    want = 4096 if fault.drop_after is None else fault.drop_after - received
    return sock.recv(want) if want > 0 else b""


def reset(sock: socket.socket) -> None:
    """Go away the hard way: a TCP reset, as a printer switched off mid-job leaves the sender with."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
