"""One reader thread per configured scanner, kept running through unplug and replug.

Theory of operation: each scanner of each station is a slot. A scanner named
by a path alone gets one reader on that path; the reader itself reopens the
path when the device comes back (its symlink reappears). A scanner named by
vendor:product or name (a glob) is resolved through discovery: a reader for
each device that matches now, stopped when the device goes, started when one
appears; an evdev node is checked to still be that device each time it is
opened, because a replug can hand its old node to a real keyboard.
Hotplug events (or a rescan once a second without libudev) nudge every slot
at once, so a replugged scanner is read again well inside two seconds. An
add event can come before the new node answers who it is (its identity is
read from the node, or from sysfs, as the kernel fills them in), so while a
matched slot that was read before has no device, it is resolved again every
``reconnect_interval`` as well, as a reader retries its missing path.
A device that no slot names is never opened, let alone grabbed.

Each reader's reads go to the journal (the daemon's Intake: the spool),
through an adapter that names the station, the slot's device and the port
(a serial port's unfinished line is kept per port path); or simply to a
callback taking each read's lines. A slot's state goes to ``on_device``:
"connected" when one of its readers has its device; else "busy" when another
program holds it; else "unplugged" once it had been read before (a matched
scanner whose device left the listing, or a path whose reader lost it);
else "missing" (configured, never seen); and "stopped" last of all, once
``stop()`` has let go of every device, so no page shows a state that is over.
"""
from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, runtime_checkable

from drivers import discovery
from drivers.errors import DriverError
from drivers.framing import Unfinished
from drivers.reader import BUSY, CONNECTED, MISSING, STOPPED, UNPLUGGED, ReconnectingReader
from station.config import ScannerConfig, StationConfig
from station.domain.errors import ConfigError

log = logging.getLogger(__name__)

ScanCallback = Callable[[str, str, list[bytes]], None]  # station, device, the raw lines of one read
DeviceCallback = Callable[[str, str, str, str], None]  # station, device, kind, state


@runtime_checkable
class ScanJournal(Protocol):
    """Where every reader's reads are kept (the daemon's Intake); see drivers.reader.Journal."""

    def resume(self, port: str) -> Unfinished: ...

    def reading(self, port: str) -> None: ...

    def taken(self, station: str, device: str, port: str | None, lines: list[bytes],
              unfinished: Unfinished) -> None: ...


@dataclass(frozen=True)
class ScanLines:
    """A journal that keeps nothing: each read's lines go to ``on_scan(station, device, lines)``."""

    on_scan: ScanCallback

    def resume(self, port: str) -> Unfinished:
        return Unfinished()

    def reading(self, port: str) -> None:
        pass

    def taken(self, station: str, device: str, port: str | None, lines: list[bytes],
              unfinished: Unfinished) -> None:
        if lines:
            self.on_scan(station, device, lines)


@dataclass(frozen=True)
class _ReaderJournal:
    """One reader's drivers.reader.Journal: the journal's calls with its station, device and port filled in."""

    journal: ScanJournal
    station: str
    device: str
    port: str | None  # None: nothing unfinished is kept (an input device)

    def resume(self) -> Unfinished:
        return self.journal.resume(self.port) if self.port is not None else Unfinished()

    def reading(self) -> None:
        if self.port is not None:
            self.journal.reading(self.port)

    def taken(self, lines: list[bytes], unfinished: Unfinished) -> None:
        self.journal.taken(self.station, self.device, self.port, lines, unfinished)


@dataclass(eq=False)
class _Slot:
    """One configured scanner and the readers currently serving it."""

    station: str
    scanner: ScannerConfig
    device_id: str
    match: discovery.DeviceMatch | None  # None: a fixed path its reader reopens by itself
    readers: dict[str, tuple[object, ReconnectingReader]] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    state: str | None = None
    seen: bool = False  # one of its readers was connected once


def _open_matching(match: discovery.DeviceMatch, path: str) -> Any:
    """Open an evdev node only if it still is the configured device (ENODEV otherwise)."""
    import evdev

    with discovery.PROBING:
        device = evdev.InputDevice(path)
        links = discovery.stable_paths(path, discovery.INPUT_LINK_DIRS) if match.path is not None else ()
    info = discovery.DeviceInfo(path, "input", device.name, f"{device.info.vendor:04x}",
                                f"{device.info.product:04x}", links)
    if not match.matches(info):
        device.close()
        raise OSError(errno.ENODEV, f"{path} is no longer the configured scanner")
    return device


def _open_fixed(path: str) -> Any:
    """Open the evdev node a fixed path names, one probe at a time (discovery.PROBING)."""
    import evdev

    with discovery.PROBING:
        return evdev.InputDevice(path)


class Supervisor:
    """Starts, watches and stops the readers of the given stations' scanners."""

    def __init__(
        self,
        stations: Iterable[StationConfig],
        scans: ScanJournal | ScanCallback,
        on_device: DeviceCallback,
        *,
        reconnect_interval: float = 0.5,
        hotplug: bool = True,
    ) -> None:
        self.journal = scans if isinstance(scans, ScanJournal) else ScanLines(scans)
        self.on_device = on_device
        self.reconnect_interval = reconnect_interval
        self.hotplug = hotplug
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._watcher: threading.Thread | None = None
        self._retry: threading.Timer | None = None  # re-resolves matched slots that lost their device
        self.slots: list[_Slot] = []
        for station in stations:
            for scanner, device_id in zip(station.scanners, station.device_ids, strict=True):
                dynamic = scanner.vendor_product is not None or scanner.name is not None
                try:
                    match = None
                    if dynamic:
                        match = discovery.DeviceMatch(scanner.path, scanner.vendor_product, scanner.name)
                    slot = _Slot(station.id, scanner, device_id, match)
                    self._reader(slot, scanner.path or "", object())  # a bad layout or setting fails now
                except (DriverError, ValueError) as exc:
                    raise ConfigError(f"station {station.id} scanner {device_id}: {exc}") from None
                self.slots.append(slot)

    # -- life cycle --------------------------------------------------------
    def start(self) -> None:
        """Watch for devices first, then open the ones present (none is missed in between)."""
        if not self.slots:
            return
        if self.hotplug:
            from drivers import hotplug

            ready = threading.Event()
            self._watcher = threading.Thread(
                target=hotplug.watch, args=(self.refresh, self._stop_event),
                kwargs={"subsystems": ("input", "tty"), "ready": ready}, name="hotplug", daemon=True,
            )
            self._watcher.start()
            ready.wait(2.0)
        with self._lock:
            for slot in self.slots:
                if slot.match is None:
                    self._start_reader(slot, slot.scanner.path)
        self.refresh()
        with self._lock:
            for slot in self.slots:
                if slot.match is not None and not slot.readers:
                    self._publish(slot)

    def stop(self, timeout: float = 1.0) -> bool:
        """Stop every reader (each ungrabs and closes its device); True when all have ended in time."""
        deadline = time.monotonic() + timeout
        self._stop_event.set()
        with self._lock:
            if self._retry is not None:
                self._retry.cancel()
            readers = [reader for slot in self.slots for _, reader in slot.readers.values()]
        for reader in readers:
            reader.stop(0)  # ask them all at once, then wait
        for reader in readers:
            reader.join(max(0.0, deadline - time.monotonic()))
        if self._watcher is not None:
            self._watcher.join(max(0.0, deadline - time.monotonic()))
        ended = not any(reader.is_alive() for reader in readers)
        with self._lock:
            for slot in self.slots:
                if ended or not slot.readers:
                    self._publish(slot, STOPPED)  # every reader has let go (or there was none)
        return ended

    def refresh(self) -> None:
        """Devices came or went: retry missing fixed paths now, and re-resolve matched scanners."""
        if self._stop_event.is_set():
            return
        listed: dict[str, list[discovery.DeviceInfo]] = {}
        with self._lock:
            for slot in self.slots:
                if slot.match is None:
                    for _, reader in slot.readers.values():
                        if reader.status != CONNECTED:
                            reader.retry_now()
                    continue
                kind = slot.scanner.kind
                if kind not in listed:
                    listed[kind] = self._list(kind)
                self._resolve(slot, listed[kind])
            self._retry_lost()

    def _retry_lost(self) -> None:
        """While a matched slot that was read before has no device, resolve again after ``reconnect_interval``."""
        lost = any(slot.match is not None and slot.seen and not slot.readers for slot in self.slots)
        # The timer's own refresh arms the next one: it is still alive while it runs.
        pending = self._retry is not None and self._retry.is_alive() and self._retry is not threading.current_thread()
        if lost and not pending and not self._stop_event.is_set():
            self._retry = threading.Timer(self.reconnect_interval, self.refresh)
            self._retry.daemon = True
            self._retry.start()

    # -- internals ---------------------------------------------------------
    def _list(self, kind: str) -> list[discovery.DeviceInfo]:
        try:
            return discovery.list_serial_ports() if kind == "serial" else discovery.list_input_devices()
        except Exception:
            log.exception("listing %s devices failed", kind)
            return []

    def _resolve(self, slot: _Slot, devices: list[discovery.DeviceInfo]) -> None:
        wanted = set()
        for info in devices:
            if slot.match.matches(info):
                # A serial by-id link names this very device; an input node is checked on open.
                wanted.add(info.stable_paths[0] if slot.scanner.kind == "serial" and info.stable_paths else info.path)
        for path in set(slot.readers) - wanted:
            _, reader = slot.readers.pop(path)
            slot.status.pop(path, None)
            reader.stop(0)
            log.info("scanner %s of station %s: %s went away", slot.device_id, slot.station, path)
        for path in sorted(wanted - set(slot.readers)):
            self._start_reader(slot, path)
        if slot.state is not None:
            self._publish(slot)

    def _start_reader(self, slot: _Slot, path: str) -> None:
        if self._stop_event.is_set():
            return  # stopping: a late hotplug nudge must not open anything
        token = object()
        reader = self._reader(slot, path, token)
        slot.readers[path] = (token, reader)
        reader.start()

    def _reader(self, slot: _Slot, path: str, token: object) -> ReconnectingReader:
        cfg = slot.scanner
        on_status = partial(self._status, slot, path, token)
        gap = cfg.end_gap  # SPEC 4: the idle gap without terminators, else the long lost-terminator pause
        if cfg.kind == "serial":
            from drivers.serial_reader import SerialScanner

            journal = _ReaderJournal(self.journal, slot.station, slot.device_id, path)
            return SerialScanner(
                slot.device_id, path, journal, baudrate=cfg.baudrate, bytesize=cfg.bytesize, parity=cfg.parity,
                stopbits=cfg.stopbits, idle_gap=gap, reconnect_interval=self.reconnect_interval,
                on_status=on_status,
            )
        from drivers.evdev_reader import EvdevScanner
        from drivers.keydecoder import KeyDecoder

        decoder = KeyDecoder(layout=cfg.layout, terminators=frozenset(cfg.terminators),
                             idle_gap=cfg.idle_gap_ms / 1000 if cfg.idle_gap_ms else None,
                             lost_terminator=cfg.lost_terminator_ms / 1000 if cfg.lost_terminator_ms else None)
        opener = _open_fixed if slot.match is None else partial(_open_matching, slot.match)
        journal = _ReaderJournal(self.journal, slot.station, slot.device_id, None)
        return EvdevScanner(
            slot.device_id, path, decoder, journal, grab=True, reconnect_interval=self.reconnect_interval,
            on_status=on_status, open_device=opener,
        )

    def _status(self, slot: _Slot, path: str, token: object, _device_id: str, status: str) -> None:
        with self._lock:
            current = slot.readers.get(path)
            if current is None or current[0] is not token:
                return  # a reader already replaced or stopped
            slot.status[path] = status
            slot.seen = slot.seen or status == CONNECTED
            self._publish(slot)

    def _publish(self, slot: _Slot, state: str | None = None) -> None:
        if state is None:
            state = _slot_state(slot, stopping=self._stop_event.is_set())
        if state == slot.state:
            return
        slot.state = state
        try:
            self.on_device(slot.station, slot.device_id, slot.scanner.kind, state)
        except Exception:
            log.exception("on_device callback failed for %s", slot.device_id)
        # Logged once published: whoever reads this line finds the new state on the live status too.
        log.info("station %s scanner %s: %s", slot.station, slot.device_id, state)


def _slot_state(slot: _Slot, *, stopping: bool) -> str:
    """The one state a slot shows, from its readers' states (see the module's docstring)."""
    states = set(slot.status.values())
    if CONNECTED in states:
        return CONNECTED
    if stopping and slot.readers and states <= {STOPPED}:
        return STOPPED
    if BUSY in states:
        return BUSY
    if slot.seen or UNPLUGGED in states:
        return UNPLUGGED
    return MISSING
