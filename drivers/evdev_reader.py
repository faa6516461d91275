"""Keyboard-wedge scanners: a thread that reads an evdev device.

It only opens, grabs, reads and hands on: key events go to a KeyDecoder and
each scan it completes is delivered UTF-8 encoded. The device is grabbed
exclusively (EVIOCGRAB) so scans never type into a console or a desktop, and
ungrabbed in ``try/finally`` (python-evdev's ``grab_context`` has no finally).

When a scan ends never depends on the wall clock. The device is asked to
stamp its events with CLOCK_MONOTONIC (EVIOCSCLOCKID), so the gaps between
keys the decoder measures cannot jump with the system clock. Whatever is
waiting in the kernel is read (the device is *drained*) before a pause may
end a scan: keys typed long ago but read only now belong to the scan in
progress. "Nothing more came" is measured on the monotonic clock from the
read that brought the last event, and only once a zero-timeout ``select()``
taken after that measurement says nothing is waiting.

As with serial scanners, nothing read is held beyond the one read in flight:
one read of the device (at most 64 events, python-evdev's), its scans handed
over and kept before the next. Unlike a serial port's, an input device's
buffer is its reader's own and goes when the reader does, so a scan begun
before a kill has no rest to join after it, and none is kept.
"""

from __future__ import annotations

import fcntl
import logging
import select
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import evdev

from .keydecoder import KeyDecoder
from .reader import Journal, LineCallback, ReconnectingReader, StatusCallback, quietly

logger = logging.getLogger(__name__)

_MAX_SELECT_TIMEOUT = 0.1  # bounds how long stop() takes to be noticed
EVIOCSCLOCKID = 0x400445A0  # _IOW('E', 0xa0, int): the clock that stamps this client's events


class EvdevScanner(ReconnectingReader):
    """Reads scans from an input device into a journal, or calls ``on_line(device_id, [bytes, ...])`` with each
    read's scans."""

    thread_name = "evdev-scanner"

    def __init__(
        self,
        device_id: str,
        path: str,
        decoder: KeyDecoder,
        on_line: LineCallback | Journal,
        *,
        grab: bool = True,
        reconnect_interval: float = 0.5,
        on_status: StatusCallback | None = None,
        stop_event: threading.Event | None = None,
        open_device: Callable[[str], Any] = evdev.InputDevice,
    ) -> None:
        super().__init__(device_id, on_line, reconnect_interval=reconnect_interval, on_status=on_status,
                         stop_event=stop_event)
        self.path = path
        self.decoder = decoder
        self.grab = grab
        self._open_device = open_device

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        device = self._open_device(self.path)  # OSError: not there (yet)
        try:
            _monotonic_event_times(device)
            if self.grab:
                device.grab()  # OSError (EBUSY): another program holds it
                try:
                    yield device
                finally:
                    quietly(device.ungrab)
            else:
                yield device
        finally:
            quietly(device.close)

    def _serve(self, device: Any) -> None:
        self.decoder.reset()  # nothing held or half-typed survives a replug
        last_read_at = time.monotonic()
        while not self.stopping:
            ready, _, _ = select.select([device.fd], [], [], self._wait(last_read_at))
            lost: OSError | None = None
            if ready:
                events, lost = _read(device)  # ENODEV/EIO: unplugged, once what came before is decoded
                if events:
                    last_read_at = time.monotonic()
                scans = [scan for event in events for scan in self.decoder.feed(event)]
            else:
                now = time.monotonic()
                if select.select([device.fd], [], [], 0)[0]:
                    continue  # something came after all: it belongs to the scan in progress
                scans = self.decoder.pause(now - last_read_at)
            self._deliver([scan.encode("utf-8") for scan in scans])
            if lost is not None:
                raise lost

    def _wait(self, last_read_at: float) -> float:
        """How long select() may wait: until the pending scan's pause limit, at most a tenth of a second."""
        limit = self.decoder.pause_limit
        if limit is None:
            return _MAX_SELECT_TIMEOUT
        remaining = limit - (time.monotonic() - last_read_at)
        return min(_MAX_SELECT_TIMEOUT, max(remaining, 0.0) + 0.001)


def _read(device: Any) -> tuple[list[Any], OSError | None]:
    """The events of one read of the device (what waits, up to 64), or the OSError that lost the device."""
    try:
        return list(device.read()), None
    except BlockingIOError:
        return [], None
    except OSError as exc:
        return [], exc


def _monotonic_event_times(device: Any) -> None:
    """Ask the kernel to stamp this device's events with CLOCK_MONOTONIC, so that no clock step moves a gap."""
    try:
        fcntl.ioctl(device.fd, EVIOCSCLOCKID, struct.pack("i", time.CLOCK_MONOTONIC))
    except OSError as exc:  # an old kernel, or not an evdev node: gaps then come from its realtime stamps
        logger.debug("EVIOCSCLOCKID refused on %s: %s", getattr(device, "path", device), exc)
