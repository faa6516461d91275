"""The daemon's in-process live status, and the interface the web app reads it through.

The daemon knows things the database cannot tell while it is unreachable:
how many scans each station holds in its spool, and which scanners are
plugged in. It writes them into a ``LiveStatus``; the web page reads them.
Two counters move: ``version`` on every change (what a waiter on any of
them, ``wait_for_change``, wakes on), and the news on what a screen's event
can show (``wait_for_news``): a scan processed or a printer's state, for the
station it concerns, and while the database is away its going, coming back
and the held counts. The change feed (changes.py) follows the news to push
server-sent events without polling the database. A scan read or a held count
while the database answers is not news: the screen shows a scan once it is
processed, and a fetch started on its reading only competed with its
processing (issue 22: it took the scanner line to the screen from 19.6 to
12.3 ms p50 on a loaded machine). The page and the API hand
their scans to ``submit``, the daemon's ordered path, so none overtakes a
scanner's held scan.

The web app does not import the daemon: under ``station run`` the command
line hands it the daemon's ``LiveStatus``, under ``station serve`` nothing,
and it relies only on the ``Live`` interface below.
"""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol


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

    def notify(self, station: str | None = None) -> None: ...

    def wait_for_change(self, seen: int, timeout: float) -> int: ...

    def wait_for_news(self, seen: int, timeout: float) -> tuple[int, list[str] | None]: ...

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


NEWS_KEPT = 64  # a follower further behind than this looks at every station


class LiveStatus:
    """The daemon's ``Live``, thread-safe: held scans per station, device states, and a change counter to wait on."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._held: dict[str, int] = {}
        self._devices: dict[tuple[str, str], DeviceState] = {}
        self._offline = False
        self._submit: Callable[..., Any] | None = None
        self.version = 0
        self.news = 0
        # The stations of the last news (None: any of them), for a follower that missed a few.
        self._told: deque[tuple[int, str | None]] = deque(maxlen=NEWS_KEPT)

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

    def _bump(self, *, news: bool = False, station: str | None = None) -> None:
        self.version += 1
        if news:
            self.news += 1
            self._told.append((self.news, station))
        self._cond.notify_all()

    def set_held(self, station: str, count: int) -> None:
        with self._cond:
            if self._held.get(station, 0) != count:
                self._held[station] = count
                self._bump(news=self._offline, station=station)  # shown only while the database is away

    def held(self, station: str) -> int:
        with self._cond:
            return self._held.get(station, 0)

    def set_offline(self, offline: bool) -> None:
        with self._cond:
            if self._offline != offline:
                self._offline = offline
                self._bump(news=True)

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

    def notify(self, station: str | None = None) -> None:
        """Something changed that the screens should fetch: a scan of ``station`` was processed (None: any)."""
        with self._cond:
            self._bump(news=True, station=station)

    def wait_for_change(self, seen: int, timeout: float) -> int:
        """Block until the version passes ``seen`` or the timeout ends; return the version."""
        with self._cond:
            self._cond.wait_for(lambda: self.version != seen, timeout=timeout)
            return self.version

    def wait_for_news(self, seen: int, timeout: float) -> tuple[int, list[str] | None]:
        """Block until there is news after ``seen`` or the timeout ends; the news count and the stations it
        concerns (None: any of them, also when ``seen`` is older than the news kept)."""
        with self._cond:
            self._cond.wait_for(lambda: self.news != seen, timeout=timeout)
            if self.news == seen:
                return seen, []
            told = [(n, station) for n, station in self._told if n > seen]
            if len(told) != self.news - seen or any(station is None for _, station in told):
                return self.news, None
            return self.news, sorted({station for _, station in told})
