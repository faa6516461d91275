"""``station outbox list|retry``: the webhook deliveries ``station run`` owes, has made, and gave up on."""
from __future__ import annotations

from datetime import datetime

import click

from station.domain.wording import plural

from .invocation import Context, pass_ctx

COLUMNS = ("event", "type", "state", "attempts", "last attempt", "last answer", "next attempt", "webhook")


@click.group()
def outbox() -> None:
    """Webhook deliveries: one per event and webhook, sent in order, retried for three days, then failed."""


@outbox.command("list")
@click.option("--state", type=click.Choice(["pending", "delivered", "failed"]), default=None,
              help="Only deliveries in this state.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@pass_ctx
def list_(ctx: Context, state: str | None, limit: int) -> None:
    """Per configured webhook its counts, then the newest deliveries: event, state, attempts, the last attempt's
    answer (its status, or why it failed) and when the next attempt is due.

    Times are in the station's zone ([web] timezone, else the system's), named in the heading."""
    from station.domain.vocabulary import DeliveryState
    from station.webhooks import outbox as box

    config = ctx.config
    with ctx.sessionmaker()() as session:
        counts = box.counts(session, [w.url for w in config.webhooks], {w.url: w.events for w in config.webhooks})
        rows = box.deliveries(session, state=DeliveryState(state) if state else None, limit=limit)
        heads = {webhook_id: box.head(session, webhook_id) for webhook_id in {r.webhook_id for r in rows}}
    if not config.webhooks:
        click.echo("No [[webhooks]] in the configuration.", err=True)
    for c in counts:
        click.echo(f"{c.url}: {c.pending} pending, {c.failed} failed, {c.delivered} delivered")
    if not rows:
        return
    zone = config.web.zone
    zone_name = zone.key if zone is not None else (datetime.now().astimezone().tzname() or "local time")

    def when(at) -> str:
        at = box.aware(at)
        return "-" if at is None else f"{at.astimezone(zone):%Y-%m-%d %H:%M:%S}"

    click.echo("\t".join(f"{name} ({zone_name})" if name in ("last attempt", "next attempt") else name
                         for name in COLUMNS))
    configured = {w.url for w in config.webhooks}
    for r in rows:
        note = "" if r.url in configured else " (webhook no longer configured)"
        answer = r.last_error or (str(r.last_status) if r.last_status is not None else "-")
        click.echo("\t".join((str(r.event_id), r.type, r.state.value, str(r.attempts), when(r.last_attempt_at),
                              answer, _next(r, heads.get(r.webhook_id), when), r.url + note)))


def _next(row, head, when) -> str:
    """When the delivery is tried next: a time, now, after the delivery it waits behind, or never by itself."""
    from station.domain.vocabulary import DeliveryState

    if row.state == DeliveryState.delivered:
        return "-"
    if row.state == DeliveryState.failed:
        return "on station outbox retry"
    if head is not None and head.event_id != row.event_id:
        return f"after event {head.event_id}"
    return when(row.next_attempt_at) if row.next_attempt_at is not None else "now"


@outbox.command("retry")
@click.option("--url", default=None, help="Only this webhook's failed deliveries.")
@click.option("--event", "event_id", type=int, default=None, help="Only this event's failed deliveries.")
@pass_ctx
def retry(ctx: Context, url: str | None, event_id: int | None) -> None:
    """Send failed deliveries again: pending and due now, with a fresh three days of retries, in event order."""
    from station.webhooks import outbox as box

    configured = [w.url for w in ctx.config.webhooks]
    if url is not None and url not in configured:
        known = f"webhooks: {', '.join(configured)}" if configured else "it has no [[webhooks]]"
        raise click.ClickException(f"There is no webhook {url} in the configuration ({known}): station run "
                                   "delivers only to the webhooks it names.")
    with ctx.sessionmaker().begin() as session:
        count = box.retry(session, url=url, event_id=event_id)
    click.echo(f"{plural(count, 'failed delivery', 'failed deliveries')} to be sent again by station run.")
