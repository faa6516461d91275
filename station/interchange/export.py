"""Streaming the movements out for an ERP: constant memory however many rows there are."""
from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from typing import TextIO

from sqlalchemy import case, select
from sqlalchemy.orm import Session, aliased

from station.domain.models import (
    Customer,
    Document,
    DocumentKind,
    Location,
    Movement,
    MovementKind,
    Product,
    SerialNumber,
    Supplier,
)

from .representation import timestamp

#: The columns, as SPEC 5's movement names them: ``document`` is the one whose posting wrote the movement,
#: ``order`` the purchase order it filled (empty when none), ``reason`` an adjustment's; ``from_location`` and
#: ``to_location`` the codes of where the unit left and went (SPEC 3c).
FIELDS = ("id", "at", "kind", "quantity", "product", "serial", "document", "order", "station", "user", "supplier",
          "customer", "reason", "from_location", "to_location")
BATCH = 1000


def movement_rows(session: Session, since: datetime | None = None) -> Iterator[dict]:
    """Every movement (oldest first) as a flat dict, read in batches through a server-side cursor."""
    order, source, to = aliased(Document), aliased(Location), aliased(Location)
    # A count's adjustments say why from their sign and document (SPEC 3c: not stored).
    counted = case((Movement.quantity > 0, "found in count "), else_="not found in count ") + Document.reference
    reason = case((Movement.kind != MovementKind.adjustment, None), (Document.kind == DocumentKind.count, counted),
                  else_=Document.reason)
    query = (
        select(Movement.id, Movement.at, Movement.kind, Movement.quantity, Product.code, SerialNumber.serial,
               Document.reference, order.reference, Movement.station, Movement.user, Supplier.code, Customer.code,
               reason, source.code, to.code)
        .outerjoin(Product, Product.id == Movement.product_id)
        .outerjoin(SerialNumber, SerialNumber.id == Movement.serial_id)
        .outerjoin(Document, Document.id == Movement.document_id)
        .outerjoin(order, order.id == Document.order_id)
        .outerjoin(Supplier, Supplier.id == Movement.supplier_id)
        .outerjoin(Customer, Customer.id == Movement.customer_id)
        .outerjoin(source, source.id == Movement.from_location_id)
        .outerjoin(to, to.id == Movement.to_location_id)
        .order_by(Movement.id)
    )
    if since is not None:
        query = query.where(Movement.at >= since)
    result = session.execute(query.execution_options(yield_per=BATCH, stream_results=True))
    for row in result:
        values = list(row)
        values[1] = timestamp(values[1])
        values[2] = values[2].value
        yield dict(zip(FIELDS, values, strict=True))


def write_csv(rows: Iterator[dict], out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    n = 0
    for row in rows:
        writer.writerow(row)
        n += 1
    return n


def write_json(rows: Iterator[dict], out: TextIO) -> int:
    """A JSON array written element by element."""
    out.write("[")
    n = 0
    for row in rows:
        out.write(("\n" if n == 0 else ",\n") + json.dumps(row, ensure_ascii=False))
        n += 1
    out.write("\n]\n" if n else "]\n")
    return n
