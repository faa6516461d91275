"""Streaming the movements out for an ERP: constant memory however many rows there are."""
from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from typing import TextIO

from sqlalchemy.orm import Session

from station.domain.movement_facts import FACTS, M

from .representation import adjustment_reason, timestamp

#: The columns, as SPEC 5's movement names them: ``document`` is the one whose posting wrote the movement,
#: ``order`` the purchase order it filled (empty when none), ``reason`` an adjustment's; ``from_location`` and
#: ``to_location`` the codes of where the unit left and went (SPEC 3c).
FIELDS = ("id", "at", "kind", "quantity", "product", "serial", "document", "order", "station", "user", "supplier",
          "customer", "reason", "from_location", "to_location")
BATCH = 1000


def movement_rows(session: Session, since: datetime | None = None) -> Iterator[dict]:
    """Every movement (oldest first) as a flat dict, read in batches through a server-side cursor."""
    query = FACTS.order_by(M.c.id)
    if since is not None:
        query = query.where(M.c.at >= since)
    for r in session.execute(query.execution_options(yield_per=BATCH, stream_results=True)):
        # A count's adjustments say why from their sign and document (SPEC 3c: not stored).
        why = adjustment_reason(r.kind, r.document_reason, r.quantity, r.document_reference, r.document_kind)
        yield dict(zip(FIELDS, (r.id, timestamp(r.at), r.kind.value, r.quantity, r.product_code, r.serial,
                                r.document_reference, r.order_reference, r.station, r.user, r.supplier_code,
                                r.customer_code, why, r.from_location, r.to_location), strict=True))


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
