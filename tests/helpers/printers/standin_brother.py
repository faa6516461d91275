"""A Brother QL on loopback: reads raster instructions as they arrive, answers status requests, prints pages.

Instructions are cut out of the stream with brother_ql's own opcode table
(``brother_ql.reader.OPCODES``), a status request (``ESC i S``) is answered at
once with a 32-byte status frame, and a page is printed when its print
command arrives: the page's bytes go through brother_ql's ``BrotherQLReader``,
the library's raster *reader*, which turns the rows back into an image (what
lands in ``printed``).  After printing it sends "printing completed" and a
phase change, as the QL series does.  A page cut off before its print
command is forgotten (``discarded``).
"""

from __future__ import annotations

import io
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from brother_ql.reader import OPCODES, BrotherQLReader
from PIL import Image

from helpers.printers.standin_tcp import Fault, LoopbackPrinter, receive, reset

__all__ = ["BrotherStandIn", "Fault", "read_pages"]

REPLY, PRINTED, PHASE = 0x00, 0x01, 0x06
LONGEST_OPCODE = max(len(opcode) for opcode in OPCODES)


@dataclass
class BrotherStandIn(LoopbackPrinter):
    no_media: bool = False
    cover_open: bool = False
    tape_mm: int = 62
    jam_on_print: bool = False  # the cutter jams at the next page: an error frame, nothing printed
    frames_sent: list = field(default_factory=list)

    def frame(self, status_type: int) -> bytes:
        """A status frame laid out as the QL raster command reference gives it (QL-820NWB, this tape)."""
        frame = bytearray(32)
        frame[0:8] = b"\x80\x20\x42\x34\x41\x30\x30\x00"
        frame[8] = (0x01 if self.no_media else 0) | (0x04 if self.jam_on_print and status_type != REPLY else 0)
        frame[9] = 0x10 if self.cover_open else 0
        frame[10], frame[11] = (0, 0) if self.no_media else (self.tape_mm, 0x0A)
        frame[18] = 0x02 if frame[8] | frame[9] and status_type != REPLY else status_type
        self.frames_sent.append(status_type)
        return bytes(frame)

    def serve(self, sock: socket.socket, fault: Fault) -> None:
        buffer, received, page = b"", 0, b""
        while True:
            data = receive(sock, fault, received)
            received += len(data)
            buffer += data
            while (instruction := next_instruction(buffer)) is not None:
                buffer = buffer[len(instruction) :]
                name = _name(instruction)
                page += instruction
                if name == "status request" and not fault.silent:
                    sock.sendall(self.frame(REPLY))
                elif name == "print" and self.jam_on_print:
                    page = b""
                    sock.sendall(self.frame(PRINTED))  # sent as "error occurred": the jam
                    self.jam_on_print = False
                elif name == "print":
                    [image] = read_pages(page)
                    self.printed.put(image)
                    page = b""
                    if fault.drop_after_print:
                        return reset(sock)  # printed, then gone before saying so
                    if not fault.silent:
                        sock.sendall(self.frame(PRINTED) + self.frame(PHASE))
            if not data:
                if b"\x1b@" in page:  # an initialised page that never got its print command
                    self.discarded.append(page)
                return reset(sock) if fault.drop_after is not None else None


def next_instruction(buffer: bytes) -> bytes | None:
    """The complete instruction at the start of `buffer`, or None until all of it has arrived."""
    matches = [opcode for opcode in OPCODES if buffer.startswith(opcode)]
    if not matches:
        assert len(buffer) < LONGEST_OPCODE, f"not a raster instruction: {buffer[:8].hex()}"
        return None
    [opcode] = matches
    _, payload, _ = OPCODES[opcode]
    length = len(opcode) + max(payload, 0)
    if "raster" in OPCODES[opcode][0]:
        if len(buffer) < 3:
            return None
        length += buffer[2] + 2
    return buffer[:length] if len(buffer) >= length else None


def _name(instruction: bytes) -> str:
    [opcode] = [opcode for opcode in OPCODES if instruction.startswith(opcode)]
    return OPCODES[opcode][0]


def read_pages(instructions: bytes) -> list[Image.Image]:
    """The pages brother_ql's reader makes of raster instructions, as images (the reader saves files)."""
    with tempfile.TemporaryDirectory(prefix="brother-pages-") as folder:
        reader = BrotherQLReader(io.BytesIO(instructions))
        reader.filename_fmt = str(Path(folder) / "page{counter:04d}.png")
        reader.analyse()
        pages = []
        for path in sorted(Path(folder).iterdir()):
            with Image.open(path) as image:
                pages.append(image.convert("L"))
        return pages
