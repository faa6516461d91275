"""How the web carries out a scan (the API's and the operator page's alike): in order with the scanners'.

Under ``station run`` a scan from the page or the API goes through the
daemon's ordered path (the live status's ``submit``, station.live.status): at once when nothing is held,
else behind the scanner's held scans, so none overtakes them after an outage
(issue 10, defect 5). While the database is away it is held in the daemon's
durable spool with its idempotency key, and the answer is :class:`Held`.
Under ``station serve`` (no daemon) it is processed here directly.

The answer's log line (``scan station=... outcome=...``) is written by the
scan service itself; this module adds none.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app
from sqlalchemy.exc import IntegrityError

from station.domain.wording import plural
from station.scanning.service import ScanResult, ScanService
from station.scanning.views import offline
from station.storage.retry import run_in_transaction

from .db import change_feed, station_app

log = logging.getLogger(__name__)

# How long a request waits for its turn behind held scans before it answers "held".
ORDERED_WAIT = 5.0


@dataclass(frozen=True)
class Held:
    """The scan is in the daemon's spool, in order: processed when its turn comes (the database is back)."""

    held: int
    offline: bool

    def answer(self) -> dict:
        """The JSON of the 503 that says so; ``queued``: the server keeps it, the client need not."""
        if self.offline:
            code, message = "offline", offline(self.held)
        else:
            code, message = "held", (f"{plural(self.held, 'scan is', 'scans are')} being processed before this one;"
                                     " it is held in "
                                     "order and its result shows on the station's screen")
        return {"error": {"code": code, "message": message}, "held": self.held, "queued": True}


def carry_out(station: str, raw: str, *, device: str, key: str | None, user: str | None) -> ScanResult | Held:
    """One scan from the web, in the order it arrived; its answer, or Held."""
    app_state = station_app()
    live = app_state.live
    if live is not None:
        submitted = live.submit(station, device, raw, key=key, user=user, timeout=ORDERED_WAIT)
        if submitted is not None:
            if submitted.result is None:
                return Held(submitted.held, submitted.offline)
            return submitted.result
    service = ScanService(app_state.config)

    def process(session):
        return service.process(session, station, raw, device=device, key=key, user=user)

    try:
        # Deadlocks and serialization failures are retried, never shown to the operator.
        result = run_in_transaction(app_state.Session, process)
    except IntegrityError:
        if key is None:
            raise
        # The same key raced in on another connection and won: answer as it was answered.
        result = run_in_transaction(app_state.Session, process)
    if live is not None:
        live.notify(station)
    else:
        change_feed(current_app).bump([station])  # this app's own screens hear of it at once
    return result
