"""A nudge when devices come or go, so readers retry at once.

Readers already retry a missing device on their own every half second; this
only makes a replug quicker. With libudev, a pyudev monitor reports add and
remove events; without it, ``on_change`` is simply called every second.

Start watching *before* listing the present devices, otherwise a device
plugged in between the listing and the start of the watch is never seen
(Home Assistant's keyboard_remote integration has the same ordering): pass
``ready`` and list once it is set.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

logger = logging.getLogger(__name__)

_POLL_TIMEOUT = 0.2  # how often the udev loop looks at stop_event


def watch(
    on_change: Callable[[], None],
    stop_event: threading.Event,
    subsystems: Sequence[str] = ("input", "tty"),
    *,
    rescan_interval: float = 1.0,
    ready: threading.Event | None = None,
) -> None:
    """Call ``on_change()`` on each device added or removed, until ``stop_event``."""
    monitor = open_monitor(subsystems)
    if ready is not None:
        ready.set()
    if monitor is None:
        logger.info("no libudev: rescanning devices every %.1f s", rescan_interval)
        while not stop_event.wait(rescan_interval):
            _notify(on_change)
        return
    while not stop_event.is_set():
        device = monitor.poll(timeout=_POLL_TIMEOUT)
        if device is not None and device.action in ("add", "remove"):
            logger.debug("%s %s", device.action, device.device_node or device.sys_path)
            _notify(on_change)


def open_monitor(subsystems: Sequence[str]) -> Any | None:
    """A started pyudev monitor for ``subsystems``, or None without libudev."""
    try:
        import pyudev

        monitor = pyudev.Monitor.from_netlink(pyudev.Context())
        for subsystem in subsystems:
            monitor.filter_by(subsystem)
        monitor.start()  # events are queued from here on
    except (ImportError, OSError) as exc:
        logger.debug("udev monitor unavailable: %s", exc)
        return None
    return monitor


def _notify(on_change: Callable[[], None]) -> None:
    try:
        on_change()
    except Exception:
        logger.exception("hotplug on_change callback failed")
