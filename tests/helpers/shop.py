"""The service desk tests' shop: a phone with 24 months of warranty, a tablet with 12, a cable with none, supplier
ACME and customers Jane Doe and Bob; serials received on one receipt, then sold on one sale per customer."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from station.domain import catalogue, documents, posting
from station.domain.models import DocumentKind

PHONE_EAN = "4006381333931"

#: code: (name, months of warranty), in the order they are made.
PRODUCTS = {"PHONE": ("Phone", 24), "TAB": ("Tablet", 12), "CABLE": ("Cable", 0)}
CUSTOMERS = {"JANE": "Jane Doe", "BOB": "Bob"}


def stock_shop(s: Session, received: Sequence[tuple[str, str]], sold: Mapping[str, Sequence[str]], *,
               station: str | None = None, phone_barcodes: Sequence[str] = ()) -> None:
    """Make the products that ``received`` names ((product code, serial) pairs, the receipt's lines in order), ACME
    and the customers ``sold`` names; receive the serials from ACME, then sell them (customer code: serials)."""
    used = {code for code, _ in received}
    products = {code: catalogue.create_product(s, code, name, warranty_months=months,
                                               barcodes=phone_barcodes if code == "PHONE" else ())
                for code, (name, months) in PRODUCTS.items() if code in used}
    acme = catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
    customers = {code: catalogue.create_party(s, "customer", code, name)
                 for code, name in CUSTOMERS.items() if code in sold}
    receipt = documents.open_document(s, DocumentKind.receipt, station=station, supplier=acme)
    for code, serial in received:
        documents.add_line(s, receipt, product=products[code], serial=serial)
    posting.post(s, receipt)
    for code, serials in sold.items():
        sale = documents.open_document(s, DocumentKind.sale, station=station, customer=customers[code])
        for serial in serials:
            documents.add_line(s, sale, serial=serial)
        posting.post(s, sale)
