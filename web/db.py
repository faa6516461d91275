"""The station's engine and sessions inside the web app, the request's one transaction, and the app's change feed.

``create_app`` keeps a :class:`StationApp` in ``app.extensions["station"]``;
views reach it through :func:`station_app` and open their transaction with
:func:`transaction` (SQLAlchemy's session_basics "better" example): the block
commits when it ends and rolls everything back when anything is raised, so a
refused request leaves nothing half-written. :func:`change_feed` is the app's
one feed of station changes (station.live.changes), made on first use.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask, current_app, request
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from station.config import Config
from station.live.changes import ChangeFeed
from station.live.status import Live

EXTENSION = "station"
FEED = "station.events"


@dataclass(frozen=True)
class StationApp:
    """What one app instance works on: its configuration, engine and session factory."""

    config: Config
    engine: Engine
    Session: sessionmaker[Session]
    # The daemon's in-process status (held scans, devices) under ``station run``; None otherwise.
    live: Live | None = None
    # Sessions that only read (GET and HEAD requests, the live events' fetches): see storage.db.reading.
    ReadSession: sessionmaker[Session] | None = None

    @property
    def readers(self) -> sessionmaker[Session]:
        return self.ReadSession or self.Session


def station_app() -> StationApp:
    return current_app.extensions[EXTENSION]


def change_feed(app: Flask) -> ChangeFeed:
    """The app's one ChangeFeed, made on first use from its engine, its reading sessions and the daemon's status."""
    found = app.extensions.get(FEED)
    if found is None:
        state: StationApp = app.extensions[EXTENSION]
        found = app.extensions.setdefault(FEED, ChangeFeed(state.engine, state.readers, state.live))
    return found


@contextmanager
def transaction() -> Iterator[Session]:
    """The request's transaction: committed at the end of the block, rolled back on any exception.

    A GET or HEAD request changes nothing (web.security keeps it so), so it reads in a deferred transaction.
    """
    app_state = station_app()
    factory = app_state.readers if request.method in ("GET", "HEAD") else app_state.Session
    with factory.begin() as session:
        yield session
