"""A scan's work does not grow with its document (issue 12): statements counted, not timed.

The statements a scan issues are counted as the bench counts them
(station.bench.statements: SQLAlchemy's cursor events, and a statement sent
beside one in a pipeline) while a receipt grows to hundreds of serials; the
300th scan must issue exactly as many as the 5th, and a posting as many for
300 lines as for 30. On PostgreSQL its round trips are counted too.
"""
from __future__ import annotations

import json

import pytest
from helpers.places import add_location
from sqlalchemy import select, update

from station.bench.statements import Counter
from station.config import from_dict
from station.domain import catalogue, documents, posting
from station.domain.models import Document, DocumentKind, Location, SerialNumber
from station.scanning.counting import _STATE
from station.scanning.service import ScanService

GTIN = "036000291452"
#: What one serial scan of a receipt costs, on each database: the figure the bench reports (``statements_per_scan``,
#: issue 22). SQLite's five: BEGIN IMMEDIATE; the station's locked read, which also asks what the scanned text is (a
#: barcode? a serial's record?: station_row._probing) and reads the open document's answer (its product counts and
#: last lines: answer_read.beside), the line then joining that answer in Python; the line, numbered in its own
#: INSERT (documents._COUNT_AND_INSERT: INSERT ... SELECT line_count + 1 FROM document, ON CONFLICT DO NOTHING for
#: rule 8's unique index; migration 0012's trigger raises the document's line count to the line's number, and
#: 0014's upserts the line's tally into document_tally: it was a sixth statement, tallies.add); the station's state
#: (UPDATE station_state); the scan log (INSERT scan_log). PostgreSQL's four: the locked read (psycopg sends the
#: BEGIN with it); the line, numbered and written in one statement (the count's UPDATE a data-modifying CTE of the
#: INSERT); its tally, counted in the statement that asks again about the serial once its line is in
#: (documents._recheck); the scan log's INSERT, with the station's state written by an UPDATE in a CTE of it
#: (scan_log.write). No savepoint: a line's rules refuse before it writes, or it takes its writes back
#: (documents.add_line). All are sent on the driver's cursor below SQLAlchemy's execution (station.domain.direct),
#: counted by the same listeners.
PER_SERIAL = {"sqlite": 5, "postgresql": 4}
#: A count scan's own statement (counting.before_line: where the count stands, read before its line), which also
#: refuses a repeat before its line is written, so it keeps no savepoint: SQLite 6, PostgreSQL 5. Locations (issue
#: 23) add nothing else. (A count line observes: no re-check of its serial on PostgreSQL.)
COUNT_EXTRA = 1
PER_COUNT = {"sqlite": 6, "postgresql": 5}
#: What a scan that opens a document for a party costs (SUP: at a receiving station, CUS: at a till). SQLite's five:
#: BEGIN IMMEDIATE; the station's locked read, which also reads the party's id by its code (station_row.load's
#: ``party``: the reader's question, which the opening then writes, ScanContext.party; it was a statement of its
#: own); the document opened in one INSERT that takes its id, makes its reference and returns its head
#: (documents.open_head); the station's state; the scan log. PostgreSQL's three: the locked read, the INSERT, the
#: scan log with the station's state. No savepoint (its refusals come before its one write:
#: actions.may_refuse_after_writing), and no read of its answer (a document just opened has no products or lines:
#: actions._opened). It was 12 and 10: the ORM's opening was two flushes, the party read again as an ORM object,
#: the head and the answer read after it, all in a savepoint.
PER_OPENING = {"sqlite": 5, "postgresql": 3}
#: A till's first goods open its walk-in sale in the same scan, the walk-in customer's id read with the station's
#: row as a party's is (it was a statement of its own, and the opening ran in a savepoint, two more on SQLite): a
#: product's barcode costs an opening's statements (its product chosen writes nothing), a serial an opening's and its
#: line's (SQLite 6, PostgreSQL 5 in 4 round trips: the line goes with its tally and the serial read again). A
#: refusal of the line takes the opening back (actions.carry_out: documents.discard_opened).
PER_SALE_OPENING = {"product": {"sqlite": 5, "postgresql": 3}, "serial": {"sqlite": 6, "postgresql": 5}}
#: An opening by a purchase order's reference (a receipt against it): an opening's statements with the order's read
#: where the party's was (ScanContext.order: the reader asked it, the opening is written on what it found), and the
#: receipt's answer read (it shows the order's products expected: actions._opened). SQLite 7, PostgreSQL 5; they were
#: 8 and 6, the order read again to open the receipt (documents.order_exists, then documents.order_for).
PER_ORDER_OPENING = {"sqlite": 7, "postgresql": 5}
#: On PostgreSQL, round trips: the transaction's BEGIN goes with the locked read and its COMMIT with the scan log's
#: INSERT, each in one of psycopg's pipelines (station.storage.pipelined), and a line's INSERT with its tally
#: (station.domain.direct.both): a serial costs 3, the locked read, the line, the log. A count's line goes with
#: its tally too (documents._insert_then_tally: it re-reads no serial), and its own statement comes before the line:
#: 4. An opening's three statements are three round trips (PER_OPENING); a till's first serial, four. A receipt's
#: CMD:FINISH (FINISH_RECEIPT's ten statements) takes five: the posting's document read goes with the locked read
#: (facts.READ_AHEAD: 6 when it went with the savepoint's SAVEPOINT), its savepoint's SAVEPOINT and RELEASE go with
#: the statements after them, the close and the event with the answer's read (direct.ahead; they went in a round trip
#: of their own: 7), the state with the log and the COMMIT.
ROUND_TRIPS = {"serial": 3, "count": 4, "refused": 2, "opening": 3, "sale_opening": 4, "finish": 5}


@pytest.fixture
def counted(db):
    """Run a scan in its own transaction and answer how many statements it issued."""
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget", barcodes=[GTIN])
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        catalogue.create_party(s, "customer", "BOB", "Bob")
    stations = [{"id": "in", "mode": "receive"}, {"id": "till", "mode": "sell"}, {"id": "counter", "mode": "count"},
                {"id": "mover", "mode": "move"}]
    service = ScanService(from_dict({"stations": stations}))
    # The bench's count: SQLAlchemy's statements, and those sent on the driver's cursor (station.domain.direct).
    count, keys = Counter(db.engine).start(), iter(range(1_000_000))

    def scan(station: str, text: str) -> int:
        before = count.statements
        with db.Session.begin() as s:
            # A key, as the daemon and the page send one: its answer is stored for a replay.
            result = service.process(s, station, text, key=f"k-{next(keys)}")
        assert result.accepted, result
        return count.statements - before

    yield scan
    count.stop()


def test_the_300th_serial_of_a_receipt_costs_what_the_5th_does(counted, db):
    """Guards against work that grows with the open document (loading its lines, adding them up)."""
    counted("in", "SUP:ACME")
    counted("in", GTIN)
    costs = [counted("in", f"SN-{n:04d}") for n in range(300)]
    assert costs[4:] == [costs[4]] * len(costs[4:]), sorted(set(costs))
    assert costs[4] == PER_SERIAL[db.backend]


#: What a live screen's fetch of its station (ScanService.view, GET /api/stations/<station>) costs: the station's row
#: with its open document's answer (station_row.shown), and its recent scans; on SQLite, its BEGIN before them; on
#: PostgreSQL, its COMMIT after them, sent as a statement because the row's read takes the transaction's BEGIN with it
#: (station.storage.pipelined.first, as a scan's locked read does): three round trips, where the BEGIN alone was one.
PER_VIEW = {"sqlite": 3, "postgresql": 3}
VIEW_ROUND_TRIPS = 3


def test_a_screen_reads_its_station_in_two_statements_whatever_its_document_holds(counted, db):
    """Guards the live screens' fetch (each processed scan makes one): the row and the document's answer in one
    statement (they were three), the recent scans in another, on a document of 5 lines and of 60; on PostgreSQL in
    three round trips."""
    service = ScanService(from_dict({"stations": [{"id": "in", "mode": "receive"}]}))
    count = Counter(db.engine)

    def cost() -> tuple[int, dict]:
        before, trips = count.snapshot()
        with db.Session.begin() as s:
            view = service.view(s, "in")
        if count.network:
            assert count.round_trips - trips == VIEW_ROUND_TRIPS
        return count.statements - before, view

    counted("in", "SUP:ACME")
    counted("in", GTIN)
    for n in range(5):
        counted("in", f"V-{n:03d}")
    count.start()
    five, view = cost()
    assert view["document"]["line_count"] == 5 and [c["units"] for c in view["document"]["products"]] == [5]
    assert [line["serial"] for line in view["document"]["lines"]] == [f"V-{n:03d}" for n in range(5)]
    for n in range(5, 60):
        counted("in", f"V-{n:03d}")
    sixty, view = cost()
    count.stop()
    assert view["document"]["line_count"] == 60 and view["document"]["lines"][-1]["serial"] == "V-059"
    assert five == sixty == PER_VIEW[db.backend]


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_scan_costs_no_round_trip_beside_its_statements(counted, db):
    """Guards issue 22's round trips on PostgreSQL, as the bench counts them (statements, BEGIN and COMMIT, less what
    a pipeline saved): a receipt's serial costs 3 of them, a count's unit and a refused repeat their statements, a
    receipt's posting 5, a till's first serial 4."""
    trips, keys = Counter(db.engine), iter(range(1_000_000))

    def cost(station: str, text: str, accepted: bool = True) -> int:
        before = trips.round_trips
        with db.Session.begin() as s:
            assert service.process(s, station, text, key=f"t-{next(keys)}").accepted is accepted
        return trips.round_trips - before

    service = ScanService(from_dict({"stations": [{"id": "in", "mode": "receive"}, {"id": "counter", "mode": "count"},
                                                  {"id": "till", "mode": "sell"}]}))
    _stocked(counted, db, "C", 8)
    trips.start()
    try:
        cost("in", "SUP:ACME")
        cost("in", "CMD:CANCEL")
        assert cost("in", "SUP:ACME") == ROUND_TRIPS["opening"]
        for text in (GTIN, "T-0001", "T-0002"):
            cost("in", text)
        assert cost("in", "T-0003") == ROUND_TRIPS["serial"]
        assert cost("in", "T-0003", accepted=False) == ROUND_TRIPS["refused"]
        assert cost("in", "CMD:FINISH") == ROUND_TRIPS["finish"]
        cost("counter", "LOC:MAIN")
        cost("counter", "C-0000")
        assert cost("counter", "C-0001") == ROUND_TRIPS["count"]
        cost("till", "C-0002")  # the first walk-in sale makes its customer
        cost("till", "CMD:FINISH")
        assert cost("till", "C-0003") == ROUND_TRIPS["sale_opening"]
    finally:
        trips.stop()


def test_an_opening_costs_its_party_and_one_insert(counted, db):
    """Guards issue 22's opening scans (they stood in the bench's p99 at 4.4 ms on SQLite, a serial's 1.75): a
    supplier's receipt and a customer's sale, each opened by a station that has scanned before."""
    counted("in", "SUP:ACME")  # the station's first scan makes its row
    counted("in", "CMD:CANCEL")
    assert counted("in", "SUP:ACME") == PER_OPENING[db.backend]
    counted("till", "CMD:SELL")
    assert counted("till", "CUS:BOB") == PER_OPENING[db.backend]


def test_a_tills_first_goods_open_the_walk_in_sale_in_their_own_scan(counted, db):
    """Guards a sale's first scan, a product's barcode or a serial at an idle till (the bench's costliest after a
    posting: 8 and 9 statements on SQLite): an opening's statements, and the line's with a serial."""
    _stocked(counted, db, "T", 3)
    counted("till", "T-0000")  # the first walk-in sale makes its customer
    counted("till", "CMD:FINISH")
    assert counted("till", GTIN) == PER_SALE_OPENING["product"][db.backend]
    counted("till", "T-0001")
    counted("till", "CMD:FINISH")
    assert counted("till", "T-0002") == PER_SALE_OPENING["serial"][db.backend]


def test_an_opening_against_an_order_reads_the_order_once(counted, db):
    """Guards an opening by a purchase order's reference: the order read once, by the reader's question (is it a
    purchase order?), and the receipt opened on what that read found (ScanContext.order), where it was read again."""
    with db.Session.begin() as s:
        documents.create_purchase_order(s, "PO-1", "ACME", [("WID-1", 2)])
    counted("in", "SUP:ACME")  # the station's first scan makes its row
    counted("in", "CMD:CANCEL")
    assert counted("in", "PO-1") == PER_ORDER_OPENING[db.backend]


def test_posting_costs_the_same_for_60_lines_and_for_300(counted):
    """Guards set-based posting: statements per posting do not grow with the lines (no ORM object per line). (Up to
    posting.ONE_READ_LINES lines, a posting reads its lines with its head: test_a_small_posting_costs_a_dozen.)"""
    def receipt(prefix: str, lines: int) -> int:
        counted("in", "SUP:ACME")
        counted("in", GTIN)
        for n in range(lines):
            counted("in", f"{prefix}-{n:04d}")
        return counted("in", "CMD:FINISH")

    assert receipt("A", 60) == receipt("B", 300)


#: What posting a small document costs, CMD:FINISH's scan included (issue 22: the finishes set the bench's p99).
#: A receipt of new serials: BEGIN IMMEDIATE (SQLite); the station's locked read; the savepoint; one read of the
#: document (its head locked), its lines, their products and their serials' records (facts.document_read); the
#: serials' INSERT; the movements' INSERT; the document posted and its lines closed (two UPDATEs on SQLite; on
#: PostgreSQL one statement, which also takes the event feed's lock); the event; the answer's read; the savepoint
#: released; the station's state and the scan log (one statement on PostgreSQL). A sale of known serials writes
#: their stock (UPDATE ... FROM the lines) where a receipt's new records are made as it leaves them, and on
#: PostgreSQL locks its records and reads where they are after those locks (SQLite's write lock is the posting's
#: already: where they are comes with the read, as does the site of the document's location).
FINISH_RECEIPT = {"sqlite": 13, "postgresql": 10}
FINISH_SALE = {"sqlite": 13, "postgresql": 12}
#: A longer document reads its lines, its serials' records and each product in three statements more (posting.
#: ONE_READ_LINES: a row of forty columns a line would cost more than they do); on PostgreSQL, its read ahead with
#: the locked read (facts.READ_AHEAD) finds nothing, a statement more, in the locked read's round trip.
LONG_READ_EXTRA = {"sqlite": 3, "postgresql": 4}


def test_a_small_posting_costs_a_dozen_statements(counted, db):
    """Guards the statements of a small posting's CMD:FINISH, a receipt of new serials and a sale of them, and what
    a receipt one line longer than posting.ONE_READ_LINES costs."""
    counted("in", "SUP:ACME")
    counted("in", GTIN)
    for n in range(5):
        counted("in", f"F-{n}")
    receipt = counted("in", "CMD:FINISH")
    counted("till", "CUS:BOB")
    for n in range(5):
        counted("till", f"F-{n}")
    sale = counted("till", "CMD:FINISH")
    assert (receipt, sale) == (FINISH_RECEIPT[db.backend], FINISH_SALE[db.backend])
    counted("in", "SUP:ACME")
    counted("in", GTIN)
    for n in range(posting.ONE_READ_LINES + 1):
        counted("in", f"L-{n}")
    assert counted("in", "CMD:FINISH") == FINISH_RECEIPT[db.backend] + LONG_READ_EXTRA[db.backend]


def test_a_sale_by_serial_costs_the_same_on_a_long_sale(counted):
    """Guards the till: the 200th serial of a sale costs what the 5th does."""
    counted("in", "SUP:ACME")
    counted("in", GTIN)
    for n in range(205):
        counted("in", f"S-{n:04d}")
    counted("in", "CMD:FINISH")
    costs = [counted("till", f"S-{n:04d}") for n in range(205)]
    assert costs[5:] == [costs[5]] * len(costs[5:]), sorted(set(costs))


def _stocked(counted, db, prefix: str, units: int) -> None:
    """``units`` serials received and, as posting will place them, at MAIN."""
    counted("in", "SUP:ACME")
    counted("in", GTIN)
    for n in range(units):
        counted("in", f"{prefix}-{n:04d}")
    counted("in", "CMD:FINISH")
    with db.Session.begin() as s:
        s.execute(update(SerialNumber).values(location_id=select(Location.id).where(Location.code == "MAIN")
                                               .scalar_subquery()))


def test_each_count_scan_costs_what_the_first_did(counted, db):
    """Guards issue 23's count of thousands: the 150th unit counted costs what the 5th did (no query grows with the
    count), and a count scan costs its own statement more than a receipt's, and no more."""
    _stocked(counted, db, "C", 150)
    counted("counter", "LOC:MAIN")
    costs = [counted("counter", f"C-{n:04d}") for n in range(150)]
    assert costs[4:] == [costs[4]] * len(costs[4:]), sorted(set(costs))
    assert costs[4] == PER_COUNT[db.backend]
    counted("in", "SUP:ACME")
    counted("in", GTIN)
    receipt = [counted("in", f"R-{n:04d}") for n in range(6)][-1]
    assert costs[4] <= receipt + COUNT_EXTRA


def test_a_move_scan_costs_what_a_sale_scan_does(counted, db):
    """Guards the move: a unit moved costs what a sale's does (its place is read with its record)."""
    _stocked(counted, db, "M", 12)
    counted("mover", "LOC:MAIN")  # MAIN itself: every unit is there already, so the move goes to a bin
    with db.Session.begin() as s:
        add_location(s, "BIN-1", "Bin 1", "MAIN")
    counted("mover", "LOC:BIN-1")
    moves = [counted("mover", f"M-{n:04d}") for n in range(6)]
    sales = [counted("till", f"M-{n:04d}") for n in range(6, 12)]
    assert moves[2:] == [moves[2]] * 4 and moves[2] <= sales[2] <= PER_SERIAL[db.backend]


def _work(db, count_reference: str) -> int:
    """The rows the count's progress statement touches, as the database reports them: on PostgreSQL every plan
    node's rows times its loops and the rows its filters threw away (EXPLAIN ANALYZE); on SQLite the virtual
    machine's steps (a progress handler called every 100)."""
    with db.Session() as s:
        doc = s.scalar(select(Document).where(Document.reference == count_reference))
        params = {"root": doc.location_id, "document_id": doc.id, "serial": None, "place": None, "product_id": None}
        conn = s.connection()
        if db.engine.dialect.name == "postgresql":
            compiled = _STATE[True].compile(dialect=db.engine.dialect)
            sql = "EXPLAIN (ANALYZE, FORMAT JSON) " + str(compiled)
            plan = conn.exec_driver_sql(sql, compiled.construct_params(params)).scalar()
            plan = plan if isinstance(plan, list) else json.loads(plan)

            def rows(node: dict) -> int:
                own = node["Actual Rows"] * node["Actual Loops"] + node.get("Rows Removed by Filter", 0) \
                    + node.get("Rows Removed by Join Filter", 0)
                return own + sum(rows(child) for child in node.get("Plans", ()))
            return rows(plan[0]["Plan"])
        steps = [0]
        raw = conn.connection.driver_connection

        def tick() -> int:
            steps[0] += 1
            return 0
        raw.set_progress_handler(tick, 100)
        try:
            conn.execute(_STATE[False], params).all()
        finally:
            raw.set_progress_handler(None, 100)
        return steps[0]


def test_a_count_does_not_read_more_as_it_is_counted(counted, db):
    """Guards issue 23's flat count on PostgreSQL: the count's progress reads what is expected there once, not
    once per unit counted. The statistics are taken before the count, as a database's are (they do not know the
    count's lines yet): planned on them, an anti-join of expected serials against the count's lines rescanned
    every line for every serial, and the 5,000th scan of a count took 16.7 times the first."""
    _stocked(counted, db, "W", 120)
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    counted("counter", "LOC:MAIN")
    with db.Session() as s:
        reference = s.scalar(select(Document.reference).where(Document.kind == DocumentKind.count))
    for n in range(10):
        counted("counter", f"W-{n:04d}")
    early = _work(db, reference)
    for n in range(10, 110):
        counted("counter", f"W-{n:04d}")
    late = _work(db, reference)
    assert late <= early * 1.2, (early, late)
