"""``station operator add|list|deactivate``: the people who sign in at the stations with their badges (USR:<code>)."""
from __future__ import annotations

import click

from .invocation import Context, echo_lines, pass_ctx


@click.group()
def operator() -> None:
    """Operators: their badge (USR:<code>) signs them in at a station; lines and movements record them."""


@operator.command("add")
@click.argument("code")
@click.argument("name")
@pass_ctx
def add(ctx: Context, code: str, name: str) -> None:
    """Add an operator: CODE is what their badge holds after USR:, NAME what the screen shows."""
    from station.domain.operators import create_operator

    with ctx.sessionmaker().begin() as session:
        made = create_operator(session, code, name)
        code, name = made.code, made.name
    click.echo(f"Operator {code} ({name}) added: print their badge with 'station labels commands --operators'.")


@operator.command("list")
@click.option("--all", "everyone", is_flag=True, help="Deactivated operators too.")
@pass_ctx
def list_(ctx: Context, everyone: bool) -> None:
    """Operators by code: code, name, and whether their badge works."""
    from station.domain.operators import list_operators

    with ctx.sessionmaker()() as session:
        rows, _ = list_operators(session, per_page=1_000_000, active=None if everyone else True)
        lines = [f"{o.code}\t{o.name}\t{'active' if o.active else 'deactivated'}" for o in rows]
    echo_lines(lines, "No operators: add one with 'station operator add CODE NAME'.")


@operator.command("deactivate")
@click.argument("code")
@pass_ctx
def deactivate(ctx: Context, code: str) -> None:
    """Stop CODE's badge from signing in (signed in somewhere, they are signed out at that station's next scan)."""
    from station.domain.operators import get_operator, update_operator

    with ctx.sessionmaker().begin() as session:
        update_operator(session, get_operator(session, code), active=False)
    click.echo(f"Operator {code} deactivated: their badge no longer signs in.")
