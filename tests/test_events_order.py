"""Twenty stations posting at once on one PostgreSQL while a reader follows GET /api/events: every event is
seen exactly once, in id order (SPEC 5: ids that commit out of order must not let a reader skip past one).

Each station is a thread with its own connection, scanning receipts through the daemon's path
(``run_in_transaction`` around ``ScanService.process``): a supplier, units of an unserialised product, and
CMD:FINISH, whose posting writes its ``document.posted`` in the posting's transaction. The reader asks for
what follows the last id it saw, as an ERP would, while the postings go on; it is woken after each commit
(a condition the stations bump), never by a sleep.
"""
from __future__ import annotations

import random
import threading

import pytest
from helpers.database import POSTGRES_ONLY
from sqlalchemy import select

from station.config import from_dict
from station.domain import catalogue
from station.domain.models import Document, DocumentStatus, FeedEvent
from station.scanning.service import ScanService
from station.storage.retry import run_in_transaction
from web import create_app

pytestmark = [pytest.mark.slow, POSTGRES_ONLY]

STATIONS = 20
RECEIPTS = 12  # per station


def test_a_reader_following_the_feed_sees_every_event_once_in_order_while_twenty_stations_post(db):
    """Guards the feed's one promise under real concurrency: with twenty postings committing in any order,
    a reader that always asks for what follows the last id it saw misses none and sees none twice."""
    with db.Session.begin() as s:
        catalogue.create_product(s, "LOOSE", "Loose", serial_required_for_purchase=False, barcodes=["LOOSE-1"])
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
    with db.Session() as s:
        start = s.scalar(select(FeedEvent.id).order_by(FeedEvent.id.desc()).limit(1)) or 0
    config = from_dict({"database": {"url": db.url},
                        "stations": [{"id": f"st{k}", "mode": "receive"} for k in range(STATIONS)]})
    service = ScanService(config)
    app = create_app(config, engine=db.engine)
    committed = threading.Condition()
    state = {"commits": 0, "writers": STATIONS}
    errors: list[BaseException] = []
    gate = threading.Barrier(STATIONS + 1)

    def station(k: int) -> None:
        rng = random.Random(k)
        try:
            gate.wait()
            for _ in range(RECEIPTS):
                for text in ["SUP:ACME"] + ["LOOSE-1"] * rng.randint(1, 4) + ["CMD:FINISH"]:
                    result = run_in_transaction(db.Session, lambda s, t=text: service.process(s, f"st{k}", t))
                    assert result.accepted, (text, result.code, result.message)
                with committed:
                    state["commits"] += 1
                    committed.notify_all()
        except BaseException as exc:
            errors.append(exc)
        finally:
            with committed:
                state["writers"] -= 1
                committed.notify_all()

    seen: list[int] = []
    reads_during_writes = 0

    def reader() -> None:
        nonlocal reads_during_writes
        client = app.test_client()
        last = start
        gate.wait()
        while True:
            with committed:
                writing = state["writers"] > 0
                commits = state["commits"]
            answer = client.get(f"/api/events?after={last}&limit=7").get_json()
            batch = [e["id"] for e in answer["events"]]
            seen.extend(batch)
            assert answer["last_id"] == (batch[-1] if batch else last)
            last = answer["last_id"]
            if writing:
                reads_during_writes += 1
            elif not batch:
                return  # every writer had finished before this read began, and nothing is left
            if not batch and writing:
                with committed:
                    committed.wait_for(lambda commits=commits: state["commits"] != commits or state["writers"] == 0,
                                       timeout=30)

    threads = [threading.Thread(target=station, args=(k,)) for k in range(STATIONS)]
    follower = threading.Thread(target=reader)
    for t in threads + [follower]:
        t.start()
    for t in threads + [follower]:
        t.join(timeout=300)
    assert not errors, errors[:3]

    with db.Session() as s:
        all_ids = list(s.scalars(select(FeedEvent.id).where(FeedEvent.id > start).order_by(FeedEvent.id)))
        posted = s.query(Document).filter(Document.status == DocumentStatus.posted).count()
    assert len(all_ids) == posted == STATIONS * RECEIPTS
    assert seen == all_ids, "the reader skipped or repeated an event"
    assert all_ids == list(range(start + 1, start + 1 + len(all_ids))), "ids have gaps"
    assert reads_during_writes > 0
    print(f"\n{len(seen)} events followed by {reads_during_writes} reads made while {STATIONS} stations posted")
