"""A Zebra on loopback: a TCP server on an ephemeral port that reads ZPL as a printer does.

It answers ``~HS`` at once (tilde commands are immediate), prints a format
when its ``^XZ`` arrives (the format goes into ``printed``), and forgets a
format whose connection ended before its ``^XZ`` (into ``discarded``): a
printer prints nothing of a label it never got the end of.  Per connection
faults make it go away mid-job, stay silent, or drop the connection after
printing instead of answering.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from helpers.printers.standin_tcp import Fault, LoopbackPrinter, receive, reset

__all__ = ["Fault", "Flags", "ZebraStandIn"]


@dataclass
class Flags:
    paper_out: bool = False
    paused: bool = False
    head_open: bool = False


@dataclass
class ZebraStandIn(LoopbackPrinter):
    flags: Flags = field(default_factory=Flags)

    def host_status(self) -> bytes:
        """A ~HS answer in the Programming Guide's layout, with this printer's flags."""
        f = self.flags
        one = f"030,{int(f.paper_out)},{int(f.paused)},0199,000,0,0,0,000,0,0,0"
        two = f"001,0,{int(f.head_open)},0,0,2,4,0,00000000,1,000"
        return b"".join(b"\x02" + s.encode() + b"\x03\r\n" for s in (one, two, "1234,0"))

    def serve(self, sock: socket.socket, fault: Fault) -> None:
        buffer, received, format_start, printed = b"", 0, None, 0
        while True:
            data = receive(sock, fault, received)
            received += len(data)
            buffer += data
            while buffer:
                if format_start is None and buffer.startswith(b"~HS"):
                    buffer = buffer[3:]
                    if fault.silent:
                        continue
                    if fault.drop_after_print and printed:
                        return reset(sock)  # printed, then gone before confirming
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
                return reset(sock) if fault.drop_after is not None else None
