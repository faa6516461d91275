"""The station's words, defined once: modes, document and movement kinds, statuses, and what each kind does.

Pure Python (no SQLAlchemy), so the sans-IO scan core speaks the same words
as the models. ``POLICY`` says, once per document kind, what the rest of the
code would otherwise repeat: its reference prefix, the movement its lines
write, which way stock goes, which of a product's serial flags applies,
whose party it names, and what posting does to a line's serial.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

SERIAL_MAX = 64
CODE_MAX = 64
#: A location's code: 1-32 of A-Z a-z 0-9 . _ - (SPEC 3c).
LOCATION_CODE_MAX = 32
#: The site every new or migrated database has, and a station's location when its config names none.
MAIN_SITE, MAIN_SITE_NAME = "MAIN", "Main site"


class Mode(enum.StrEnum):
    """What a station does when goods are scanned (SPEC 4 Flows)."""

    receive = "receive"
    sell = "sell"
    return_ = "return"
    service = "service"  # the service desk: check-ins and check-outs of units for repair (SPEC 3b)
    move = "move"  # units put somewhere else: a move within the site, or a transfer to another (SPEC 3c)
    count = "count"  # a stocktake: what is really at a location and under it (SPEC 3c)

    @property
    def document_kind(self) -> DocumentKind:
        """The document a product or serial scan opens in this mode."""
        return _MODE_DOCUMENT[self]


class DocumentKind(enum.StrEnum):
    purchase_order = "purchase_order"
    receipt = "receipt"
    sale = "sale"
    customer_return = "customer_return"
    supplier_return = "supplier_return"
    adjustment = "adjustment"
    service_check_in = "service_check_in"  # units taken in for repair (SI-)
    service_check_out = "service_check_out"  # units handed back, repaired or replaced (SO-)
    move = "move"  # units moved within the station's site (M-)
    transfer = "transfer"  # units sent to another site, in transit until they arrive (T-)
    arrival = "arrival"  # a transfer's units as they come out of the box at its destination (TI-)
    count = "count"  # a stocktake of a location and everything under it (C-)


class DocumentStatus(enum.StrEnum):
    open = "open"
    posted = "posted"
    cancelled = "cancelled"


class MovementKind(enum.StrEnum):
    """SPEC 5's movement kinds: what a posted line did (a sale may also write an adjustment pair, rule 4)."""

    receipt = "receipt"
    sale = "sale"
    customer_return = "customer_return"
    supplier_return = "supplier_return"
    adjustment = "adjustment"
    service_in = "service_in"  # quantity 0: the customer's unit at our desk
    service_out = "service_out"  # quantity 0: back with its customer
    replaced = "replaced"  # quantity 0: the faulty unit, now ours, out of stock
    replacement = "replacement"  # quantity -1: the unit given in its place
    move = "move"  # quantity 0: from one location to another of the same site, or found elsewhere by a count
    transfer_out = "transfer_out"  # quantity -1: left its site for another, in transit
    transfer_in = "transfer_in"  # quantity +1: arrived at the transfer's destination


class Phase(enum.StrEnum):
    """Where a station stands in a document (the scan machine's states, stored with the station)."""

    idle = "idle"  # no document open
    open = "open"  # a document is open and nothing waits
    awaiting_serial = "awaiting_serial"  # a product was scanned and waits for its serial
    sticky = "sticky"  # receiving: a product stays chosen while its serials come one after another
    replacing = "replacing"  # service: CMD:REPLACE was scanned; the next serial replaces the last checked-out one


class PartyKind(enum.StrEnum):
    supplier = "supplier"
    customer = "customer"


class PrintJobState(enum.StrEnum):
    """Where a label in the print queue stands (station.printing.queue)."""

    pending = "pending"  # waiting for its printer, or being retried
    printed = "printed"  # the printer (or CUPS) took it
    failed = "failed"  # refused for good: it cannot print on that printer (a serial too long for the label)


@dataclass(frozen=True)
class SerialPosting:
    """What posting a serial line of one kind does to the serial's record and names on its movement (posting.py).

    The serial's stock follows the kind's ``sign``: +1 in stock at the line's location and nobody's (its customer
    cleared); -1 out of stock, at no location; 0 each line's own sign, one way or the other (and a unit in transit
    adjusted out leaves its transfer: its transfer_out took it out of stock already, so its movement's quantity is
    0). The service desk's kinds and the location kinds are posted by their own modules and leave this as it is.
    """

    takes_party: bool = False  # the serial takes the document's party when it names one (a receipt's supplier...)
    party_from_serial: bool = False  # the movement names whoever had the serial, else the document's (a return)
    warranty: bool = False  # a warranty from today (its product's months) on the serial and the movement
    faulty_leaves: bool = False  # a faulty unit leaves our hands, not our stock: quantity 0, faulty no more (3b)


@dataclass(frozen=True)
class KindPolicy:
    """What one document kind does, said once."""

    kind: DocumentKind
    prefix: str  # of the station's own references: R-000123
    movement: MovementKind
    sign: int  # +1 into stock, -1 out of it, 0: each line carries its own sign (adjustments), or none (service)
    serial_flag: str | None  # the product flag that says whether a unit needs a serial
    party: PartyKind | None  # whose party the document names
    serials_only: bool = False  # every line is a serial, whatever the product's flags (the service desk)
    serial: SerialPosting = SerialPosting()  # what posting does to a line's serial

    def needs_serial(self, for_purchase: bool, for_sales: bool) -> bool:
        """True when each unit of a product with these flags (its serial_required_for_purchase and
        serial_required_for_sales) needs a serial on this kind of document."""
        return self.serials_only or {_PURCHASE: for_purchase, _SALES: for_sales}.get(self.serial_flag, False)

    def takes_units(self, quantity: int) -> int:
        """Unserialised units a line of ``quantity`` takes out of stock (0 when it brings them in)."""
        signed = quantity * self.sign if self.sign else quantity
        return -signed if signed < 0 else 0


_PURCHASE, _SALES = "serial_required_for_purchase", "serial_required_for_sales"

POLICY: dict[DocumentKind, KindPolicy] = {
    policy.kind: policy
    for policy in (
        KindPolicy(DocumentKind.receipt, "R", MovementKind.receipt, +1, _PURCHASE, PartyKind.supplier,
                   serial=SerialPosting(takes_party=True)),
        KindPolicy(DocumentKind.sale, "S", MovementKind.sale, -1, _SALES, PartyKind.customer,
                   serial=SerialPosting(takes_party=True, warranty=True)),
        KindPolicy(DocumentKind.customer_return, "CR", MovementKind.customer_return, +1, _SALES, PartyKind.customer,
                   serial=SerialPosting(party_from_serial=True)),
        KindPolicy(DocumentKind.supplier_return, "SR", MovementKind.supplier_return, -1, _PURCHASE, PartyKind.supplier,
                   serial=SerialPosting(faulty_leaves=True)),
        KindPolicy(DocumentKind.adjustment, "A", MovementKind.adjustment, 0, None, None,
                   serial=SerialPosting(faulty_leaves=True)),
        KindPolicy(DocumentKind.service_check_in, "SI", MovementKind.service_in, 0, None, PartyKind.customer, True),
        KindPolicy(DocumentKind.service_check_out, "SO", MovementKind.service_out, 0, None, PartyKind.customer, True),
        KindPolicy(DocumentKind.move, "M", MovementKind.move, 0, None, None),
        KindPolicy(DocumentKind.transfer, "T", MovementKind.transfer_out, -1, None, None),
        KindPolicy(DocumentKind.arrival, "TI", MovementKind.transfer_in, +1, None, None),
        KindPolicy(DocumentKind.count, "C", MovementKind.adjustment, 0, None, None),
    )
}

#: The service desk's documents (SPEC 3b): serials only, one customer's each, posted by service_posting.
SERVICE_KINDS = frozenset({DocumentKind.service_check_in, DocumentKind.service_check_out})

_MODE_DOCUMENT = {
    Mode.receive: DocumentKind.receipt,
    Mode.sell: DocumentKind.sale,
    Mode.return_: DocumentKind.customer_return,
    Mode.service: DocumentKind.service_check_in,  # what CUS: opens there; a serial in service opens a check-out
    Mode.move: DocumentKind.move,  # a LOC: of another site makes it a transfer
    Mode.count: DocumentKind.count,
}


class EventType(enum.StrEnum):
    """What an event of the integration feed reports (SPEC 5 "Integration"): a posting, or a record made or edited."""

    document_posted = "document.posted"
    serial_changed = "serial.changed"
    product_changed = "product.changed"
    party_changed = "party.changed"
    location_changed = "location.changed"


class DeliveryState(enum.StrEnum):
    """Where one webhook delivery stands: waiting (for its turn or its next attempt), done, or given up on."""

    pending = "pending"
    delivered = "delivered"
    failed = "failed"
