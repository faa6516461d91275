"""PostgreSQL round trips saved: a transaction's BEGIN sent with its first statement, its last write with its COMMIT.

psycopg 3 sends a transaction's BEGIN on a round trip of its own before the
first statement, and its COMMIT on another: two of a scan's six round trips
(issue 22). Here both ride on a statement the transaction sends anyway, in
psycopg's pipeline mode (the statements queued, then sent and answered
together):

- a statement executed with the option ``BEGIN_WITH`` (or sent by ``first``,
  below SQLAlchemy: station.domain.direct) on a connection that has no
  transaction yet goes behind an explicit BEGIN, in one round trip.
  psycopg is put in autocommit mode for that transaction, so that it sends no
  BEGIN of its own (it would, and wait for it, even in pipeline mode); it is
  taken out again as the transaction ends (commit, rollback, or the
  connection's return to the pool);
- a savepoint's SAVEPOINT and RELEASE are held (``LEADS``) and go with the
  next statement sent, in its pipeline (a posting's savepoint costs no round
  trip of its own); the transaction's end drops what is still held, as it
  ends the savepoint anyway;
- writes whose answers nobody reads are held (direct.ahead: a posting's
  close and its event; ``at_commit``: a scan's log, its last write), in
  the order they were held, one list (``AHEAD``). The next statement
  direct.send sends takes them first in its pipeline; anything SQLAlchemy
  executes sends them before it, in a round trip of their own (it may read
  them, and a savepoint must not take them in); the COMMIT goes with those
  still held, in one round trip. A rollback, or a rollback to a savepoint
  (they were held after it began), drops them unsent. An error of one is
  raised by what sent it, as SQLAlchemy raises it (an IntegrityError, a
  deadlock: most often by the commit), and the transaction is rolled back.

SQLAlchemy itself cannot pipeline (it reads a statement's result as it sends
it), so the pipelines are psycopg's, on the connection's driver connection:
around the cursor SQLAlchemy hands its execution (``BEGIN_WITH``: its results
come back through SQLAlchemy as any other's), or, for the rest, sent by
station.domain.direct.send on the driver's cursor (``first`` with its BEGIN,
the held writes with the COMMIT, and the domain's pairs: direct.both). The
round trips a pipeline saves are set on the execution's context (``SAVED``)
for the bench's count (station.bench.statements). SQLite is left alone: it
has no round trips.
"""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.expression import ReleaseSavepointClause, RollbackToSavepointClause, SavepointClause

from station.domain import direct
from station.domain.direct import AHEAD, LEADS, PIPELINES, SAVED

#: Execution option: send the transaction's BEGIN with this statement (when no transaction has begun yet).
BEGIN_WITH = "station_begin_with"
_BEGUN = "station.pipelined"  # the connection's info: its transaction's BEGIN was ours (psycopg in autocommit mode)
_COMMIT = "station_commit"
_FLUSHING = "station_held_write"
_HOLDS = (SavepointClause, ReleaseSavepointClause)  # held for the next statement (``LEADS``)


def hook(engine: Engine) -> None:
    """Listen on a PostgreSQL engine (station.storage.db.make_engine calls it for each)."""
    if not _pipelines(engine.dialect):
        return
    event.listen(engine, "do_execute", _do_execute)
    event.listen(engine, "before_execute", _before_execute)
    event.listen(engine, "commit", _commit)
    event.listen(engine, "rollback", _rollback)
    event.listen(engine, "checkin", _checkin)
    # station.domain.direct sends its pairs, and a BEGIN or COMMIT with a statement, in one pipeline
    engine.update_execution_options(**{PIPELINES: True})


def at_commit(conn: Connection, statement, parameters: dict) -> None:
    """Run the write ``statement`` when ``conn``'s transaction commits, with its COMMIT (PostgreSQL: held as
    direct.ahead holds writes, so a statement sent before the commit takes it first); now elsewhere."""
    if not _pipelines(conn.dialect):
        conn.execute(statement, parameters)
        return
    direct.ahead(conn, ((statement, parameters),))


def _idle(raw) -> bool:
    from psycopg.pq import TransactionStatus

    return raw.info.transaction_status == TransactionStatus.IDLE


def _do_execute(cursor, statement, parameters, context) -> bool:
    options = context.execution_options
    if options.get(BEGIN_WITH):
        return _begin_with(cursor, statement, parameters, context)
    if options.get(_COMMIT):
        setattr(context, SAVED, 1)  # the COMMIT itself, sent as a statement: the commit costs nothing more
    compiled = context.compiled
    if compiled is not None and isinstance(compiled.statement, _HOLDS):
        return _hold(statement, context)
    conn = context.root_connection
    try:
        leads = conn.info.pop(LEADS, None)
    except NotImplementedError:  # the dialect's first connection, which has no info: nothing is held on it
        return False
    if not leads:
        return False
    _behind(conn.connection.driver_connection, leads, cursor, statement, parameters)
    return True


def _behind(raw, leads, cursor, statement, parameters) -> None:
    """``statement`` sent on ``cursor`` behind ``leads`` (statements of the connection's own), in one pipeline."""
    with raw.pipeline():
        for lead in leads:
            raw.execute(lead)
        cursor.execute(statement, parameters)


def _hold(statement: str, context) -> bool:
    """A savepoint's SAVEPOINT or RELEASE, held to go with the next statement (or dropped by the transaction's end,
    which ends the savepoint too): the round trip it would cost is saved. Only in a transaction psycopg has begun,
    and not inside a pipeline."""
    conn = context.root_connection
    raw = conn.connection.driver_connection
    if _idle(raw) or raw._pipeline is not None:
        return False
    conn.info.setdefault(LEADS, []).append(statement)
    setattr(context, SAVED, 1)
    return True


def _begin_with(cursor, statement, parameters, context) -> bool:
    conn = context.root_connection
    raw = conn.connection.driver_connection
    if not _ours(conn, raw):
        return False
    _behind(raw, ("BEGIN",), cursor, statement, parameters)
    setattr(context, SAVED, 1)
    return True


def _ours(conn: Connection, raw) -> bool:
    """Whether the transaction's BEGIN can go with the statement about to be sent: then psycopg is put in autocommit
    mode (it sends no BEGIN: the caller sends this one), until the transaction ends."""
    if raw.autocommit or not _idle(raw) or raw._pipeline is not None:
        return False  # a transaction has begun (or the caller chose autocommit): the statement goes as it is
    if (raw.isolation_level, raw.read_only, raw.deferrable) != (None, None, None):
        return False  # psycopg's BEGIN says more than a plain one: it sends its own
    raw.autocommit = True
    conn.info[_BEGUN] = True
    return True


def first(conn: Connection, statement, parameters: dict) -> list:
    """``statement``'s rows, sent on the driver's cursor (station.domain.direct) and, on PostgreSQL when the
    transaction has not begun yet, behind its BEGIN in one round trip (``BEGIN_WITH``'s, below SQLAlchemy: a
    scan's locked read, its costliest statement to execute through it)."""
    if not _pipelines(conn.dialect):
        return direct.run(conn, statement, parameters)
    return _behind_begin(conn, ((statement, parameters),))[0]


def first_then(conn: Connection, statement, parameters: dict, then, then_parameters: dict) -> tuple[list, list | None]:
    """``first``'s rows, and ``then``'s, sent after it in the same pipeline (one round trip, with the BEGIN as
    ``first`` sends it), where the engine pipelines; elsewhere ``then`` is not sent (None): a read sent ahead only
    where it costs no round trip of its own (a finish's document read, with the scan's locked read)."""
    if not _pipelines(conn.dialect):
        return direct.run(conn, statement, parameters), None
    rows, then_rows = _behind_begin(conn, ((statement, parameters), (then, then_parameters)))
    return rows, then_rows


def _pipelines(dialect) -> bool:
    """Whether the dialect's connections pipeline here: PostgreSQL through psycopg 3."""
    return dialect.name == "postgresql" and dialect.driver == "psycopg"


def _behind_begin(conn: Connection, statements) -> list[list]:
    """``statements`` sent on the driver's cursor in one pipeline, behind the transaction's BEGIN when it has not
    begun yet (asked as they are sent: a transaction begun already, writes held in it say, sends no BEGIN)."""
    return direct.send(conn, statements, lead=lambda raw: "BEGIN" if _ours(conn, raw) else None)


def _before_execute(conn, clauseelement, multiparams, params, execution_options):
    """The writes held (``AHEAD``) go first when SQLAlchemy sends anything else (it may read them; a savepoint must
    not take them in)."""
    if execution_options.get(_FLUSHING):
        return
    if isinstance(clauseelement, RollbackToSavepointClause):
        # Held since the savepoint began (its SAVEPOINT went out after any held before it): undone unsent.
        conn.info.pop(AHEAD, None)
    if conn.info.get(AHEAD):
        direct.send(conn, ())  # they go first in any statement's pipeline: here, in one of their own


def _commit(conn) -> None:
    begun = conn.info.get(_BEGUN, False)  # (kept until the COMMIT is sent: if it fails, the rollback needs it)
    writes = conn.info.pop(AHEAD, None)
    if writes:
        # With the COMMIT, in one pipeline; in psycopg's own transaction too (its commit then finds none to end).
        _with_commit(conn, writes)
    elif begun:
        # Nothing held: psycopg, in autocommit mode, would still send COMMIT; sent here, to leave that mode after.
        conn.exec_driver_sql("COMMIT", execution_options={_FLUSHING: True, _COMMIT: True})
    conn.info.pop(_BEGUN, None)
    conn.info.pop(LEADS, None)  # a savepoint's SAVEPOINT or RELEASE still held: the COMMIT ends it anyway
    if begun:
        conn.connection.driver_connection.autocommit = False  # committed: idle, SQLAlchemy's commit sends nothing


def _with_commit(conn: Connection, writes: list) -> None:
    """The writes held and the COMMIT, in one pipeline, on the driver's cursor (station.domain.direct: a scan's log
    is most often the one write, and SQLAlchemy's execution cost it more than the statement did)."""
    direct.send(conn, writes, tail="COMMIT", raw=conn.connection.driver_connection)


def _rollback(conn) -> None:
    try:
        info, raw = conn.info, conn.connection.driver_connection
    except Exception:  # an invalidated connection: the pool's check-in cleans up (its record keeps what is held)
        return
    info.pop(LEADS, None)  # the rollback ends the savepoint too
    info.pop(AHEAD, None)  # and undoes the writes held: never sent
    if not info.pop(_BEGUN, False):
        return
    try:
        raw.rollback()  # in autocommit mode psycopg still ends the transaction it is in
    except Exception:  # a broken connection: SQLAlchemy's own rollback meets it; the pool's check-in cleans up
        info[_BEGUN] = True
        return
    raw.autocommit = False


def _checkin(dbapi_connection, connection_record) -> None:
    """A connection back in the pool (its transaction rolled back by the pool's reset) leaves autocommit mode."""
    connection_record.info.pop(LEADS, None)
    connection_record.info.pop(AHEAD, None)
    begun = connection_record.info.pop(_BEGUN, False)
    if begun and dbapi_connection is not None and dbapi_connection.autocommit:
        if not _idle(dbapi_connection):
            dbapi_connection.rollback()
        dbapi_connection.autocommit = False
