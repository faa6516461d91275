"""Migrated test databases: a SQLite file, or a PostgreSQL schema of its own in the ``test`` database.

PostgreSQL is taken from ``$TEST_POSTGRES_URL`` (default
``postgresql+psycopg://127.0.0.1/test``). Where it is unreachable the
PostgreSQL half is skipped, except under ``CI=true``, where that is a failure.
"""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import func, select, text

from station.domain.models import Base
from station.storage.db import make_engine, make_sessionmaker, migrate

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1/test")
BACKENDS = ["sqlite", "postgresql"]

#: For tests of PostgreSQL's own behaviour (row locks, deadlocks, serialization failures): conftest's
#: module database on PostgreSQL alone, instead of once on each backend.
POSTGRES_ONLY = pytest.mark.parametrize("database", ["postgresql"], indirect=True)


def pg_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        engine = make_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means "not here"
        return str(exc).splitlines()[0]


_PG_PROBLEM: list[str | None] = []


def require_pg() -> None:
    """Skip (fail under CI=true) when PostgreSQL is not reachable; asked once per test run."""
    if not _PG_PROBLEM:
        _PG_PROBLEM.append(pg_available())
    problem = _PG_PROBLEM[0]
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI and is not reachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")


class Database:
    """A migrated database for one test module: its URL, engine and session factory."""

    def __init__(self, backend: str, url: str, engine, cleanup):
        self.backend = backend
        self.url = url
        self.engine = engine
        self.Session = make_sessionmaker(engine)
        self._cleanup = cleanup

    def empty(self) -> None:
        """Every table emptied, then the site MAIN put back: what a new database holds (migration 0008)."""
        tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
        with self.engine.begin() as conn:
            if self.backend == "postgresql":
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for name in tables:
                    conn.execute(text(f"DELETE FROM {name}"))
            # As a new database has it (migration 0008): the site MAIN.
            conn.execute(text("INSERT INTO location (code, name, active, created_at) "
                              "VALUES ('MAIN', 'Main site', true, CURRENT_TIMESTAMP)"))
            conn.execute(text("UPDATE location SET site_id = id WHERE code = 'MAIN'"))

    def close(self) -> None:
        self.engine.dispose()
        self._cleanup()


def create_database(backend: str, tmp_dir) -> Database:
    """A fresh database on ``backend``, migrated with alembic exactly as ``station init`` does."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_dir}/station.db"
        engine = make_engine(url)
        migrate(engine)
        return Database(backend, url, engine, lambda: None)
    require_pg()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    migrate(engine)

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    return Database(backend, url, engine, drop)


def count(session, model) -> int:
    """How many rows ``model``'s table holds, as ``session`` sees it."""
    return session.scalar(select(func.count()).select_from(model))
