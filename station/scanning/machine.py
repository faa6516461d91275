"""The station's state machine: what a Reading means in the station's state.

Theory of operation
-------------------
A station is in one of four phases: ``idle`` (no document open), ``open``
(a document is open and nothing waits), ``awaiting_serial`` (a product was
scanned and waits for its serial) and ``sticky`` (receiving: a product stays
chosen while its serials are scanned one after another, so a box of 50 is
51 scans). The mode (receive, sell, return) chooses which document a scan
opens. ``decide(state, reading)`` looks up the handler for ``(phase,
kind)`` in ``TRANSITIONS`` -- a table with an entry for every pair -- and
returns a Decision: the actions to carry out (open a document, add a line,
post...) and the state that follows. Illegal input raises ``Refusal`` and,
since State is immutable, leaves the state as it was. Nothing here touches a
database or a device: ``service`` carries the actions out, and the domain
rules there may still refuse (a serial in stock...), in which case the
service rolls back and keeps the old state too.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Callable

from station.domain.errors import Refusal
from station.domain.vocabulary import POLICY, DocumentKind, Mode

from .reading import Kind, ProductInfo, Reading, quote


class Phase(str, enum.Enum):
    idle = "idle"
    open = "open"
    awaiting_serial = "awaiting_serial"
    sticky = "sticky"


@dataclass(frozen=True)
class State:
    mode: Mode
    document_kind: DocumentKind | None = None  # receipt | sale | customer_return | supplier_return
    lines: int = 0
    product: ProductInfo | None = None
    awaiting_serial: bool = False
    # The last line is an unserialised unit added by the previous scan: a serial scanned next is attached to it.
    attach: bool = False

    def __post_init__(self) -> None:
        # Words given as plain text ("receive") read as the vocabulary's members, so `is` comparisons hold.
        object.__setattr__(self, "mode", Mode(self.mode))
        if self.document_kind is not None:
            object.__setattr__(self, "document_kind", DocumentKind(self.document_kind))

    @property
    def phase(self) -> Phase:
        if self.document_kind is None:
            return Phase.idle
        if self.product is not None and self.awaiting_serial:
            return Phase.awaiting_serial
        if self.product is not None and self.document_kind is DocumentKind.receipt:
            return Phase.sticky
        return Phase.open


# Actions: what the service carries out, in order.
@dataclass(frozen=True)
class SetMode:
    mode: Mode


@dataclass(frozen=True)
class OpenDocument:
    kind: DocumentKind
    supplier: str | None = None
    customer: str | None = None
    order: str | None = None
    walk_in: bool = False


@dataclass(frozen=True)
class AddLine:
    product: str | None
    serial: str | None = None
    batch: str | None = None
    expiry: str | None = None


@dataclass(frozen=True)
class AttachSerial:
    serial: str


@dataclass(frozen=True)
class Undo:
    pass


@dataclass(frozen=True)
class Cancel:
    pass


@dataclass(frozen=True)
class Post:
    pass


Action = SetMode | OpenDocument | AddLine | AttachSerial | Undo | Cancel | Post


@dataclass(frozen=True)
class Decision:
    """What a scan does: the actions, the state after them, and the event to word for the operator."""

    actions: tuple[Action, ...]
    state: State
    event: str
    reading: Reading


def _idle(state: State) -> State:
    return State(mode=state.mode)


def _refuse_if_lines(state: State, what: str) -> None:
    if state.lines:
        raise Refusal("document_open", f"A document with {state.lines} line(s) is open: scan CMD:FINISH or CMD:CANCEL before {what}.")


def _drop_empty(state: State) -> tuple[Action, ...]:
    """An open document with no lines is dropped when another is opened in its place."""
    return (Cancel(),) if state.document_kind is not None else ()


def on_mode(state: State, r: Reading) -> Decision:
    _refuse_if_lines(state, "changing mode")
    if r.mode == state.mode:
        # The mode in force already: nothing to drop, nothing to change.
        return Decision((), state, "mode_kept", r)
    actions = _drop_empty(state) + (SetMode(r.mode),)
    return Decision(actions, State(mode=r.mode), "mode_set", r)


def on_finish(state: State, r: Reading) -> Decision:
    if state.phase is Phase.idle:
        raise Refusal("no_open_document", "There is no open document to finish: scan the goods first.")
    if state.phase is Phase.awaiting_serial:
        p = state.product
        raise Refusal("serial_required", f"{p.name} still waits for its serial: scan the serial, or CMD:UNDO to drop the product.")
    if not state.lines:
        raise Refusal("empty_document", "The document has no lines to post: scan something, or CMD:CANCEL.")
    return Decision((Post(),), _idle(state), "posted", r)


def on_cancel(state: State, r: Reading) -> Decision:
    if state.phase is Phase.idle:
        raise Refusal("no_open_document", "There is no open document to cancel: scan the goods to start one.")
    return Decision((Cancel(),), _idle(state), "cancelled", r)


def on_undo(state: State, r: Reading) -> Decision:
    if state.phase is Phase.awaiting_serial:
        # The product was scanned but has no line yet: undo drops the choice.
        return Decision((), replace(state, product=None, awaiting_serial=False, attach=False), "product_dropped", r)
    if state.phase is Phase.idle or not state.lines:
        raise Refusal("nothing_to_undo", "There is no line to undo: scan the goods, or CMD:CANCEL to drop the document.")
    return Decision((Undo(),), replace(state, lines=state.lines - 1, attach=False), "undone", r)


def on_supplier(state: State, r: Reading) -> Decision:
    if not r.found:
        raise Refusal("unknown_party", f"There is no supplier {quote(r.code or '(empty)')}: add it first, or scan another.")
    _refuse_if_lines(state, "scanning a supplier")
    if state.mode is Mode.receive:
        kind = DocumentKind.receipt
    elif state.mode is Mode.return_:
        kind = DocumentKind.supplier_return
    else:
        raise Refusal("wrong_mode", "A supplier is scanned when receiving or returning goods: scan CMD:RECEIVE or CMD:RETURN first.")
    actions = _drop_empty(state) + (OpenDocument(kind, supplier=r.code),)
    return Decision(actions, State(mode=state.mode, document_kind=kind), "document_opened", r)


def on_customer(state: State, r: Reading) -> Decision:
    if not r.found:
        raise Refusal("unknown_party", f"There is no customer {quote(r.code or '(empty)')}: add it first, or scan another.")
    _refuse_if_lines(state, "scanning a customer")
    if state.mode is Mode.receive:
        raise Refusal("wrong_mode", "A customer is scanned when selling or taking returns: scan CMD:SELL or CMD:RETURN first.")
    kind = state.mode.document_kind
    actions = _drop_empty(state) + (OpenDocument(kind, customer=r.code),)
    return Decision(actions, State(mode=state.mode, document_kind=kind), "document_opened", r)


def on_order(state: State, r: Reading) -> Decision:
    if not r.found:
        raise Refusal("unknown_document", f"There is no purchase order {quote(r.code or '')}: check the reference, or import the order first.")
    _refuse_if_lines(state, "scanning a purchase order")
    actions = _drop_empty(state)
    if state.mode is not Mode.receive:
        actions += (SetMode(Mode.receive),)
    actions += (OpenDocument(DocumentKind.receipt, order=r.code),)
    return Decision(actions, State(mode=Mode.receive, document_kind=DocumentKind.receipt), "document_opened", r)


def _open_for_goods(state: State, r: Reading) -> tuple[tuple[Action, ...], State]:
    """Open the document a product or serial scan needs in an idle station."""
    if state.phase is not Phase.idle:
        return (), state
    if state.mode is Mode.receive:
        raise Refusal("no_open_document", "No receipt is open: scan a supplier (SUP:...) or a purchase order first, then the goods.")
    kind = state.mode.document_kind
    action = OpenDocument(kind, walk_in=kind is DocumentKind.sale)
    return (action,), State(mode=state.mode, document_kind=kind)


def on_product(state: State, r: Reading) -> Decision:
    if r.kind is Kind.gs1 and not r.found:
        raise Refusal("unknown_barcode", f"GTIN {r.code} is not the barcode of any product: add it to the product first.")
    if r.kind is Kind.gs1 and r.serial is not None:
        return on_serial(state, r)
    actions, state = _open_for_goods(state, r)
    p = r.product
    if POLICY[state.document_kind].needs_serial(p):
        if state.phase is Phase.sticky and state.product == p:
            # The box label and the unit labels often carry one GTIN: scanning it again
            # while its serials come in changes nothing (and CMD:FINISH stays allowed).
            return Decision(actions, state, "product_chosen", r)
        nxt = replace(state, product=p, awaiting_serial=True, attach=False)
        return Decision(actions, nxt, "product_chosen", r)
    # One unit per product scan; a serial scanned next is recorded on this unit.
    actions += (AddLine(p.code, batch=r.batch, expiry=r.expiry),)
    nxt = replace(state, product=p, awaiting_serial=False, attach=True, lines=state.lines + 1)
    return Decision(actions, nxt, "line_added", r)


def on_serial(state: State, r: Reading) -> Decision:
    """A known serial, a new serial, or a GS1 scan carrying product and serial."""
    if r.kind is Kind.gs1:
        product = r.product
    elif state.phase in (Phase.awaiting_serial, Phase.sticky):
        product = state.product
    elif state.attach and state.product is not None and r.product in (None, state.product):
        product = state.product
    else:
        product = r.product
    if r.kind is Kind.unknown and product is None:
        raise Refusal("unknown_barcode", f"Unknown barcode {quote(r.text)}: not a product, serial or command. "
                                         "For a new serial, scan its product first.")
    actions, state = _open_for_goods(state, r)
    if state.attach and state.product is not None and product == state.product and r.kind is not Kind.gs1:
        nxt = replace(state, attach=False)
        return Decision(actions + (AttachSerial(r.serial),), nxt, "serial_attached", r)
    actions += (AddLine(product.code if product else None, r.serial, r.batch, r.expiry),)
    sticky = state.document_kind is DocumentKind.receipt and product is not None
    nxt = replace(state, lines=state.lines + 1, awaiting_serial=False, attach=False,
                  product=product if sticky else None)
    return Decision(actions, nxt, "line_added", r)


Handler = Callable[[State, Reading], Decision]

_BY_KIND: dict[Kind, Handler] = {
    Kind.mode: on_mode,
    Kind.finish: on_finish,
    Kind.cancel: on_cancel,
    Kind.undo: on_undo,
    Kind.supplier: on_supplier,
    Kind.customer: on_customer,
    Kind.order: on_order,
    Kind.gs1: on_product,
    Kind.product: on_product,
    Kind.known_serial: on_serial,
    Kind.unknown: on_serial,
}

#: Every (phase, kind) pair and its handler: the table tests walk, pair by pair.
TRANSITIONS: dict[tuple[Phase, Kind], Handler] = {
    (phase, kind): handler for phase in Phase for kind, handler in _BY_KIND.items()
}


def decide(state: State, reading: Reading) -> Decision:
    """The decision for one reading; raises Refusal (state unchanged) for illegal input."""
    return TRANSITIONS[(state.phase, reading.kind)](state, reading)
