"""The scan log: every scan written, accepted or refused, with the answer it was given.

A Core insert: the log is only ever written, so it needs none of the unit of
work's bookkeeping. On PostgreSQL the same statement tells other processes
(screens) that the station changed: the NOTIFY rides on it (one round trip
fewer) and, like any NOTIFY, is delivered at commit.
"""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from station.domain.errors import Refusal
from station.domain.models import SERIAL_MAX, ScanLog
from station.storage.channels import STATION_CHANGES

from .reading import Reading, normalise
from .results import ScanResult

LOG = ScanLog.__table__
_INSERT = insert(LOG)
_INSERT_AND_NOTIFY = _INSERT.returning(func.pg_notify(STATION_CHANGES, LOG.c.station))
_REPLAY = select(LOG.c.read_as, LOG.c.response).where(LOG.c.station == bindparam("station"),
                                                      LOG.c.idempotency_key == bindparam("key"))
_RECENT = (select(LOG.c.at, LOG.c.device, LOG.c.raw, LOG.c.read_as, LOG.c.accepted, LOG.c.code, LOG.c.message,
                  LOG.c.user)
           .where(LOG.c.station == bindparam("station")).order_by(LOG.c.id.desc()).limit(bindparam("count")))


def write(session: Session, values: dict[str, Any]) -> None:
    """Log one scan (and, on PostgreSQL, notify the screens of other processes)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    session.connection().execute(_INSERT_AND_NOTIFY if postgres else _INSERT, values)


def replay(session: Session, station: str, key: str) -> ScanResult | None:
    """The answer given before to this station's scan with this idempotency key, if there was one."""
    seen = session.connection().execute(_REPLAY, {"station": station, "key": key}).first()
    if seen is None or not seen.response:
        return None
    return ScanResult(station=station, read_as=seen.read_as, replayed=True, **json.loads(seen.response))


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
    """The station's last scans, newest first."""
    return session.connection().execute(_RECENT, {"station": station, "count": count}).all()
