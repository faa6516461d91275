"""The product and serial searches, one query each: the API (``/api/products``, ``/api/serials``) and the pages
(``/products``, ``/serials``) both call these, so a filter or an order is changed in one place.

Each answers one page of records, with what their JSON reads loaded with them, and how many match in all.
A text matched from its start or inside is matched literally (``autoescape``): a ``%`` or ``_`` typed in a
search box is itself, not a wildcard.
"""
from __future__ import annotations

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from .barcodes import lookup_forms
from .models import Customer, Product, ProductBarcode, SerialNumber


def _page(session: Session, query: Select, order, page: int, per_page: int, *options) -> tuple[list, int]:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(order).offset((max(page, 1) - 1) * per_page).limit(per_page)
                           .options(*options)).all()
    return list(rows), total


def products(session: Session, *, text: str | None = None, barcode: str | None = None, page: int = 1,
             per_page: int = 50) -> tuple[list[Product], int]:
    """Products by code: ``text`` matches a code's start or part of a name (any case), ``barcode`` any of its GTIN
    forms (UPC-A, EAN-13 and GTIN-14 are one number); each product with its barcodes."""
    query = select(Product)
    if text is not None:
        query = query.where(or_(Product.code.istartswith(text, autoescape=True),
                                Product.name.icontains(text, autoescape=True)))
    if barcode is not None:
        query = query.where(Product.id.in_(
            select(ProductBarcode.product_id).where(ProductBarcode.barcode.in_(lookup_forms(barcode.strip())))))
    return _page(session, query, Product.code, page, per_page, selectinload(Product.barcodes))


def serials(session: Session, *, prefix: str | None = None, product: str | None = None, customer: str | None = None,
            in_stock: bool | None = None, page: int = 1, per_page: int = 50) -> tuple[list[SerialNumber], int]:
    """Serials by serial: ``prefix`` matches a serial's start (any case), ``product`` and ``customer`` are codes
    (one that names nothing matches nothing); each serial with its product, customer and supplier."""
    query = select(SerialNumber)
    if prefix is not None:
        query = query.where(SerialNumber.serial.istartswith(prefix, autoescape=True))
    if product is not None:
        query = query.join(Product, SerialNumber.product_id == Product.id).where(Product.code == product)
    if customer is not None:
        query = query.join(Customer, SerialNumber.customer_id == Customer.id).where(Customer.code == customer)
    if in_stock is not None:
        query = query.where(SerialNumber.in_stock.is_(in_stock))
    return _page(session, query, SerialNumber.serial, page, per_page, selectinload(SerialNumber.product),
                 selectinload(SerialNumber.customer), selectinload(SerialNumber.supplier))
