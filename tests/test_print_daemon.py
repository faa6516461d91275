"""The daemon's print queue against a Zebra stand-in on loopback, on SQLite and PostgreSQL.

Labels queued by scans are sent by the queue's own thread, woken by the
print bell (a datagram on SQLite, NOTIFY on PostgreSQL), and every label
that comes out is read back (drawn from its ZPL and decoded by zxing-cpp)
as exactly its serial. The stand-in's faults make the printer go away in
the middle of a label, switch off, run out of paper, hang, or print without
confirming; each label still comes out once, except where raw port 9100
cannot tell (the printer took a label and never said so), which is
recorded as possibly printed. The database going away between a send and
its record (PostgreSQL behind a proxy) does not send a label twice either.
Waits block on the stand-in's printed labels or on the queue's commits; the
retry pauses are shortened, never waited out by the test.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import zxingcpp
from helpers.daemon import FlakyProxy
from helpers.database import POSTGRES_ONLY
from helpers.printers.queue import (
    FAST,
    WAIT,
    job_names,
    nothing_more,
    queues_started,
    rows,
    status,
    take,
    wait_rows,
    wait_status,
)
from helpers.printers.standin_brother import BrotherStandIn
from helpers.printers.standin_zebra import Fault, ZebraStandIn

from drivers.printers import LabelPrinter
from station.config import from_dict
from station.daemon.daemon import daemon_engine
from station.domain import catalogue
from station.printing import queue as print_queue
from station.printing.dispatch import PrintQueue, driver_for, owner_of
from station.scanning.service import ScanService
from station.storage.db import make_sessionmaker

WIDGET = "09501101020917"


@pytest.fixture
def zebra() -> Iterator[ZebraStandIn]:
    with ZebraStandIn() as standin:
        yield standin


@pytest.fixture
def config(db, zebra):
    return from_dict({
        "database": {"url": db.url},
        "stations": [{"id": "goods-in", "mode": "receive", "print_on_receive": "zebra-1"}],
        "printers": [{"id": "zebra-1", "kind": "zpl", "address": zebra.address, "label": "50x25", "dpi": 203,
                      "timeout": WAIT}],
    })


@pytest.fixture
def start(db, config):
    """Start the print queue on the test's database (stopped afterwards); waits until it has looked at the printer."""
    with queues_started(db) as start_queue:
        yield lambda: start_queue(config)


@pytest.fixture
def world(db):
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget X", barcodes=[WIDGET])
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")


def queue_labels(db, *serials: str) -> None:
    """Labels queued as ``station labels serials --print`` does: in a transaction of their own, bell rung."""
    from station.printing import bell as print_bell

    with db.Session.begin() as s:
        print_queue.queue_labels(s, "zebra-1", list(serials))
        print_bell.ring(s)


def all_done(count: int):
    return lambda found: len(found) == count and all(row.state != "pending" for row in found)


def test_receipt_posted_by_scans_is_printed_label_by_label(db, config, zebra, start, world):
    """Guards print_on_receive end to end: the receipt's serials come out of the printer in scan order, each
    label scanning as exactly its serial and naming its job; the queue says printed, the printer ready."""
    start()
    service = ScanService(config)
    serials = [f"SN-{n}" for n in range(1, 6)]
    for text in ["SUP:ACME", WIDGET, *serials, "CMD:FINISH"]:
        with db.Session.begin() as s:
            assert service.process(s, "goods-in", text).accepted
    printed = take(zebra, len(serials))
    assert [label.serial for label in printed] == serials
    names = job_names(db)
    assert [label.job for label in printed] == [names[serial] for serial in serials]
    found = wait_rows(db.Session, db, all_done(5), "every label marked printed")
    assert [(row.serial, row.state, row.attempts, row.possibly_printed) for row in found] == \
        [(serial, "printed", 1, False) for serial in serials]
    assert status(db, "zebra-1") == ("ready", "")
    assert nothing_more(zebra)


def test_printer_going_away_mid_label_and_switched_off_prints_each_label_once(db, zebra, start):
    """Guards retrying: labels queued while the printer is off wait (it shows offline), then it comes back and
    drops the connection in the middle of the second label; every label still comes out exactly once, in order."""
    start()
    zebra.stop()
    serials = ["OFF-1", "OFF-2", "OFF-3", "OFF-4"]
    queue_labels(db, *serials)
    wait_status(db.Session, db, "zebra-1", lambda seen: seen == ("offline", "not reachable"), "the printer offline")
    assert all(row.state == "pending" and row.error_code == "printer_unreachable" for row in rows(db)[:1])
    zebra.faults[zebra.connections + 2] = Fault(drop_after=3 + 60)  # the status request, then 60 bytes of label
    zebra.start(zebra.port)
    assert [label.serial for label in take(zebra, 4)] == serials
    found = wait_rows(db.Session, db, all_done(4), "every label marked printed")
    assert [row.state for row in found] == ["printed"] * 4
    assert len(zebra.discarded) == 1 and "^XZ" not in zebra.discarded[0]  # the cut label printed nothing
    assert found[1].attempts >= 2 and found[0].attempts >= 2  # the first waited through the outage
    assert status(db, "zebra-1") == ("ready", "")
    assert nothing_more(zebra)


def test_label_printed_but_not_confirmed_is_sent_again_as_possibly_printed(db, zebra, start):
    """Guards the limit of raw 9100, said rather than hidden: the printer prints the label and drops the
    connection instead of confirming it; the label is sent again (it comes out twice) and the job is recorded
    as possibly printed, which /devices and station printers then show."""
    start()
    zebra.faults[zebra.connections + 1] = Fault(drop_after_print=True)
    queue_labels(db, "MAYBE-1", "AFTER-1")
    assert [label.serial for label in take(zebra, 3)] == ["MAYBE-1", "MAYBE-1", "AFTER-1"]
    found = wait_rows(db.Session, db, all_done(2), "both labels marked printed")
    assert [(row.serial, row.state, row.possibly_printed) for row in found] == \
        [("MAYBE-1", "printed", True), ("AFTER-1", "printed", False)]
    with db.Session() as s:
        assert [label.serial for label in print_queue.queues(s, ["zebra-1"])["zebra-1"].doubled] == ["MAYBE-1"]


def test_refused_label_fails_with_its_sentence_and_does_not_block_the_queue(db, zebra, start):
    """Guards LabelRefused: a serial too long for the 50 mm label is failed at once with the driver's sentence
    (no retry, nothing sent for it), and the labels queued behind it print."""
    start()
    connections = zebra.connections
    queue_labels(db, "FITS-1", "FAR-TOO-LONG-FOR-50MM", "FITS-2")
    assert [label.serial for label in take(zebra, 2)] == ["FITS-1", "FITS-2"]
    found = wait_rows(db.Session, db, all_done(3), "the queue worked through")
    assert [row.state for row in found] == ["printed", "failed", "printed"]
    refused = found[1]
    assert refused.error_code == "serial_does_not_fit" and refused.attempts == 1
    assert refused.error.startswith("Serial 'FAR-TOO-LONG-FOR-50MM' does not fit on printer 'zebra-1'")
    assert zebra.connections == connections + 2  # nothing was sent for the refused one
    with db.Session() as s:
        queue = print_queue.queues(s, ["zebra-1"])["zebra-1"]
    assert (queue.failed, queue.failed_labels[0].serial) == (1, "FAR-TOO-LONG-FOR-50MM")
    assert nothing_more(zebra)


def test_paper_out_holds_the_queue_and_the_station_says_so(db, config, zebra, start):
    """Guards 'out of paper': nothing is sent to a printer that reports it, the station's view says so
    ("Printer zebra-1: paper out, 2 labels waiting"), and loading paper lets both labels out, in order."""
    start()
    zebra.flags.paper_out = True
    queue_labels(db, "PAPER-1", "PAPER-2")
    wait_status(db.Session, db, "zebra-1", lambda seen: seen == ("error", "paper out"), "the printer out of paper")
    with db.Session() as s:
        view = ScanService(config).view(s, "goods-in")
    assert view["printer"]["sentence"] == "Printer zebra-1: paper out, 2 labels waiting"
    assert zebra.printed.empty()
    zebra.flags.paper_out = False
    assert [label.serial for label in take(zebra, 2)] == ["PAPER-1", "PAPER-2"]
    wait_rows(db.Session, db, all_done(2), "both labels marked printed")
    with db.Session() as s:
        assert ScanService(config).view(s, "goods-in")["printer"]["sentence"] == "Printer zebra-1: ready"


def test_label_claimed_when_the_daemon_was_killed_is_sent_again_as_possibly_printed(db, config, zebra, start):
    """Guards the crash window: the daemon claimed a label and was killed before it recorded the outcome (it may
    have printed). Started again, it sends that label again and records it as possibly printed."""
    queue_labels(db, "KILLED-1")
    with db.Session.begin() as s:  # what the killed daemon had committed before its send
        claimed = print_queue.claim(s, "zebra-1", owner_of(config), lease=timedelta(minutes=5))
    assert claimed.serial == "KILLED-1"
    start()
    assert [label.serial for label in take(zebra, 1)] == ["KILLED-1"]
    found = wait_rows(db.Session, db, all_done(1), "the label marked printed")
    assert (found[0].state, found[0].attempts, found[0].possibly_printed) == ("printed", 2, True)


def test_a_printer_that_hangs_never_holds_up_a_scan(db, zebra, world):
    """Guards "a printer never slows or fails a scan": while the worker waits on a printer that accepted the
    connection and answers nothing (until its timeout), the station's scans, CMD:PRINT and a receipt's posting
    among them, are carried out and answered; the labels follow once the printer answers again."""
    config = from_dict({
        "database": {"url": db.url},
        "stations": [{"id": "goods-in", "mode": "receive", "print_on_receive": "zebra-1"}],
        "printers": [{"id": "zebra-1", "kind": "zpl", "address": zebra.address, "timeout": 1}],
    })
    printing = PrintQueue(config, db.engine, db.Session, backoff=FAST)
    printing.start()
    try:
        wait_status(db.Session, db, "zebra-1", lambda seen: seen == ("ready", ""), "the printer looked at")
        zebra.faults[zebra.connections + 1] = Fault(silent=True)
        queue_labels(db, "HANG-1")
        wait_rows(db.Session, db, lambda found: found[0].attempts == 1, "the label's attempt begun")
        service = ScanService(config)
        for text in ("SUP:ACME", WIDGET, "SN-H1", "CMD:PRINT", "CMD:FINISH"):
            with db.Session.begin() as s:
                assert service.process(s, "goods-in", text).accepted
        assert zebra.printed.empty()  # the printer is still silent: the scans did not wait for it
        assert [label.serial for label in take(zebra, 3)] == ["HANG-1", "SN-H1", "SN-H1"]
        found = wait_rows(db.Session, db, all_done(3), "every label marked printed")
        assert found[0].error_code == "printer_not_answering" and found[0].attempts == 2
    finally:
        assert printing.stop(WAIT)


class _DatabaseAwayAfterSend(LabelPrinter):
    """The real ZPL driver, with the database taken away the moment a label has been sent (before it is recorded)."""

    def __init__(self, real: LabelPrinter, proxy: FlakyProxy) -> None:
        super().__init__(real.config)
        self.real, self.proxy, self.sent = real, proxy, 0

    def prepare(self, job):
        return self.real.prepare(job)

    def status(self):
        return self.real.status()

    def send(self, job) -> None:
        self.real.send(job)
        self.sent += 1
        if self.sent == 1:
            self.proxy.down()


@POSTGRES_ONLY
def test_label_printed_while_the_database_went_away_is_recorded_later_not_sent_again(db, config, zebra):
    """Guards the window between a send and its record: the database goes away just after the printer took the
    label; the daemon keeps the outcome, records it when the database is back, and never sends the label again."""
    proxy, proxied = FlakyProxy.before(db.url)
    engine = daemon_engine(proxied)
    Session = make_sessionmaker(engine)
    driver = _DatabaseAwayAfterSend(driver_for(config.printers[0]), proxy)
    printing = PrintQueue(config, engine, Session, backoff=FAST, drivers={"zebra-1": driver})
    try:
        printing.start()
        wait_status(Session, db, "zebra-1", lambda seen: seen == ("ready", ""), "the printer looked at")
        queue_labels(db, "AWAY-1", "AWAY-2")
        assert [label.serial for label in take(zebra, 1)] == ["AWAY-1"]
        proxy.wait_refused(WAIT)  # the daemon tried to record it while the database was away
        proxy.up()
        assert [label.serial for label in take(zebra, 1)] == ["AWAY-2"]
        found = wait_rows(Session, db, all_done(2), "both labels marked printed")
        assert [(row.serial, row.state, row.attempts, row.possibly_printed) for row in found] == \
            [("AWAY-1", "printed", 1, False), ("AWAY-2", "printed", 1, False)]
        assert driver.sent == 2 and nothing_more(zebra)
    finally:
        assert printing.stop(WAIT)
        engine.dispose()
        proxy.close()


def test_a_brother_ql_prints_the_queue_in_raster_drawn_by_the_station(db):
    """Guards the raster kinds through the queue: the daemon's Brother QL driver, drawing with the station's own
    Code 128 renderer, sends each queued label; the stand-in's pages (read back by brother_ql's reader) scan as
    exactly their serials, in order."""
    brother = BrotherStandIn().start()
    config = from_dict({"database": {"url": db.url},
                        "printers": [{"id": "zebra-1", "kind": "brother_ql", "address": brother.address,
                                      "model": "QL-820NWB", "tape": "62", "label": "62x29", "timeout": WAIT}]})
    printing = PrintQueue(config, db.engine, db.Session, backoff=FAST)
    try:
        printing.start()
        queue_labels(db, "QL-1", "QL-2")
        pages = [brother.printed.get(timeout=WAIT) for _ in range(2)]
        assert [[r.text for r in zxingcpp.read_barcodes(page, formats=zxingcpp.BarcodeFormat.Code128)]
                for page in pages] == [["QL-1"], ["QL-2"]]
        wait_rows(db.Session, db, all_done(2), "both labels marked printed")
    finally:
        assert printing.stop(WAIT)
        brother.stop()
