"""The ``station`` command line (click)."""
from __future__ import annotations

import logging
import sys

import click

from . import config as config_mod
from .db import make_engine, make_sessionmaker, migrate
from .errors import ConfigError, StationError


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
            self._engine = make_engine(self.config.database_url)
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


@click.group()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="TOML configuration (else $STATION_CONFIG, else ./station.toml, else defaults).")
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Barcode station: receive, sell and return serial-numbered goods by scanning."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.DEBUG if verbose else logging.WARNING)
    ctx.obj = Context(config_path)
    ctx.call_on_close(ctx.obj.close)


@cli.command()
@pass_ctx
def init(ctx: Context) -> None:
    """Create or migrate the database."""
    ctx.migrated_engine()
    click.echo(f"Database ready: {ctx.engine.url.render_as_string(hide_password=True)}")


@cli.command()
@click.argument("station")
@click.argument("text")
@click.option("--device", default="cli", show_default=True, help="Device name recorded in the scan log.")
@pass_ctx
def scan(ctx: Context, station: str, text: str, device: str) -> None:
    """Process one scan, as a scanner would send it; exit 1 when refused."""
    from .scanning.service import ScanService

    ctx.migrated_engine()
    service = ScanService(ctx.config)
    try:
        with ctx.sessionmaker().begin() as session:
            result = service.process(session, station, text, device=device)
    except StationError as exc:
        raise click.ClickException(getattr(exc, "message", str(exc))) from None
    if result.accepted:
        same = result.prompt.startswith(result.message)
        click.echo(result.prompt if same else f"{result.message}\n{result.prompt}")
    else:
        click.echo(f"Refused ({result.code}): {result.message}", err=True)
        click.echo(result.prompt)
        sys.exit(1)


@cli.command()
@pass_ctx
def check(ctx: Context) -> None:
    """Recompute stock from the movements; print every difference and exit 1 when there is one."""
    from .stock import check as run_check

    ctx.migrated_engine()
    with ctx.sessionmaker()() as session:
        diffs = run_check(session)
    for d in diffs:
        click.echo(str(d))
    if diffs:
        click.echo(f"{len(diffs)} difference(s) between stored stock and the movements.", err=True)
        sys.exit(1)
    click.echo("Stock agrees with the movements.")


def main() -> None:
    cli(prog_name="station")


# Subcommand groups live in station/commands/, one module each; importing registers them.
from .commands import _registry  # noqa: E402,F401
