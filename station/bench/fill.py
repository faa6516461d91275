"""Writing a bench fill into a fresh database, fast: PostgreSQL ``COPY``, SQLite ``executemany``.

PostgreSQL is filled with ``COPY`` (psycopg's ``cursor.copy``), SQLite with
``executemany`` in large transactions; the rows come from ``rows.Rows`` chunk
by chunk, so a million serials never sit in memory at once. Then the
planner's statistics are refreshed, as they would be on a database that
grew over years.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Engine

from .rows import COLUMNS, ORDER, Rows, Shape

__all__ = ["Shape", "fill", "analyse", "settle"]


def fill(engine: Engine, shape: Shape, *, progress: Callable[[int], None] | None = None,
         boxes_per_chunk: int = 400) -> dict[str, int]:
    """Fill a freshly migrated, empty database; ``progress(n)`` is told of every n serials written."""
    with engine.connect() as conn:  # the site every unit in stock is at (migration 0008 made it)
        main = conn.execute(text("SELECT id FROM location WHERE code = 'MAIN'")).scalar_one()
    rows = Rows(shape, main=main)
    writer = _copy_writer if engine.dialect.name == "postgresql" else _sqlite_writer
    counts = writer(engine, rows, progress or (lambda n: None), boxes_per_chunk)
    analyse(engine)
    settle(engine)
    return counts


def _in_chunks(rows: Rows, boxes_per_chunk: int, write, begin, commit, progress) -> dict[str, int]:
    """Every row written by ``write(table, rows)``: the reference data in one transaction, then each chunk of
    ``boxes_per_chunk`` boxes in its own (``begin`` and ``commit`` around it), its tables in ORDER; the rows
    written per table."""
    counts = {t: 0 for t in ORDER}

    def write_counted(table: str, data: list[tuple]) -> None:
        if data:
            write(table, data)
            counts[table] += len(data)

    begin()
    for table, data in rows.reference_data().items():
        write_counted(table, data)
    commit()
    for chunk in rows.chunks(boxes_per_chunk):
        begin()
        for table in ORDER:
            if table in chunk:
                write_counted(table, chunk[table])
        commit()
        progress(len(chunk["serial_number"]))
    return counts


_TALLY_TRIGGER = "document_line_tallied"


def _sqlite_writer(engine: Engine, rows: Rows, progress, boxes_per_chunk: int) -> dict[str, int]:
    with closing(engine.raw_connection()) as raw:
        dbapi = raw.driver_connection
        cur = dbapi.cursor()
        # A fill is redone from nothing if it fails: it need not be durable row by row.
        cur.execute("PRAGMA synchronous=OFF")
        cur.execute("PRAGMA cache_size=-65536")
        # The filled documents are posted: their tallies are never read, so the serial lines' tally trigger
        # (migration 0014) is left out of the fill, as PostgreSQL's fill leaves out its triggers (replica role),
        # and made again as it was after it (at 1,000,000 serials it made the fill 111 s, was 71 s).
        tally_trigger = cur.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                                    (_TALLY_TRIGGER,)).fetchone()
        if tally_trigger is not None:
            cur.execute(f"DROP TRIGGER {_TALLY_TRIGGER}")

        def write(table: str, data: list[tuple]) -> None:
            cols = COLUMNS[table]
            sql = f"INSERT INTO {table} ({', '.join(_q(c) for c in cols)}) VALUES ({', '.join('?' * len(cols))})"
            cur.executemany(sql, [tuple(_sqlite_value(v) for v in row) for row in data]
                            if table not in _FAST_SQLITE else _sqlite_rows(table, data))

        try:
            counts = _in_chunks(rows, boxes_per_chunk, write, lambda: cur.execute("BEGIN IMMEDIATE"),
                                lambda: cur.execute("COMMIT"), progress)
        finally:
            if dbapi.in_transaction:
                dbapi.rollback()
            if tally_trigger is not None:
                cur.execute(tally_trigger[0])
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA cache_size=-2000")
        cur.close()
    return counts


def _q(column: str) -> str:
    return '"user"' if column == "user" else column


def _sqlite_value(v):
    # SQLAlchemy stores DateTime on SQLite as this text, and booleans as 0/1.
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, bool):
        return int(v)
    return v


# The big tables: convert only the columns that need it (datetime and bool), by position.
_FAST_SQLITE = {"movement": ((1,), ()), "document_line": ((9,), (8,)), "serial_number": ((6,), (5,))}


def _sqlite_rows(table: str, data: list[tuple]) -> Iterator[tuple]:
    times, bools = _FAST_SQLITE[table]
    cache: dict[datetime, str] = {}
    for row in data:
        row = list(row)
        for n in times:
            t = row[n]
            s = cache.get(t)
            if s is None:
                s = cache[t] = t.strftime("%Y-%m-%d %H:%M:%S.%f")
            row[n] = s
        for n in bools:
            row[n] = int(row[n])
        yield tuple(row)


def _copy_writer(engine: Engine, rows: Rows, progress, boxes_per_chunk: int) -> dict[str, int]:
    with closing(engine.raw_connection()) as raw:
        conn = raw.driver_connection
        with conn.cursor() as cur:
            try:
                # The rows are consistent by construction; skipping the foreign-key triggers
                # makes COPY several times faster. Needs a superuser: else the triggers run.
                cur.execute("SET session_replication_role = replica")
            except Exception:
                conn.rollback()

            def write(table: str, data: list[tuple]) -> None:
                cols = ", ".join(_q(c) for c in COLUMNS[table])
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in data:
                        copy.write_row(row)

            # psycopg begins a transaction at the first statement: nothing to begin.
            counts = _in_chunks(rows, boxes_per_chunk, write, lambda: None, conn.commit, progress)
            for table in ORDER:
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
            cur.execute("RESET session_replication_role")
            conn.commit()
    return counts


def analyse(engine: Engine) -> None:
    """Fresh planner statistics (and, on PostgreSQL, the visibility map for index-only scans)."""
    with closing(engine.raw_connection()) as raw:
        conn = raw.driver_connection
        if engine.dialect.name == "postgresql":
            conn.commit()
            conn.autocommit = True
            try:
                with conn.cursor() as cur:
                    for table in ORDER:
                        cur.execute(f"VACUUM ANALYZE {table}")
            finally:
                conn.autocommit = False
        else:
            cur = conn.cursor()
            cur.execute("PRAGMA analysis_limit=1000")
            cur.execute("ANALYZE")
            cur.close()


def settle(engine: Engine) -> None:
    """The fill on the disk before anything is measured, as a station's years of scans are.

    The fill writes without syncing (SQLite ``synchronous=OFF``; PostgreSQL's
    checkpoints come when they come), so a gigabyte of it could still be in
    the kernel's dirty pages, or PostgreSQL's, when the scans began: the first
    sync of the database file then wrote all of it back, and at 1,000,000
    serials a scan waited 2.7-2.9 s on it (its fdatasync of the WAL queued
    behind the database file's, on the same disk). A station never holds a
    gigabyte of unsynced writes, so here SQLite's WAL is checkpointed into the
    database file and the file synced; PostgreSQL is asked for a CHECKPOINT.
    """
    if engine.dialect.name == "postgresql":
        with closing(engine.raw_connection()) as raw:
            conn = raw.driver_connection
            conn.commit()
            conn.autocommit = True
            try:
                with conn.cursor() as cur:
                    cur.execute("CHECKPOINT")  # a superuser's or pg_checkpoint's: else the server's own come
            except Exception:
                pass
            finally:
                conn.autocommit = False
        return
    with closing(engine.raw_connection()) as raw:
        cur = raw.driver_connection.cursor()
        cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cur.close()
    if engine.url.database and engine.url.database != ":memory:":
        fd = os.open(engine.url.database, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
