"""The ``station`` command line (click): the root group, and every subcommand added to it by name.

This package is the one place that assembles the layers: the web app, the
daemon and the bench are put together here and nowhere else. Any
``StationError`` a command lets out (a bad configuration, a refused record)
is answered with its one sentence and exit code 1, never a traceback; so is
a database that cannot be reached or answers an error ("the database at
<url, its password as ***> cannot be reached: <the driver's first line>"), and a
file that cannot be read or written.
"""
from __future__ import annotations

import logging
import sys

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError

from station.domain.errors import StationError
from station.storage.db import normalise_url

from . import bench, database, devices, labels, locations, operators, outbox, printers, records, run, scan, token
from .invocation import Context


def _where(ctx: click.Context) -> str:
    """The configured database URL without its password, or "the database" when it is not known."""
    found = getattr(ctx.obj, "_config", None)
    if found is None:
        return "the database"
    try:
        url = make_url(normalise_url(found.database.url))
    except ArgumentError:
        return "the database"
    return f"the database at {url.render_as_string(hide_password=True)}"


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class StationGroup(click.Group):
    """The root group: what a subcommand lets out becomes one sentence on stderr and exit 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except StationError as exc:
            raise click.ClickException(exc.message) from None
        except (OperationalError, InterfaceError) as exc:
            raise click.ClickException(f"{_where(ctx)} cannot be reached: {_first_line(exc)}") from None
        except DBAPIError as exc:
            raise click.ClickException(f"{_where(ctx)} refused the work: {_first_line(exc)}") from None
        except OSError as exc:
            if exc.filename is None:
                raise
            raise click.ClickException(f"{exc.filename}: {exc.strerror}") from None


@click.group(cls=StationGroup)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="TOML configuration (else $STATION_CONFIG, else ./station.toml, else defaults).")
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Barcode station: receive, sell and return serial-numbered goods by scanning."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.DEBUG if verbose else logging.WARNING)
    # uvicorn's own lifecycle lines come as "uvicorn.error" INFO: only its warnings belong in the journal.
    logging.getLogger("uvicorn.error").setLevel(logging.DEBUG if verbose else logging.WARNING)
    ctx.obj = Context(config_path)
    ctx.call_on_close(ctx.obj.close)


COMMANDS: tuple[click.Command, ...] = (
    database.init,
    scan.scan,
    database.check,
    run.run,
    run.serve,
    devices.devices,
    devices.decode_evtest,
    records.import_group,
    records.export_group,
    records.demo,
    labels.labels,
    printers.printers,
    token.token,
    bench.bench,
    operators.operator,
    locations.location,
    outbox.outbox,
)
for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="station")
