"""Webhook deliveries from the durable outbox to a real HTTP receiver on loopback (SPEC 5 "Integration").

The daemon's deliverer runs here in-process on the test's database (SQLite and PostgreSQL), with a short
timeout and short retry pauses so that a receiver answering 500, hanging, closing the connection and answering
twice is gone through in a second or two; the same code under ``station run`` with a kill and an outage is
tests/test_webhooks_daemon.py. Every request the receiver gets is checked against an independent
HMAC-SHA256 of ``id.timestamp.body``.
"""
from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from helpers.daemon import wait_committed
from helpers.feed import post_adjustments
from helpers.receiver import Receiver, verify
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from station.config import from_dict
from station.domain import catalogue
from station.domain.models import FeedEvent, WebhookDelivery
from station.domain.vocabulary import DeliveryState
from station.webhooks import outbox
from station.webhooks.deliverer import Deliverer

SECRET = "whsec_" + base64.b64encode(b"station-test-key-of-32-bytes....").decode()
FAST = outbox.Schedule(delays=(0.05, 0.05, 0.05, 0.05, 0.05), then=0.05)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def config(db, url: str, events=("document.posted",)):
    return from_dict({"database": {"url": db.url}, "webhooks": [{"url": url, "secret": SECRET,
                                                                 "events": list(events)}]})


def wait_outbox(predicate, timeout: float, what: str):
    """``predicate()``'s first true value, looked at again after each commit of any session (the deliverer's)."""
    return wait_committed(Session, predicate, timeout, what)


def posted_ids(db) -> list[int]:
    with db.Session() as s:
        return list(s.scalars(select(FeedEvent.id).where(FeedEvent.type == "document.posted").order_by(FeedEvent.id)))


@pytest.fixture
def deliverer_for(db):
    made = []

    def make(cfg, **kw):
        d = Deliverer(cfg, db.engine, holder="test", timeout=kw.pop("timeout", 0.5), schedule=kw.pop("schedule", FAST),
                      look_again=kw.pop("look_again", 5.0), **kw)
        made.append(d)
        d.start()
        return d

    yield make
    for d in made:
        d.stop(2.0)


def test_every_event_is_delivered_once_in_order_through_500_hang_close_and_a_double_answer(
        db, world, receiver, deliverer_for):
    """Guards the outbox's promise to a receiver that misbehaves every way it can: a 500, an attempt that hangs
    past the timeout, a connection closed without an answer, two answers to one request. Every posted document
    reaches it with a 2xx, in event order, each under its own event id (repeats keep the id, the body's id is
    the header's), every request's signature verifies, and a type the webhook does not take is never sent."""
    receiver.script("500", "hang", "close", "twice")
    deliverer_for(config(db, receiver.url))
    with db.Session.begin() as s:  # a product.changed: not a type this webhook takes
        catalogue.create_product(s, "NEW-1", "New")
    post_adjustments(db, 5)
    ids = posted_ids(db)
    receiver.wait_for(lambda got: {r.event_id for r in got if r.delivered} >= set(ids), 20, "all five delivered")
    got = receiver.received
    assert [r.answer for r in got[:4]] == ["500", "hang", "close", "twice"]
    assert all(r.event_id in ids for r in got), "an event of a type the webhook does not take was sent"
    for r in got:
        assert verify(SECRET, r), r.headers
        assert r.json()["id"] == r.event_id and r.json()["type"] == "document.posted"
        assert r.headers["content-type"] == "application/json"
        Webhook(SECRET).verify(r.body, r.headers)  # and as the Standard Webhooks library verifies it
    # In order: an event is first sent only once every earlier one was answered with a 2xx.
    firsts = []
    for r in got:
        if r.event_id not in firsts:
            firsts.append(r.event_id)
    assert firsts == ids
    for r in got:
        earlier = [e for e in ids if e < r.event_id]
        answered = {x.event_id for x in got[:got.index(r)] if x.delivered}
        assert set(earlier) <= answered, (r.event_id, answered)
    # The first event took five attempts (500, hang, close, then the double answer counted once).
    assert [r.event_id for r in got[:4]] == [ids[0]] * 4
    rows = wait_outbox(lambda: _all_delivered(db, len(ids)), 10, "the outbox to say delivered")
    assert [(r.event_id, r.attempts) for r in rows][:2] == [(ids[0], 4), (ids[1], 1)]
    assert all(r.last_status == 200 for r in rows)


def _all_delivered(db, count: int):
    with db.Session() as s:
        rows = s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.event_id)).all()
        done = [r for r in rows if r.state == DeliveryState.delivered]
        return rows if len(done) == count == len(rows) else None


def test_a_webhook_starts_at_the_end_of_the_feed_and_takes_only_its_types(db, world, receiver, deliverer_for):
    """Guards what a webhook is owed: events from the moment the daemon first sees it (not the whole history,
    which GET /api/events holds), of the types it names."""
    post_adjustments(db, 2)  # before the webhook exists
    deliverer_for(config(db, receiver.url, events=("product.changed",)))
    with db.Session.begin() as s:
        outbox.register(s, receiver.url)  # as the deliverer does: idempotent
    wait_outbox(lambda: _webhook_row(db), 10, "the webhook to be registered")
    post_adjustments(db, 1)
    with db.Session.begin() as s:
        catalogue.create_product(s, "NEW-2", "New")
    receiver.wait_for(lambda got: any(r.delivered for r in got), 10, "the product.changed delivery")
    got = receiver.received
    assert [r.json()["type"] for r in got] == ["product.changed"]
    assert got[0].json()["product"]["code"] == "NEW-2"


def _webhook_row(db):
    from station.domain.models import Webhook as WebhookRow

    with db.Session() as s:
        return s.scalar(select(WebhookRow.id))


def test_a_head_that_keeps_failing_is_failed_after_three_days_and_holds_the_line_until_retried(db, world):
    """Guards the schedule and the give-up (measured on the delivery's own clock, no waiting): 1 s, 5 s,
    30 s, 2 min, 10 min, then hourly, failed once the next attempt would fall past three days from the first;
    a failed head keeps the webhook's later events behind it, and retry makes it pending and due again."""
    post_adjustments(db, 2)
    ids = posted_ids(db)
    with db.Session.begin() as s:
        webhook_id = outbox.register(s, "http://127.0.0.1:9/none")
        s.execute(WebhookDelivery.__table__.insert(), [
            {"webhook_id": webhook_id, "event_id": e, "state": "pending", "attempts": 0,
             "created_at": outbox.utcnow()} for e in ids])
    start = outbox.utcnow()
    now, pauses = start, []
    with db.Session.begin() as s:
        head = outbox.head(s, webhook_id)
        while True:
            after = outbox.record(s, head.id, delivered=False, status=500, error="answered 500", now=now)
            if after.state == DeliveryState.failed:
                break
            pauses.append((after.next_attempt_at - now).total_seconds())
            now = after.next_attempt_at
    assert pauses[:6] == [1, 5, 30, 120, 600, 3600]
    assert set(pauses[5:]) == {3600}
    assert now - start <= timedelta(days=3) < now - start + timedelta(hours=1)
    with db.Session.begin() as s:
        assert outbox.head(s, webhook_id).id == head.id  # failed, and still the head: the later one waits
        assert outbox.retry(s, url="http://127.0.0.1:9/none") == 1
        again = outbox.head(s, webhook_id)
        assert again.id == head.id and again.state == DeliveryState.pending and again.due_in(outbox.utcnow()) == 0


def test_outbox_retry_names_only_a_configured_webhook(db, tmp_path):
    """`station outbox retry --url` for a webhook the configuration does not name says so in one sentence (station
    run would never deliver there), rather than answering "0 failed deliveries"; a configured one is retried."""
    from click.testing import CliRunner

    from station.cli.main import cli

    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    path = tmp_path / "station.toml"
    path.write_text(f'[database]\nurl = "{db.url}"\n\n[[webhooks]]\nurl = "http://127.0.0.1:9/hook"\n'
                    f'secret = "{secret}"\n')
    runner = CliRunner()
    other = runner.invoke(cli, ["--config", str(path), "outbox", "retry", "--url", "http://127.0.0.1:9/other"])
    assert other.exit_code == 1 and isinstance(other.exception, SystemExit), other.output
    assert "There is no webhook http://127.0.0.1:9/other in the configuration (webhooks: http://127.0.0.1:9/hook)" \
        in other.output
    named = runner.invoke(cli, ["--config", str(path), "outbox", "retry", "--url", "http://127.0.0.1:9/hook"])
    assert named.exit_code == 0 and "0 failed deliveries to be sent again" in named.output, named.output
