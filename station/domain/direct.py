"""A scan's hottest statements sent on the DBAPI cursor of the session's connection, below SQLAlchemy's execution.

A serial's scan runs a handful of statements, each built once at import and
compiled once (SQLAlchemy finds it in its cache). Executing one through
SQLAlchemy still costs more than running it: the cache's lookup by the
statement's key, an execution context, its parameters constructed and
converted through dictionaries, a cursor result and its Row: 16-20 us a
statement on SQLite, where the statement itself runs in 5, and 50-70 on
PostgreSQL, against 20-45 raw (issue 22). Here each statement is compiled
once per dialect and set of parameter names, as ``Connection.execute`` would
compile it (``column_keys``: a DML statement's SET and VALUES depend on
them), and what is left of the execution is kept with it: its text, its
parameters in their order with their type's conversion and default, and its
result's columns with their conversion. Only statements that need nothing
more are accepted (``DirectError``): none whose columns take a Python-side
default or ``onupdate`` (a caller passes the value), none with an expanding
or literal-execute parameter.

What SQLAlchemy's execution does around the cursor is kept, as the rest of
the station relies on it: the connection's ``before_execute`` listeners run
first (station.storage.pipelined sends the writes it holds for the commit
before anything else is sent), and its ``before_cursor_execute`` and
``after_cursor_execute`` listeners around the cursor's execute (the bench
counts statements there: station.bench.statements, so a statement sent here
is counted as any other); an error of the driver is raised as SQLAlchemy
raises it (IntegrityError, OperationalError..., with a disconnect
invalidating the connection), through the connection's own handling. The
statement runs in the transaction the session's connection has begun (on
SQLite its BEGIN IMMEDIATE; on PostgreSQL psycopg's, or the one
station.storage.pipelined sent with an earlier statement): none is begun
here, and a connection not in a transaction is refused.

Rows come back as named tuples (their attributes the columns' names, as a
Row's), their values converted as SQLAlchemy converts them (an Enum's text
to its member, SQLite's text to a datetime...).
"""
from __future__ import annotations

import contextlib
from collections import namedtuple
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import Connection

#: Engine execution option, set by station.storage.pipelined on a PostgreSQL engine (psycopg's): statements may go
#: together in one of its pipelines (``send``, ``both``). The domain names the option and the storage layer sets it
#: (the domain imports nothing above it).
PIPELINES = "station_pipelines"
#: The connection's info: statements of the connection's own (SQL text without parameters: a savepoint's SAVEPOINT
#: and RELEASE), held by station.storage.pipelined to go before the next statement sent, in its pipeline. Each was
#: counted as it was held (a statement, its round trip saved).
LEADS = "station.leads"
#: The connection's info: writes (each a statement and its parameters) whose answers nobody reads, held by ``ahead``
#: to go first in the pipeline of the next statement sent here. Where SQLAlchemy executes a statement first, or the
#: transaction commits, station.storage.pipelined sends them (before it; with the COMMIT); a rollback drops them.
AHEAD = "station.ahead"
#: The attribute of an execution's context saying how many round trips its pipeline saved (the bench's count:
#: station.bench.statements).
SAVED = "station_round_trips_saved"
#: How many compiled forms are kept: a scan's few statements, each with the one set of parameter names its
#: caller passes (a caller passing its names in another order costs one more).
KEPT = 256


class DirectError(ValueError):
    """A statement that needs SQLAlchemy's execution (a Python-side default, an expanding parameter...)."""


class _Required:
    """A bind parameter with no value of its own: the caller must pass one."""

    __slots__ = ()


_REQUIRED = _Required()


class Prepared:
    """A statement compiled for one dialect and one set of parameter names, with what its execution needs."""

    __slots__ = ("sql", "positional", "binds", "fields", "row", "processors", "described", "_types", "_dialect")

    def __init__(self, statement, conn: Connection, keys: tuple[str, ...]):
        dialect = conn.dialect
        compiled = statement.compile(dialect=dialect, column_keys=sorted(keys))
        if (compiled.insert_prefetch or compiled.update_prefetch or compiled.literal_execute_params
                or compiled.post_compile_params or compiled.schema_translate_map):
            raise DirectError(f"not sent directly (defaults or expanding parameters): {compiled.string[:120]}")
        if any(bind.callable for bind in compiled.bind_names):
            raise DirectError(f"not sent directly (a callable parameter): {compiled.string[:120]}")
        defaults = compiled.construct_params(_check=False, escape_names=False)
        processors = compiled._bind_processors
        escaped = compiled.escaped_bind_names
        by_name = {}
        for bind, name in compiled.bind_names.items():
            by_name[name] = (bind.key, name, escaped.get(name, name), processors.get(name),
                             _REQUIRED if bind.required else defaults[name])
        self.sql = compiled.string
        self.positional = compiled.positional
        order = compiled.positiontup if compiled.positional else list(by_name)
        self.binds = tuple(by_name[name] for name in order)
        self.fields = tuple(column.keyname for column in compiled._result_columns)
        self.row = namedtuple("Row", self.fields) if self.fields else None  # noqa: PYI024 (names known at run time)
        #: The result's conversions, worked out from its first description (a driver's type codes: SQLAlchemy's own
        #: conversion may depend on them), None when no column needs one.
        self.processors: tuple | None = None
        self.described = False
        self._types = tuple(column.type for column in compiled._result_columns)
        self._dialect = dialect

    def parameters(self, params: dict[str, Any]):
        """``params`` as the driver takes them: in the statement's order (SQLite's ``?``) or by name (psycopg's),
        each converted by its type, a parameter not given taking the statement's own value."""
        values = []
        for key, name, _escaped, processor, default in self.binds:
            value = params[key] if key in params else params.get(name, default)
            if value is _REQUIRED:
                from sqlalchemy.exc import InvalidRequestError

                raise InvalidRequestError(f"A value is required for bind parameter {key!r}", code="cd3x")
            values.append(processor(value) if processor is not None else value)
        if self.positional:
            return values
        return {bind[2]: value for bind, value in zip(self.binds, values, strict=True)}

    def rows(self, cursor) -> list:
        """The cursor's rows, converted, as named tuples (none: no result)."""
        if self.row is None or cursor.description is None:
            return []
        if not self.described:
            self._describe(cursor.description)
        fetched = cursor.fetchall()
        make, processors = self.row._make, self.processors
        if processors is None:
            return [make(row) for row in fetched]
        return [make([value if p is None else p(value) for p, value in zip(processors, row, strict=True)])
                for row in fetched]

    def _describe(self, description) -> None:
        processors = tuple(type_._cached_result_processor(self._dialect, column[1])
                           for type_, column in zip(self._types, description, strict=True))
        self.processors = processors if any(p is not None for p in processors) else None
        self.described = True


_kept: dict[tuple, Prepared] = {}


def prepared(conn: Connection, statement, params: dict[str, Any]) -> Prepared:
    """``statement`` as compiled for ``conn``'s dialect and ``params``'s names (compiled the first time)."""
    key = (statement, conn.dialect, tuple(params))
    found = _kept.get(key)
    if found is None:
        if len(_kept) >= KEPT:
            _kept.clear()
        found = _kept[key] = Prepared(statement, conn, key[2])
    return found


class _Context:
    """What the ``*_cursor_execute`` listeners are given for a statement sent here (an execution context's few
    attributes this project's listeners read: station.bench.statements reads SAVED)."""

    __slots__ = (SAVED, "executemany")

    def __init__(self, saved: int = 0):
        setattr(self, SAVED, saved)
        self.executemany = False


class Sending:
    """Around a statement sent on ``cursor``: the connection's ``before_cursor_execute`` listeners before it, its
    ``after_cursor_execute`` listeners after it, as SQLAlchemy runs them (``saved``: the round trips its pipeline
    saved, for the bench's count), and a driver's error raised as SQLAlchemy raises it. The cursor is closed after.
    ``events``: whether the connection has listeners (``before``'s answer)."""

    __slots__ = ("conn", "cursor", "sql", "parameters", "context")

    def __init__(self, conn: Connection, cursor, sql: str, parameters, events: bool, saved: int = 0):
        self.conn, self.cursor, self.sql, self.parameters = conn, cursor, sql, parameters
        self.context = _Context(saved) if events else None

    def __enter__(self):
        if self.context is not None:
            conn = self.conn
            for fn in conn.dispatch.before_cursor_execute:
                fn(conn, self.cursor, self.sql, self.parameters, self.context, False)
        return self.cursor

    def __exit__(self, kind, error, traceback) -> None:
        conn = self.conn
        if error is None:
            try:
                if self.context is not None:
                    for fn in conn.dispatch.after_cursor_execute:
                        fn(conn, self.cursor, self.sql, self.parameters, self.context, False)
            finally:
                self.cursor.close()
            return
        with contextlib.suppress(conn.dialect.loaded_dbapi.Error):  # (a connection the error closed)
            self.cursor.close()
        if isinstance(error, conn.dialect.loaded_dbapi.Error) or not isinstance(error, Exception):
            # A driver's error wrapped (a disconnect invalidates the connection); an interruption (Ctrl-C, a
            # cancelled task) leaves the connection in an unknown state: invalidated, and raised as it is.
            conn._handle_dbapi_exception(error, self.sql, self.parameters, None, None)


def listened(conn: Connection) -> bool:
    """Whether the connection (or its engine) has listeners: SQLAlchemy asks it before running any."""
    return conn._has_events or conn.engine._has_events


def before(conn: Connection, statement, params: dict) -> bool:
    """The connection's ``before_execute`` listeners, as SQLAlchemy runs them (station.storage.pipelined sends the
    writes it holds first); whether the connection has listeners at all."""
    if not listened(conn):
        return False
    options = conn.get_execution_options()
    for fn in conn.dispatch.before_execute:
        fn(conn, statement, [], params, options)
    return True


def driver(conn: Connection):
    """The driver's connection under ``conn``, which must be in a transaction (none is begun here)."""
    if not conn.in_transaction():
        raise DirectError("a statement is sent directly only in a transaction the connection has begun")
    return conn.connection.driver_connection


def send(conn: Connection, statements: Sequence[tuple[Any, dict[str, Any]]], *,
         lead: str | Callable[[Any], str | None] | None = None, tail: str | None = None, raw=None) -> list[list]:
    """Each of ``statements`` (a statement and its parameters) run in order on the driver's cursor, and their rows
    (named tuples), in ``conn``'s transaction: the one sending sequence of this module and its callers.

    More than one, or with ``lead`` (a statement of the connection's own sent before them: the transaction's
    BEGIN), with statements held for the next one (``LEADS``, and the writes held ``ahead`` of it, first), or with
    ``tail`` (one sent after them: its COMMIT), they go in one of psycopg's pipelines, in one round trip;
    only where the engine pipelines (``PIPELINES``). Each is counted as a statement, the round trips the pipeline
    saved on the statement they went with. The connection's ``before_execute`` listeners run first, for each (they
    may send what station.storage.pipelined holds); ``lead`` may be a function of the driver's connection, asked
    after them, answering the statement to lead with or None. An error of any is raised as SQLAlchemy raises it.
    ``raw``: the driver's connection, for a caller that has it (a commit's, whose transaction SQLAlchemy is
    ending); else ``conn`` must be in a transaction."""
    writes = conn.info.pop(AHEAD, None)  # taken before the listeners run: they would send them on their own
    if writes:
        statements = [*writes, *statements]
    events = False
    for statement, params in statements:
        events = before(conn, statement, params) or events
    raw = driver(conn) if raw is None else raw
    if callable(lead):
        lead = lead(raw)
    held = conn.info.pop(LEADS, None)
    sent = [(prepared(conn, statement, params), params) for statement, params in statements]
    alone = len(sent) == 1 and lead is None and tail is None and not held
    if alone:  # (a scan's most frequent case: one statement, no pipeline)
        one, params = sent[0]
        parameters = one.parameters(params)
        with Sending(conn, raw.cursor(), one.sql, parameters, events) as cursor:
            cursor.execute(one.sql, parameters)
            return [] if writes else [one.rows(cursor)]
    if not conn.get_execution_options().get(PIPELINES):
        raise DirectError("statements are sent together only where the engine pipelines (PIPELINES)")
    with contextlib.ExitStack() as stack:
        cursors = []
        for index, (one, params) in enumerate(sent):
            parameters = one.parameters(params)
            cursor = stack.enter_context(Sending(conn, raw.cursor(), one.sql, parameters, events,
                                                 saved=_saved(index, lead, tail)))
            cursors.append((cursor, one.sql, parameters))
        with raw.pipeline():
            if lead is not None:
                raw.execute(lead)
            for text in held or ():
                raw.execute(text)
            for cursor, text, parameters in cursors:
                cursor.execute(text, parameters)
            if tail is not None:
                raw.execute(tail)
        rows = [one.rows(cursor) for (one, _), (cursor, _, _) in zip(sent, cursors, strict=True)]
    return rows[len(writes):] if writes else rows


def ahead(conn: Connection, statements: Sequence[tuple[Any, dict[str, Any]]]) -> None:
    """Send ``statements`` (writes whose rows nobody reads: a posting's close and its event) in front of the next
    statement sent here, in its pipeline, where the engine pipelines (``PIPELINES``): the round trip they would
    cost on their own is saved. Elsewhere (SQLite) they are sent now. Held (``AHEAD``), they are still sent before
    anything else the transaction sends (station.storage.pipelined: a statement SQLAlchemy executes, the COMMIT),
    so nothing reads past them; an error of any is raised by whatever sends them, and fails the transaction."""
    if not conn.get_execution_options().get(PIPELINES):
        send(conn, statements)
        return
    driver(conn)  # in a transaction: they are written in it
    conn.info.setdefault(AHEAD, []).extend(statements)


def _saved(index: int, lead: str | None, tail: str | None) -> int:
    """The round trips a pipeline saved, counted on the statement at ``index``: its own, but for the first, which
    carries the lead's and the tail's."""
    return 1 if index else int(lead is not None) + int(tail is not None)


def run(conn: Connection, statement, params: dict[str, Any]) -> list:
    """Run ``statement`` with ``params`` on ``conn``'s cursor, in its transaction: its rows (named tuples)."""
    return send(conn, ((statement, params),))[0]


def first(conn: Connection, statement, params: dict[str, Any]):
    """``run``'s first row, or None."""
    rows = run(conn, statement, params)
    return rows[0] if rows else None


def both(conn: Connection, first_statement, first_params: dict[str, Any], then, then_params: dict[str, Any]):
    """Both statements' rows, ``first_statement`` run first; in one round trip where the engine pipelines
    (``PIPELINES``: psycopg's pipeline mode), else one after the other. Either way both run: a caller whose second
    statement is undone by the first's outcome (no row) takes it back itself. Counted as two statements and,
    pipelined, one round trip saved; an error of either is raised as the pair's.

    The second is sent without waiting on the first's answer, only on its being done (a line on PostgreSQL, then
    its tally with its serial read again as committed once the line is in: documents.add_line; a posting's
    movements, then the serials' UPDATE, which changes what they read; a posting's close, which takes the event
    feed's lock, then its event: events.record)."""
    if not conn.get_execution_options().get(PIPELINES):
        return run(conn, first_statement, first_params), run(conn, then, then_params)
    one, two = send(conn, ((first_statement, first_params), (then, then_params)))
    return one, two


def sql(conn: Connection, text: str) -> None:
    """A statement of the connection's own, without parameters or result (SQLite's BEGIN IMMEDIATE, sent as the
    connection begins: not yet in the transaction), counted as any other."""
    raw = conn.connection.driver_connection
    with Sending(conn, raw.cursor(), text, (), listened(conn)) as cursor:
        cursor.execute(text)
