"""The loop every scanner reader shares: open, read until lost, reopen.

Like pyserial's ``serial.threaded.ReaderThread``, device errors and errors in
the caller's callbacks are kept apart: a callback that raises is logged and
reading goes on; an ``OSError`` from the device closes that device only and
the reader tries again every ``reconnect_interval`` seconds, or at once when
``retry_now()`` is called (hotplug), until it is back.

A reader always says where it stands, last of all when it ends, so that no
screen shows a state that is over:

- ``connected``: the device is open (and grabbed) and being read;
- ``missing``: configured, never seen (not there since the reader started);
- ``unplugged``: it was read, then went away (ENODEV, EIO, its node gone);
- ``busy``: it is there but another program holds it (EBUSY: a grab taken,
  a serial port locked);
- ``stopped``: the reader ended (SIGTERM); it has let go of the device.

What a reader reads goes to a ``Journal`` (the daemon's spool), or simply to
a callback taking each read's lines. A journal keeps each read's lines, with
what the read left unfinished (framing.Unfinished), before the reader reads
again: while it cannot (a full disk), the reader holds that one read and
tries again, reading nothing more, so what waits beyond it waits in the
device. The journal is told before each read (``reading``), so the reader
after a kill knows whether a read was lost with the one before it
(``resume``).
"""

from __future__ import annotations

import errno
import logging
import threading
from abc import ABCMeta, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

from .framing import Unfinished

logger = logging.getLogger(__name__)

CONNECTED = "connected"
MISSING = "missing"
UNPLUGGED = "unplugged"
BUSY = "busy"
STOPPED = "stopped"
STATES = (CONNECTED, MISSING, UNPLUGGED, BUSY, STOPPED)

# The lines one read completed, in order: delivered together, so the daemon can spool them in one commit.
LineCallback = Callable[[str, list[bytes]], None]
StatusCallback = Callable[[str, str], None]


@runtime_checkable
class Journal(Protocol):
    """Where one reader's reads are kept (the daemon's spool, for one port)."""

    def resume(self) -> Unfinished:
        """What the reader before this one left unfinished; ``cut`` when its last read was taken and not kept."""

    def reading(self) -> None:
        """A read is about to be taken: until ``taken`` returns it is in flight, and lost if the process dies."""

    def taken(self, lines: list[bytes], unfinished: Unfinished) -> None:
        """Keep one read's lines and what it left unfinished, together; raise if they cannot be kept."""


class Lines:
    """A journal that keeps nothing: each read's lines go to ``on_line(device_id, lines)``, whose errors are logged."""

    def __init__(self, device_id: str, on_line: LineCallback) -> None:
        self.device_id = device_id
        self.on_line = on_line

    def resume(self) -> Unfinished:
        return Unfinished()

    def reading(self) -> None:
        pass

    def taken(self, lines: list[bytes], unfinished: Unfinished) -> None:
        if not lines:
            return
        try:
            self.on_line(self.device_id, lines)
        except Exception:  # a bug downstream must not stop the reader, nor make it read the lines again
            logger.exception("on_line callback failed for %s; reading goes on", self.device_id)


class ReconnectingReader(threading.Thread, metaclass=ABCMeta):
    """Base class: subclasses say how to connect and how to serve a connection."""

    #: The reader thread's name before ``:<device id>``.
    thread_name = "scanner"

    def __init__(
        self,
        device_id: str,
        on_line: LineCallback | Journal,
        *,
        reconnect_interval: float,
        on_status: StatusCallback | None,
        stop_event: threading.Event | None,
    ) -> None:
        super().__init__(name=f"{self.thread_name}:{device_id}", daemon=True)
        self.device_id = device_id
        self.reconnect_interval = reconnect_interval
        self.status: str | None = None
        self.seen = False  # connected at least once: a later loss is "unplugged", not "missing"
        self.journal = on_line if isinstance(on_line, Journal) else Lines(device_id, on_line)
        self._on_status = on_status
        self._stop_event = stop_event if stop_event is not None else threading.Event()
        self._retry = threading.Event()

    # Subclasses implement these two.
    @abstractmethod
    def _connect(self) -> AbstractContextManager[Any]:
        """Open the device (raising OSError if it isn't there); close on exit."""

    @abstractmethod
    def _serve(self, handle: Any) -> None:
        """Read and deliver until stopping; raise OSError when the device is lost."""

    @property
    def stopping(self) -> bool:
        """True once ``stop()`` was called or the shared stop event was set."""
        return self._stop_event.is_set()

    def stop(self, timeout: float = 1.0) -> None:
        """Ask the reader to end, and wait (up to ``timeout``) until it has closed."""
        self._stop_event.set()
        self._retry.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)

    def retry_now(self) -> None:
        """Try to reopen a missing device now instead of at the next interval."""
        self._retry.set()

    def run(self) -> None:
        while not self.stopping:
            try:
                with self._connect() as handle:
                    self.seen = True
                    self._set_status(CONNECTED)
                    self._serve(handle)
            except OSError as exc:
                self._lost(exc)
            except Exception:  # a bug must not end the reader for good
                logger.exception("reader for %s failed; retrying", self.device_id)
                self._lost(None)
            if not self.stopping:
                self._retry.wait(self.reconnect_interval)
                self._retry.clear()
        self._set_status(STOPPED)  # the device is closed (and ungrabbed) by now
        logger.debug("reader for %s stopped", self.device_id)

    def _lost(self, exc: OSError | None) -> None:
        status = self._state_after(exc)
        if status != self.status:
            logger.warning("scanner %s is %s: %s", self.device_id, status, exc)
        else:
            logger.debug("scanner %s still %s: %s", self.device_id, status, exc)
        self._set_status(status)

    def _state_after(self, exc: OSError | None) -> str:
        """What a failed open or read says of the device: busy, unplugged (seen before) or missing."""
        if exc is not None and exc.errno == errno.EBUSY:
            return BUSY
        return UNPLUGGED if self.seen else MISSING

    def _set_status(self, status: str) -> None:
        if status == self.status:
            return
        self.status = status
        if status == CONNECTED:
            logger.info("scanner %s connected", self.device_id)
        if self._on_status is not None:
            try:
                self._on_status(self.device_id, status)
            except Exception:
                logger.exception("on_status callback failed for %s", self.device_id)

    def _deliver(self, lines: list[bytes], unfinished: Unfinished | None = None) -> None:
        """Hand one read's lines (and what it left unfinished) to the journal; return once they are kept."""
        if unfinished is None and not lines:
            return
        self._until_kept(lambda: self.journal.taken(lines, unfinished or Unfinished()),
                         f"{len(lines)} line(s) read from {self.device_id}")

    def _until_kept(self, keep: Callable[[], None], what: str) -> bool:
        """Call ``keep`` until it succeeds (True), reading nothing meanwhile: what comes waits in the device.
        False when the reader is stopped first."""
        failures = 0
        while True:
            try:
                keep()
                return True
            except Exception:
                if not failures:
                    logger.exception("cannot keep %s; trying again, reading nothing more meanwhile", what)
                failures += 1
            if self._stop_event.wait(self.reconnect_interval):
                logger.error("stopping: %s never kept (%d attempt(s))", what, failures)
                return False


def quietly(close: Callable[[], object]) -> None:
    """Call ``close``, logging an OSError: the device may be gone already."""
    try:
        close()
    except OSError as exc:
        logger.debug("ignoring %s from %r on a lost device", exc, close)

