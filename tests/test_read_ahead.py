"""A finish's document read goes ahead, with its scan's locked read (issue 22): what it may and may not do.

Where the engine pipelines (PostgreSQL), a scan whose text looks like
CMD:FINISH sends the read its posting starts with (facts.READ_AHEAD: the
station's open document, locked, with its lines) behind the station's
locked read, in its round trip; posting then takes those rows instead of
reading (facts.document_read). Such a read must not take the document's lock
before the station's (a finish waiting for its station would hold it), and
its rows serve only the transaction that read them. Real databases, SQLite
and PostgreSQL.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, select

from station.config import from_dict
from station.domain import direct
from station.domain.facts import READ_AHEAD, document_read, read_ahead
from station.domain.models import Document, Movement, StationState
from station.scan_core.reading import finishes
from station.scanning.service import ScanService
from station.storage.retry import run_in_transaction

CONFIG = from_dict({"stations": [{"id": "in", "mode": "receive"}]})


@pytest.fixture
def open_receipt(db, world):
    """Station ``in`` with a receipt of ACME open, holding serials SN-1 and SN-2: its document's id."""
    service = ScanService(CONFIG)
    for text in ("SUP:ACME", "036000291452", "SN-1", "SN-2"):
        assert run_in_transaction(db.Session, lambda s, text=text: service.process(s, "in", text)).accepted
    with db.Session() as s:
        return s.scalar(select(StationState.document_id).where(StationState.station == "in"))


def test_read_ahead_rows_serve_their_own_transaction_and_no_other(db, open_receipt):
    """Guards against a posting deciding on a document as another transaction read it: rows read ahead and never
    taken (a CMD:FINISH refused, say) must not stand in for a later transaction's read on the same connection."""
    doc_id = open_receipt
    with db.Session.begin() as s:
        conn = s.connection()
        driver = conn.connection.driver_connection
        rows = direct.run(conn, READ_AHEAD, {"station": "in"})
        assert [row.l_serial for row in rows] == ["SN-1", "SN-2"] and rows[0].d_id == doc_id
        read_ahead(conn, rows)
        sent: list[str] = []

        def count(conn, cursor, statement, *args) -> None:
            sent.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            taken = document_read(s, doc_id)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert sent == []  # taken, not read again
        assert [line[2] for line in taken.lines] == ["SN-1", "SN-2"]
        read_ahead(conn, rows)  # kept again, and left untaken by this transaction
    assert run_in_transaction(db.Session, lambda s: ScanService(CONFIG).process(s, "in", "SN-3")).accepted
    with db.Session.begin() as s:
        assert s.connection().connection.driver_connection is driver  # the connection the rows were kept on
        fresh = document_read(s, doc_id)
    assert fresh.head.line_count == 3 and [line[2] for line in fresh.lines] == ["SN-1", "SN-2", "SN-3"]


def test_a_read_ahead_finds_nothing_that_posting_would_not_read_so(db, open_receipt):
    """Guards the read's bounds: a long document (beyond ONE_READ_LINES, read in parts), a count, or no open
    document reads nothing ahead."""
    with db.Session.begin() as s:
        s.execute(Document.__table__.update().where(Document.id == open_receipt).values(line_count=51))
        assert direct.run(s.connection(), READ_AHEAD, {"station": "in"}) == []
        s.rollback()
    with db.Session.begin() as s:
        assert direct.run(s.connection(), READ_AHEAD, {"station": "nobody"}) == []


def test_a_finish_that_waits_for_its_station_holds_no_lock_on_its_document(db, open_receipt):
    """Guards the lock order on PostgreSQL: a finish whose station another transaction holds reads nothing ahead
    (the station's row is skipped, not waited for, in the read ahead), so it takes the document's lock only after
    the station's, as posting does; else it would hold the document while it waits, and a holder of the station
    that posts that document would wait on it (a deadlock)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite takes one writer at a time: a scan never waits for its station's row")
    doc_id = open_receipt
    outcome: list = []
    done = threading.Event()

    def finish() -> None:
        try:
            outcome.append(run_in_transaction(db.Session, lambda s: ScanService(CONFIG).process(s, "in",
                                                                                                  "CMD:FINISH")))
        finally:
            done.set()

    with db.engine.connect() as holder:
        holder.execute(select(StationState.station).where(StationState.station == "in").with_for_update())
        holder_pid = holder.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        finisher = threading.Thread(target=finish)
        finisher.start()
        with db.engine.connect() as watch:  # until the finish waits for the station's row
            waiting = False
            while not waiting and not done.is_set():
                waiting = watch.exec_driver_sql(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted AND pid NOT IN (%(holder)s, "
                    "pg_backend_pid()))", {"holder": holder_pid}).scalar()
                watch.rollback()
            assert waiting and not done.is_set()
            # The document is free: nobody holds its row.
            free = watch.exec_driver_sql("SELECT id FROM document WHERE id = %(id)s FOR UPDATE NOWAIT",
                                         {"id": doc_id}).scalar()
            assert free == doc_id
            watch.rollback()
        holder.rollback()
    finisher.join(30)
    assert outcome and outcome[0].accepted, outcome
    with db.Session() as s:
        assert s.scalar(select(Document.status).where(Document.id == doc_id)).value == "posted"
        assert len(s.scalars(select(Movement.id)).all()) == 2


@pytest.mark.parametrize(("raw", "finishing"), [
    ("CMD:FINISH", True), ("cmd:finish", True), ("]C0CMD:FINISH", True), (b"CMD:FINISH\r\n", True),
    ("CMD:FINISHED", False), ("CMD:CANCEL", False), ("SN-CMD:FINISH", False), (b"\xff\xfe", False)])
def test_what_reads_as_a_finish(raw, finishing):
    """Guards the guess that sends a posting's read ahead: CMD:FINISH as the reader reads it, and nothing else."""
    assert finishes(raw) is finishing
