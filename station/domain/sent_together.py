"""Two statements sent back to back, in one round trip where the engine can: PostgreSQL's pipelines.

Two statements, the second not waiting on the first's answer to be sent,
only on its being done (a scan's line on PostgreSQL, then its tally with its
serial read again as committed once the line is in, sent so below
SQLAlchemy's execution by station.domain.direct.both). Where the engine is
hooked for it
(station.storage.pipelined marks it with ``PIPELINES``) both go in one of
psycopg's pipelines, in order, in one round trip; elsewhere one after the
other. Either way both run: a caller whose second statement is undone by the
first's outcome (no row) takes it back itself.

The domain names the options and the storage layer acts on them (the
domain imports nothing above it).
"""
from __future__ import annotations

from sqlalchemy.engine import Connection, CursorResult

#: Engine execution option, set by station.storage.pipelined: ``SEND_FIRST`` is carried out.
PIPELINES = "station_pipelines"
#: Execution option: ``(statement, parameters, rows)``: send that statement first, in the same round trip, and
#: put its rows (tuples) in the list ``rows``.
SEND_FIRST = "station_send_first"


def both(conn: Connection, first, first_params: dict, then, then_params: dict) -> tuple[list, CursorResult]:
    """``first``'s rows (as tuples; none for a write that returns none) and ``then``'s result, ``first`` run first;
    in one round trip where it can."""
    if not conn.get_execution_options().get(PIPELINES):
        done = conn.execute(first, first_params)
        rows = [tuple(row) for row in done] if done.returns_rows else []
        return rows, conn.execute(then, then_params)
    rows: list = []
    return rows, conn.execute(then, then_params, execution_options={SEND_FIRST: (first, first_params, rows)})
