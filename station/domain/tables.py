"""The mapped tables as SQLAlchemy Core tables, under the one short name each that the set-based statements use.

The statements that read or write many rows at once (a scan's facts, posting, the checks, the JSON of where
units are) are written on Core tables, not on the ORM classes; each module imports the few it uses from here
rather than naming them again, so ``L`` is a document line wherever it is read.
"""
from __future__ import annotations

from .models import (
    Customer,
    Document,
    DocumentLine,
    Location,
    Movement,
    Product,
    ProductBarcode,
    SerialNumber,
    StockLevel,
)

B = ProductBarcode.__table__
C = Customer.__table__
D = Document.__table__
L = DocumentLine.__table__
LOC = Location.__table__
M = Movement.__table__
P = Product.__table__
S = SerialNumber.__table__
SL = StockLevel.__table__
