"""What the web app reads from a daemon running in the same process (``station run``).

The web layer does not import the daemon: the command line hands the app an
object with these methods (the daemon's ``LiveStatus``), or nothing under
``station serve``. Only this interface is relied on.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
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

    def notify(self) -> None: ...

    def wait_for_change(self, seen: int, timeout: float) -> int: ...

    def submit(self, station: str, device: str, raw: str, *, key: str | None, user: str | None,
               timeout: float) -> Submitted | None:
        """Carry the scan out in order with the scanners' (None: no daemon takes scans here)."""
