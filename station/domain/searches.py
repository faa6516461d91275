"""The product, serial, document and party searches, one query each: the API (``/api/products``, ``/api/serials``,
``/api/suppliers``, ``/api/customers``) and the pages (``/products``, ``/serials``, ``/documents``) call these, so a
filter or an order is changed in one place.

Each answers one page of records, as their read model (serials.RECORD, product_record, document_record,
party_record), and how many match in all.
A text matched from its start or inside is matched literally (``autoescape``): a ``%`` or ``_`` typed in a
search box is itself, not a wildcard.
"""
from __future__ import annotations

from sqlalchemy import Row, Select, func, or_, select
from sqlalchemy.orm import Session

from . import document_record, party_record, product_record
from .barcodes import lookup_forms
from .party_record import PartyRecord
from .product_record import ProductRecord
from .serials import RECORD
from .tables import B, C, D, P, S
from .vocabulary import DocumentKind, DocumentStatus


def _window(query: Select, order, page: int, per_page: int) -> Select:
    """One page (from 1) of ``query`` by ``order``."""
    return query.order_by(order).offset((max(page, 1) - 1) * per_page).limit(per_page)


def products(session: Session, *, text: str | None = None, barcode: str | None = None, page: int = 1,
             per_page: int = 50) -> tuple[list[ProductRecord], int]:
    """Products by code: ``text`` matches a code's start or part of a name (any case), ``barcode`` any of its GTIN
    forms (UPC-A, EAN-13 and GTIN-14 are one number); each product as its record (product_record: its barcodes,
    its serials in stock). The filters are on the product's own columns, so they are counted on its table alone,
    and only the page's products are read with their barcodes."""
    wanted = []
    if text is not None:
        wanted.append(or_(P.c.code.istartswith(text, autoescape=True), P.c.name.icontains(text, autoescape=True)))
    if barcode is not None:
        wanted.append(P.c.id.in_(select(B.c.product_id).where(B.c.barcode.in_(lookup_forms(barcode.strip())))))
    total = session.scalar(select(func.count()).select_from(P).where(*wanted)) or 0
    return product_record.page(session, _window(select(P.c.id).where(*wanted), P.c.code, page, per_page)), total


def _id_of(table, code: str):
    """The id of the row of ``table`` with that code, as a subquery of its own (never correlated with a query that
    joins ``table`` too): NULL, so matching nothing, when there is none."""
    return select(table.c.id).where(table.c.code == code).correlate(None).scalar_subquery()


def serials(session: Session, *, prefix: str | None = None, product: str | None = None, customer: str | None = None,
            in_stock: bool | None = None, page: int = 1, per_page: int = 50) -> tuple[list[Row], int]:
    """Serials by serial: ``prefix`` matches a serial's start (any case), ``product`` and ``customer`` are codes
    (one that names nothing matches nothing); each serial's record as a row of serials.RECORD (its product,
    customer and supplier named). The filters are on the serial's own columns, so they are counted on its table
    alone, and only the page's rows are joined to what they name."""
    wanted = []
    if prefix is not None:
        wanted.append(S.c.serial.istartswith(prefix, autoescape=True))
    if product is not None:
        wanted.append(S.c.product_id == _id_of(P, product))
    if customer is not None:
        wanted.append(S.c.customer_id == _id_of(C, customer))
    if in_stock is not None:
        wanted.append(S.c.in_stock.is_(in_stock))
    total = session.scalar(select(func.count()).select_from(S).where(*wanted)) or 0
    return session.execute(_window(RECORD.where(*wanted), S.c.serial, page, per_page)).all(), total


def documents(session: Session, *, prefix: str | None = None, kind: DocumentKind | None = None,
              status: DocumentStatus | None = None, page: int = 1, per_page: int = 50) -> tuple[list[Row], int]:
    """Documents, newest first: ``prefix`` matches a reference's start (any case); each as a row of
    document_record.RECORD (its party and order named). Counted on the document table alone."""
    wanted = []
    if prefix is not None:
        wanted.append(D.c.reference.istartswith(prefix, autoescape=True))
    if kind is not None:
        wanted.append(D.c.kind == kind)
    if status is not None:
        wanted.append(D.c.status == status)
    total = session.scalar(select(func.count()).select_from(D).where(*wanted)) or 0
    return session.execute(_window(document_record.RECORD.where(*wanted), D.c.id.desc(), page, per_page)).all(), total


def parties(session: Session, kind: str, *, text: str | None = None, page: int = 1,
            per_page: int = 50) -> tuple[list[PartyRecord], int]:
    """Suppliers or customers (``kind``) by code: ``text`` matches a code's start or part of a name (any case)."""
    table = party_record.TABLES[kind]
    wanted = []
    if text is not None:
        wanted.append(or_(table.c.code.istartswith(text, autoescape=True),
                          table.c.name.icontains(text, autoescape=True)))
    total = session.scalar(select(func.count()).select_from(table).where(*wanted)) or 0
    rows = session.execute(_window(party_record.record(kind).where(*wanted), table.c.code, page, per_page))
    return party_record.records(rows), total
