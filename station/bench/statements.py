"""Statements and round trips counted on an engine, for the bench's ``statements_per_scan`` (SPEC 6, issue 22).

Statements are SQLAlchemy's cursor executions (``before_cursor_execute``):
every SQL statement sent, SQLite's ``BEGIN IMMEDIATE`` among them (the
engine emits it), and those a scan sends on the driver's cursor below
SQLAlchemy's execution, which runs the same listeners around each
(station.domain.direct: two sent in one pipeline are two statements).
Round trips are what a statement costs over a network:
on PostgreSQL each statement is one, and so are the transaction's BEGIN
(psycopg 3 sends it before the first statement) and its COMMIT or ROLLBACK,
counted from the engine's transaction events, less those a pipeline saved
(station.storage.pipelined: a BEGIN sent with the first statement, a COMMIT
with the last write). SQLite has none (it runs in the process): its
``round_trips`` is None.
"""
from __future__ import annotations

import threading

from sqlalchemy import event
from sqlalchemy.engine import Engine

from station.storage.pipelined import SAVED


class Counter:
    """Counts on ``engine`` from ``start()`` to ``stop()``, from any number of threads."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.network = engine.dialect.name != "sqlite"
        self._lock = threading.Lock()
        self._counts = [0, 0, 0]  # statements; BEGIN, COMMIT and ROLLBACK; round trips saved by a pipeline
        self._mine = threading.local()  # the same, for each thread: what one station's scan cost (drive.py)
        self._hooks = [("before_cursor_execute", lambda *_: self._tick(0)), ("after_cursor_execute", self._saved)]
        if self.network:
            self._hooks += [(name, lambda *_: self._tick(1)) for name in ("begin", "commit", "rollback")]

    def _tick(self, which: int, by: int = 1) -> None:
        with self._lock:
            self._counts[which] += by
        self._this_thread()[which] += by  # the listeners run in the thread that sent the statement

    def _this_thread(self) -> list[int]:
        counts = getattr(self._mine, "counts", None)
        if counts is None:
            counts = self._mine.counts = [0, 0, 0]
        return counts

    def _saved(self, conn, cursor, statement, parameters, context, executemany) -> None:
        saved = getattr(context, SAVED, 0)
        if saved:
            self._tick(2, saved)

    def start(self) -> Counter:
        for name, fn in self._hooks:
            event.listen(self.engine, name, fn)
        return self

    def stop(self) -> None:
        for name, fn in self._hooks:
            event.remove(self.engine, name, fn)

    @property
    def statements(self) -> int:
        return self._counts[0]

    @property
    def round_trips(self) -> int | None:
        return self._counts[0] + self._counts[1] - self._counts[2] if self.network else None

    def snapshot(self) -> tuple[int, int | None]:
        return self.statements, self.round_trips

    def in_this_thread(self) -> tuple[int, int | None]:
        """Statements and round trips counted so far in the calling thread (None on SQLite), as ``snapshot``."""
        counts = self._this_thread()
        return counts[0], counts[0] + counts[1] - counts[2] if self.network else None


def per(total: int | None, scans: int) -> float | None:
    return None if total is None or not scans else round(total / scans, 2)
