"""Properties of the whole scan path on a SQLite database: any input, any station state.

Each example processes one scan inside a transaction that is rolled back
afterwards, so every example meets the same stations: idle, mid-sale,
waiting for a serial, receiving a box, taking returns, holding an
unserialised unit.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from station.config import from_dict
from station.domain import catalogue, documents, posting
from station.domain.models import DocumentKind, DocumentLine, ScanLog, StationState
from station.scan_core import machine, prompts
from station.scanning import station_row
from station.scanning.results import ScanResult
from station.scanning.service import ScanService
from station.storage.db import make_engine, make_sessionmaker, migrate

CONFIG = from_dict({"stations": [
    {"id": "till", "mode": "sell"}, {"id": "till-open", "mode": "sell"}, {"id": "goods-in", "mode": "receive"},
    {"id": "goods-in-box", "mode": "receive"}, {"id": "returns", "mode": "return"}, {"id": "loose", "mode": "sell"},
]})
STATIONS = [s.id for s in CONFIG.stations]
KNOWN = ["CMD:FINISH", "CMD:CANCEL", "CMD:UNDO", "CMD:RECEIVE", "CMD:SELL", "CMD:RETURN", "SUP:ACME", "CUS:BOB",
         "PO-1042", "PO-1", "09501101020917", "5901234123457", "SN-IN", "SN-SOLD", "SN-A", "BOX-1", "NEW-1",
         "]d20109501101020917\x1d21NEW-2", "]d20109501101020917", "CUS:", "SUP:NOPE"]


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory):
    """A SQLite database with stations left in every phase, committed once for the whole module."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('props')}/station.db")
    migrate(engine)
    Session = make_sessionmaker(engine)
    service = ScanService(CONFIG)
    with Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget X", barcodes=["09501101020917"])
        catalogue.create_product(s, "LOOSE", "Loose", barcodes=["5901234123457"], serial_required_for_purchase=False,
                                 serial_required_for_sales=False)
        acme = catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        bob = catalogue.create_party(s, "customer", "BOB", "Bob")
        documents.create_purchase_order(s, "PO-1042", "ACME", [("WID-1", 5)])
        receipt = documents.open_document(s, DocumentKind.receipt, supplier=acme)
        for text in ("SN-IN", "SN-SOLD", "SN-A"):
            documents.add_line(s, receipt, product=catalogue.get_product(s, "WID-1"), serial=text)
        documents.add_line(s, receipt, product=catalogue.get_product(s, "LOOSE"), quantity=10)
        posting.post(s, receipt)
        sale = documents.open_document(s, DocumentKind.sale, customer=bob)
        documents.add_line(s, sale, serial="SN-SOLD")
        posting.post(s, sale)
    for station, texts in {
        "till-open": ["SN-A"],
        "goods-in": ["SUP:ACME", "09501101020917"],
        "goods-in-box": ["PO-1042", "09501101020917", "BOX-1", "BOX-2"],
        "loose": ["5901234123457"],
    }.items():
        for text in texts:
            with Session.begin() as s:
                assert service.process(s, station, text).accepted, (station, text)
    for station in STATIONS:
        with Session.begin() as s:
            ensure_row(s, service, station)  # idle stations get their state row too
    yield Session
    engine.dispose()


def ensure_row(session, service, station):
    """The station's state row, made as its first scan makes it."""
    mode = service.config.station(station).mode
    station_row.load_or_make(session, station, mode, prompts.prompt(machine.State(mode=mode), prompts.Facts()))


def state_of(session, station):
    """The station's state row and its open document's lines, read from the database."""
    row = session.execute(select(StationState.mode, StationState.document_id, StationState.product_id,
                                 StationState.phase, StationState.attach_line, StationState.prompt)
                          .where(StationState.station == station)).one()
    lines = session.execute(select(DocumentLine.line_no, DocumentLine.product_id, DocumentLine.serial,
                                   DocumentLine.quantity, DocumentLine.is_open)
                            .where(DocumentLine.document_id == row.document_id)
                            .order_by(DocumentLine.line_no)).all()
    return tuple(row), [tuple(line) for line in lines]


inputs = st.one_of(
    st.sampled_from(KNOWN),
    st.text(max_size=600),
    st.binary(max_size=600),
    st.builds(lambda a, b: a + b, st.sampled_from(KNOWN), st.text(max_size=20)),
)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(STATIONS), inputs)
def test_any_scan_in_any_state_answers_and_a_refusal_changes_nothing(sqlite_db, station, raw):
    """Guards the promise that refused input never crashes anything: an answer every time, the state kept on refusal."""
    with sqlite_db() as s:
        try:
            before = state_of(s, station)
            logged_before = s.query(ScanLog).count()
            result = ScanService(CONFIG).process(s, station, raw, device="hypothesis")
            assert isinstance(result, ScanResult)
            assert isinstance(result.accepted, bool) and result.message and result.prompt
            assert (result.code is None) is result.accepted
            assert s.query(ScanLog).count() == logged_before + 1
            if not result.accepted:
                assert state_of(s, station) == before
        finally:
            s.rollback()
