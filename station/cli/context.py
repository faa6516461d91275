"""What every subcommand gets: the configuration, read once, and an engine made on first use."""
from __future__ import annotations

import click

from station import config as config_mod
from station.domain.errors import ConfigError
from station.storage.db import make_engine, make_sessionmaker, migrate


class Context:
    """What every subcommand needs: the configuration, and an engine made on first use."""

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
        if self._engine is None:
            self._engine = make_engine(self.config.database.url)
        return self._engine

    def migrated_engine(self):
        migrate(self.engine)
        return self.engine

    def sessionmaker(self):
        return make_sessionmaker(self.engine)

    def close(self) -> None:
        """Close the engine's pooled connections when the command ends."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


pass_ctx = click.make_pass_decorator(Context)
