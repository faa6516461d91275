"""Engines, sessions and migrations for SQLite and PostgreSQL."""
from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from station.domain import direct

from . import checkpoints, pipelined

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
#: Execution option of an engine whose SQLite transactions only read (``read_only``).
READ_ONLY = "station_read_only"
#: psycopg's prepare_threshold on PostgreSQL: how many times a statement runs on a connection before it is prepared.
PREPARE_THRESHOLD = 0


def normalise_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs (SQLAlchemy's default is psycopg2)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _pooled(url: str) -> bool:
    """Whether SQLAlchemy gives this SQLite URL a pool of connections (a file; an in-memory database has one)."""
    parsed = make_url(url)
    return bool(parsed.database) and parsed.database != ":memory:" and parsed.query.get("mode") != "memory"


def make_engine(url: str, **kwargs) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        if _pooled(url):
            # The connection last given back is the next one taken: a SQLite connection throws its page cache
            # away whenever another connection wrote since its last transaction, so connections taken in turn
            # (a pool's default) read every page afresh on each scan, one taken again keeps its cache warm.
            kwargs.setdefault("pool_use_lifo", True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        path = sqlite_file(url)
        if path is not None:  # a file: its WAL checkpointed off the commits (checkpoints.py)
            checkpoints.attach(engine, path, READ_ONLY)

        # pysqlite's own transaction handling defers BEGIN; take the write lock
        # at the start instead, so two writers queue rather than deadlock.
        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_conn, _record):
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn):
            # A reader (``read_only(engine)``) begins deferred: in WAL mode it then never waits for a writer.
            # On the driver's cursor (station.domain.direct: counted as SQLAlchemy's own, a third of the cost).
            direct.sql(conn, "BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

        return engine
    # No ping on every checkout (a round trip each time): a connection the server closed fails its first
    # statement, SQLAlchemy then drops every pooled connection of before, and run_in_transaction runs
    # the unit of work again on a new one.
    # No JIT: a station's statements are short, and the few whose estimates run high (a count's progress probes
    # each expected serial, counting.py) spent 30-40 ms compiling what ran in 15.
    # (Added to the URL's own options, such as a search_path, which connect_args would replace.)
    given = make_url(url).query.get("options", "")
    given = " ".join(given) if isinstance(given, tuple) else given
    kwargs.setdefault("connect_args", {}).setdefault("options", f"{given} -c jit=off".strip())
    # Every statement prepared on its first execution (psycopg's default: on its sixth). Prepared, the server
    # parses it once, and stops planning it once it has taken a generic plan (after five custom ones); unprepared,
    # it is parsed and planned on every execution. A posting's statements, sent once a document, were so parsed
    # and planned afresh for the first ten documents of every connection (issue 22). The price: a statement run
    # once is kept too, among the 100 psycopg keeps a connection (the oldest deallocated).
    kwargs["connect_args"].setdefault("prepare_threshold", PREPARE_THRESHOLD)
    # A result's description made only when read (SQLAlchemy reads it once per compiled statement), and the longest
    # statements' placeholders rewritten once (cursors.py): about 0.3 ms of a scan's CPU.
    from .cursors import LazyCursor

    kwargs["connect_args"].setdefault("cursor_factory", LazyCursor)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    pipelined.hook(engine)  # a scan's BEGIN and COMMIT ride on its statements (pipelined.py)
    return engine


def read_only(engine: Engine) -> Engine:
    """The same engine and pool for work that only reads (pages, the screens' state, a webhook's render): on
    SQLite its transactions begin deferred and take no write lock, so a read never holds a scan up, nor waits
    for one; elsewhere it changes nothing. Writing through it is a bug."""
    return engine.execution_options(**{READ_ONLY: True})


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine):
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration."""
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


def head_revision() -> str:
    """The newest migration this code knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def known_revision(revision: str) -> bool:
    """Whether ``revision`` is one of this code's migrations (not one of a newer station's)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        return ScriptDirectory(str(MIGRATIONS)).get_revision(revision) is not None
    except CommandError:
        return False


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names (relative to the working directory, as SQLite opens it); None for an
    in-memory database or another backend."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    if parsed.database.startswith("file:"):  # a URI filename: SQLite resolves it, not us
        return None
    return Path(parsed.database).resolve()


def current_revision(engine: Engine) -> str | None:
    """The migration the database's station tables are at; None when it holds none (never set up).

    A SQLite file is read through a read-only connection of its own: looking creates nothing and changes
    nothing (the engine's connections would switch a stranger's file to WAL). A missing SQLite file raises
    FileNotFoundError; one that is not a database, sqlite3.DatabaseError.
    """
    path = sqlite_file(str(engine.url))
    if path is not None:
        if not path.is_file():
            raise FileNotFoundError(2, "no such file", str(path))
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
                                ).fetchone():
                return None
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            conn.close()
        return row[0] if row else None
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
