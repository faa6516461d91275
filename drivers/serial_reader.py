"""Serial and USB-CDC scanners: a thread that reads lines from a port.

Follows pyserial's ``serial.threaded.ReaderThread``: wait until the port has
something, read it, hand it to a framer, deliver the lines. The port is
opened exclusively (a second reader, or ModemManager, must not share it: a
port locked by another program is ``busy``) and *without discarding what
waits in it*: pyserial's ``open()`` empties the input buffer (on POSIX it
calls ``_reset_input_buffer()``), and every byte a scanner sent while the
daemon was down but the port stayed open (a restart, a kill) would be lost.

Nothing read is held in memory beyond the one read in flight: a read takes
at most ``READ_SIZE`` bytes, and the next is taken only once the journal
(the daemon's spool) has kept the lines it completed, with the line it left
unfinished; what comes meanwhile waits in the port (the kernel's buffer,
then the device's flow control). So a ``kill -9`` loses at most that one
read. The journal is told before each read; the reader that takes the port
over after a kill resumes from what was kept (framing.Unfinished): a line's
head joins its rest, which waited in the port, and after a lost read the
bytes up to the next terminator, the rest of a line whose middle was lost,
are dropped instead of becoming a scan. A read leaves the last byte that
waits, unless it is alone: most often the last byte is a line's LF, so a
read ends inside a line or at its CR, and the rest of a line cut by a lost
read is told apart from the next line.

A head is resumed only if something waits in the port when it is opened
(else its rest went with the port's buffer: a USB port's is freed when its
last holder closes it), and never on a port that came back after it was
lost (a replugged adapter): its rest cannot be in a new port.

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

from .framing import LineFramer, Unfinished
from .reader import Journal, LineCallback, ReconnectingReader, StatusCallback

logger = logging.getLogger(__name__)

# Longest wait for data: bounds how long stop() takes to be noticed.
_MAX_READ_TIMEOUT = 0.1
# The most one read takes, and so the most a kill can lose: about four scans of a dozen characters. Only a
# read that completes a line waits for the disk (fsync), so a commit of up to ~15 ms per read still keeps up
# with 250 scans/s, and a 2,000-character code costs 32 quick reads.
READ_SIZE = 64


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
    """Reads scans from a serial port into a journal, or calls ``on_line(device_id, [bytes, ...])`` with each
    read's lines."""

    thread_name = "serial-scanner"

    def __init__(
        self,
        device_id: str,
        port: str,
        on_line: LineCallback | Journal,
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
        super().__init__(device_id, on_line, reconnect_interval=reconnect_interval, on_status=on_status,
                         stop_event=stop_event)
        self.port = port
        self.resumed = False  # the journal's unfinished line was taken up (on the first connection only)
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
        framer.resume(self._resume(port))
        self._deliver([], framer.unfinished)  # kept as resumed: a head dropped, no read in flight
        last_read_at = time.monotonic()
        while not self.stopping:
            # I/O errors propagate (the port is lost); the journal's are retried in _deliver: two
            # separate concerns, as in ReaderThread.
            ready, _, _ = select.select([port.fileno()], [], [], self._wait(framer, last_read_at))
            if ready:
                waiting = port.in_waiting
                if not self._until_kept(self.journal.reading, f"the start of a read from {self.device_id}"):
                    break  # stopping, and the journal could not be told: nothing is read unannounced
                # Non-blocking: at most READ_SIZE bytes, and not the last that waits unless it is alone.
                data = port.read(min(READ_SIZE, waiting - 1) if waiting > 1 else 1)
                if not data:  # readable but empty: a tty hung up (the adapter was pulled)
                    raise OSError(errno.EIO, f"{self.port}: hung up")
                last_read_at = time.monotonic()
                self._deliver(framer.feed(data), framer.unfinished)
            else:
                now = time.monotonic()
                if select.select([port.fileno()], [], [], 0)[0]:
                    continue  # it came after all: part of the line in progress
                lines = framer.pause(now - last_read_at)
                if lines:
                    self._deliver(lines, framer.unfinished)
        if framer.unfinished.head:  # kept by the journal (a spool) for the next reader; else dropped
            logger.info("scanner %s: stopped with a line begun (%d bytes)", self.device_id,
                        len(framer.unfinished.head))

    def _resume(self, port: serial.Serial) -> Unfinished:
        """What this reader takes up from the journal: only on its first connection, only if the port kept its rest."""
        if self.resumed:
            return Unfinished()  # a port that came back is a new port: the old one's line went with it
        left = self.journal.resume()
        self.resumed = True
        if left != Unfinished() and not port.in_waiting:
            logger.warning("scanner %s: %s, but nothing waits in the port: its rest went with the port's buffer",
                           self.device_id, f"a line began with {left.head!r}" if left.head else "a read was lost")
            return Unfinished()
        if left.cut:
            logger.warning("scanner %s: the last read before the restart was lost; the rest of the line it cut "
                           "is dropped", self.device_id)
        return left

    def _wait(self, framer: LineFramer, last_read_at: float) -> float:
        limit = framer.pause_limit
        if limit is None:
            return _MAX_READ_TIMEOUT
        remaining = limit - (time.monotonic() - last_read_at)
        return min(_MAX_READ_TIMEOUT, max(remaining, 0.0) + 0.001)

