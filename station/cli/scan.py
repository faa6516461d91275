"""``station scan STATION TEXT``: one scan, as a scanner would send it."""
from __future__ import annotations

import sys

import click

from station.scanning.service import ScanService

from .invocation import Context, pass_ctx


@click.command()
@click.argument("station")
@click.argument("text")
@click.option("--device", default="cli", show_default=True, help="Device name recorded in the scan log.")
@pass_ctx
def scan(ctx: Context, station: str, text: str, device: str) -> None:
    """Process one scan, as a scanner would send it; exit 1 when refused."""
    service = ScanService(ctx.config)
    with ctx.sessionmaker().begin() as session:
        result = service.process(session, station, text, device=device)
    if result.accepted:
        same = result.prompt.startswith(result.message)
        click.echo(result.prompt if same else f"{result.message}\n{result.prompt}")
    else:
        click.echo(f"Refused ({result.code}): {result.message}", err=True)
        click.echo(result.prompt)
        sys.exit(1)
