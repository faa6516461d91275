"""The scan log: every scan written, accepted or refused, with the answer it was given.

A Core insert: the log is only ever written, so it needs none of the unit of
work's bookkeeping. On PostgreSQL the same statement tells other processes
(screens) that the station changed: the NOTIFY rides on it (one round trip
fewer) and, like any NOTIFY, is delivered at commit. There a scan's log (with
its station's state) is held for the transaction's COMMIT and sent with it, in
one round trip (station.storage.pipelined).

An idempotency key names one scan of one station: sent again with the same
data it is answered as it was (``replay``), with other data it is refused
with ``id_reused`` (a Conflict, 409 in the API), never answered with another
scan's result. The data is compared by its SHA-256 (``digest``), kept beside
the answer: the raw text kept for people escapes controls, so it cannot tell
a BEL from the four characters ``\x07``.
"""
from __future__ import annotations

import functools
import hashlib
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from station.domain import direct
from station.domain.errors import Conflict, Refusal
from station.domain.models import SERIAL_MAX, ScanLog, utcnow
from station.domain.rules import Lookups
from station.scan_core.reading import Kind, Reading, normalise, quote
from station.storage import pipelined

from .results import ScanResult, escape_raw
from .station_row import Saving

#: The PostgreSQL channel a logged scan notifies (payload: the station's id); screens listen (station.live.changes).
STATION_CHANGES = "station_changes"

LOG = ScanLog.__table__
_INSERT = insert(LOG)
_INSERT_AND_NOTIFY = _INSERT.returning(func.pg_notify(STATION_CHANGES, LOG.c.station))
_REPLAY = select(LOG.c.read_as, LOG.c.response, LOG.c.raw, LOG.c.data_digest).where(
    LOG.c.station == bindparam("station"), LOG.c.idempotency_key == bindparam("key"))
_RECENT = (select(LOG.c.at, LOG.c.device, LOG.c.raw, LOG.c.read_as, LOG.c.accepted, LOG.c.code, LOG.c.message,
                  LOG.c.user, LOG.c.serial_text)
           .where(LOG.c.station == bindparam("station")).order_by(LOG.c.id.desc()).limit(bindparam("count")))


def write(session: Session, values: dict[str, Any], state: Saving | None = None) -> None:
    """Log one scan (and, on PostgreSQL, notify the screens of other processes), after writing the station's
    ``state``: on PostgreSQL in one statement (the UPDATE as a data-modifying CTE of the INSERT), on SQLite first."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if state is None:
        session.connection().execute(_INSERT_AND_NOTIFY if postgres else _INSERT, values)
    elif postgres:
        # The log's time as its column default gives it (SQLAlchemy leaves a default out of a statement with a CTE).
        logged = {f"lg_{name}": value for name, value in ({"at": utcnow()} | values).items()}
        # Sent with the transaction's COMMIT, in one round trip (or before anything else the transaction sends).
        pipelined.at_commit(session.connection(), _with_state(state.statement, tuple(name[3:] for name in logged)),
                            logged | state.values)
    else:  # a scan's last two statements, sent below SQLAlchemy (direct: the log's time given, not defaulted)
        conn = session.connection()
        direct.run(conn, state.statement, state.values)
        direct.run(conn, _INSERT, {"at": utcnow()} | values)


@functools.cache
def _with_state(update, names: tuple[str, ...]):
    """The insert (and its NOTIFY) with the station's UPDATE before it, in one statement (built once per UPDATE and
    set of columns). The log's values are bound by names of their own (``lg_``): an execution's parameter named as a
    column would be taken as one more column to set by the UPDATE too."""
    insert_logged = insert(LOG).values({name: bindparam(f"lg_{name}") for name in names})
    return insert_logged.returning(func.pg_notify(STATION_CHANGES, LOG.c.station)).add_cte(update.cte("saved"))


def names_serial(reading: Reading | None, serial: str | None, accepted: bool, lookups: Lookups) -> bool:
    """Whether a scan named a serial CMD:PRINT may print (see station.printing.scan_labels), from its own look-ups.

    ``serial`` is the text the scan log keeps for it (None: it named none, or one too long to be a serial);
    ``lookups`` are the scan's own, so a refused scan's serial is already known to them: no extra statement.
    """
    if reading is None or serial is None:
        return False
    if accepted or reading.kind in (Kind.known_serial, Kind.gs1):
        return True
    facts = lookups.serial(serial)
    return facts.exists or facts.open_document_id is not None


def digest(raw: bytes | str) -> str:
    """The SHA-256 of a scan's data as sent: its bytes, or its text as UTF-8 (a spooled scan is the same data)."""
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()


def id_reused(station: str, key: str) -> Conflict:
    """The refusal of a key this station had with other data."""
    return Conflict("id_reused", f"Id {quote(key)} was sent to station {station} before with other data: an id "
                                 "stands for one scan. Send a new scan with an id of its own.")


def replay(session: Session, station: str, key: str, raw: bytes | str) -> ScanResult | None:
    """The answer given before to this station's scan with this idempotency key, if there was one.

    Raises ``id_reused`` when that scan's data was other than ``raw``.
    """
    return answer_again(session.connection().execute(_REPLAY, {"station": station, "key": key}).first(),
                        station, key, raw)


def answer_again(seen, station: str, key: str, raw: bytes | str) -> ScanResult | None:
    """``replay`` from the row already read (the station's locked read carries it: station_row.load's ``logged``,
    its columns prefixed ``lg_``; None: the key is new). Raises ``id_reused`` for other data."""
    if seen is None:
        return None
    if hasattr(seen, "lg_id"):
        seen = _Seen(seen.lg_read_as, seen.lg_response, seen.lg_raw, seen.lg_digest)
    # Rows logged before the digest was kept are compared by their stored text.
    same = seen.data_digest == digest(raw) if seen.data_digest is not None else seen.raw == escape_raw(raw)
    if not same:
        raise id_reused(station, key)
    if not seen.response:
        return None
    return ScanResult.replayed_from(seen.response, station=station, read_as=seen.read_as)


class _Seen(NamedTuple):
    read_as: str | None
    response: str | None
    raw: str
    data_digest: str | None


def serial_of(reading: Reading | None, raw: bytes | str) -> str | None:
    """The serial a scan names, for the serial's history; only text a scan could name it by."""
    if reading is not None:
        serial = reading.serial
        return serial if serial and len(serial) <= SERIAL_MAX else None
    try:
        text = normalise(raw)
    except Refusal:
        return None
    return text if len(text) <= SERIAL_MAX else None


def recent(session: Session, station: str, count: int):
    """The station's last scans, newest first: on the driver's cursor (direct.run), as a live screen's fetch reads
    them after every scan."""
    return direct.run(session.connection(), _RECENT, {"station": station, "count": count})
