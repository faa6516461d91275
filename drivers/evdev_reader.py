"""Keyboard-wedge scanners: a thread that reads an evdev device.

It only opens, grabs, reads and hands on: key events go to a KeyDecoder and
each scan it completes is delivered UTF-8 encoded. The device is grabbed
exclusively (EVIOCGRAB) so scans never type into a console or a desktop, and
ungrabbed in ``try/finally`` (python-evdev's ``grab_context`` has no finally).
Reads wait in ``select()`` with a short timeout so that ``stop()`` is noticed
and the decoder's idle gap can end scans that have no terminator.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import evdev

from .keydecoder import KeyDecoder
from .reader import LineCallback, ReconnectingReader, StatusCallback, quietly

logger = logging.getLogger(__name__)

_MAX_SELECT_TIMEOUT = 0.1


class EvdevScanner(ReconnectingReader):
    """Reads scans from an input device and calls ``on_line(device_id, bytes)``."""

    def __init__(
        self,
        device_id: str,
        path: str,
        decoder: KeyDecoder,
        on_line: LineCallback,
        *,
        grab: bool = True,
        reconnect_interval: float = 0.5,
        on_status: StatusCallback | None = None,
        stop_event: threading.Event | None = None,
        open_device: Callable[[str], Any] = evdev.InputDevice,
    ) -> None:
        super().__init__(
            device_id,
            on_line,
            reconnect_interval=reconnect_interval,
            on_status=on_status,
            stop_event=stop_event,
            name=f"evdev-scanner:{device_id}",
        )
        self.path = path
        self.decoder = decoder
        self.grab = grab
        self._open_device = open_device
        gap = decoder.idle_gap
        self._timeout = _MAX_SELECT_TIMEOUT if gap is None else min(_MAX_SELECT_TIMEOUT, gap / 2)

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        device = self._open_device(self.path)  # OSError: not there (yet)
        try:
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
        while not self.stopping:
            ready, _, _ = select.select([device.fd], [], [], self._timeout)
            scans: list[str] = []
            if ready:
                try:
                    events = list(device.read())  # ENODEV/EIO here: unplugged
                except BlockingIOError:
                    events = []
                for event in events:
                    scans += self.decoder.feed(event)
            # Kernel event times are CLOCK_REALTIME, hence time.time().
            scans += self.decoder.poll(time.time())
            for scan in scans:
                self._deliver(scan.encode("utf-8"))
