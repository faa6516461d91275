"""A posting's writes that wait on no answer go to PostgreSQL together (issue 22), in the order it makes them.

Posting's movements and its serials' UPDATE are sent as a pair in one of psycopg's pipelines
(station.domain.direct.both), and its close (which takes the event feed's lock) and its event are held to go in
front of the transaction's next statement (direct.ahead): statements counted as the bench counts them, round trips
fewer by one a pair. The movements still read the serials as they were before the
UPDATE, and the event is written once the lock is held.
"""
from __future__ import annotations

from helpers.database import POSTGRES_ONLY
from helpers.receipts import receipt_of_new_serials
from sqlalchemy import select

from station.bench.statements import Counter
from station.domain import catalogue, documents, events, posting
from station.domain.models import Document, DocumentKind, Location, Movement, MovementKind, Product

pytestmark = POSTGRES_ONLY


def _posted(db, doc_id: int) -> tuple[int, int, int, int]:
    """Post the document; the statements and round trips of its posting, then of its transaction's end (its COMMIT
    and what the posting held ahead of the next statement: direct.ahead)."""
    count = Counter(db.engine)
    count.start()
    try:
        with db.Session.begin() as s:
            doc = s.get(Document, doc_id)
            before = count.statements, count.round_trips
            posting.post(s, doc)
            posted = count.statements - before[0], count.round_trips - before[1]
            before = count.statements, count.round_trips
    finally:
        count.stop()
    return *posted, count.statements - before[0], count.round_trips - before[1]


def test_a_receipt_and_a_sale_send_their_last_writes_in_pairs(db):
    """Guards the pairs: a receipt of new serials reads (1), finds MAIN (2: its document names no location), makes
    its records (3), writes its movements (4): four statements in four round trips; then its close with its event
    (5, 6), held ahead of the transaction's next statement (direct.ahead), go together, here at its end, with its
    COMMIT in one round trip (the transaction's BEGIN was psycopg's: its own commit then has none to end). A sale
    of them at MAIN reads (1), locks its records (2) and reads where they are (3) behind those locks, writes its
    movements with the serials' UPDATE (4, 5): five in three; its close and event the same. Each sale movement
    leaves from where its serial was, read before the UPDATE took it out of stock; the feed's last event is the
    sale's."""
    receipt_id, widget, _ = receipt_of_new_serials(db)
    assert _posted(db, receipt_id) == (4, 4, 2, 1)
    with db.Session.begin() as s:
        main = s.scalar(select(Location.id).where(Location.code == "MAIN"))
        bob = catalogue.create_party(s, "customer", "BOB", "Bob")
        sale = documents.open_document(s, DocumentKind.sale, station="till", customer=bob, location_id=main)
        for n in range(5):
            documents.add_line(s, sale, product=s.get(Product, widget), serial=f"SN-{n}")
        sale_id = sale.id
    assert _posted(db, sale_id) == (5, 3, 2, 1)
    with db.Session() as s:
        left = s.scalars(select(Movement.from_location_id).where(Movement.document_id == sale_id,
                                                                  Movement.kind == MovementKind.sale)).all()
        assert left == [main] * 5
        feed = events.after(s, 0, 100)
        assert (feed[-1].type, feed[-1].subject, feed[-1].subject_id) == ("document.posted", "document", sale_id)
