"""``station location add|list|move|deactivate``: sites and the places under them (SPEC 3c), scanned as LOC:<code>."""
from __future__ import annotations

import click

from station.domain.wording import plural

from .invocation import Context, echo_lines, pass_ctx


@click.group()
def location() -> None:
    """Locations: sites (no parent) and the rooms, aisles and bins under them, scanned as LOC:<code>."""


@location.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--parent", default=None, metavar="CODE", help="The location it is in (none: it is a site).")
@click.option("--gln", default=None, metavar="GLN",
              help="Its GS1 Global Location Number (13 digits): EPCIS events name it by that.")
@pass_ctx
def add(ctx: Context, code: str, name: str, parent: str | None, gln: str | None) -> None:
    """Add a location: CODE (1-32 of A-Z a-z 0-9 . _ -) is what its label holds after LOC:."""
    from station.domain import location_facts, locations

    with ctx.sessionmaker().begin() as session:
        made = locations.add(session, code, name, parent, gln)
        site = location_facts.by_id(session, made.id).site_code
        code, name, gln = made.code, made.name, made.gln
    where = ("a site" if site == code else f"at site {site}") + (f", GLN {gln}" if gln is not None else "")
    click.echo(f"Location {code} ({name}) added, {where}: print its label with 'station labels locations'.")


@location.command("list")
@click.option("--all", "everything", is_flag=True, help="Deactivated locations too.")
@pass_ctx
def list_(ctx: Context, everything: bool) -> None:
    """Every site with the locations under it, indented, each with its units (here and below)."""
    from station.domain import location_stock

    with ctx.sessionmaker()() as session:
        nodes = location_stock.tree(session, active_only=not everything)
        lines = [f"{'  ' * n.depth}{n.location.code}\t{n.location.name}\t{plural(n.total, 'unit')}"
                 f"{'' if n.location.active else chr(9) + 'deactivated'}" for n in nodes]
    echo_lines(lines, "No locations: add a site with 'station location add CODE NAME'.")


@location.command("move")
@click.argument("code")
@click.option("--parent", default=None, metavar="CODE", help="The location to put it in.")
@click.option("--site", "make_site", is_flag=True, help="Make it a site (no parent).")
@pass_ctx
def move(ctx: Context, code: str, parent: str | None, make_site: bool) -> None:
    """Put CODE (with everything under it) in another location, or make it a site."""
    from station.domain import location_facts, locations

    if (parent is None) == (not make_site):
        raise click.ClickException("Say where it goes: --parent CODE, or --site to make it a site (one of them).")
    with ctx.sessionmaker().begin() as session:
        moved = locations.get(session, code)
        changed = locations.move(session, moved, parent)
        site = location_facts.by_id(session, moved.id).site_code
    if not changed:
        click.echo(f"Location {code} is there already.")
    elif make_site:
        click.echo(f"Location {code} is now a site.")
    else:
        click.echo(f"Location {code} is now in {parent} (site {site}).")


@location.command("deactivate")
@click.argument("code")
@pass_ctx
def deactivate(ctx: Context, code: str) -> None:
    """Deactivate an empty location and everything under it (its LOC: label no longer scans)."""
    from station.domain import locations

    with ctx.sessionmaker().begin() as session:
        changed = locations.set_active(session, locations.get(session, code), False)
    if changed:
        click.echo(f"Location {code} deactivated" + (f", with {plural(len(changed) - 1, 'location')} under it."
                                                     if len(changed) > 1 else "."))
    else:
        click.echo(f"Location {code} was deactivated already.")
