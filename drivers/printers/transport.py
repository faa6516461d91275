"""Raw printer links: a TCP connection to port 9100 or a device file such as /dev/usb/lp0.

Theory of operation, and what "exactly once" can mean here.  Raw 9100 has no
acknowledgement of its own: bytes that left this machine may or may not have
reached the printer.  So a job goes out in three steps, and each failure is
reported as what it is:

1. connect (or open the device); failure: ``PrinterNotReady`` (nothing sent);
2. write the job, counting the bytes the kernel accepted; a failure before the
   last byte: ``JobNotDelivered`` -- the printer lacks the job's end (ZPL's
   ``^XZ``, Brother's print command), and label printers print a format only
   once they have its end, so nothing printed and a retry prints it once;
3. confirm: the driver sends a status request *after* the job on the same
   connection and reads the printer's answer.  A printer parses its input in
   order, so an answer proves it has read the whole job; without an answer,
   the orderly close of the connection after ours (``shutdown(SHUT_WR)``, then
   the printer's EOF) proves the same.  A failure here: ``DeliveryUncertain``
   -- the job may have printed; retrying accepts a possible second copy.

A device file has no step 3: a job is delivered once ``write`` and ``close``
returned (the kernel's printer driver has it), and a failure mid-write is
``JobNotDelivered`` when some bytes never went out.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from drivers.printers.errors import DeliveryUncertain, JobNotDelivered, PrinterConfigError, PrinterNotReady

log = logging.getLogger(__name__)

RAW_PORT = 9100


@dataclass(frozen=True)
class Address:
    """Where a raw printer is: ``host`` and ``port`` for TCP, else ``path`` of a device file."""

    host: str | None = None
    port: int | None = None
    path: str | None = None

    def __str__(self) -> str:
        if self.path is not None:
            return self.path
        host = f"[{self.host}]" if self.host and ":" in self.host else self.host
        return f"tcp://{host}:{self.port}"


def parse_address(text: str, where: str = "The printer") -> Address:
    """``tcp://host[:port]`` (port 9100 when left out), a device path, or ``file:///path``."""
    if text.startswith("/"):
        return Address(path=text)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is not None and parts.scheme == "file" and parts.path.startswith("/") and not parts.netloc:
        return Address(path=parts.path)
    if parts is not None and parts.scheme == "tcp" and parts.hostname and parts.path in ("", "/"):
        return Address(host=parts.hostname, port=port or RAW_PORT)
    raise PrinterConfigError(
        "bad_printer_address",
        f"{where}: address {text!r} is neither tcp://HOST:PORT nor a device path such as /dev/usb/lp0.",
    )


class Link:
    """One conversation with a raw printer; use ``Link.open`` and close it (it is a context manager)."""

    def __init__(self, address: Address, timeout: float, sock: socket.socket | None, fd: int | None) -> None:
        self.address = address
        self.timeout = timeout
        self._sock = sock
        self._fd = fd

    @classmethod
    def open(cls, address: Address, timeout: float) -> Link:
        """Connect or open the device; ``PrinterNotReady`` (``printer_unreachable``) when it is not there."""
        try:
            if address.path is not None:
                return cls(address, timeout, None, os.open(address.path, os.O_WRONLY | os.O_NOCTTY))
            sock = socket.create_connection((address.host, address.port), timeout=timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return cls(address, timeout, sock, None)
        except OSError as exc:
            raise PrinterNotReady(
                "printer_unreachable", f"Printer at {address} cannot be reached: {exc.strerror or exc}."
            ) from exc

    @property
    def can_read(self) -> bool:
        return self._sock is not None

    def write_job(self, data: bytes) -> None:
        """Write a whole job; ``JobNotDelivered`` names how far it got when the link failed first."""
        sent = 0
        try:
            while sent < len(data):
                chunk = data[sent : sent + 65536]
                sent += self._sock.send(chunk) if self._sock is not None else os.write(self._fd, chunk)
        except OSError as exc:
            raise JobNotDelivered(
                "job_interrupted",
                f"Printer at {self.address} went away after {sent} of {len(data)} bytes of the label;"
                " it printed nothing of it and the label will be sent again.",
            ) from exc

    def deliver(self, job: bytes, confirm: tuple[bytes, Callable[[bytes], int | None]] | None,
                require_ready: Callable[[Link], None], silence: str) -> bytes | None:
        """Send one whole job and make sure the printer has it; the confirming answer, or None without one.

        With ``confirm`` (a request and its ``answer_length``, as ``ask`` takes them) the printer is asked
        before the job (``require_ready`` raises when it cannot print) and after it: a printer reads its input
        in order, so that answer proves it has the whole job. A job that left whole without that answer is
        ``uncertain`` (``silence`` says what did not come). Without ``confirm`` the orderly close is the proof.
        """
        if confirm is None:
            self.write_job(job)
            self.finish()
            return None
        require_ready(self)
        self.write_job(job)
        try:
            answer = self.ask(*confirm)
        except OSError as exc:
            raise uncertain(self.address, exc) from exc
        if answer is None:
            raise uncertain(self.address, f"{silence} within {self.timeout:g} s")
        return answer

    def ask(self, request: bytes, answer_length: Callable[[bytes], int | None]) -> bytes | None:
        """Send `request` and read the answer; None when the printer stays silent until the timeout.

        `answer_length(buffer)` gives the length of a complete answer at the
        start of `buffer`, or None while it is incomplete.  A link that closes
        or fails raises ``OSError``.
        """
        self._sock.sendall(request)
        buffer = b""
        deadline = time.monotonic() + self.timeout
        while (length := answer_length(buffer)) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._sock.settimeout(remaining)
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                return None
            if not data:
                raise ConnectionResetError(f"printer at {self.address} closed the connection")
            buffer += data
        return buffer[:length]

    def ask_ready(self, printer_id: str, request: bytes, answer_length: Callable[[bytes], int | None],
                  hint: str) -> bytes:
        """``ask`` for the printer's status before a job: ``PrinterNotReady`` when the link drops
        (``printer_unreachable``) or the printer stays silent (``printer_not_answering``, ``hint`` saying how a
        printer that cannot answer is configured)."""
        try:
            answer = self.ask(request, answer_length)
        except OSError as exc:
            raise PrinterNotReady("printer_unreachable",
                                  f"Printer {printer_id!r} dropped the connection: {exc}.") from exc
        if answer is None:
            raise PrinterNotReady(
                "printer_not_answering",
                f"Printer {printer_id!r} did not answer its status request within {self.timeout:g} s ({hint}).",
            )
        return answer

    def finish(self) -> None:
        """End the job: our FIN, then wait for the printer's EOF (``DeliveryUncertain`` if it never comes)."""
        if self._sock is None:
            self._close_device()
            return
        try:
            self._sock.shutdown(socket.SHUT_WR)
            self._sock.settimeout(self.timeout)
            while self._sock.recv(4096):
                pass  # answers we did not ask for
        except OSError as exc:
            raise uncertain(self.address, exc) from exc

    def _close_device(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError as exc:  # the kernel reports a failed write on close
                raise uncertain(self.address, exc) from exc

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        elif self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Link:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def uncertain(address: Address, exc: BaseException | str) -> DeliveryUncertain:
    """The error for a job that left whole but was never confirmed."""
    reason = exc if isinstance(exc, str) else getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    log.warning("printer at %s: job sent but not confirmed (%s)", address, reason)
    return DeliveryUncertain(
        "delivery_uncertain",
        f"Printer at {address} received the whole label but did not confirm it ({reason});"
        " it may have printed, and printing it again may give a second copy.",
    )
