"""The mapped tables as SQLAlchemy Core tables, under the one short name each that the set-based statements use.

The statements that read or write many rows at once (a scan's facts, posting, the checks, the JSON of where
units are) are written on Core tables, not on the ORM classes; each module imports the few it uses from here
rather than naming them again, so ``L`` is a document line wherever it is read.
"""
from __future__ import annotations

from . import models

B = models.ProductBarcode.__table__
C = models.Customer.__table__
D = models.Document.__table__
L = models.DocumentLine.__table__
LOC = models.Location.__table__
M = models.Movement.__table__
P = models.Product.__table__
S = models.SerialNumber.__table__
SL = models.StockLevel.__table__
SU = models.Supplier.__table__
