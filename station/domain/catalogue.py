"""Products with their barcodes, suppliers and customers."""
from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import events
from .barcodes import lookup_forms, normalise_barcode, number_forms
from .errors import Conflict, Invalid, NotFound
from .models import CODE_MAX, SERIAL_MAX, Customer, Product, ProductBarcode, SerialNumber, Supplier
from .validation import PARTY_PREFIXES, could_be_key, has_control, require_code, require_name, require_warranty_months
from .vocabulary import EventType

PARTY_MODELS = {"supplier": Supplier, "customer": Customer}


def get_product(session: Session, code: str) -> Product:
    product = session.scalar(select(Product).where(Product.code == code)) if could_be_key(code, CODE_MAX) else None
    if product is None:
        raise NotFound("unknown_product", f"There is no product {code}.")
    return product


def product_by_barcode(session: Session, text: str) -> Product | None:
    forms = lookup_forms(text)
    return session.scalar(
        select(Product).join(ProductBarcode).where(ProductBarcode.barcode.in_(forms)).limit(1)
    )


def check_barcode(session: Session, raw: str, pattern: re.Pattern[str] | None = None) -> str:
    """A barcode fit to add: printable, unique, never equal to a serial in any of its number forms, and never
    scannable as something else (a command, a party, an operator badge, a purchase order reference)."""
    if not raw.strip():
        raise Invalid("invalid_barcode", "A barcode must be a non-empty text.")
    barcode = normalise_barcode(raw)
    if len(barcode) > SERIAL_MAX or has_control(barcode) or not barcode.isprintable():
        raise Invalid("invalid_barcode", f"A barcode has 1-{SERIAL_MAX} printable characters.")
    if barcode.upper().startswith(PARTY_PREFIXES):
        raise Invalid("invalid_barcode", f"A barcode may not start with {', '.join(PARTY_PREFIXES)}.")
    if pattern is not None and (pattern.search(barcode) or pattern.search(raw.strip())):
        raise Invalid("invalid_barcode", f"{raw.strip()} looks like a purchase order reference, so it would be "
                                         "read as one, never as the product.")
    owner = session.scalar(select(Product.code).join(ProductBarcode).where(ProductBarcode.barcode == barcode))
    if owner is not None:
        raise Conflict("duplicate_barcode", f"Barcode {barcode} belongs to product {owner} already.")
    if session.scalar(select(SerialNumber.id).where(SerialNumber.serial.in_(number_forms(raw))).limit(1)):
        raise Conflict("barcode_is_serial", f"{raw.strip()} is a serial number, so it cannot be a product barcode.")
    return barcode


def _add_barcode(session: Session, product: Product, raw: str,
                 pattern: re.Pattern[str] | None = None) -> ProductBarcode:
    barcode = check_barcode(session, raw, pattern)
    row = ProductBarcode(product=product, barcode=barcode)
    session.add(row)
    session.flush()
    return row


def add_barcode(session: Session, product: Product, raw: str, pattern: re.Pattern[str] | None = None) -> ProductBarcode:
    row = _add_barcode(session, product, raw, pattern)
    product_changed(session, product)
    return row


def product_changed(session: Session, product: Product) -> None:
    """The feed's ``product.changed`` for a product made or edited (events.py), in the caller's transaction."""
    events.record(session, EventType.product_changed, "product", product.id)


def remove_barcode(session: Session, product: Product, raw: str) -> None:
    forms = lookup_forms(raw.strip())
    row = session.scalar(
        select(ProductBarcode).where(ProductBarcode.product_id == product.id, ProductBarcode.barcode.in_(forms))
    ) if could_be_key(raw, SERIAL_MAX) else None
    if row is None:
        raise NotFound("unknown_barcode", f"Product {product.code} has no barcode {raw}.")
    session.delete(row)
    session.flush()
    product_changed(session, product)


def create_product(session: Session, code: str, name: str, *, serial_required_for_purchase: bool = True,
                   serial_required_for_sales: bool = True, barcodes: Sequence[str] = (),
                   pattern: re.Pattern[str] | None = None, warranty_months: int = 0) -> Product:
    """A product with its barcodes; 409 ``duplicate`` for a taken code.

    SPEC 2: both flags true and no warranty (0 months) unless given.
    """
    code = require_code(code)
    name = require_name(name)
    warranty_months = require_warranty_months(warranty_months)
    if session.scalar(select(Product.id).where(Product.code == code)):
        raise Conflict("duplicate", f"Product {code} exists already.")
    product = Product(
        code=code,
        name=name,
        serial_required_for_purchase=serial_required_for_purchase,
        serial_required_for_sales=serial_required_for_sales,
        unserialised_on_hand=0,
        warranty_months=warranty_months,
    )
    session.add(product)
    session.flush()
    seen: set[str] = set()
    for raw in barcodes:
        barcode = check_barcode(session, raw, pattern)
        if barcode in seen:
            raise Conflict("duplicate_barcode", f"Barcode {barcode} is listed twice.")
        seen.add(barcode)
        session.add(ProductBarcode(product=product, barcode=barcode))
    session.flush()
    product_changed(session, product)
    return product


def update_product(session: Session, product: Product, *, name: str | None = None,
                   serial_required_for_purchase: bool | None = None, serial_required_for_sales: bool | None = None,
                   barcodes: Sequence[str] | None = None, pattern: re.Pattern[str] | None = None,
                   warranty_months: int | None = None) -> Product:
    """Change what is given (None: unchanged); ``barcodes`` is the whole new list. A change is a ``product.changed``.

    A new ``warranty_months`` applies to sales from now on: a warranty given is not rewritten.
    """
    before = _shape(product)
    if name is not None:
        product.name = require_name(name)
    if warranty_months is not None:
        product.warranty_months = require_warranty_months(warranty_months)
    if serial_required_for_purchase is not None:
        product.serial_required_for_purchase = serial_required_for_purchase
    if serial_required_for_sales is not None:
        product.serial_required_for_sales = serial_required_for_sales
    if barcodes is not None:
        keep = {normalise_barcode(b) for b in barcodes}
        for row in list(product.barcodes):
            if row.barcode not in keep:
                product.barcodes.remove(row)
        session.flush()
        have = {row.barcode for row in product.barcodes}
        for raw in barcodes:
            if normalise_barcode(raw) not in have:
                _add_barcode(session, product, raw, pattern)
                have.add(normalise_barcode(raw))
    session.flush()
    if _shape(product) != before:
        product_changed(session, product)
    return product


def _shape(product: Product) -> tuple:
    """What an edit of a product can change, to tell an edit from a save of the same values."""
    return (product.name, product.serial_required_for_purchase, product.serial_required_for_sales,
            frozenset(b.barcode for b in product.barcodes))


def serials_in_stock(session: Session, product: Product) -> int:
    return session.scalar(
        select(func.count()).select_from(SerialNumber).where(
            SerialNumber.product_id == product.id, SerialNumber.in_stock.is_(True)
        )
    ) or 0


def on_hand(session: Session, product: Product) -> int:
    """Every unit in stock, serialised or not."""
    return product.unserialised_on_hand + serials_in_stock(session, product)


def get_party(session: Session, kind: str, code: str) -> Supplier | Customer:
    model = PARTY_MODELS[kind]
    party = session.scalar(select(model).where(model.code == code)) if could_be_key(code, CODE_MAX) else None
    if party is None:
        raise NotFound("unknown_party", f"There is no {kind} {code}.")
    return party


def party_id(session: Session, kind: str, code: str) -> int | None:
    """A supplier's or customer's id by code (None: there is none), in a Core read: the scan's reader asks it, and
    the document the scan opens is written on the id (no ORM object to load, twice, as the reader's ``party_exists``
    and then ``get_party`` did)."""
    return session.connection().execute(_PARTY_ID[kind], {"code": code}).scalar()


# Built once (see station.domain.facts).
_PARTY_ID = {kind: select(model.__table__.c.id).where(model.__table__.c.code == bindparam("code"))
             for kind, model in PARTY_MODELS.items()}


def find_party(session: Session, kind: str, code: str | None):
    if code is None:
        return None
    return get_party(session, kind, code)


def create_party(session: Session, kind: str, code: str, name: str) -> Supplier | Customer:
    """A supplier or customer; 409 ``duplicate`` when the code is taken."""
    model = PARTY_MODELS[kind]
    code = require_code(code)
    name = require_name(name)
    if session.scalar(select(model.id).where(model.code == code)):
        raise Conflict("duplicate", f"{kind.capitalize()} {code} exists already.")
    party = model(code=code, name=name)
    session.add(party)
    session.flush()
    party_changed(session, kind, party)
    return party


def party_changed(session: Session, kind: str, party: Supplier | Customer) -> None:
    """The feed's ``party.changed`` for a supplier or customer made or edited (events.py)."""
    events.record(session, EventType.party_changed, kind, party.id)


def ensure_customer(session: Session, code: str, name: str = "Walk-in customer") -> Customer:
    """The customer with that code, made on first use (two stations may race to make it)."""
    customer = session.scalar(select(Customer).where(Customer.code == code))
    if customer is not None:
        return customer
    try:
        with session.begin_nested():
            customer = Customer(code=code, name=name)
            session.add(customer)
    except IntegrityError:
        return session.scalars(select(Customer).where(Customer.code == code)).one()
    party_changed(session, "customer", customer)
    return customer
