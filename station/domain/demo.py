"""A few records to try the station with (``station demo``), and whether the database has any products yet."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from station.domain import catalogue, documents
from station.domain.models import Document, Product

PRODUCTS = (
    # code, name, serial for purchase, serial for sales, barcode (valid EAN-13 / UPC-A)
    ("PHONE-1", "Demo phone (serial in and out)", True, True, "4006381333931"),
    ("ROUTER-1", "Demo router (serial only when sold)", False, True, "036000291452"),
    ("DRILL-1", "Demo drill (serial only when received)", True, False, "9780201379624"),
    ("CABLE-1", "Demo cable (no serials)", False, False, "5901234123457"),
)
WARRANTY = {"PHONE-1": 24, "ROUTER-1": 12}  # months: the service desk says the warranty of each unit
SUPPLIER = ("DEMO-SUP", "Demo Supplies Ltd")
CUSTOMER = ("DEMO-CUS", "Demo Customer")
ORDER = "PO-1001"


@dataclass(frozen=True)
class DemoResult:
    created: list[str]
    existing: list[str]


def create_demo(session: Session) -> DemoResult:
    """Products with each flag combination, a supplier, a customer and a purchase order; idempotent."""
    created: list[str] = []
    existing: list[str] = []
    for code, name, purchase, sales, barcode in PRODUCTS:
        if session.scalar(select(Product.id).where(Product.code == code)):
            existing.append(f"product {code}")
            continue
        catalogue.create_product(session, code, name, serial_required_for_purchase=purchase,
                                 serial_required_for_sales=sales, barcodes=[barcode],
                                 warranty_months=WARRANTY.get(code, 0))
        created.append(f"product {code} (barcode {barcode})")
    for kind, (code, name) in (("supplier", SUPPLIER), ("customer", CUSTOMER)):
        model = catalogue.PARTY_MODELS[kind]
        if session.scalar(select(model.id).where(model.code == code)):
            existing.append(f"{kind} {code}")
        else:
            catalogue.create_party(session, kind, code, name)
            created.append(f"{kind} {code}")
    if session.scalar(select(Document.id).where(Document.reference == ORDER)):
        existing.append(f"purchase order {ORDER}")
    else:
        documents.create_purchase_order(session, ORDER, SUPPLIER[0], [("PHONE-1", 3), ("CABLE-1", 10)])
        created.append(f"purchase order {ORDER} (3 x PHONE-1, 10 x CABLE-1)")
    return DemoResult(created, existing)


def is_empty(session: Session) -> bool:
    return session.scalar(select(Product.id).limit(1)) is None


FIRST_RUN_HINT = "No products yet: run `station demo`, or import products (`station import products FILE.csv`)."
