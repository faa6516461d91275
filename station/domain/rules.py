"""SPEC 3's rules for one line of a document, as plain functions of the facts (facts.py).

Each check raises a Refusal with a stable code, or returns what the line
resolves to. The same checks run when a line is added (so the operator hears
at once, from a few indexed look-ups) and again when the document is posted,
on the facts of all its serials read under row locks in one statement (so
two stations cannot both win). What one document kind checks of a serial is
said once, in ``SERIAL_CHECKS``; a line without a serial has one skeleton
for every kind (``check_units``), worded per kind.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import tallies
from .errors import Invalid, Refusal
from .facts import DocumentHead, ProductFacts, SerialFacts, probe, serial_facts
from .models import Document, DocumentLine
from .validation import serial_text
from .vocabulary import POLICY, SERVICE_KINDS, DocumentKind
from .wording import plural

SerialCheck = Callable[[SerialFacts, ProductFacts | None, int], "Resolved"]


@dataclass(frozen=True)
class Resolved:
    """What a line stands for once checked."""

    product: ProductFacts | None
    serial: str | None
    facts: SerialFacts | None = None
    takes_unit: bool = False  # it takes (quantity) unserialised units out of stock when posted
    replaces: SerialFacts | None = None  # a check-out's replacement line: the faulty serial it replaces


class Lookups:
    """One unit of work's look-ups of barcodes and serials, each asked once.

    One scan asks twice: the reader (a product barcode? a known serial?), then
    these rules (is the serial a barcode? its record?). A scan passes its own
    Lookups to both; a caller passing none gets a fresh one, so nothing is
    remembered past the call. ``fresh`` reads a serial again as committed now.
    """

    def __init__(self, session: Session):
        self.session = session
        self._barcodes: dict[str, ProductFacts | None] = {}
        self._serials: dict[str, SerialFacts] = {}

    def product_by_barcode(self, text: str) -> ProductFacts | None:
        if text not in self._barcodes:
            # A text that is not a product's barcode is most often a serial: ask both at once.
            self._barcodes[text], self._serials[text] = probe(self.session, text)
        return self._barcodes[text]

    def probed(self, text: str, found: tuple[ProductFacts | None, SerialFacts]) -> None:
        """What ``product_by_barcode(text)`` would read, read already (with the scan's locked read)."""
        self._barcodes[text], self._serials[text] = found

    def read_again(self, text: str, facts: SerialFacts) -> None:
        """The serial as read again, as committed now (what ``serial(text, fresh=True)`` would have read)."""
        self._serials[text] = facts

    def serial(self, text: str, *, fresh: bool = False) -> SerialFacts:
        if fresh or text not in self._serials:
            self._serials[text] = serial_facts(self.session, text)
        return self._serials[text]

    @property
    def writers_serialised(self) -> bool:
        """True where the database lets one writer in at a time (SQLite): what this transaction read is committed."""
        return self.session.get_bind().dialect.name == "sqlite"


def check_serial_text(lookups: Lookups, raw: str, pattern: re.Pattern[str] | None) -> str:
    """Rule: a serial must be scannable as a serial (SPEC 2), else ``invalid_serial``."""
    text = serial_text(raw, document_pattern=pattern)
    if lookups.product_by_barcode(text) is not None:
        raise Invalid("invalid_serial", f"{text} is a product barcode, so it cannot be a serial.")
    return text


def refuse_if_on_open_document(facts: SerialFacts, doc: DocumentHead) -> None:
    """Rule 8, checked to say where: the unique index alone would only say "taken"."""
    if facts.open_document_id is None:
        return
    if facts.open_document_id == doc.id:
        raise Refusal("serial_on_open_document",
                      f"Serial {facts.serial} is on this document already: scan the next one.")
    where = f" at station {facts.open_station}" if facts.open_station else ""
    raise Refusal("serial_on_open_document",
                  f"Serial {facts.serial} is on open document {facts.open_reference}{where}: finish or cancel that"
                  " first.")


def product_for(facts: SerialFacts, product: ProductFacts | None) -> ProductFacts:
    """The serial's own product; the scanned one must agree with it. A serial without one takes the scanned."""
    if facts.product is not None:
        if product is not None and facts.product.id != product.id:
            raise Refusal(
                "serial_wrong_product",
                f"Serial {facts.serial} belongs to {facts.product.name}, not {product.name}: scan the right product.",
            )
        return facts.product
    if product is None:
        raise Refusal("product_required",
                      f"Serial {facts.serial} has no product yet: scan the product first, then the serial.")
    return product


# -- what each kind of document checks of a serial -------------------------------------------------

def _refuse_in_service(f: SerialFacts) -> None:
    """Rule 14: a serial at the service desk is not sold, returned, received or adjusted."""
    if f.in_service:
        raise Refusal("serial_in_service", f"Serial {f.serial} is at the service desk (checked in for repair): "
                                           "check it out there first (CMD:SERVICE, then scan it), then scan it here.")


def _refuse_faulty(f: SerialFacts, what: str) -> None:
    """Rule 13: a replaced, faulty serial is ours until it leaves by a supplier return or an adjustment out."""
    if f.faulty:
        raise Refusal("serial_faulty", f"Serial {f.serial} is faulty (replaced at the service desk): it {what}. "
                                       "Send it back to the supplier (CMD:RETURN, then SUP:...) or adjust it out.")


def _receipt(f: SerialFacts, product: ProductFacts | None, quantity: int) -> Resolved:
    _refuse_in_service(f)
    _refuse_faulty(f, "is with us already and cannot be received")
    if f.in_stock:
        raise Refusal("serial_in_stock", f"Serial {f.serial} is in stock already: it cannot be received twice. "
                                         "Check the label and scan this unit's own serial.")
    return Resolved(product_for(f, product), f.serial, f)


def _sale(f: SerialFacts, product: ProductFacts | None, quantity: int) -> Resolved:
    _refuse_in_service(f)
    _refuse_faulty(f, "is never sold again")
    product = product_for(f, product)
    if f.customer_id is not None:
        raise Refusal("serial_has_customer",
                      f"Serial {f.serial} was sold to {f.customer_name}: take it back as a return before selling it"
                      " again.")
    if f.in_stock:
        return Resolved(product, f.serial, f)
    if f.ever_moved:
        raise Refusal("serial_not_in_stock", f"Serial {f.serial} is not in stock (it left stock earlier): "
                                             "receive it, or adjust it into stock, then sell it.")
    # Rule 4: never in stock, so it takes one unserialised unit of its product (checked by the caller).
    return Resolved(product, f.serial, f, takes_unit=True)


def _customer_return(f: SerialFacts, product: ProductFacts | None, quantity: int) -> Resolved:
    _refuse_in_service(f)
    if f.customer_id is None:
        raise Refusal("serial_no_customer", f"Serial {f.serial} was not sold to anyone, so it cannot come back as a"
                                            " return: "
                                            "scan a sold serial, or SUP:... first to send it back to the supplier.")
    return Resolved(product_for(f, product), f.serial, f)


def _supplier_return(f: SerialFacts, product: ProductFacts | None, quantity: int) -> Resolved:
    _refuse_in_service(f)
    if not f.in_stock and not f.faulty:  # rule 6: in stock, or faulty (ours, out of stock)
        raise Refusal("serial_not_in_stock", f"Serial {f.serial} is not in stock, so it cannot go back to the"
                                             " supplier: "
                                             "receive it or adjust it into stock first, or scan another serial.")
    return Resolved(product_for(f, product), f.serial, f)


def _adjustment(f: SerialFacts, product: ProductFacts | None, quantity: int) -> Resolved:
    _refuse_in_service(f)
    if quantity > 0:
        _refuse_faulty(f, "does not come back into stock")
    if quantity > 0 and f.in_stock:
        raise Refusal("serial_in_stock", f"Serial {f.serial} is in stock already.")
    # A faulty serial leaves our hands by it (SPEC 3b), and so does one in transit that never arrived (3c).
    if quantity < 0 and not f.in_stock and not f.faulty and f.transfer_id is None:
        raise Refusal("serial_not_in_stock", f"Serial {f.serial} is not in stock, so it cannot be adjusted out.")
    return Resolved(product or f.product, f.serial, f)


def _service_check_in(f: SerialFacts, product: ProductFacts | None, quantity: int) -> Resolved:
    """Rule 11: a unit its customer brought back; it stays theirs."""
    if f.in_service:
        raise Refusal("serial_in_service", f"Serial {f.serial} is checked in for repair already: "
                                           "scan it on a check-out when it goes back.")
    if f.customer_id is None:
        why = "is faulty and ours (replaced at the service desk)" if f.faulty else "was not sold to anyone"
        raise Refusal("serial_no_customer", f"Serial {f.serial} {why}, so it cannot be checked in for repair: "
                                            "scan a unit a customer brought back.")
    return Resolved(f.product or product, f.serial, f)


def _service_check_out(f: SerialFacts, product: ProductFacts | None, quantity: int) -> Resolved:
    """Rule 12: a unit at the service desk goes back to its customer."""
    if not f.in_service:
        raise Refusal("serial_not_in_service", f"Serial {f.serial} is not at the service desk, so it cannot be "
                                               "checked out: check it in first, or scan a unit in service.")
    return Resolved(f.product or product, f.serial, f)


def _in_stock_here(f: SerialFacts, product: ProductFacts | None, quantity: int) -> Resolved:
    """A move or a transfer (SPEC 3c): a unit in stock (where, checked by ``refuse_elsewhere``)."""
    _refuse_in_service(f)
    if not f.in_stock:
        why = f"was sold to {f.customer_name}" if f.customer_id is not None else "is not in stock"
        raise Refusal("serial_not_in_stock", f"Serial {f.serial} {why}, so it cannot be moved: scan a unit in stock.")
    return Resolved(product_for(f, product), f.serial, f)


def _arrival(f: SerialFacts, product: ProductFacts | None, quantity: int) -> Resolved:
    """An arrival's unit: whether it is on this transfer is ``refuse_elsewhere``'s to say (it knows the document)."""
    return Resolved(f.product or product, f.serial, f)


def _count(f: SerialFacts, product: ProductFacts | None, quantity: int) -> Resolved:
    """A count observes a unit (SPEC 3c): a customer's or one at the desk is refused with its usual code; a faulty one
    is counted (and stays faulty); one not in stock is counted, to be added when the count posts."""
    _refuse_in_service(f)
    if f.customer_id is not None:
        raise Refusal("serial_has_customer", f"Serial {f.serial} was sold to {f.customer_name}: it is not stock to "
                                             "count. Take it back as a return first, or set it aside.")
    return Resolved(product_for(f, product), f.serial, f)


SERIAL_CHECKS: dict[DocumentKind, SerialCheck] = {
    DocumentKind.receipt: _receipt,
    DocumentKind.sale: _sale,
    DocumentKind.customer_return: _customer_return,
    DocumentKind.supplier_return: _supplier_return,
    DocumentKind.adjustment: _adjustment,
    DocumentKind.service_check_in: _service_check_in,
    DocumentKind.service_check_out: _service_check_out,
    DocumentKind.move: _in_stock_here,
    DocumentKind.transfer: _in_stock_here,
    DocumentKind.arrival: _arrival,
    DocumentKind.count: _count,
}

#: The kinds whose units must be at the station's site (SPEC 3c), and the kinds that never hold a unit in transit.
_FROM_THIS_SITE = frozenset({DocumentKind.sale, DocumentKind.supplier_return, DocumentKind.move, DocumentKind.transfer})
_NOT_IN_TRANSIT = frozenset(DocumentKind) - {DocumentKind.arrival, DocumentKind.customer_return,
                                             DocumentKind.service_check_in, DocumentKind.service_check_out}


def writes_off(kind: DocumentKind, quantity: int) -> bool:
    """An adjustment out: the way a unit in transit that never arrives leaves the records (SPEC 3c: "until they
    do or a supervisor adjusts them out"), off its transfer and, already out of stock, with quantity 0."""
    return kind is DocumentKind.adjustment and quantity < 0


def refuse_in_transit(f: SerialFacts, kind: DocumentKind, *, replacement: bool = False, quantity: int = 1) -> None:
    """A unit in transit (SPEC 3c) is sold, moved, counted or sent again only once it has arrived (or is written
    off: adjusted out)."""
    if f.transfer_id is None or (kind not in _NOT_IN_TRANSIT and not replacement) or writes_off(kind, quantity):
        return
    where = f" to {f.transfer_to}" if f.transfer_to else ""
    raise Refusal("serial_in_transit", f"Serial {f.serial} is in transit{where} on {f.transfer_reference}: scan it "
                                       "there when it arrives (receive mode, the transfer's reference, then the unit).")


def refuse_elsewhere(f: SerialFacts, doc: DocumentHead, *, site_id: int | None, location_id: int | None,
                     replacement: bool = False) -> None:
    """Where the unit is (SPEC 3c), for a line at a station of site ``site_id`` going to (or found at)
    ``location_id``: a sale's, supplier return's, replacement's, move's or transfer's unit must be at the station's
    site (``serial_at_other_site``), a move's not at its destination already (``serial_already_there``), an
    arrival's on its transfer (``serial_not_on_transfer``). None for either: not known (not a scan), not checked."""
    if doc.kind is DocumentKind.arrival:
        if f.transfer_id is None or f.transfer_id != doc.order_id:
            why = f"is on {f.transfer_reference}" if f.transfer_id is not None else "is not in transit"
            raise Refusal("serial_not_on_transfer", f"Serial {f.serial} {why}, not on the transfer this arrival "
                                                    "receives: put it aside, or scan that transfer's reference first.")
        return
    if not f.in_stock or site_id is None or (doc.kind not in _FROM_THIS_SITE and not replacement):
        return
    if f.site_id is not None and f.site_id != site_id:
        raise Refusal("serial_at_other_site", f"{f.serial} is at {f.site_name} ({f.site_code}): "
                                              "transfer it here first.")
    if doc.kind is DocumentKind.move and location_id is not None and f.location_id == location_id:
        raise Refusal("serial_already_there", f"Serial {f.serial} is at {f.location_code} already: scan a unit that "
                                              "goes there, or another location.")


def check_replacement(f: SerialFacts, faulty: SerialFacts) -> Resolved:
    """Rule 13: the unit given in place of a faulty one: of its product, in stock, nobody's."""
    _refuse_in_service(f)
    _refuse_faulty(f, "cannot be given as a replacement")
    if faulty.product is None:
        raise Refusal("product_required", f"Serial {faulty.serial} has no product, so no replacement can be "
                                          "matched to it: set its product first (on its record page).")
    product = product_for(f, faulty.product)
    if f.customer_id is not None:
        raise Refusal("serial_has_customer", f"Serial {f.serial} was sold to {f.customer_name}: "
                                             "scan a unit from stock as the replacement.")
    if not f.in_stock:
        raise Refusal("serial_not_in_stock", f"Serial {f.serial} is not in stock, so it cannot be given as a "
                                             "replacement: scan a unit from stock.")
    return Resolved(product, f.serial, f, replaces=faulty)


def line_check(kind: DocumentKind, replaces: SerialFacts | None = None) -> SerialCheck:
    """The check a serial line of this kind meets: the kind's own, or, for a replacement line, rule 13's."""
    if replaces is None:
        return SERIAL_CHECKS[kind]
    return lambda f, product, quantity: check_replacement(f, replaces)


def wrong_customer(f: SerialFacts, reference: str, ours: str | None, *, empty: bool = False) -> Refusal:
    """The refusal for a unit of another customer than the service document's (``empty``: it has no line yet,
    so it is cancelled, not finished, to make way for this unit)."""
    theirs = f"{f.customer_name}'s" if f.customer_name else "nobody's"
    ours = ours or "another customer"
    way = "cancel it (CMD:CANCEL)" if empty else "finish it (CMD:FINISH)"
    return Refusal("serial_wrong_customer",
                   f"Serial {f.serial} is {theirs}, not {ours}'s: {reference} holds {ours}'s units only. "
                   f"Scan {ours}'s units, or {way} and then scan this one.")


def refuse_other_customer(f: SerialFacts, doc: DocumentHead) -> None:
    """Rules 11-12: a service document holds one customer's units (a line of another's: ``serial_wrong_customer``)."""
    if doc.kind not in SERVICE_KINDS or doc.customer_id is None or f.customer_id == doc.customer_id:
        return
    raise wrong_customer(f, doc.reference, doc.customer_name, empty=doc.line_count == 0)


# -- lines of units without a serial -------------------------------------------------------------

@dataclass(frozen=True)
class _Words:
    """How one document kind's unserialised-line refusals are worded."""

    product_first: str
    serial_needed: str = ""
    out_of_stock: str = ""


_WORDS = {
    DocumentKind.receipt: _Words(
        "Scan a product first.", "{name} needs a serial for each unit: scan the serial."),
    DocumentKind.sale: _Words(
        "Scan a product or a serial.", "{name} is sold by serial: scan the serial of this unit.",
        "No unit of {name} without a serial is left in stock: scan the unit's serial, or receive stock."),
    DocumentKind.customer_return: _Words(
        "Scan the serial of the unit coming back.",
        "{name} was sold by serial: scan the serial of the unit coming back."),
    DocumentKind.supplier_return: _Words(
        "Scan the serial of the unit going back.",
        "{name} is tracked by serial: scan the serial of the unit going back.",
        "No unit of {name} without a serial is in stock to send back."),
    DocumentKind.adjustment: _Words(
        "An adjustment needs a product or a serial.", "",
        "Only {units} of {name} without a serial {are} in stock."),
    **{kind: _Words("Scan the unit's serial.", "The service desk takes each unit by its serial: scan the serial of "
                                                "this {name}.") for kind in SERVICE_KINDS},
    DocumentKind.move: _Words("Scan a product or a serial."),
    DocumentKind.transfer: _Words("Scan a product or a serial.", "",
                                  "No unit of {name} without a serial is left in stock to send."),
    DocumentKind.arrival: _Words("Scan a product or a serial."),
    DocumentKind.count: _Words("Scan a product or a serial."),
}


def check_units(doc: DocumentHead, product: ProductFacts | None, quantity: int) -> Resolved:
    """A line of units without a serial, on any kind of document: the skeleton they share (stock: the caller)."""
    policy, words = POLICY[doc.kind], _WORDS[doc.kind]
    if product is None:
        raise Refusal("product_required", words.product_first)
    if policy.needs_serial(product.serial_required_for_purchase, product.serial_required_for_sales):
        raise Refusal("serial_required", words.serial_needed.format(name=product.name))
    return Resolved(product, None, None, takes_unit=policy.takes_units(quantity) > 0)


def out_of_stock(doc: DocumentHead, product: ProductFacts, on_hand: int, serial: str | None = None) -> Refusal:
    """The refusal for a line whose unserialised units are not free."""
    if serial is not None:
        return Refusal("serial_not_in_stock",
                       f"Serial {serial} is not in stock and no unit of {product.name} without a serial is left to"
                       " take: "
                       "receive it, or adjust it into stock, then sell it.")
    return Refusal("out_of_stock", _WORDS[doc.kind].out_of_stock.format(
        name=product.name, units=plural(on_hand, "unit"), are="is" if on_hand == 1 else "are"))


def order_exceeded(order_reference: str, product: ProductFacts, expected: int, received: int) -> Refusal:
    if expected == 0:
        return Refusal("quantity_exceeds_order", f"{product.name} is not on purchase order {order_reference}: "
                                                 "scan a product on the order, or receive this one on a receipt of"
                                                 " its own (SUP:...).")
    return Refusal("quantity_exceeds_order",
                   f"Purchase order {order_reference} expects {expected} of {product.name}; "
                   f"{received} are received already. Scan another product or finish.")


def check_order_quantity(session: Session, doc: DocumentHead, order_reference: str, product: ProductFacts,
                         quantity: int) -> None:
    """A receipt against a purchase order never brings in more of a product than the order expects."""
    expected, received = tallies.on_order(session, doc.order_id, product.id)
    here = tallies.units(session, doc.id, product.id)
    if received + here + quantity > expected:
        raise order_exceeded(order_reference, product, expected, received + here)


def open_document_of(session: Session, text: str) -> Document | None:
    """The open document a serial stands on (rule 8: at most one)."""
    return session.scalar(select(Document).join(DocumentLine, DocumentLine.document_id == Document.id)
                          .where(DocumentLine.serial == text, DocumentLine.is_open.is_(True)).limit(1))
