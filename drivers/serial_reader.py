"""Serial and USB-CDC scanners: a thread that reads lines from a port.

Follows pyserial's ``serial.threaded.ReaderThread``: read whatever is there
(or wait for one byte), hand it to a framer, deliver the lines. The port is
opened exclusively (a second reader, or ModemManager, must not share it) and
with a short timeout, so ``stop()`` and the idle-gap framing both work
without ``cancel_read()`` racing a close. A port that vanishes (USB adapter
pulled: EIO/ENODEV, surfacing as SerialException) is closed and reopened
under the same path when it comes back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import serial

from .framing import LineFramer
from .reader import LineCallback, ReconnectingReader, StatusCallback

logger = logging.getLogger(__name__)

# Longest wait in one read: bounds how long stop() takes to be noticed.
_MAX_READ_TIMEOUT = 0.1


class SerialScanner(ReconnectingReader):
    """Reads scans from a serial port and calls ``on_line(device_id, bytes)``."""

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
        self.idle_gap = idle_gap
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
        self._timeout = _MAX_READ_TIMEOUT
        if idle_gap is not None:
            self._timeout = min(_MAX_READ_TIMEOUT, idle_gap / 2)

    @contextmanager
    def _connect(self) -> Iterator[serial.Serial]:
        port = serial.Serial(self.port, exclusive=True, timeout=self._timeout, **self._settings)
        try:
            yield port
        finally:
            port.close()

    def _serve(self, port: serial.Serial) -> None:
        framer = LineFramer(self.idle_gap)
        while not self.stopping:
            # I/O errors propagate (the port is lost); callback errors are
            # caught in _deliver: two separate concerns, as in ReaderThread.
            data = port.read(port.in_waiting or 1)
            for line in framer.feed(data, time.monotonic()):
                self._deliver(line)
        if framer.flush():
            logger.info("scanner %s: dropped an unfinished line at stop", self.device_id)
