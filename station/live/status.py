"""The daemon's in-process live status, and the interface the web app reads it through.

The daemon knows things the database cannot tell while it is unreachable:
how many scans each station holds in its spool, and which scanners are
plugged in. It writes them into a ``LiveStatus``; the web page reads them.
Its ``version`` moves on every change (what a waiter on any of them,
``wait_for_change``, wakes on). Apart from it, the news a screen's event can
show is told at once, from the thread that made it, to whoever ``follow``s
it (the change feed, changes.py, which pushes server-sent events without
polling the database): a scan processed or a printer's state, for the
station it concerns, and while the database is away its going, coming back
and the held counts. A scan read or a held count while the database answers
is not news: the screen shows a scan once it is processed, and a fetch
started on its reading only competed with its processing (issue 22: the
scanner line to the screen went from 19.6 to 12.3 ms p50 on a loaded
machine, and one thread hop less from there). The page and the API hand
their scans to ``submit``, the daemon's ordered path, so none overtakes a
scanner's held scan.

The web app does not import the daemon: under ``station run`` the command
line hands it the daemon's ``LiveStatus``, under ``station serve`` nothing,
and it relies only on the ``Live`` interface below.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

# A follower of the news: told the stations it concerns (None: any of them), and whether the thread telling it may
# read the news for the screens itself (LiveStatus.notify).
Told = Callable[[list[str] | None, bool], None]


class DeviceView(Protocol):
    station: str
    device: str
    kind: str
    state: str
    last_scan_at: datetime | None
    last_scan: str | None


class Submitted(Protocol):
    """What the daemon did with a scan from the web: its answer (``result.as_json()``), or held."""

    result: Any  # a ScanResult, or None: held in the spool, in order
    held: int  # scans held in all
    offline: bool  # held because the database is away (else: waiting behind others)


class Live(Protocol):
    """Held scans, device states and a change counter to wait on, kept by the daemon; its ordered scan path."""

    version: int

    def held(self, station: str) -> int: ...

    @property
    def offline(self) -> bool: ...

    def devices(self) -> Sequence[DeviceView]: ...

    def record_scan(self, station: str, device: str, text: str) -> None: ...

    def notify(self, station: str | None = None, *, read_here: bool = False) -> None: ...

    def wait_for_change(self, seen: int, timeout: float) -> int: ...

    def follow(self, told: Told) -> None:
        """Call ``told(stations, read_here)`` for each piece of news (stations None: any of them), from the thread
        that made it (see LiveStatus.notify)."""

    def submit(self, station: str, device: str, raw: str, *, key: str | None, user: str | None,
               timeout: float) -> Submitted | None:
        """Carry the scan out in order with the scanners' (None: no daemon takes scans here)."""


@dataclass(frozen=True)
class DeviceState:
    station: str
    device: str
    kind: str  # evdev | serial
    state: str  # connected | missing | unplugged | busy | stopped (drivers.reader)
    last_scan_at: datetime | None = None
    last_scan: str | None = None


class LiveStatus:
    """The daemon's ``Live``, thread-safe: held scans per station, device states, and a change counter to wait on."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._held: dict[str, int] = {}
        self._devices: dict[tuple[str, str], DeviceState] = {}
        self._offline = False
        self._submit: Callable[..., Any] | None = None
        self.version = 0
        self._followers: list[Told] = []

    def accept_scans(self, submit: Callable[..., Any]) -> None:
        """The daemon's ordered path for scans from the web (Processor.submit)."""
        self._submit = submit

    def submit(self, station: str, device: str, raw: str, *, key: str | None, user: str | None,
               timeout: float):
        """A web or API scan, in order behind the held ones: a Submitted, or None with no daemon to take it."""
        submit = self._submit
        if submit is None:
            return None
        return submit(station, device, raw, key=key, user=user, timeout=timeout)

    def follow(self, told: Told) -> None:
        """Call ``told(stations, read_here)`` for each piece of news (stations None: any of them), from the thread
        that made it, outside every lock here. It must not block, unless ``read_here`` says that thread has nothing
        more urgent to do than read the news for the screens (notify)."""
        with self._cond:
            self._followers.append(told)

    def _bump(self) -> None:
        self.version += 1
        self._cond.notify_all()

    def _tell(self, stations: list[str] | None, read_here: bool = False) -> None:
        for told in list(self._followers):
            told(stations, read_here)

    def set_held(self, station: str, count: int) -> None:
        with self._cond:
            changed = self._held.get(station, 0) != count
            if changed:
                self._held[station] = count
                self._bump()
            news = changed and self._offline  # shown only while the database is away
        if news:
            self._tell([station])

    def held(self, station: str) -> int:
        with self._cond:
            return self._held.get(station, 0)

    def set_offline(self, offline: bool) -> None:
        with self._cond:
            changed = self._offline != offline
            if changed:
                self._offline = offline
                self._bump()
        if changed:
            self._tell(None)

    @property
    def offline(self) -> bool:
        with self._cond:
            return self._offline

    def set_device(self, station: str, device: str, kind: str, state: str) -> None:
        with self._cond:
            old = self._devices.get((station, device))
            new = DeviceState(station, device, kind, state,
                              old.last_scan_at if old else None, old.last_scan if old else None)
            if new != old:
                self._devices[(station, device)] = new
                self._bump()

    def record_scan(self, station: str, device: str, text: str) -> None:
        with self._cond:
            old = self._devices.get((station, device)) or DeviceState(station, device, "web", "connected")
            self._devices[(station, device)] = replace(old, last_scan_at=datetime.now(UTC), last_scan=text)
            self._bump()

    def devices(self) -> list[DeviceState]:
        with self._cond:
            return sorted(self._devices.values(), key=lambda d: (d.station, d.device))

    def notify(self, station: str | None = None, *, read_here: bool = False) -> None:
        """Something changed that the screens should fetch: a scan of ``station`` was processed (None: any).

        ``read_here``: the calling thread has nothing more urgent to do, and holds no lock, so the screens' fetch
        may run in it, at once and alone, rather than in a thread of their own beside whatever it does next (the
        daemon's processor after a scanner's scan: nobody waits on it, and its next scan waits in the spool). A
        web request's thread, whose client waits for the scan's answer, tells without it."""
        with self._cond:
            self._bump()
        self._tell(None if station is None else [station], read_here)

    def wait_for_change(self, seen: int, timeout: float) -> int:
        """Block until the version passes ``seen`` or the timeout ends; return the version."""
        with self._cond:
            self._cond.wait_for(lambda: self.version != seen, timeout=timeout)
            return self.version
