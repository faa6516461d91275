"""``station labels``: printable barcode sheets of the commands, the parties, the locations and new serials."""
from __future__ import annotations

from pathlib import Path

import click

from drivers.printers.symbols import SYMBOLOGIES
from station.domain.wording import plural

from .invocation import Context, pass_ctx


@click.group()
def labels() -> None:
    """Printable barcode sheets: commands, parties, locations and serial labels."""


@labels.command("commands")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="labels/commands", show_default=True)
@click.option("--parties", is_flag=True, help="Add a SUP:/CUS: barcode for every supplier and customer.")
@click.option("--operators", is_flag=True, help="Add a USR: badge for every active operator.")
@pass_ctx
def labels_commands(ctx: Context, out_dir: str, parties: bool, operators: bool) -> None:
    """Every CMD: barcode as Code128 PNG and SVG, and one printable HTML sheet."""
    from sqlalchemy import select

    from station.domain.models import Customer, Operator, Supplier
    from station.printing.labels import COMMANDS, Label
    from station.printing.sheets import write_sheet

    items = [Label(text, caption) for text, caption in COMMANDS]
    if operators:
        with ctx.sessionmaker()() as session:
            items += [Label(f"USR:{o.code}", f"Operator: {o.name}") for o in
                      session.scalars(select(Operator).where(Operator.active.is_(True)).order_by(Operator.code))]
    if parties:
        with ctx.sessionmaker()() as session:
            items += [Label(f"SUP:{s.code}", f"Supplier: {s.name}")
                      for s in session.scalars(select(Supplier).order_by(Supplier.code))]
            items += [Label(f"CUS:{c.code}", f"Customer: {c.name}")
                      for c in session.scalars(select(Customer).order_by(Customer.code))]
    try:
        paths = write_sheet(items, Path(out_dir), title="Barcode station: commands")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{plural(len(items), 'barcode')}; print {paths[0]}")


@labels.command("locations")
@click.option("--under", "under", default=None, metavar="CODE", help="Only this location and those under it.")
@click.option("--size", default=None, help="Label stock, WIDTHxHEIGHT in mm (default: A4 sheets).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="labels/locations", show_default=True)
@pass_ctx
def labels_locations(ctx: Context, under: str | None, size: str | None, out_dir: str) -> None:
    """A LOC:<code> label for every active location (Code 128, its name above), as PNG, SVG and an HTML sheet."""
    from station.domain import location_stock, locations
    from station.printing.labels import Label, LabelSize
    from station.printing.sheets import write_sheet

    try:
        stock = LabelSize.parse(size) if size is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--size") from None
    with ctx.sessionmaker()() as session:
        root = locations.get(session, under).id if under is not None else None
        nodes = location_stock.tree(session, root_id=root, active_only=True)
        items = [Label(f"{locations.PREFIX}{n.location.code}", n.location.name) for n in nodes]
    if not items:
        raise click.ClickException("No active locations to label: add one with 'station location add CODE NAME'.")
    try:
        paths = write_sheet(items, Path(out_dir), title="Barcode station: locations", size=stock)
    except ValueError as exc:  # the label stock cannot hold a code
        raise click.ClickException(str(exc)) from None
    click.echo(f"{plural(len(items), 'location label')}; print {paths[0]}")


@labels.command("serials")
@click.option("--product", "product_code", required=True, help="Product code the serials belong to.")
@click.option("--count", type=click.IntRange(1, 10_000), required=True)
@click.option("--prefix", default=None, help="Serial prefix (default: the product code and a dash).")
@click.option("--size", default="50x25", show_default=True, help="Label stock, WIDTHxHEIGHT in mm.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="labels/serials", show_default=True)
@click.option("--print", "printer_id", default=None, metavar="PRINTER",
              help="Queue the labels for this [[printers]] printer (station run prints them) instead of a sheet.")
@click.option("--symbology", type=click.Choice(SYMBOLOGIES), default=None,
              help="The barcode: Code 128 of the serial (default), a GS1 DataMatrix or a Digital Link QR code;"
                   " with --print, the printer's symbology.")
@pass_ctx
def labels_serials(ctx: Context, product_code: str, count: int, prefix: str | None, size: str, out_dir: str,
                   printer_id: str | None, symbology: str | None) -> None:
    """Reserve COUNT new serials (never issued twice) and write their labels, or queue them for a printer."""
    from station.domain.catalogue import get_product
    from station.domain.reservation import reserve
    from station.printing.label_symbols import label_symbol
    from station.printing.labels import Label, LabelSize
    from station.printing.sheets import check_fits, write_sheet
    from station.traceability.gtins import product_gtins

    if printer_id is not None:
        return _print_serials(ctx, product_code, count, prefix, printer_id, symbology)
    try:
        stock = LabelSize.parse(size)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--size") from None
    symbology = symbology or "code128"
    try:
        with ctx.sessionmaker().begin() as session:
            product = get_product(session, product_code)
            gtin = product_gtins(session, [product.id])[product.id]
            name = product.name

            def label(serial: str) -> Label:
                return Label(serial, name, label_symbol(symbology, serial, gtin, ctx.config))

            sample = f"{prefix if prefix is not None else product.code + '-'}{0:06d}"
            check_fits(label(sample), stock)  # refuse before reserving when the label cannot hold it
            serials = reserve(session, product, count, prefix=prefix)
            paths = write_sheet([label(s) for s in serials], Path(out_dir),
                                title=f"Serial labels: {name}", size=stock)
    except ValueError as exc:  # the label stock cannot hold the serials
        raise click.ClickException(str(exc)) from None
    click.echo(f"Reserved {serials[0]} .. {serials[-1]} ({len(serials)}); print {paths[0]}")


def _print_serials(ctx: Context, product_code: str, count: int, prefix: str | None, printer_id: str,
                   symbology: str | None) -> None:
    """``--print``: reserve the serials and queue their labels in one transaction; the daemon prints them.

    The labels are checked against the printer's label first (its driver's
    ``prepare``, no I/O, with the barcode the printer's ``symbology`` gives):
    serials that cannot fit are refused before any is reserved, rather than
    queued to fail one by one. The queue holds serials and the daemon draws
    each in the printer's symbology, so ``--symbology`` may only say the same.
    """
    from drivers.printers import PrinterConfigError, PrinterError, PrintJob
    from station.domain.catalogue import get_product
    from station.domain.reservation import reserve
    from station.printing import bell as print_bell
    from station.printing import queue as print_queue
    from station.printing.dispatch import driver_for
    from station.printing.label_symbols import label_symbol
    from station.traceability.gtins import product_gtins

    printer = ctx.config.printer(printer_id)
    if printer is None:
        known = ", ".join(p.id for p in ctx.config.printers) or "none is configured"
        raise click.ClickException(f"There is no printer {printer_id!r} in the configuration (printers: {known}).")
    if symbology is not None and symbology != printer.symbology:
        raise click.ClickException(
            f"Printer {printer.id} prints {printer.symbology} labels (the symbology of its [[printers]] entry):"
            f" leave out --symbology, or set symbology = \"{symbology}\" in that entry.")
    try:
        driver = driver_for(printer)
    except PrinterConfigError as exc:
        raise click.ClickException(exc.message) from None
    with ctx.sessionmaker().begin() as session:
        product = get_product(session, product_code)
        gtin = product_gtins(session, [product.id])[product.id]
        serials = reserve(session, product, count, prefix=prefix)
        for serial in {serials[0], max(serials, key=len)}:  # all alike but for their digits
            try:
                driver.prepare(PrintJob("check", serial, label_symbol(printer.symbology, serial, gtin, ctx.config)))
            except PrinterError as exc:  # LabelRefused: the serials do not fit; nothing is reserved
                raise click.ClickException(exc.message) from None
        print_queue.queue_labels(session, printer.id, serials)
        print_bell.ring(session)
    click.echo(f"Reserved {serials[0]} .. {serials[-1]} ({len(serials)}); {len(serials)} label"
               f"{'s' if len(serials) != 1 else ''} queued for printer {printer.id} (station run prints them;"
               " station printers shows the queue)")
