"""Serial and USB-CDC scanners: a thread that reads lines from a port.

Follows pyserial's ``serial.threaded.ReaderThread``: wait until the port has
something, read all of it, hand it to a framer, deliver the lines. The port
is opened exclusively (a second reader, or ModemManager, must not share it:
a port locked by another program is ``busy``) and *without discarding what
waits in it*: pyserial's ``open()`` empties the input buffer (on POSIX it
calls ``_reset_input_buffer()``), and every byte a scanner sent while the
daemon was down but the port stayed open (a restart, a kill) would be lost.

A pause ends a line only once the port is drained: the framer is told how
long it has been, on the monotonic clock, since the read that brought the
last bytes, after a wait that found nothing. A port that vanishes (USB
adapter pulled: EIO/ENODEV, surfacing as SerialException) is closed and
reopened under the same path when it comes back.
"""

from __future__ import annotations

import errno
import logging
import select
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import serial

from .framing import LineFramer
from .reader import LineCallback, ReconnectingReader, StatusCallback

logger = logging.getLogger(__name__)

# Longest wait for data: bounds how long stop() takes to be noticed.
_MAX_READ_TIMEOUT = 0.1


class KeepingSerial(serial.Serial):
    """A pyserial port whose ``open()`` keeps what already waits in the input buffer.

    pyserial 3.5's POSIX ``open()`` calls the private ``_reset_input_buffer()``
    (tcflush TCIFLUSH) before it sets ``is_open``, and offers no setting to skip
    it. The public ``reset_input_buffer()`` only works on an open port, so the
    flush is skipped exactly while opening and works as documented otherwise.
    """

    def _reset_input_buffer(self) -> None:
        if self.is_open:
            super()._reset_input_buffer()


class SerialScanner(ReconnectingReader):
    """Reads scans from a serial port and calls ``on_lines(device_id, [bytes, ...])`` with each read's lines."""

    def __init__(
        self,
        device_id: str,
        port: str,
        on_line: LineCallback,
        *,
        baudrate: int = 9600,
        bytesize: int = 8,
        parity: str = "N",
        stopbits: float = 1,
        idle_gap: float | None = None,
        reconnect_interval: float = 0.5,
        on_status: StatusCallback | None = None,
        stop_event: threading.Event | None = None,
    ) -> None:
        super().__init__(
            device_id,
            on_line,
            reconnect_interval=reconnect_interval,
            on_status=on_status,
            stop_event=stop_event,
            name=f"serial-scanner:{device_id}",
        )
        self.port = port
        self.idle_gap = idle_gap  # the pause that ends a pending line (None: only CR/LF do)
        self._settings = {
            "baudrate": baudrate,
            "bytesize": bytesize,
            "parity": parity,
            "stopbits": stopbits,
        }
        # Unopened, these check the settings now: a bad config is an error at
        # start-up, not a reader retrying forever.
        serial.Serial(port=None, **self._settings)
        LineFramer(idle_gap)

    @contextmanager
    def _connect(self) -> Iterator[serial.Serial]:
        try:
            port = KeepingSerial(self.port, exclusive=True, timeout=0, **self._settings)
        except serial.SerialException as exc:
            if "exclusively lock" in str(exc):  # flock() refused: another program holds the port
                raise OSError(errno.EBUSY, str(exc)) from None
            raise
        try:
            yield port
        finally:
            port.close()

    def _serve(self, port: serial.Serial) -> None:
        framer = LineFramer(self.idle_gap)
        last_read_at = time.monotonic()
        while not self.stopping:
            # I/O errors propagate (the port is lost); callback errors are
            # caught in _deliver: two separate concerns, as in ReaderThread.
            ready, _, _ = select.select([port.fileno()], [], [], self._wait(framer, last_read_at))
            if ready:
                data = port.read(max(port.in_waiting, 1))  # non-blocking: all that waits, whole lines as sent
                if not data:  # readable but empty: a tty hung up (the adapter was pulled)
                    raise OSError(errno.EIO, f"{self.port}: hung up")
                last_read_at = time.monotonic()
                lines = framer.feed(data)
            else:
                now = time.monotonic()
                if select.select([port.fileno()], [], [], 0)[0]:
                    continue  # it came after all: part of the line in progress
                lines = framer.pause(now - last_read_at)
            self._deliver(lines)
        if framer.flush():
            logger.info("scanner %s: dropped an unfinished line at stop", self.device_id)

    def _wait(self, framer: LineFramer, last_read_at: float) -> float:
        limit = framer.pause_limit
        if limit is None:
            return _MAX_READ_TIMEOUT
        remaining = limit - (time.monotonic() - last_read_at)
        return min(_MAX_READ_TIMEOUT, max(remaining, 0.0) + 0.001)

