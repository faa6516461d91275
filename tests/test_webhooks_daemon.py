"""Webhooks under the real ``station run``: a SIGKILL in the middle of a delivery, and PostgreSQL taken away
(through a TCP proxy) between a receiver's 200 and the daemon recording it. Nothing is lost, a repeat keeps its
event id, and the events reach the receiver in order. And the receivers that close the connection after their
200 (issue 20), as the operator met them: `station run` and `station outbox list` in processes of their own.
"""
from __future__ import annotations

import base64
import subprocess
import sys

import pytest
from helpers.daemon import BOOT, DaemonProcess, proxied_postgres, write_config
from helpers.feed import post_adjustments
from helpers.receiver import Receiver, verify

from station.domain import catalogue

pytestmark = pytest.mark.slow

SECRET = "whsec_" + base64.b64encode(b"daemon-test-key-of-32-bytes.....").decode()


@pytest.fixture
def pg(tmp_path):
    """A fresh PostgreSQL schema and a proxy in front of the server."""
    with proxied_postgres(tmp_path) as parts:
        yield parts


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


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
        first = post_adjustments(db, 3)
        receiver.wait_for(lambda got: len(got) == 1, 20, "the first delivery to arrive (and hang)")
        daemon.kill()  # mid-delivery: the receiver holds the request open, unanswered
        daemon.close()
        receiver.release()

        daemon = DaemonProcess(config, tmp_path)
        receiver.wait_for(lambda got: set(first) <= {r.event_id for r in got if r.delivered}, 30,
                          "the first three delivered by the restarted daemon")

        receiver.hold_again()
        receiver.script("hold")
        second = post_adjustments(db, 2)
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


@pytest.mark.parametrize("protocol, answer", [
    pytest.param("HTTP/1.0", "ok_eof", id="http1.0_closes"),
    pytest.param("HTTP/1.1", "ok_close", id="connection_close"),
])
def test_station_run_delivers_once_to_a_receiver_that_closes_the_connection(db, world, tmp_path, protocol, answer):
    """Guards issue 20's report: Python's http.server (HTTP/1.0), or any receiver answering `Connection: close`,
    answered 200, and `station run` logged "cannot reach the outbox", sent the same event again forever (20
    times in 48 s) and `station outbox list` said "pending 0 attempt(s)". Each event must reach it once, in
    order, the daemon log it delivered and never blame the database, and `station outbox list` say delivered,
    1 attempt, 200."""
    receiver = Receiver(protocol=protocol, otherwise=answer)
    config = write_config(tmp_path / "station.toml", database_url=db.url, scanner_link=None)
    with config.open("a", encoding="utf-8") as f:
        f.write(f'\n[[webhooks]]\nurl = "{receiver.url}"\nsecret = "{SECRET}"\nevents = ["document.posted"]\n')
    daemon = DaemonProcess(config, tmp_path)
    try:
        daemon.expect(r"webhook .*: owed the events after", timeout=30)
        ids = post_adjustments(db, 3)
        daemon.expect(rf"event {ids[-1]} delivered", timeout=30)  # recorded: nothing of these is sent again
        assert daemon.terminate(5) == 0
    finally:
        daemon.close()
        receiver.close()
    assert [(r.event_id, r.answer) for r in receiver.received] == [(e, answer) for e in ids]
    assert all(verify(SECRET, r) for r in receiver.received)
    assert not [line for line in daemon.lines if "cannot reach the outbox" in line or "not delivered" in line]
    listed = subprocess.run([sys.executable, "-c", BOOT, "--config", str(config), "outbox", "list"],
                            capture_output=True, text=True, timeout=60, check=True).stdout.splitlines()
    assert listed[0] == f"{receiver.url}: 0 pending, 0 failed, 3 delivered"
    names = listed[1].split("\t")
    rows = [dict(zip(names, line.split("\t"), strict=True)) for line in listed[2:]]
    assert [(int(r["event"]), r["state"], r["attempts"], r["last answer"]) for r in rows] == \
        [(e, "delivered", "1", "200") for e in reversed(ids)]
