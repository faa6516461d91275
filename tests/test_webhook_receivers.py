"""The deliverer against the receivers ERPs really run (issue 20, item 1), and what `station outbox list` says.

Each receiver is Python's own ``http.server`` on loopback (tests/helpers/receiver.py), answering as one kind of
real server does: HTTP/1.0 that closes, HTTP/1.1 keep-alive, ``Connection: close``, a chunked 200, a 204, a
2xx after 9 s (under the real 10 s deadline); or failing as one does: a 302 or 307 redirect (never followed),
a connection closed without an answer or reset after the request was read, an https certificate that does not
verify. The real deliverer (station.webhooks.deliverer, its threads, its sessions, its sender) delivers a few
events to it on the test's database; then every event must have been answered 2xx exactly once, first sent in
event order, and the real ``station outbox list`` must print what happened: attempts, the last answer or
error, the next attempt. A failing receiver's head is failed after two attempts (a schedule whose three days
are 0.08 s), holds the line, and is sent again by the real ``station outbox retry``.
"""
from __future__ import annotations

import base64
import re
import shutil
import subprocess
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from helpers.daemon import wait_committed
from helpers.feed import post_adjustments
from helpers.receiver import MOVED, Receiver, verify
from sqlalchemy import select
from sqlalchemy.orm import Session

from station.cli.main import cli
from station.config import load
from station.domain import events
from station.domain.models import FeedEvent, WebhookDelivery
from station.domain.vocabulary import DeliveryState
from station.webhooks import sender
from station.webhooks.deliverer import Deliverer
from station.webhooks.outbox import Schedule, aware

SECRET = "whsec_" + base64.b64encode(b"receiver-test-key-of-32-bytes...").decode()
ZONE = "America/Sao_Paulo"  # a zone other than UTC: the listing's times must be converted, and say in which zone
EVENTS = 3
# A failed attempt is tried again after 0.05 s; the second failure is past the give-up point, so a head that
# keeps failing is `failed` after exactly two attempts and stays so (nothing is sent) until `outbox retry`.
TWICE = Schedule(delays=(0.05,), then=0.05, give_up_after=timedelta(seconds=0.08))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 and its key, made now (trusted by nobody)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificate can be made for the https receiver")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.fixture
def deliver(db, tmp_path):
    """Starts the real deliverer for one receiver, configured by a station.toml that the CLI reads too."""
    made: list[Deliverer] = []

    def start(receiver: Receiver, *, timeout: float = 2.0) -> str:
        path = tmp_path / "station.toml"
        path.write_text(f'[database]\nurl = "{db.url}"\n\n[web]\ntimezone = "{ZONE}"\n\n[[webhooks]]\n'
                        f'url = "{receiver.url}"\nsecret = "{SECRET}"\nevents = ["document.posted"]\n')
        d = Deliverer(load(path), db.engine, holder="test", timeout=timeout, schedule=TWICE, look_again=5.0)
        made.append(d)
        d.start()
        return str(path)

    yield start
    for d in made:
        d.stop(2.0)


def deliveries(db) -> dict[int, WebhookDelivery]:
    with db.Session() as s:
        return {d.event_id: d for d in s.scalars(select(WebhookDelivery))}


def wait_rows(db, predicate, what: str, timeout: float = 20.0) -> dict[int, WebhookDelivery]:
    """The outbox's rows once ``predicate`` holds of them, looked at again after every commit (the deliverer's)."""
    return wait_committed(Session, lambda: (rows := deliveries(db)) and predicate(rows) and rows, timeout, what)


def outbox(config: str, *args: str) -> str:
    """The real command line, in this process (so that `retry`'s commit wakes the deliverer, as in the daemon)."""
    result = CliRunner().invoke(cli, ["--config", config, "outbox", *args])
    assert result.exit_code == 0, result.output
    return result.output


def listing(config: str) -> tuple[list[str], dict[int, dict[str, str]]]:
    """`station outbox list`: its count lines, and its table's rows by event id (column name -> text)."""
    lines = outbox(config, "list").splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("event\t"))
    names = lines[header].split("\t")
    rows = [dict(zip(names, line.split("\t"), strict=True)) for line in lines[header + 1:]]
    return lines[:header], {int(r["event"]): r for r in rows}


def shown(at) -> str:
    """A stored time as the listing must show it: in the configured zone."""
    return f"{aware(at).astimezone(ZoneInfo(ZONE)):%Y-%m-%d %H:%M:%S}" if at is not None else "-"


def check_listing(config: str, db, url: str, expected: dict[int, tuple[str, int, str | re.Pattern, str]]) -> None:
    """The listing against what happened: per event (state, attempts, last answer, next attempt), and the
    times of the rows as they are stored, in the configured zone."""
    counts, rows = listing(config)
    states = [e[0] for e in expected.values()]
    assert counts == [(f"{url}: {states.count('pending')} pending, {states.count('failed')} failed, "
                       f"{states.count('delivered')} delivered")]
    stored = deliveries(db)
    assert sorted(rows) == sorted(expected) == sorted(stored)
    for event_id, (state, attempts, answer, nxt) in expected.items():
        row, db_row = rows[event_id], stored[event_id]
        assert row["type"] == "document.posted" and row["webhook"] == url
        assert (row["state"], row["attempts"]) == (state, str(attempts)), row
        assert (db_row.state.value, db_row.attempts) == (state, attempts)
        if isinstance(answer, re.Pattern):
            assert answer.fullmatch(row["last answer"]), row
        else:
            assert row["last answer"] == answer, row
        assert row[f"last attempt ({ZONE})"] == shown(db_row.last_attempt_at)
        assert row[f"next attempt ({ZONE})"] == (shown(db_row.next_attempt_at) if nxt == "at" else nxt), row


def check_delivered_once_in_order(receiver: Receiver, ids: list[int]) -> None:
    """Every event answered 2xx exactly once, first sent in event order, each request signed, none redirected."""
    got = list(receiver.received)
    assert [r.event_id for r in got if r.delivered] == ids, [(r.event_id, r.answer) for r in got]
    assert list(dict.fromkeys(r.event_id for r in got)) == ids
    assert all(verify(SECRET, r) and r.json()["id"] == r.event_id for r in got)
    assert {r.path for r in got} == {"/hooks/station"}, "a redirect was followed"


@pytest.mark.parametrize("kind, script, status, timeout", [
    pytest.param({"protocol": "HTTP/1.0", "otherwise": "ok_eof"}, (), 200, 2.0, id="http1.0_closes"),
    pytest.param({"otherwise": "ok"}, (), 200, 2.0, id="http1.1_keep_alive"),
    pytest.param({"otherwise": "ok_close"}, (), 200, 2.0, id="connection_close"),
    pytest.param({"otherwise": "chunked"}, (), 200, 2.0, id="chunked_200"),
    pytest.param({"otherwise": "204"}, (), 204, 2.0, id="no_content_204"),
    pytest.param({"otherwise": "ok", "slow": 9.0}, ("slow",), 200, sender.TIMEOUT, id="2xx_after_9s",
                 marks=pytest.mark.slow),
])
def test_each_event_is_delivered_once_in_order_to_a_receiver_that_answers_2xx(
        db, world, deliver, kind, script, status, timeout):
    """Guards the deliveries to every kind of server that answers 2xx: a receiver that closes the connection
    after its 200 (HTTP/1.0, `Connection: close`) was never marked delivered and got the same event again
    forever, the later ones waiting behind it. Each event must reach it once, in order, be recorded as delivered
    on its first attempt with the receiver's status, and `station outbox list` must say so. The 9 s answer runs
    under the real 10 s deadline."""
    receiver = Receiver(**kind)
    try:
        receiver.script(*script)
        config = deliver(receiver, timeout=timeout)
        ids = post_adjustments(db, EVENTS)
        wait_rows(db, lambda rows: len(rows) == EVENTS and all(r.state == DeliveryState.delivered
                                                              for r in rows.values()), "every event delivered")
        check_delivered_once_in_order(receiver, ids)
        check_listing(config, db, receiver.url, {e: ("delivered", 1, str(status), "-") for e in ids})
    finally:
        receiver.close()


FAILURES = [
    pytest.param(False, ("302", "302"), r"answered 302 Found: a redirect to {moved}, not followed",
                 id="redirect_302"),
    pytest.param(False, ("307", "307"), r"answered 307 Temporary Redirect: a redirect to {moved}, not followed",
                 id="redirect_307"),
    pytest.param(False, ("close", "close"), r"the receiver closed the connection without an answer",
                 id="closed_without_answer"),
    pytest.param(False, ("reset", "reset"), r"the receiver reset the connection before it answered",
                 id="reset_after_request"),
    pytest.param(True, (), r"the certificate of 127\.0\.0\.1 does not verify: self-signed certificate",
                 id="https_untrusted_certificate"),
]


@pytest.mark.parametrize("tls, script, error", FAILURES)
def test_a_receiver_that_fails_is_told_clearly_retried_and_then_sent_each_event_once(
        db, world, deliver, certificate, monkeypatch, tls, script, error):
    """Guards the failures a sender must take as failures, record and say plainly: a redirect (never followed: the
    Location is never requested), a connection closed or reset after the request was read, an https certificate
    that does not verify. Each attempt is recorded on the delivery with its error and its next attempt (never
    taken for the database being away, never a delivery sent again unrecorded); the head is failed after its
    attempts and holds the later events behind it; `station outbox list` says so; `station outbox retry` sends
    it again once the receiver is fixed (or its certificate trusted), and every event then arrives once, in
    order."""
    receiver = Receiver(tls=certificate if tls else None)
    try:
        receiver.script(*script)
        config = deliver(receiver)
        ids = post_adjustments(db, EVENTS)
        head, later = ids[0], ids[1:]
        wait_rows(db, lambda rows: len(rows) == EVENTS and rows[head].state == DeliveryState.failed,
                  "the head to fail twice and be given up on")
        answer = re.compile(error.format(moved=re.escape(receiver.moved_url)))
        check_listing(config, db, receiver.url, {head: ("failed", 2, answer, "on station outbox retry"),
                                                 **{e: ("pending", 0, "-", f"after event {head}") for e in later}})
        assert [r.event_id for r in receiver.received] == ([] if tls else [head, head])
        assert not any(r.path == MOVED for r in receiver.received), "a redirect was followed"
        if tls:
            monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # the operator installs the certificate
        assert outbox(config, "retry") == "1 failed delivery to be sent again by station run.\n"
        wait_rows(db, lambda rows: all(r.state == DeliveryState.delivered for r in rows.values()),
                  "every event delivered after the retry")
        check_delivered_once_in_order(receiver, ids)
        assert [r.event_id for r in receiver.received] == ([] if tls else [head, head]) + ids
        check_listing(config, db, receiver.url, {head: ("delivered", 3, "200", "-"),
                                                 **{e: ("delivered", 1, "200", "-") for e in later}})
    finally:
        receiver.close()


def test_an_event_it_cannot_render_is_a_failed_attempt_of_its_delivery_not_the_database_away(db, world, deliver,
                                                                                              caplog):
    """Guards the line between a delivery's failures and the database's: an event this station cannot render (a
    subject kind written by a newer station sharing the database) was logged as "cannot reach the outbox", never
    recorded, and tried again forever with the line stuck behind it. It is a failed attempt of that delivery,
    recorded with why, logged as not delivered, failed after its attempts; the events before it are delivered,
    the ones after it wait, and `station outbox list` says so."""
    receiver = Receiver()
    try:
        config = deliver(receiver)
        first = post_adjustments(db, 1)[0]
        with db.Session.begin() as s:
            bad = events.last_id(s) + 1
            s.add(FeedEvent(id=bad, type="document.posted", subject="pallet", subject_id=1))
        last = post_adjustments(db, 1)[0]
        wait_rows(db, lambda rows: bad in rows and rows[bad].state == DeliveryState.failed, "the bad event failed")
        check_listing(config, db, receiver.url, {
            first: ("delivered", 1, "200", "-"),
            bad: ("failed", 2, "the event could not be made ready to send: KeyError: 'pallet'",
                  "on station outbox retry"),
            last: ("pending", 0, "-", f"after event {bad}")})
        assert [r.event_id for r in receiver.received] == [first]
        said = [r.getMessage() for r in caplog.records]
        assert not [m for m in said if "cannot reach the outbox" in m], said
        assert any(f"event {bad} not delivered (the event could not be made ready to send" in m for m in said), said
    finally:
        receiver.close()


def test_the_deadline_bounds_the_whole_attempt_however_the_answer_trickles():
    """Guards the deadline over the whole attempt, not each read: a receiver that writes its 200 a byte every
    0.1 s (8.5 s in all) never lets one read wait long, and must still be cut off at the 1 s deadline, a failed
    attempt that says so, not a delivery that held the webhook's line for as long as the receiver liked."""
    receiver = Receiver(otherwise="trickle")
    try:
        outcome = sender.post(receiver.url, b"{}", {"content-type": "application/json", "webhook-id": "1"},
                              timeout=1.0)
    finally:
        receiver.close()
    assert outcome == sender.Outcome(False, None, "no answer within 1 s")
    assert [r.answer for r in receiver.received] == ["trickle"]
