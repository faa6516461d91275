"""Pooled PostgreSQL connections are not pinged on every checkout; one the server closed costs no scan (issue 12)."""
from __future__ import annotations

from helpers.database import POSTGRES_ONLY
from sqlalchemy import text

from station.config import from_dict
from station.domain import catalogue
from station.scanning.service import ScanService
from station.storage.retry import run_in_transaction

pytestmark = POSTGRES_ONLY


def test_a_connection_closed_by_the_server_is_replaced_without_an_error(db):
    """Guards the pool without pre-ping: the server ends the pooled connection (as a restart does); the next
    scan runs on a new connection, answered as usual, instead of failing."""
    assert db.engine.pool._pre_ping is False
    with db.Session.begin() as s:
        catalogue.create_party(s, "customer", "BOB", "Bob")
    service = ScanService(from_dict({"stations": [{"id": "till", "mode": "sell"}]}))
    first = run_in_transaction(db.Session, lambda s: service.process(s, "till", "CUS:BOB"))
    assert first.accepted
    with db.engine.connect() as conn:  # the pooled connection the scan used, and the pid of its backend
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with db.engine.pool._creator().cursor() as admin:  # a connection outside the pool ends that backend
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        assert admin.fetchone()[0] is True
        admin.connection.close()
    second = run_in_transaction(db.Session, lambda s: service.process(s, "till", "CMD:CANCEL"))
    assert second.accepted, second
