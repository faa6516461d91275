"""Carrying a scan out against the database, in the caller's transaction.

One call of ``process`` is one scan: lock the station's row (its state,
document and product, what the scan log holds under the scan's idempotency
key, what the scanned text is and the open document's answer, in one
statement), answer again what a known idempotency key was answered, read the
scan, decide, carry the actions out, answer (a line added joins the answer
read with the row, in Python; after any other write it is read again: see
actions._shown_after), save the station's state and log the scan, accepted or
refused (on PostgreSQL in one statement). A refusal leaves the station as it was: the
reading and the machine only read; a line's rules refuse before it writes, or
documents.add_line takes its writes back; an opening refuses before its one
write, and is taken back when a line after it in the same scan refuses (a
till's first serial: actions.carry_out); every other action (posting, a
count's line...) runs in a savepoint (actions.may_refuse_after_writing).
Issue 22 took a serial scan from 11 statements to 7 on SQLite and 4 on
PostgreSQL, and there to 3 round trips (tests/test_scan_cost.py): the
transaction's BEGIN goes with the locked read, the line's INSERT with its
tally (station.domain.direct.both), and the log, held to the end, with the
COMMIT, each pair in one of psycopg's pipelines (station.storage.pipelined).
Those statements, and SQLite's but the tally's, are sent on the driver's
cursor below SQLAlchemy's execution (station.domain.direct: it cost more
than they did). Its
work does not depend on the size of the open document: every statement is
an indexed read or a one-row write, and the answer carries the document's
last lines only (views.py). ``view`` is the station's state for the API
and the screens.

Who is signed in comes with the station's row; a lapsed sign-in
(``operator_idle_minutes``) ends as the scan starts, and a station that
requires an operator refuses anything but a badge until one signs in
(sign_in.py). Every line, movement and log entry records the operator's
code, else the caller's ``user`` (a token's name off loopback).
"""
from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from station.config import Config
from station.domain.errors import Invalid, NotFound, Refusal
from station.domain.validation import is_printable
from station.scan_core import decisions, machine, prompts
from station.scan_core.reading import Reading, finishes, party_named, read, scanned_text

from . import actions, metrics, scan_log, sign_in, station_row, views
from .context import ReaderLookups, ScanContext, Stand
from .results import ScanResult, escape_raw

log = logging.getLogger(__name__)


def check_key(key: Any) -> str | None:
    """An idempotency key: None, or 1-200 printable characters (the scan log's column)."""
    if key is None:
        return None
    if not isinstance(key, str) or not 1 <= len(key) <= 200 or not is_printable(key):
        raise Invalid("invalid_key", "An idempotency key is 1-200 printable characters.")
    return key


class ScanService:
    """Scans for the stations of one configuration."""

    def __init__(self, config: Config):
        self.config = config

    def _station(self, station: str):
        cfg = self.config.station(station)
        if cfg is None:
            raise NotFound("unknown_station", f"There is no station {station} in the configuration.")
        return cfg

    def _party_asked(self, raw: bytes | str, text: str | None) -> tuple[str, str] | None:
        """The party the scan may need, asked with the station's row: the one a ``SUP:``/``CUS:`` scan names, else,
        for goods (a barcode or a serial), the walk-in customer, whose sale they open at a till with none open."""
        named = party_named(raw)
        if named is None and text is not None:
            return station_row.WALK_IN, self.config.scanning.walk_in_customer
        return named

    def process(self, session: Session, station: str, raw: bytes | str, *, device: str = "api",
                key: str | None = None, user: str | None = None) -> ScanResult:
        """Process one scan in the caller's transaction; never raises for bad scan input.

        Raises NotFound for a station that is not in the configuration,
        Invalid for a malformed idempotency key and Conflict ``id_reused``
        for a key this station had with other data: all the caller's
        mistakes, not the scanner's.
        """
        started = time.perf_counter()
        key = check_key(key)
        cfg = self._station(station)
        text = scanned_text(raw)
        row = station_row.load_or_make(session, station, cfg.mode,
                                       prompts.prompt(decisions.State(mode=cfg.mode), prompts.Facts()), key=key,
                                       home=cfg.location, probe=text, finishing=finishes(raw),
                                       party=self._party_asked(raw, text))
        if key is not None:
            replayed = scan_log.answer_again(row.logged, station, key, raw)  # Conflict id_reused for other data
            if replayed is not None:
                return replayed
        now = datetime.now(UTC)
        # A sign-in idle for operator_idle_minutes ends now, whatever this scan turns out to be.
        signed, lapsed = sign_in.current(row.operator, cfg.operator_idle_minutes, now)
        ctx = ScanContext(session, self.config, cfg, row, token_user=user, now=now)
        stand = ctx.start(signed)
        lookups = ctx.lookups  # what the reading looked up, still known after a refusal
        if row.probed is not None:  # read with the station's row (SQLite): the reader's first question, answered
            lookups.probed(text, row.probed)
        before = row.state
        reading: Reading | None = None
        try:
            # Reading and deciding only read: a refusal there has nothing to roll back.
            reading = read(raw, ReaderLookups(ctx), document_re=self.config.scanning.document_re,
                           gs_substitute=self.config.scanning.gs_substitute)
            sign_in.gate(reading, signed, cfg.require_operator, lapsed, cfg.operator_idle_minutes)
            decision = machine.decide(before, reading)
            # A savepoint only around actions that may refuse after writing (two statements fewer for the others).
            savepoint = actions.may_refuse_after_writing(ctx, stand, decision)
            with session.begin_nested() if savepoint else nullcontext():
                stand, done = actions.carry_out(ctx, stand, decision, before, take_back_opening=not savepoint)
                state = decision.state
                answer = self._answer(ctx, stand, state, cfg)
            saved = station_row.saving(station, state, stand.document.id if stand.document else None,
                                       state.product.id if state.product else None, answer.prompt,
                                       operator=self._seen(stand.operator, now),
                                       location_id=stand.place.id if stand.place else None)
            accepted, code, message = True, None, prompts.message(decision.outcome, state, done)
        except Refusal as refusal:
            # Nothing the scan did is left: a savepoint rolled back what its actions wrote, or they wrote
            # nothing yet; the station is as it was.
            session.expire_all()
            ctx = ScanContext(session, self.config, cfg, row, token_user=user, now=now)
            stand = ctx.start(signed)
            accepted, code, message = False, refusal.code, refusal.message
            answer = self._answer(ctx, stand, before, cfg, refusal.code, reading.serial if reading else None)
            saved = station_row.saving(station, before, row.document.id if row.document else None,
                                       before.product.id if before.product else None, answer.prompt,
                                       operator=self._seen(signed, now),
                                       location_id=row.place.id if row.place else None)
        result = ScanResult(accepted, code, message, answer.prompt, answer.document,
                            reading.kind.value if reading else "invalid", station)
        serial = scan_log.serial_of(reading, raw)
        scan_log.write(session, dict(
            station=station, device=device[:200], raw=escape_raw(raw), read_as=result.read_as,
            serial_text=serial, names_serial=scan_log.names_serial(reading, serial, accepted, lookups),
            accepted=accepted, code=code, message=message, prompt=answer.prompt, idempotency_key=key,
            # The answer is kept for a scan that can be sent again (it has a key) and answered the same.
            response=result.json_text if key is not None else None,
            data_digest=scan_log.digest(raw) if key is not None else None, user=ctx.user(stand),
        ), saved)  # the station's state, with the log: one statement on PostgreSQL
        metrics.note(session, station, accepted, started)
        log.info("scan station=%s device=%s outcome=%s code=%s text=%s message=%r", station, device,
                 "accepted" if accepted else "refused", code or "-", escape_raw(raw, 80), message)
        return result

    @staticmethod
    def _answer(ctx: ScanContext, stand: Stand, state: decisions.State, cfg,
                refused: str | None = None, serial: str | None = None) -> views.Answer:
        answer = views.answer(ctx, stand, state, refused, serial)
        return replace(answer, prompt=sign_in.prompt(answer.prompt, stand.operator, cfg.require_operator))

    @staticmethod
    def _seen(signed: sign_in.SignedIn | None, now: datetime) -> sign_in.SignedIn | None:
        """Who stays signed in, with this scan as their last (operator_idle_minutes counts from it)."""
        return None if signed is None else replace(signed, seen_at=now)

    def view(self, session: Session, station: str) -> dict[str, Any]:
        """GET /api/stations/<station>: mode, prompt, open document, recent scans, its printer."""
        cfg = self._station(station)
        row = station_row.shown(session, station, home=cfg.location)
        return views.station(session, station, row, cfg.mode,
                             idle_minutes=cfg.operator_idle_minutes, require_operator=cfg.require_operator,
                             printer=cfg.label_printer)
