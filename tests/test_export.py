"""The movements export: every row, in order, in constant memory."""
from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from station.domain import catalogue
from station.domain.models import Movement, MovementKind, Product
from station.interchange.export import movement_rows, write_csv, write_json


def _fill(db, n: int, start: int = 0) -> None:
    with db.Session.begin() as s:
        product = s.query(Product).one_or_none() or catalogue.create_product(s, "P", "P")
        base = datetime(2026, 1, 1, tzinfo=UTC)
        s.execute(insert(Movement), [
            {"at": base + timedelta(seconds=start + i), "kind": MovementKind.adjustment, "quantity": 1,
             "product_id": product.id, "station": "bench"}
            for i in range(n)
        ])


def test_csv_and_json_hold_every_row(db):
    """Both formats hold every movement, oldest first, and --since filters by time."""
    _fill(db, 25)
    with db.Session() as s:
        out = io.StringIO()
        assert write_csv(movement_rows(s), out) == 25
        rows = list(csv.DictReader(io.StringIO(out.getvalue())))
        assert [int(r["id"]) for r in rows] == sorted(int(r["id"]) for r in rows)
        assert rows[0]["product"] == "P" and rows[0]["kind"] == "adjustment" and rows[0]["at"].endswith("Z")
        out = io.StringIO()
        since = datetime(2026, 1, 1, 0, 0, 20, tzinfo=UTC)
        assert write_json(movement_rows(s, since), out) == 5
        assert len(json.loads(out.getvalue())) == 5
        empty = io.StringIO()
        write_json(movement_rows(s, datetime(2030, 1, 1, tzinfo=UTC)), empty)
        assert json.loads(empty.getvalue()) == []


def _peak_export(db) -> int:
    class Sink(io.TextIOBase):
        def write(self, text):
            return len(text)

    with db.Session() as s:
        tracemalloc.start()
        write_csv(movement_rows(s), Sink())
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def test_memory_stays_flat(db):
    """Exporting 50 times more rows does not take much more memory: rows stream, they are not collected."""
    _fill(db, 1_000)
    small = _peak_export(db)
    _fill(db, 49_000, start=1_000)
    large = _peak_export(db)
    assert large < small * 3 + 256 * 1024, (small, large)
