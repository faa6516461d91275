"""A product's record as SPEC 5's product reads it: the one read model of the product, one statement a page.

Theory of operation. A product's JSON is its own columns, how many of its
serials are in stock (a count by the ``(product_id, in_stock)`` index, so
``on_hand`` is never stored apart from the serials), and its barcodes in
the order they were added. ``RECORD`` reads them in one statement: a row
per barcode (an outer join, so a product without barcodes is one row too),
which ``records`` folds into one ``ProductRecord`` each. ``by_code`` and
``by_id`` read one product, searches.products a page of them (its filters
pick the page's ids, so the count and the page read the product table
alone and only the page is joined to its barcodes).

The writers (catalogue.py, stock.py) hold the ORM Product; what a caller
answers after a write is read again here by ``by_id``, on the session (so
what it changed is flushed first): no JSON reads an ORM object. The rules
read a product their own way, for the scan path (facts.ProductFacts).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from .errors import NotFound
from .models import CODE_MAX
from .tables import B, P, S
from .validation import could_be_key


@dataclass(frozen=True)
class ProductRecord:
    """A product as its JSON and its page show it."""

    id: int
    code: str
    name: str
    serial_required_for_purchase: bool
    serial_required_for_sales: bool
    warranty_months: int
    unserialised_on_hand: int
    serials_in_stock: int
    barcodes: tuple[str, ...] = ()

    @property
    def on_hand(self) -> int:
        """Every unit in stock, serialised or not."""
        return self.unserialised_on_hand + self.serials_in_stock


_COLUMNS = tuple(f.name for f in fields(ProductRecord) if f.name != "barcodes")
_IN_STOCK = (select(func.count()).select_from(S).where(S.c.product_id == P.c.id, S.c.in_stock.is_(True))
             .correlate(P).scalar_subquery())

#: Products with their serials in stock and a row per barcode, oldest barcode first; a reader filters by ``P``'s
#: columns (never by a barcode's: that would drop the product's other barcodes) and orders by ``P.c.code``.
RECORD = (select(P.c.id, P.c.code, P.c.name, P.c.serial_required_for_purchase, P.c.serial_required_for_sales,
                 P.c.warranty_months, P.c.unserialised_on_hand, _IN_STOCK.label("serials_in_stock"),
                 B.c.barcode)
          .select_from(P.outerjoin(B, B.c.product_id == P.c.id)))
_BY_CODE = RECORD.where(P.c.code == bindparam("code")).order_by(B.c.id)
_BY_ID = RECORD.where(P.c.id == bindparam("id")).order_by(B.c.id)


def records(rows: Iterable) -> list[ProductRecord]:
    """Rows of ``RECORD`` as one record per product (in the rows' order), each with its barcodes in theirs."""
    heads: dict[int, Any] = {}
    barcodes: dict[int, list[str]] = {}
    for row in rows:
        heads.setdefault(row.id, row)
        if row.barcode is not None:
            barcodes.setdefault(row.id, []).append(row.barcode)
    return [ProductRecord(**{f: getattr(row, f) for f in _COLUMNS}, barcodes=tuple(barcodes.get(i, ())))
            for i, row in heads.items()]


def by_code(session: Session, code: str) -> ProductRecord:
    """The product ``code`` names (NotFound ``unknown_product`` when none does)."""
    found = records(session.execute(_BY_CODE, {"code": code})) if could_be_key(code, CODE_MAX) else []
    if not found:
        raise NotFound("unknown_product", f"There is no product {code}.")
    return found[0]


def by_id(session: Session, product_id: int) -> ProductRecord | None:
    """The product with that id, or None; what the session changed is flushed first (a writer's answer)."""
    found = records(session.execute(_BY_ID, {"id": product_id}))
    return found[0] if found else None


def page(session: Session, ids: Select) -> list[ProductRecord]:
    """The products whose ids ``ids`` selects (one page of a search, ordered and limited there), by code."""
    return records(session.execute(RECORD.where(P.c.id.in_(ids.correlate(None))).order_by(P.c.code, B.c.id)))
