"""The GTIN of each serial's product, as labels and URIs need it: read from the records, a few statements a batch.

A product's GTIN is the first of its barcodes stored as a GTIN-14
(``station.domain.barcodes.gtin_of``). A serial's product is its record's;
a unit not yet posted (a new serial on a receipt still open, whose label
``CMD:PRINT`` may print) has no record, so its newest document line says.
"""
from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from station.domain.barcodes import gtin_of
from station.domain.models import DocumentLine, ProductBarcode, SerialNumber


def product_gtins(session: Session, product_ids: Collection[int]) -> dict[int, str | None]:
    """Each product's GTIN (None: none of its barcodes is one)."""
    barcodes: dict[int, list[str]] = {product: [] for product in product_ids}
    if barcodes:
        for product, barcode in session.execute(
                select(ProductBarcode.product_id, ProductBarcode.barcode)
                .where(ProductBarcode.product_id.in_(list(barcodes))).order_by(ProductBarcode.id)):
            barcodes[product].append(barcode)
    return {product: gtin_of(found) for product, found in barcodes.items()}


def serial_gtins(session: Session, serials: Collection[str]) -> dict[str, str | None]:
    """Each serial's product's GTIN; None for a serial without a product, or whose product has no GTIN."""
    wanted = list(dict.fromkeys(serials))
    products: dict[str, int | None] = dict.fromkeys(wanted)
    if wanted:
        products.update(session.execute(select(SerialNumber.serial, SerialNumber.product_id)
                                        .where(SerialNumber.serial.in_(wanted))).all())
    unposted = [serial for serial, product in products.items() if product is None]
    if unposted:
        for serial, product in session.execute(
                select(DocumentLine.serial, DocumentLine.product_id)
                .where(DocumentLine.serial.in_(unposted), DocumentLine.product_id.is_not(None))
                .order_by(DocumentLine.id)):
            products[serial] = product  # the newest line last, so it wins
    gtins = product_gtins(session, {product for product in products.values() if product is not None})
    return {serial: gtins.get(product) if product is not None else None for serial, product in products.items()}
