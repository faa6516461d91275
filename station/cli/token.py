"""``station token create|list|revoke``: the API tokens that guard a station bound off loopback."""
from __future__ import annotations

import click

from .invocation import Context, echo_lines, pass_ctx


@click.group()
def token() -> None:
    """API tokens: bearer tokens for API writes, and passwords of the page login off loopback."""


@token.command("create")
@click.argument("name")
@pass_ctx
def create(ctx: Context, name: str) -> None:
    """Make a token called NAME and print it once: only its hash is kept."""
    from station.domain.tokens import create_token

    with ctx.sessionmaker().begin() as session:
        text = create_token(session, name)
    click.echo(text)
    click.echo(
        f"Token {name} created. It is shown this once: use it as 'Authorization: Bearer <token>'"
        f" for API writes, or log in to the pages as {name} with it as the password.",
        err=True,
    )


@token.command("list")
@pass_ctx
def list_(ctx: Context) -> None:
    """The names of the tokens and when each was made (never the tokens themselves)."""
    from station.domain.tokens import list_tokens

    with ctx.sessionmaker()() as session:
        lines = [f"{row.name}\t{row.created_at:%Y-%m-%d %H:%M}" for row in list_tokens(session)]
    echo_lines(lines, "No tokens: create one with 'station token create NAME'.")


@token.command("revoke")
@click.argument("name")
@pass_ctx
def revoke(ctx: Context, name: str) -> None:
    """Delete the token called NAME: it stops working at once."""
    from station.domain.tokens import revoke_token

    with ctx.sessionmaker().begin() as session:
        revoke_token(session, name)
    click.echo(f"Token {name} revoked.")
