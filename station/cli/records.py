"""``station import``, ``station export`` and ``station demo``: records in and out in bulk."""
from __future__ import annotations

import functools
import io
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import click

from station.domain.errors import StationError
from station.domain.wording import plural

from .invocation import Context, pass_ctx


def _progress_bar(label: str):
    """A click progress bar fed by (done, total) callbacks."""
    state: dict = {}

    def update(done: int, total: int) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = click.progressbar(length=total, label=label, file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)

    return update


@click.group(name="import")
def import_group() -> None:
    """Import records from CSV files (all of a file, or nothing)."""


def _text(file, encoding: str | None) -> str:
    """The file's text: UTF-8 (with or without a BOM), UTF-16 with a BOM, or Windows-1252 (Excel's plain CSV)."""
    from station.interchange.imports import ENCODINGS, decode_csv

    try:
        text, used = decode_csv(file.read(), encoding)
    except StationError as exc:
        raise click.ClickException(f"{file.name}: {exc} (nothing was imported)") from None
    if encoding is None and used != "utf-8-sig":
        click.echo(f"{file.name}: not UTF-8; read as {ENCODINGS.get(used, used)} (--encoding to say otherwise)",
                   err=True)
    return text


def _run_import(ctx: Context, label: str, fn) -> None:
    try:
        with ctx.sessionmaker().begin() as session:
            result = fn(session, _progress_bar(label))
    except StationError as exc:
        raise click.ClickException(f"{exc} (nothing was imported)") from None
    click.echo(str(result))


FILE = click.argument("file", type=click.File("rb"))
ENCODING = click.option("--encoding", default=None, metavar="NAME",
                        help="The file's encoding (utf-8, cp1252, latin-1...); by default UTF-8, UTF-16 with a BOM, "
                             "or Windows-1252 when the bytes are not UTF-8.")


def import_command(name: str, label: str):
    """``station import NAME FILE [--encoding]``: the decorated ``read(ctx, session, text, progress)`` imports the
    file's text in one transaction (all of it, or nothing), under a progress bar saying ``label``; its docstring
    is the command's help."""

    def decorate(read):
        @import_group.command(name)
        @FILE
        @ENCODING
        @pass_ctx
        @functools.wraps(read)
        def command(ctx: Context, file, encoding: str | None) -> None:
            text = _text(file, encoding)
            _run_import(ctx, label, lambda session, progress: read(ctx, session, text, progress))

        return command

    return decorate


@import_command("products", "Importing products")
def import_products(ctx: Context, session, text: str, progress):
    """FILE.csv: code,name,serial_required_for_purchase,serial_required_for_sales,warranty_months,barcodes.

    Barcodes are separated by |; warranty_months is 0-600 (empty: 0).
    """
    from station.interchange.imports import import_products as run

    return run(session, io.StringIO(text), progress=progress, pattern=ctx.config.scanning.document_re)


@import_command("purchase-orders", "Importing purchase orders")
def import_orders(ctx: Context, session, text: str, progress):
    """FILE.csv: reference,supplier,product,quantity (rows with one reference form one order)."""
    from station.interchange.imports import import_purchase_orders as run

    return run(session, io.StringIO(text), progress=progress, pattern=ctx.config.scanning.document_re)


@import_command("asn", "Importing serial lists")
def import_asn(ctx: Context, session, text: str, progress):
    """FILE.csv: reference,product,serial — the serials a supplier ships against a purchase order."""
    from station.domain.asn import import_asn as run

    return run(session, text, progress=progress)


@click.group(name="export")
def export_group() -> None:
    """Export records for an ERP to pick up."""


@export_group.command("movements")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]), default=None,
              help="Only movements at or after this date (UTC).")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--out", type=click.File("w", encoding="utf-8"), default="-", help="File to write (default: stdout).")
@pass_ctx
def export_movements(ctx: Context, since: datetime | None, fmt: str, out) -> None:
    """Stream every movement, oldest first: a million rows need no more memory than a thousand."""
    from station.interchange.export import movement_rows, write_csv, write_json

    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    with ctx.sessionmaker()() as session:
        rows = movement_rows(session, since)
        n = (write_csv if fmt == "csv" else write_json)(rows, out)
    click.echo(f"{plural(n, 'movement')} exported.", err=True)


@export_group.command("epcis")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]), default=None,
              help="Only movements at or after this date (UTC).")
@click.option("--out", type=click.File("w", encoding="utf-8"), default="-", help="File to write (default: stdout).")
@pass_ctx
def export_epcis(ctx: Context, since: datetime | None, out) -> None:
    """Stream the posted movements as one EPCIS 2.0 document (JSON-LD), one ObjectEvent each, in document order."""
    from station.traceability.epcis import document_text, movement_rows

    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    n = 0
    with ctx.sessionmaker()() as session:
        for chunk in document_text(session, ctx.config, movement_rows(session, since=since)):
            out.write(chunk)
            n += 1
    click.echo(f"{plural(max(n - 2, 0), 'event')} exported.", err=True)


@click.command()
@click.option("--labels", "labels_dir", type=click.Path(file_okay=False), default="labels/commands",
              show_default=True, help="Where to write the command sheet.")
@pass_ctx
def demo(ctx: Context, labels_dir: str) -> None:
    """Create demo products, a supplier, a customer and a purchase order, and print the command sheet."""
    from station.domain.demo import create_demo
    from station.printing.labels import COMMANDS, Label
    from station.printing.sheets import write_sheet

    ctx.create_database()
    with ctx.sessionmaker().begin() as session:
        result = create_demo(session)
    for line in result.created:
        click.echo(f"created {line}")
    for line in result.existing:
        click.echo(f"kept    {line}")
    paths = write_sheet([Label(text, caption) for text, caption in COMMANDS]
                        + [Label("SUP:DEMO-SUP", "Supplier: Demo Supplies"), Label("CUS:DEMO-CUS", "Customer: Demo"),
                           Label("PO-1001", "Purchase order PO-1001")],
                        Path(labels_dir), title="Barcode station: commands")
    click.echo(f"Command sheet: {paths[0].resolve()} (also on the web page /labels)")
    click.echo(_try_it(ctx.config))


def _try_it(config) -> str:
    """How to receive the demo order at a station the configuration has: its first receiving one, else its first
    (switched to receiving by CMD:RECEIVE)."""
    from station.domain.vocabulary import Mode

    station = next((s for s in config.stations if s.mode is Mode.receive), config.stations[0])
    first = "PO-1001" if station.mode is Mode.receive else "CMD:RECEIVE, then PO-1001"
    url = f"http://{config.web.host}:{config.web.port}/stations/{quote(station.id, safe='')}"
    return (f"Try it: station scan {shlex.quote(station.id)} {first}, 4006381333931 and a few serials, then "
            f"CMD:FINISH; or type them into the scan box of {url}")
