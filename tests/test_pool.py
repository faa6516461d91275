"""Pooled PostgreSQL connections are not pinged on every checkout; one the server closed costs no scan (issue 12).
A SQLite file's pool hands out the connection given back last, whose page cache is still good (issue 22)."""
from __future__ import annotations

from helpers.database import POSTGRES_ONLY
from sqlalchemy import text

from station.config import from_dict
from station.domain import catalogue
from station.scanning.service import ScanService
from station.storage.db import make_engine, make_sessionmaker
from station.storage.retry import run_in_transaction


@POSTGRES_ONLY
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


def test_a_sqlite_file_takes_the_connection_given_back_last(tmp_path):
    """Guards the SQLite pool's order: with two connections pooled (a served app has them), each transaction takes
    the one given back last, not the two in turn: a connection throws its page cache away whenever the other one
    wrote since its last transaction, so taking them in turn read some 40 pages afresh on every scan."""
    engine = make_engine(f"sqlite:///{tmp_path / 'pool.db'}")
    try:
        first, second = engine.connect(), engine.connect()  # two at once: both stay in the pool
        raw = [c.connection.dbapi_connection for c in (first, second)]
        first.close()
        second.close()  # given back last
        Session = make_sessionmaker(engine)
        used = []
        for _ in range(3):
            with Session.begin() as s:
                s.execute(text("CREATE TABLE IF NOT EXISTS t (n INTEGER)"))
                s.execute(text("INSERT INTO t VALUES (1)"))
                used.append(s.connection().connection.dbapi_connection)
        assert used == [raw[1]] * 3
    finally:
        engine.dispose()
