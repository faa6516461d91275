"""Webhooks under the real ``station run``: a SIGKILL in the middle of a delivery, and PostgreSQL taken away
(through a TCP proxy) between a receiver's 200 and the daemon recording it. Nothing is lost, a repeat keeps its
event id, and the events reach the receiver in order.
"""
from __future__ import annotations

import base64

import pytest
from helpers.daemon import DaemonProcess, FlakyProxy, write_config
from helpers.database import create_database
from helpers.receiver import Receiver, verify
from sqlalchemy import select

from station.domain import catalogue, stock
from station.domain.models import FeedEvent

pytestmark = pytest.mark.slow

SECRET = "whsec_" + base64.b64encode(b"daemon-test-key-of-32-bytes.....").decode()


@pytest.fixture
def pg(tmp_path):
    db = create_database("postgresql", tmp_path)
    proxy, proxied = FlakyProxy.before(db.url)
    yield db, proxied, proxy
    proxy.close()
    db.close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _post(db, n: int) -> list[int]:
    """``n`` documents posted by another process's session (this test's): the daemon learns of them by LISTEN."""
    ids = []
    for i in range(n):
        with db.Session.begin() as s:
            stock.adjust_product(s, catalogue.get_product(s, "LOOSE"), 1, f"count {i}")
            ids.append(s.scalar(select(FeedEvent.id).order_by(FeedEvent.id.desc()).limit(1)))
    return ids


def test_kill_mid_delivery_and_database_outage_lose_nothing_and_keep_ids_and_order(pg, receiver, tmp_path):
    """Guards SPEC 6: "none lost or doubled through kills and outages". A delivery cut off by kill -9 is sent
    again by the next daemon with the same webhook-id; a 200 the daemon could not record (the database went
    away) is kept in hand and recorded once the database is back, without being sent again; the events after
    it wait and then go; every event reaches the receiver, first sent in event order, each request signed."""
    db, proxied_url, proxy = pg
    config = write_config(tmp_path / "station.toml", database_url=proxied_url, scanner_link=None)
    with config.open("a", encoding="utf-8") as f:
        f.write(f'\n[[webhooks]]\nurl = "{receiver.url}"\nsecret = "{SECRET}"\nevents = ["document.posted"]\n')

    with db.Session.begin() as s:
        catalogue.create_product(s, "LOOSE", "Loose", serial_required_for_purchase=False)

    daemon = DaemonProcess(config, tmp_path)
    try:
        daemon.expect(r"webhook .*: owed the events after", timeout=30)
        receiver.script("hang")
        first = _post(db, 3)
        receiver.wait_for(lambda got: len(got) == 1, 20, "the first delivery to arrive (and hang)")
        daemon.kill()  # mid-delivery: the receiver holds the request open, unanswered
        daemon.close()
        receiver.release()

        daemon = DaemonProcess(config, tmp_path)
        receiver.wait_for(lambda got: set(first) <= {r.event_id for r in got if r.delivered}, 30,
                          "the first three delivered by the restarted daemon")

        receiver.hold_again()
        receiver.script("hold")
        second = _post(db, 2)
        receiver.wait_for(lambda got: len([r for r in got if r.event_id == second[0]]) == 1, 20,
                          "the fourth delivery to arrive (held)")
        proxy.down()
        proxy.wait_refused(15)  # the daemon has tried the database again while it is away
        receiver.release()  # the 200 goes out now: the daemon cannot record it
        daemon.expect(r"webhook .*cannot reach the outbox", timeout=20)
        proxy.up()
        receiver.wait_for(lambda got: set(second) <= {r.event_id for r in got if r.delivered}, 40,
                          "the fifth delivered once the database is back")
        daemon.expect(rf"event {second[1]} delivered", timeout=20)
        assert daemon.terminate(5) == 0
    finally:
        daemon.close()

    got = receiver.received
    posted = first + second
    assert {r.event_id for r in got if r.delivered} == set(posted)
    firsts = list(dict.fromkeys(r.event_id for r in got))
    assert firsts == posted, "an event was first sent before an earlier one"
    for r in got:
        assert verify(SECRET, r)
        assert r.json()["id"] == r.event_id
    repeats = [r.event_id for r in got]
    assert repeats.count(first[0]) == 2, repeats  # cut off by the kill, sent again
    assert all(repeats.count(e) == 1 for e in posted if e != first[0]), repeats
