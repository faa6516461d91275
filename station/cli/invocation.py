"""What every subcommand gets: the configuration, read once, and the station's database, opened on first use;
and how a list is printed (``echo_lines``).

Only ``init`` and ``demo`` (and ``run`` and ``serve``, with engines of their
own) may create a database. Every other command works on the station's
existing one: a SQLite file that is not there, or a database without the
station's tables, is refused in one sentence that names where it looked and
how to point at the right configuration, so a command run in another folder
never answers "1 created" into a new, empty ``./station.db`` there. A
database at an older migration is brought up to date first, as ``station
init`` would (what every command did before); one at a migration this code
does not know (a newer station's) is refused.
"""
from __future__ import annotations

import os
import sqlite3

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError

from station import config as config_mod
from station.domain.errors import ConfigError
from station.storage.db import (
    current_revision,
    head_revision,
    known_revision,
    make_engine,
    make_sessionmaker,
    migrate,
    normalise_url,
    sqlite_file,
)

POINTER = ("point at the station's configuration with --config FILE or STATION_CONFIG, "
           "or at its database with STATION_DATABASE_URL")


class NoStationDatabase(click.ClickException):
    """The command needs the station's database and did not find it where the configuration says."""


class Context:
    """What every subcommand needs: the configuration, and the station's database opened on first use."""

    def __init__(self, config_path: str | None):
        self.config_path = config_path
        self._config = None
        self._engine = None

    @property
    def config(self) -> config_mod.Config:
        if self._config is None:
            try:
                self._config = config_mod.load(self.config_path)
            except ConfigError as exc:
                raise click.ClickException(str(exc)) from None
        return self._config

    @property
    def engine(self):
        """The station's existing database, at the newest migration; NoStationDatabase when there is none."""
        if self._engine is None:
            engine = make_engine(self.config.database.url)
            try:
                self._bring_up_to_date(engine)
            except BaseException:
                engine.dispose()
                raise
            self._engine = engine
        return self._engine

    def create_database(self):
        """The configured database, created or migrated (``init`` and ``demo`` only)."""
        if self._engine is None:
            self._engine = make_engine(self.config.database.url)
        migrate(self._engine)
        return self._engine

    def sessionmaker(self):
        return make_sessionmaker(self.engine)

    def close(self) -> None:
        """Close the engine's pooled connections when the command ends."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _bring_up_to_date(self, engine) -> None:
        where = self._where()
        try:
            revision = current_revision(engine)
        except FileNotFoundError as exc:
            raise NoStationDatabase(f"there is no station database at {exc.filename} ({self._whence()}): "
                                    f"{POINTER}, or create one there with station init.") from None
        except sqlite3.DatabaseError as exc:
            raise NoStationDatabase(f"{where} cannot be read as a station database ({exc}; {self._whence()}): "
                                    f"{POINTER}.") from None
        except (OperationalError, InterfaceError) as exc:
            first = str(exc.orig or exc).strip().splitlines()[0]
            raise NoStationDatabase(f"{where} cannot be reached ({first}; {self._whence()}): check that its "
                                    f"server is up, or {POINTER}.") from None
        if revision is None:
            raise NoStationDatabase(f"{where} has no station tables ({self._whence()}): {POINTER}, "
                                    "or set it up with station init.")
        if not known_revision(revision):
            raise NoStationDatabase(f"{where} is at migration {revision}, which this version of the station does "
                                    "not know (a newer one set it up): run this command with that version.")
        head = head_revision()
        if revision != head:
            migrate(engine)
            click.echo(f"The database was at migration {revision}; migrated it to {head}, as station init would.",
                       err=True)

    def _where(self) -> str:
        """The database as a sentence names it: its file, or its URL without the password."""
        url = self.config.database.url
        path = sqlite_file(url)
        if path is not None:
            return f"the database at {path}"
        return f"the database at {make_url(normalise_url(url)).render_as_string(hide_password=True)}"

    def _whence(self) -> str:
        """Where the database's URL came from: $STATION_DATABASE_URL, a configuration file, or the default."""
        if os.environ.get("STATION_DATABASE_URL"):
            return "named by STATION_DATABASE_URL"
        if self.config.source is not None:
            return f"named by {self.config.source.resolve()}"
        return "the default, as there is no --config, STATION_CONFIG or ./station.toml here"


pass_ctx = click.make_pass_decorator(Context)


def echo_lines(lines: list[str], none: str) -> None:
    """A listing: each line on stdout; when there are none, ``none`` (what to do about it) on stderr."""
    for line in lines:
        click.echo(line)
    if not lines:
        click.echo(none, err=True)
