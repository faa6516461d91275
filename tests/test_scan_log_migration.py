"""Migration 0007 on a scan log that already holds scans, on SQLite and PostgreSQL.

The module's database is taken down to 0006, its scan log filled as a
station of that version filled it (the 0006 columns only), and brought up to
the newest again: CMD:PRINT still finds the serial the old rule counted, and
an idempotency key logged before the data digest existed still replays the
same data and refuses other data (compared by the raw text kept with it).
"""
from __future__ import annotations

import json

import pytest
from alembic import command
from sqlalchemy import text

from station.config import from_dict
from station.domain.errors import Conflict
from station.scanning.service import ScanService
from station.storage.db import alembic_config

ANSWER = {"accepted": False, "code": "unknown_barcode", "message": "Unknown barcode NOPE.", "prompt": "Selling.",
          "document": None}
# (id, raw, read_as, serial_text, accepted, code, idempotency_key, response) as 0006 wrote them.
SCANS = [
    (1, "OLD-1", "unknown", "OLD-1", True, None, None, None),  # a new serial added to a receipt: counted
    (2, "OLD-2", "known_serial", "OLD-2", False, "serial_in_stock", None, None),  # refused, known: counted
    (3, "NOPE", "unknown", "NOPE", False, "unknown_barcode", "k-old", json.dumps(ANSWER)),  # not counted
    (4, "CMD:FINISH", "finish", None, True, None, None, None),
]
INSERT = text("INSERT INTO scan_log (id, at, station, device, raw, read_as, serial_text, accepted, code, message, "
              "idempotency_key, response) VALUES (:id, '2026-01-31 10:00:00', 'till', 'test', :raw, :read_as, "
              ":serial_text, :accepted, :code, 'm', :key, :response)")


@pytest.fixture
def upgraded(db):
    cfg = alembic_config(db.engine)
    command.downgrade(cfg, "0006")
    try:
        with db.engine.begin() as conn:
            for id_, raw, read_as, serial, accepted, code, key, response in SCANS:
                conn.execute(INSERT, dict(id=id_, raw=raw, read_as=read_as, serial_text=serial, accepted=accepted,
                                          code=code, key=key, response=response))
    finally:
        command.upgrade(cfg, "head")
    if db.backend == "postgresql":  # the rows came with their ids: the sequence follows them, as a station's would
        with db.engine.begin() as conn:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('scan_log', 'id'), 4)"))
    return db


def scan(db, service, raw, **kw):
    with db.Session.begin() as s:
        return service.process(s, "till", raw, **kw)


def test_0007_keeps_what_the_old_rules_counted(upgraded):
    """Guards the upgrade of a working station: the scans logged before keep their meaning for CMD:PRINT (the last
    counted is OLD-2, not the unknown NOPE after it) and for their keys (same data replays, other data is 409)."""
    db = upgraded
    service = ScanService(from_dict({"stations": [{"id": "till", "mode": "sell", "printer": "zebra-1"}],
                                     "printers": [{"id": "zebra-1", "kind": "zpl", "address": "/dev/usb/lp0"}]}))
    with db.Session() as s:
        names = dict(s.execute(text("SELECT id, names_serial FROM scan_log ORDER BY id")).all())
    assert {k: bool(v) for k, v in names.items()} == {1: True, 2: True, 3: False, 4: False}
    replayed = scan(db, service, "NOPE", key="k-old")
    assert replayed.replayed and replayed.as_json() == ANSWER
    with pytest.raises(Conflict) as refused:
        scan(db, service, "NOPE-2", key="k-old")
    assert refused.value.code == "id_reused"
    assert scan(db, service, "CMD:PRINT").message == "Printing the label of OLD-2 on printer zebra-1."


def test_0007_goes_down_and_up_again(db):
    """Guards the way back: 0007 -> 0006 drops the two columns and puts the old index back; up again adds them."""
    cfg = alembic_config(db.engine)
    command.downgrade(cfg, "0006")
    with db.engine.connect() as conn:
        columns = {row[0] for row in conn.execute(text(
            "SELECT name FROM pragma_table_info('scan_log')" if db.backend == "sqlite" else
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'scan_log' "
            "AND table_schema = current_schema()"))}
    assert "names_serial" not in columns and "data_digest" not in columns
    command.upgrade(cfg, "head")
