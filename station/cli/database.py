"""``station init`` and ``station check``: the database's schema, and its stock proved from the movements."""
from __future__ import annotations

import sys

import click

from station.domain.stock import check as run_check
from station.domain.wording import plural

from .invocation import Context, pass_ctx


@click.command()
@pass_ctx
def init(ctx: Context) -> None:
    """Create or migrate the database."""
    engine = ctx.create_database()
    click.echo(f"Database ready: {engine.url.render_as_string(hide_password=True)}")


@click.command()
@pass_ctx
def check(ctx: Context) -> None:
    """Recompute stock from the movements; print every difference and exit 1 when there is one."""
    with ctx.sessionmaker()() as session:
        diffs = run_check(session)
    for d in diffs:
        click.echo(str(d))
    if diffs:
        click.echo(f"{plural(len(diffs), 'difference')} between stored stock and the movements.", err=True)
        sys.exit(1)
    click.echo("Stock agrees with the movements.")
