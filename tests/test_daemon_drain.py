"""A backlog of held scans drains in batches: one transaction for many scans, each with its own answer (issue 22).

Scans are written to a real spool as pending (what an outage leaves), then
a real Processor drains them into the test's database (SQLite and
PostgreSQL). Transactions are counted by the engine's commit events, so a
batch is proved to be one commit, not assumed.
"""
from __future__ import annotations

import json

import pytest
from helpers.daemon import wait_live
from sqlalchemy import event, select

from station.config import from_dict
from station.daemon.processor import Processor
from station.daemon.spool import Spool
from station.domain.models import Document, DocumentLine, DocumentStatus, ScanLog
from station.live.status import LiveStatus
from station.scanning.service import ScanService

GTIN = "036000291452"
CONFIG = from_dict({"stations": [{"id": "in", "mode": "receive"}, {"id": "till", "mode": "sell"}]})


@pytest.fixture
def drain(db, world, tmp_path):
    """Spool the given (station, text) scans as held, drain them with a real Processor, and answer
    (the spool's rows, the number of commits the drain made)."""
    commits = [0]

    def tick(_conn):
        commits[0] += 1

    def run(scans: list[tuple[str, str]], batch: int = 50):
        live = LiveStatus()
        with Spool(tmp_path / "spool.db") as spool:
            seqs = [spool.append(station, "scanner", text.encode()).seq for station, text in scans]
            processor = Processor(spool, db.Session, ScanService(CONFIG), live, stations=["in", "till"], batch=batch)
            event.listen(db.engine, "commit", tick)
            try:
                processor.start()
                wait_live(live, lambda: not spool.has_pending(), 30, "the held scans drained")
            finally:
                processor.stop(timeout=5)
                event.remove(db.engine, "commit", tick)
            return [spool.get(seq) for seq in seqs], commits[0]

    return run


def logged(db) -> list[tuple]:
    with db.Session() as s:
        return [tuple(r) for r in s.execute(select(ScanLog.station, ScanLog.raw, ScanLog.accepted, ScanLog.code,
                                                   ScanLog.idempotency_key, ScanLog.response).order_by(ScanLog.id))]


def test_a_batch_gives_each_held_scan_its_own_answer_in_order(db, drain):
    """Guards batching: the held scans of two stations, drained in one transaction, each logged in spool order under
    its own key with its own answer (prompt and message), exactly as one by one would have answered."""
    scans = [("in", "SUP:ACME"), ("in", GTIN), ("till", "CUS:BOB"), ("in", "SN-1"), ("in", "SN-2"),
             ("in", "CMD:FINISH")]
    rows, commits = drain(scans)
    assert commits == 1  # one transaction for the six scans
    assert [r.state for r in rows] == ["done"] * 6 and [r.outcome for r in rows] == ["accepted"] * 6
    log = logged(db)
    assert [(station, raw) for station, raw, *_ in log] == scans
    spool_keys = [key for *_, key, _ in log]
    assert len(set(spool_keys)) == 6 and all(key.startswith("spool:") for key in spool_keys)
    answers = [json.loads(response) for *_, response in log]
    assert [a["accepted"] for a in answers] == [True] * 6
    # Each its own answer: the receipt grew one line a serial, and the finish answered the posted document.
    assert "2 of" not in answers[3]["message"] and answers[3]["document"]["line_count"] == 1
    assert answers[4]["document"]["line_count"] == 2
    assert answers[5]["document"]["status"] == "posted"
    assert len({a["prompt"] for a in answers[:2]}) == 2


def test_a_refusal_in_the_middle_of_a_batch_loses_and_reorders_nothing(db, drain):
    """Guards the batch's refusals: a refused scan between accepted ones is answered and logged as refused, and the
    scans before and after it take effect, in order, in the same transaction."""
    scans = [("in", "SUP:ACME"), ("in", GTIN), ("in", "SN-1"), ("in", "SN-1"), ("in", "NOT A SERIAL\x07"),
             ("in", "SN-2"), ("in", "CMD:FINISH")]
    rows, commits = drain(scans)
    assert commits == 1
    outcomes = [r.outcome for r in rows]
    assert outcomes[:3] == ["accepted"] * 3 and outcomes[5:] == ["accepted"] * 2
    assert outcomes[3].startswith("refused ") and outcomes[4].startswith("refused ")
    log = logged(db)
    assert [(station, raw) for station, raw, *_ in log] == [(st, text.replace("\x07", "\\x07")) for st, text in scans]
    assert [accepted for _, _, accepted, *_ in log] == [True, True, True, False, False, True, True]
    with db.Session() as s:
        doc = s.scalars(select(Document).where(Document.station == "in")).one()
        assert doc.status == DocumentStatus.posted
        assert s.scalars(select(DocumentLine.serial).where(DocumentLine.document_id == doc.id)
                         .order_by(DocumentLine.line_no)).all() == ["SN-1", "SN-2"]


def test_a_scan_that_raises_in_a_batch_falls_back_to_one_by_one(db, drain):
    """Guards the batch against a scan that can never succeed (its station gone from the config): the batch is
    rolled back and its scans processed one by one, in order; the bad one is marked failed, the others done."""
    scans = [("in", "SUP:ACME"), ("gone", "SN-9"), ("in", GTIN)]
    rows, _ = drain(scans)
    assert [r.state for r in rows] == ["done", "failed", "done"]
    assert [(station, raw) for station, raw, *_ in logged(db)] == [("in", "SUP:ACME"), ("in", GTIN)]
