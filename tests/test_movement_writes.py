"""The one builder of a movement's writes (station.domain.movement_writes): every column, said once, from the table.

Every posting writes its movements through ``bound_lines`` (the INSERT ... SELECT of a document's serial lines)
or ``row`` (one movement by value). What they promise: every movement column is written, NULL unless the caller
or the builder's defaults say otherwise, and a name that is not a movement column is refused at once rather
than written nowhere.
"""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import literal

from station.domain import movement_writes
from station.domain.facts import DocumentHead
from station.domain.models import Movement
from station.domain.vocabulary import DocumentKind, DocumentStatus

AT = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
DOC = DocumentHead(7, "A-000007", DocumentKind.adjustment, DocumentStatus.open, "in", "ann", None, None, None)


def test_every_movement_column_is_written():
    """Guards that a column added to the model is written by every posting (NULL until someone names it)."""
    assert set(movement_writes.COLUMNS) == {c.name for c in Movement.__table__.c} - {"id"}
    statement = movement_writes.bound_lines(kind=literal("adjustment"), quantity=literal(1))
    named = str(statement).split("INSERT INTO movement (", 1)[1].split(")", 1)[0]
    assert [name.strip().strip('"') for name in named.split(",")] == list(movement_writes.COLUMNS)
    assert set(movement_writes.row(DOC, AT, kind="adjustment", quantity=1)) == set(movement_writes.COLUMNS)


@pytest.mark.parametrize(("user", "written"), [(None, "ann"), ("bob", "bob")], ids=["document's", "line's"])
def test_row_names_the_posting_and_who_scanned(user, written):
    """Guards a movement by value: the posting's time, document and station; the line's user, else the document's."""
    row = movement_writes.row(DOC, AT, user=user, kind="adjustment", product_id=3, quantity=-2, from_location_id=1)
    assert row == dict.fromkeys(movement_writes.COLUMNS) | {
        "at": AT, "document_id": 7, "station": "in", "user": written, "kind": "adjustment", "product_id": 3,
        "quantity": -2, "from_location_id": 1}


@pytest.mark.parametrize("build", [
    lambda: movement_writes.row(DOC, AT, kind="adjustment", quantity=1, to_locaton_id=1),
    lambda: movement_writes.bound_lines(kind=literal("adjustment"), quantity=literal(1), to_locaton_id=1),
], ids=["row", "bound_lines"])
def test_a_misspelt_column_is_refused(build):
    """Guards against a value given to a column that does not exist, which would otherwise be written nowhere."""
    with pytest.raises(TypeError, match="to_locaton_id"):
        build()
