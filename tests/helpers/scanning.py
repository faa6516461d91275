"""What the scan service's tests share: their ``service`` fixture, and what a refused scan must leave alone."""
from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from station.domain.models import DocumentLine, StationState
from station.scanning.service import ScanService


def service_fixture(make_service: Callable[[], ScanService]):
    """A ``service`` fixture: ``make_service()`` afresh for each test."""
    return pytest.fixture(name="service")(lambda: make_service())


def station_snapshot(db, station: str) -> tuple | None:
    """The station's state row and every line of its open document: what a refused scan must leave as it was."""
    with db.Session() as s:
        row = s.get(StationState, station)
        if row is None:
            return None
        lines = []
        if row.document_id is not None:
            lines = [tuple(line) for line in s.execute(
                select(DocumentLine.line_no, DocumentLine.product_id, DocumentLine.serial, DocumentLine.quantity,
                       DocumentLine.is_open, DocumentLine.replaces)
                .where(DocumentLine.document_id == row.document_id).order_by(DocumentLine.line_no))]
        return (row.mode, row.phase, row.document_id, row.product_id, row.attach_line, row.prompt, lines)
