"""A Zebra on loopback: a TCP server on an ephemeral port that reads ZPL as a printer does.

It answers ``~HS`` at once (tilde commands are immediate), prints a format
when its ``^XZ`` arrives (the format goes into ``printed``), and forgets a
format whose connection ended before its ``^XZ`` (into ``discarded``): a
printer prints nothing of a label it never got the end of.  Per connection
faults make it go away mid-job, stay silent, or drop the connection after
printing instead of answering.
"""

from __future__ import annotations

import queue
import socket
import socketserver
import struct
import threading
from dataclasses import dataclass, field


@dataclass
class Fault:
    """What one connection does wrong: drop after `drop_after` bytes, answer no ~HS,
    or print a label and then drop instead of answering the ~HS after it."""

    drop_after: int | None = None
    silent: bool = False
    drop_after_print: bool = False


@dataclass
class Flags:
    paper_out: bool = False
    paused: bool = False
    head_open: bool = False


@dataclass
class ZebraStandIn:
    printed: queue.Queue = field(default_factory=queue.Queue)
    discarded: list = field(default_factory=list)
    faults: dict = field(default_factory=dict)  # connection number (1, 2, ...) -> Fault
    flags: Flags = field(default_factory=Flags)
    connections: int = 0
    port: int = 0

    def start(self, port: int = 0) -> ZebraStandIn:
        standin = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                standin.connections += 1
                standin._serve(self.request, standin.faults.get(standin.connections, Fault()))

        self._server = _Server(("127.0.0.1", port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def host_status(self) -> bytes:
        """A ~HS answer in the Programming Guide's layout, with this printer's flags."""
        f = self.flags
        one = f"030,{int(f.paper_out)},{int(f.paused)},0199,000,0,0,0,000,0,0,0"
        two = f"001,0,{int(f.head_open)},0,0,2,4,0,00000000,1,000"
        return b"".join(b"\x02" + s.encode() + b"\x03\r\n" for s in (one, two, "1234,0"))

    def _serve(self, sock: socket.socket, fault: Fault) -> None:
        buffer, received, format_start, printed = b"", 0, None, 0
        while True:
            want = 4096 if fault.drop_after is None else fault.drop_after - received
            data = sock.recv(want) if want > 0 else b""
            received += len(data)
            buffer += data
            while buffer:
                if format_start is None and buffer.startswith(b"~HS"):
                    buffer = buffer[3:]
                    if fault.silent:
                        continue
                    if fault.drop_after_print and printed:
                        return _reset(sock)  # printed, then gone before confirming
                    sock.sendall(self.host_status())
                elif format_start is None and buffer.startswith(b"^XA"):
                    format_start = 0
                elif format_start is not None and b"^XZ" in buffer:
                    end = buffer.index(b"^XZ") + 3
                    self.printed.put(buffer[:end].decode("ascii"))
                    printed += 1
                    buffer, format_start = buffer[end:], None
                elif format_start is None and len(buffer) > 2:
                    buffer = buffer[1:]  # whitespace between commands
                else:
                    break  # an incomplete command or format: wait for more
            if not data:
                if format_start is not None:
                    self.discarded.append(buffer.decode("ascii", "replace"))
                return _reset(sock) if fault.drop_after is not None else None


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True  # "comes back" on the same port
    daemon_threads = True


def _reset(sock: socket.socket) -> None:
    """Go away the hard way: a TCP reset, as a printer switched off mid-job leaves the sender with."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
