"""``station outbox list|retry``: the webhook deliveries ``station run`` owes, has made, and gave up on."""
from __future__ import annotations

import click

from station.domain.wording import plural

from .context import Context, pass_ctx


def _when(at) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S}" if at is not None else "-"


@click.group()
def outbox() -> None:
    """Webhook deliveries: one per event and webhook, sent in order, retried for three days, then failed."""


@outbox.command("list")
@click.option("--state", type=click.Choice(["pending", "delivered", "failed"]), default=None,
              help="Only deliveries in this state.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@pass_ctx
def list_(ctx: Context, state: str | None, limit: int) -> None:
    """Per configured webhook its counts, then the newest deliveries: event, state, attempts, last answer."""
    from station.domain import outbox as box
    from station.domain.vocabulary import DeliveryState

    config = ctx.config
    with ctx.sessionmaker()() as session:
        counts = box.counts(session, [w.url for w in config.webhooks], {w.url: w.events for w in config.webhooks})
        rows = box.deliveries(session, state=DeliveryState(state) if state else None, limit=limit)
    if not config.webhooks:
        click.echo("No [[webhooks]] in the configuration.", err=True)
    for c in counts:
        click.echo(f"{c.url}: {c.pending} pending, {c.failed} failed, {c.delivered} delivered")
    configured = {w.url for w in config.webhooks}
    for r in rows:
        note = "" if r.url in configured else " (webhook no longer configured)"
        answer = r.last_error or (str(r.last_status) if r.last_status else "-")
        click.echo(f"{r.event_id}\t{r.type}\t{r.state.value}\t{plural(r.attempts, 'attempt')}\tlast {_when(r.last_attempt_at)}"
                   f" {answer}\tnext {_when(r.next_attempt_at)}\t{r.url}{note}")


@outbox.command("retry")
@click.option("--url", default=None, help="Only this webhook's failed deliveries.")
@click.option("--event", "event_id", type=int, default=None, help="Only this event's failed deliveries.")
@pass_ctx
def retry(ctx: Context, url: str | None, event_id: int | None) -> None:
    """Send failed deliveries again: pending and due now, with a fresh three days of retries, in event order."""
    from station.domain import outbox as box

    configured = [w.url for w in ctx.config.webhooks]
    if url is not None and url not in configured:
        known = f"webhooks: {', '.join(configured)}" if configured else "it has no [[webhooks]]"
        raise click.ClickException(f"There is no webhook {url} in the configuration ({known}): station run "
                                   "delivers only to the webhooks it names.")
    with ctx.sessionmaker().begin() as session:
        count = box.retry(session, url=url, event_id=event_id)
    click.echo(f"{plural(count, 'failed delivery', 'failed deliveries')} to be sent again by station run.")
