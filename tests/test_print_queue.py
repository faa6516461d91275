"""The print queue on the scan path, on SQLite and PostgreSQL: labels written in the scan's own transaction.

A receipt posted at a station with ``print_on_receive`` queues one label per
serial it brought in, in the posting's transaction (a rolled-back or refused
posting queues none), in one statement however many serials; ``CMD:PRINT``
queues the station's last serial or says why it cannot (``nothing_to_print``,
``unknown_printer``). Nothing here has a printer: the scan path never talks
to one. The daemon's side of the queue (claims) is proved at the end.
"""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from station.config import from_dict
from station.domain import catalogue, documents
from station.domain.models import Document, DocumentStatus, PrintJob
from station.domain.vocabulary import PrintJobState
from station.printing import queue as print_queue
from station.scanning.service import ScanService

WIDGET = "09501101020917"
LOOSE = "5901234123457"
CONFIG = {
    "stations": [
        {"id": "goods-in", "mode": "receive", "print_on_receive": "zebra-1"},
        {"id": "goods-in-2", "mode": "receive", "print_on_receive": "zebra-1"},
        {"id": "bench", "mode": "receive"},  # prints nothing on receipt
        {"id": "till", "mode": "sell", "printer": "zebra-2"},  # CMD:PRINT only
        {"id": "desk", "mode": "return"},  # no printer at all
    ],
    "printers": [
        {"id": "zebra-1", "kind": "zpl", "address": "tcp://192.0.2.10:9100"},
        {"id": "zebra-2", "kind": "zpl", "address": "/dev/usb/lp0"},
    ],
}


@pytest.fixture
def service() -> ScanService:
    return ScanService(from_dict(CONFIG))


@pytest.fixture
def world(db):
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget X", barcodes=[WIDGET])
        catalogue.create_product(s, "LOOSE", "Loose", barcodes=[LOOSE], serial_required_for_purchase=False,
                                 serial_required_for_sales=False)
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        documents.create_purchase_order(s, "PO-1", "ACME", [("WID-1", 1)])


def scan(db, service, station, text):
    with db.Session.begin() as s:
        return service.process(s, station, text)


def scans(db, service, station, *texts):
    return [scan(db, service, station, text) for text in texts]


def jobs(db) -> list[tuple]:
    with db.Session() as s:
        return [tuple(row) for row in s.execute(
            select(PrintJob.printer, PrintJob.serial, PrintJob.station, PrintJob.state).order_by(PrintJob.id))]


def test_receipt_queues_one_label_per_serial_in_its_own_transaction(db, service, world):
    """Guards print_on_receive: a label for each serial the receipt brought in (not its unserialised units), in
    line order, written by the posting's own transaction: rolled back with it, committed with it."""
    scans(db, service, "goods-in", "SUP:ACME", WIDGET, "SN-1", "SN-2", LOOSE, WIDGET, "SN-3")
    assert jobs(db) == []  # nothing before the posting
    with db.Session() as s:
        posted = service.process(s, "goods-in", "CMD:FINISH")
        assert posted.accepted and posted.message.endswith("3 labels queued for printing.")
        s.rollback()  # the scan's transaction lost (a crash before its commit): neither the posting nor a label
    assert jobs(db) == []
    with db.Session() as s:
        assert s.scalar(select(Document.status).where(Document.reference == posted.document["reference"])) \
            == DocumentStatus.open
    assert scan(db, service, "goods-in", "CMD:FINISH").accepted
    assert jobs(db) == [("zebra-1", serial, "goods-in", PrintJobState.pending) for serial in ("SN-1", "SN-2", "SN-3")]
    with db.Session() as s:
        receipt = s.scalar(select(Document.id).where(Document.reference == posted.document["reference"]))
        assert set(s.scalars(select(PrintJob.document_id))) == {receipt}
        assert len(set(s.scalars(select(PrintJob.token)))) == 1  # queued together: one name on the printer


def test_refused_posting_queues_nothing(db, service, world):
    """Guards against labels for a receipt that did not post: the second receipt against a one-unit order is
    refused at CMD:FINISH (the first took the unit), and its serial gets no label."""
    scans(db, service, "goods-in", "PO-1", WIDGET, "SN-A")
    scans(db, service, "goods-in-2", "PO-1", WIDGET, "SN-B")
    assert scan(db, service, "goods-in", "CMD:FINISH").accepted
    refused = scan(db, service, "goods-in-2", "CMD:FINISH")
    assert not refused.accepted and refused.code == "quantity_exceeds_order"
    assert [serial for _, serial, _, _ in jobs(db)] == ["SN-A"]


def test_station_without_print_on_receive_queues_nothing(db, service, world):
    """Guards the opt-in: a receipt posted where print_on_receive is not set prints no label."""
    result = scans(db, service, "bench", "SUP:ACME", WIDGET, "SN-9", "CMD:FINISH")[-1]
    assert result.accepted and "label" not in result.message
    assert jobs(db) == []


def test_a_receipt_of_any_size_queues_its_labels_in_one_statement(db, service, world):
    """Guards the 5,000-serial receipt: its labels are one INSERT ... SELECT from the lines, not one per serial
    (a bounded count, the same for 3 serials and for 400; the time is reported, not asserted)."""
    written: dict[int, list[str]] = {}
    for size in (3, 400):
        opened = scan(db, service, "goods-in", "SUP:ACME")
        with db.Session.begin() as s:  # the lines put on the station's receipt directly: scanning 400 takes long
            doc = s.scalar(select(Document).where(Document.reference == opened.document["reference"]))
            widget = catalogue.get_product(s, "WID-1")
            for n in range(size):
                documents.add_line(s, doc, product=widget, serial=f"BIG-{size}-{n}")
        statements: list[str] = []

        def capture(conn, cursor, statement, *args, statements=statements):
            if "print_job" in statement:
                statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            started = time.perf_counter()
            result = scan(db, service, "goods-in", "CMD:FINISH")
            elapsed = time.perf_counter() - started
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        assert result.accepted, result.message
        written[size] = statements
        print(f"{db.backend}: posting a receipt of {size} serials, labels queued with it: {elapsed * 1000:.1f} ms")
    assert len(written[3]) == len(written[400]) == 1 and written[400][0].lstrip().upper().startswith("INSERT")
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(PrintJob)) == 403


# -- CMD:PRINT ---------------------------------------------------------------------------------------------------

def test_cmd_print_queues_the_last_serial_and_leaves_the_station_as_it_was(db, service, world):
    """Guards CMD:PRINT mid-receipt: the last serial scanned (product scans after it do not count), the prompt
    and the chosen product unchanged, so the next serial is the box's next one; twice is two labels."""
    scans(db, service, "goods-in", "SUP:ACME", WIDGET, "SN-1", "SN-2")
    before = scan(db, service, "goods-in", WIDGET)  # the same product again: still sticky, no serial named
    printed = scan(db, service, "goods-in", "CMD:PRINT")
    assert printed.accepted and printed.code is None
    assert printed.message == "Printing the label of SN-2 on printer zebra-1."
    assert printed.prompt == before.prompt
    again = scan(db, service, "goods-in", "cmd:print")
    assert again.accepted
    nxt = scan(db, service, "goods-in", "SN-3")
    assert nxt.accepted and nxt.message == "Added Widget X, serial SN-3."
    assert jobs(db) == [("zebra-1", "SN-2", "goods-in", PrintJobState.pending)] * 2


def test_cmd_print_reprints_a_known_serial_scanned_and_refused(db, service, world):
    """Guards the reprint: a unit already in stock, scanned again at goods-in (refused: no receipt open), then
    CMD:PRINT prints that serial, not the one before it; a refused unknown barcode names nothing."""
    scans(db, service, "goods-in", "SUP:ACME", WIDGET, "SN-1", "SN-2", "CMD:FINISH")
    assert scan(db, service, "goods-in", "SN-1").code == "no_open_document"
    assert scan(db, service, "goods-in", "NOT-A-THING").code == "unknown_barcode"
    assert scan(db, service, "goods-in", "CMD:PRINT").message == "Printing the label of SN-1 on printer zebra-1."
    assert [serial for _, serial, _, _ in jobs(db)] == ["SN-1", "SN-2", "SN-1"]


@pytest.mark.parametrize(
    ("setup", "texts", "refusals", "printed"),
    [
        pytest.param((), (WIDGET, "RP-1", "RP-2", "RP-1"), ["serial_on_open_document"], "RP-1",
                     id="rescanned_on_its_own_open_receipt"),
        pytest.param(("SUP:ACME", WIDGET, "RP-9"), (WIDGET, "RP-1", "RP-9"), ["serial_on_open_document"], "RP-9",
                     id="on_another_stations_open_receipt"),
        pytest.param(("SUP:ACME", WIDGET, "RP-9"), ("RP-9",), ["unknown_barcode"], "RP-9",
                     id="refused_as_unknown_yet_on_another_open_receipt"),
        pytest.param((), (WIDGET, "RP-1", "RP-2", "CMD:FINISH", "NOT-A-THING", "CMD:NOPE", "X" * 80, "RP-2\x07",
                          WIDGET),
                     ["unknown_barcode", "invalid_scan", "no_open_document"], "RP-2",
                     id="unknown_and_invalid_scans_name_nothing"),
    ],
)
def test_cmd_print_prints_the_last_serial_read_accepted_or_refused(db, service, world, setup, texts, refusals,
                                                                  printed):
    """Guards issue 20 item 3: the last serial scanned is the last text read as a known serial, accepted or refused.
    A unit scanned again (refused: it is on a receipt still open, here or at another station) is the label the
    operator wants; new serials accepted on a receipt count; unknown and invalid texts between name nothing."""
    scans(db, service, "goods-in-2", *setup)
    scans(db, service, "goods-in", "SUP:ACME")
    results = scans(db, service, "goods-in", *texts)
    assert sorted({r.code for r in results if not r.accepted}) == sorted(refusals)
    before = jobs(db)  # a posting here queued its receipt's labels (print_on_receive)
    answer = scan(db, service, "goods-in", "CMD:PRINT")
    assert answer.message == f"Printing the label of {printed} on printer zebra-1."
    assert jobs(db) == before + [("zebra-1", printed, "goods-in", PrintJobState.pending)]


@pytest.mark.parametrize(
    ("station", "first", "code"),
    [
        pytest.param("till", (), "nothing_to_print", id="nothing_scanned_yet"),
        pytest.param("till", (LOOSE, "CMD:FINISH"), "nothing_to_print", id="only_unserialised_units"),
        pytest.param("desk", (), "unknown_printer", id="station_without_printer"),
        pytest.param("desk", ("NEW-SERIAL",), "unknown_printer", id="no_printer_even_with_a_serial"),
    ],
)
def test_cmd_print_refused(db, service, world, station, first, code):
    """Guards CMD:PRINT's refusals: a sentence that says what to do, the station unchanged, nothing queued."""
    scans(db, service, station, *first)
    with db.Session() as s:
        view = service.view(s, station)
    refused = scan(db, service, station, "CMD:PRINT")
    assert not refused.accepted and refused.code == code
    assert refused.message[0].isupper() and "CMD:PRINT" in refused.message
    assert refused.prompt == view["prompt"]
    assert jobs(db) == []


def test_cmd_print_uses_the_stations_printer_key(db, service, world):
    """Guards which printer CMD:PRINT uses: ``printer`` (here a till that prints nothing on receipt)."""
    scans(db, service, "till", WIDGET)
    with db.Session.begin() as s:
        catalogue.create_product(s, "GIZ-1", "Gizmo", serial_required_for_purchase=False)
    scan(db, service, "till", "SN-SOLD")  # refused (not in stock), but not a known serial: names nothing
    assert scan(db, service, "till", "CMD:PRINT").code == "nothing_to_print"
    scans(db, service, "bench", "SUP:ACME", WIDGET, "SN-7", "CMD:FINISH")
    assert scan(db, service, "till", "SN-7").accepted  # sold: a line of the sale
    assert scan(db, service, "till", "CMD:PRINT").message == "Printing the label of SN-7 on printer zebra-2."
    assert jobs(db) == [("zebra-2", "SN-7", "till", PrintJobState.pending)]


def test_the_answer_says_when_the_printer_cannot_print_now(db, service, world):
    """Guards the operator's answer: when the daemon last saw the printer unable to print, CMD:PRINT and a posting
    say so (read from the database, never asked of the printer), and still queue the labels."""
    with db.Session.begin() as s:
        print_queue.record_status(s, "zebra-1", "error", "paper out", "Printer 'zebra-1' cannot print: paper out.")
    scans(db, service, "goods-in", "SUP:ACME", WIDGET, "SN-1")
    printed = scan(db, service, "goods-in", "CMD:PRINT")
    assert printed.message == ("Printing the label of SN-1 on printer zebra-1. Printer zebra-1: paper out;"
                               " the labels wait for it.")
    posted = scan(db, service, "goods-in", "CMD:FINISH")
    assert posted.message.endswith("1 label queued for printing. Printer zebra-1: paper out; the labels wait for it.")
    with db.Session.begin() as s:
        print_queue.record_status(s, "zebra-1", "ready", "", None)
    scans(db, service, "goods-in", "SN-1")
    assert scan(db, service, "goods-in", "CMD:PRINT").message == "Printing the label of SN-1 on printer zebra-1."
    assert len(jobs(db)) == 3


def test_count_by_state_for_the_metrics(db):
    """Guards what station_print_jobs{state} reads: pending and failed, zero when there are none."""
    with db.Session.begin() as s:
        assert print_queue.count_by_state(s) == {"pending": 0, "failed": 0}
        print_queue.queue_labels(s, "zebra-1", ["A", "B", "C"])
        job = print_queue.claim(s, "zebra-1", "here", lease=timedelta(minutes=2))
        print_queue.mark_failed(s, job, "here", "serial_does_not_fit", "It does not fit.")
        job = print_queue.claim(s, "zebra-1", "here", lease=timedelta(minutes=2))
        print_queue.mark_printed(s, job, "here")
        assert print_queue.count_by_state(s) == {"pending": 1, "failed": 1}


# -- the daemon's side: claims ------------------------------------------------------------------------------------

def test_claims_one_daemon_at_a_time_and_an_interrupted_attempt_is_possibly_printed(db):
    """Guards exactly-once bookkeeping: the oldest job is claimed (its attempt counted before any send); another
    daemon waits while the claim lives; a claim whose end was never recorded (a kill mid-send, the lease run
    out) is taken over and marked possibly printed."""
    lease = timedelta(minutes=2)
    with db.Session.begin() as s:
        print_queue.queue_labels(s, "zebra-1", ["FIRST", "SECOND"])
    with db.Session.begin() as s:
        first = print_queue.claim(s, "zebra-1", "box-a", lease=lease)
    assert (first.serial, first.attempts, first.possibly_printed) == ("FIRST", 1, False)
    with db.Session.begin() as s:
        busy = print_queue.claim(s, "zebra-1", "box-b", lease=lease)
    assert isinstance(busy, print_queue.Busy) and busy.owner == "box-a"
    # box-a is killed mid-send; started again (the same owner), it finds its own claim: possibly printed.
    with db.Session.begin() as s:
        again = print_queue.claim(s, "zebra-1", "box-a", lease=lease)
    assert (again.serial, again.attempts, again.possibly_printed) == ("FIRST", 2, True)
    with db.Session.begin() as s:
        assert not print_queue.mark_printed(s, first, "box-a")  # the first attempt's claim is gone
        assert print_queue.mark_printed(s, again, "box-a")
    # box-b takes over a claim whose lease ran out.
    with db.Session.begin() as s:
        second = print_queue.claim(s, "zebra-1", "box-a", lease=timedelta(seconds=-1))
    with db.Session.begin() as s:
        taken = print_queue.claim(s, "zebra-1", "box-b", lease=lease)
    assert (taken.id, taken.possibly_printed) == (second.id, True)
    with db.Session.begin() as s:
        assert print_queue.mark_printed(s, taken, "box-b")
        queue = print_queue.queues(s, ["zebra-1"])["zebra-1"]
    assert (queue.pending, queue.failed, queue.last_printed.serial) == (0, 0, "SECOND")
    assert [label.serial for label in queue.doubled] == ["SECOND", "FIRST"]
