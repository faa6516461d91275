"""What the scanners' readers hand over: each read spooled first (one commit), then shown and processed.

A serial port's reader marks each read before it takes it (``reading``) and
hands it over with what it left unfinished on the port (``taken``); a
reader that takes the port over after a kill starts from what was kept
(``resume``). See ``drivers.serial_reader`` for the reader's side and
``Spool.take`` for the commit. An input device keeps nothing unfinished
(``port`` None): its buffer goes with its reader.
"""
from __future__ import annotations

import logging

from drivers.framing import Unfinished
from station.live.status import LiveStatus
from station.scanning.results import escape_raw

from .processor import Processor
from .spool import Spool

log = logging.getLogger(__name__)


class Intake:
    """The daemon's journal of every reader's reads (supervisor.ScanJournal), kept in the spool."""

    def __init__(self, spool: Spool, live: LiveStatus, processor: Processor) -> None:
        self.spool = spool
        self.live = live
        self.processor = processor

    def resume(self, port: str) -> Unfinished:
        head, cut = self.spool.unfinished(port)
        return Unfinished(head, cut)

    def reading(self, port: str) -> None:
        self.spool.reading(port)

    def taken(self, station: str, device: str, port: str | None, lines: list[bytes], unfinished: Unfinished) -> None:
        """Spool the read's lines, with ``port``'s unfinished line, durably, then show and process them. Only the
        spooling may raise (the reader then holds the read and hands it over again): once spooled, a second
        hand-over would spool the lines twice."""
        self.spool.take(station, device, lines, port=port, head=unfinished.head, cut=unfinished.cut)
        if not lines:
            return
        try:
            for data in lines:
                self.live.record_scan(station, device, escape_raw(data, 200))
        except Exception:
            log.exception("could not show %d spooled scan(s) of station %s device %s", len(lines), station, device)
        self.processor.wake()
