"""The station's state machine: what a Reading means in the station's state.

Theory of operation
-------------------
A station is in one of five phases (``Phase``, stored with the station):
``idle`` (no document open), ``open`` (a document is open and nothing
waits), ``awaiting_serial`` (a product was scanned and waits for its serial),
``sticky`` (receiving: a product stays chosen while its serials are
scanned one after another, so a box of 50 is 51 scans) and ``replacing``
(the service desk: CMD:REPLACE was scanned, and the next serial accepted
replaces the last unit checked out). The mode (receive, sell, return,
service) chooses which document a scan opens; at the service desk the
serial does: one in service goes on a check-out, any other on a check-in.

``TABLE`` is the machine, after h11's ``_state.py``: for each phase, what
each kind of scan does there. A legal pair maps to its handler, which
returns a Decision (the actions to carry out and the state that follows,
its phase said explicitly) or refuses what the state does not allow (a mode
change while lines are open); an illegal pair maps to its Refusal (finish in
``idle``: nothing to finish). Every pair has an entry. CMD:PRINT leaves
every phase as it was: it only queues a label (its refusals, no serial to
print or no printer, are facts the service reads). Nothing here touches a
database or a device: the service carries the actions out, and the domain
rules there may still refuse (a serial in stock...). State is immutable, so
a refusal leaves the state as it was.

Who is signed in is not the machine's state: an operator's badge
(``USR:<code>``) or ``CMD:LOGOUT`` changes who scans, never where the
document stands, so in every phase they answer ``SignIn``/``SignOut`` and
leave the state as it is. Whether a station lets anything but a badge
through while nobody is signed in (``require_operator``) is decided before
the machine, by station.scanning.sign_in.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Callable

from station.domain.errors import Refusal
from station.domain.vocabulary import POLICY, DocumentKind, Mode, Phase
from station.domain.wording import plural

from .reading import Kind, ProductInfo, Reading, quote


class Event(enum.StrEnum):
    """What a scan did, for the operator's message (prompts.message)."""

    mode_set = "mode_set"
    mode_kept = "mode_kept"
    document_opened = "document_opened"
    product_chosen = "product_chosen"
    product_dropped = "product_dropped"
    line_added = "line_added"
    serial_attached = "serial_attached"
    undone = "undone"
    cancelled = "cancelled"
    posted = "posted"
    signed_in = "signed_in"
    signed_out = "signed_out"
    replace_armed = "replace_armed"
    replace_dropped = "replace_dropped"
    label_queued = "label_queued"


@dataclass(frozen=True)
class State:
    mode: Mode
    document_kind: DocumentKind | None = None  # receipt | sale | customer_return | supplier_return
    phase: Phase = Phase.idle
    lines: int = 0
    product: ProductInfo | None = None  # waiting for its serial, sticky, or the last unserialised unit's
    # The last line is an unserialised unit added by the previous scan: a serial scanned next is attached to it.
    attach: bool = False

    def __post_init__(self) -> None:
        # Words given as plain text ("receive") read as the vocabulary's members, so `is` comparisons hold.
        object.__setattr__(self, "mode", Mode(self.mode))
        object.__setattr__(self, "phase", Phase(self.phase))
        if self.document_kind is not None:
            object.__setattr__(self, "document_kind", DocumentKind(self.document_kind))
        if (self.phase is Phase.idle) != (self.document_kind is None):
            raise ValueError(f"a {self.phase} station has {'no' if self.phase is Phase.idle else 'a'} document")
        if self.phase in (Phase.awaiting_serial, Phase.sticky) and self.product is None:
            raise ValueError(f"a {self.phase} station has a chosen product")
        if self.phase is Phase.replacing and self.document_kind is not DocumentKind.service_check_out:
            raise ValueError("a replacing station has a check-out open")


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
class ChooseProduct:
    """A product is chosen to wait for its serials (a receipt against an order checks it is still expected)."""

    product: str


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


@dataclass(frozen=True)
class SignIn:
    """The operator with this badge code is the one at the station from now on (replacing whoever was)."""

    code: str


@dataclass(frozen=True)
class SignOut:
    pass


@dataclass(frozen=True)
class SwitchDocument:
    """The service desk's empty document gives way to one of the other kind, for the same customer, if that
    document would take the unit ``serial`` (else the refusal names the document open now)."""

    kind: DocumentKind
    serial: str | None = None


@dataclass(frozen=True)
class ArmReplacement:
    """CMD:REPLACE: the check-out's last unit is one a replacement can be given for (else the rules refuse)."""


@dataclass(frozen=True)
class AddReplacement:
    """A line of its own: ``serial`` replaces the check-out's last unit (rule 13)."""

    serial: str


@dataclass(frozen=True)
class PrintLastSerial:
    """Queue the label of the station's last scanned serial for its printer (the service knows both, or refuses)."""


Action = (SetMode | OpenDocument | ChooseProduct | AddLine | AttachSerial | Undo | Cancel | Post | SignIn | SignOut
          | SwitchDocument | ArmReplacement | AddReplacement | PrintLastSerial)


@dataclass(frozen=True)
class Decision:
    """What a scan does: the actions, the state after them, and the event to word for the operator."""

    actions: tuple[Action, ...]
    state: State
    event: Event
    reading: Reading


def _idle(state: State) -> State:
    return State(mode=state.mode)


def _opened(mode: Mode, kind: DocumentKind) -> State:
    return State(mode=mode, document_kind=kind, phase=Phase.open)


def _refuse_if_lines(state: State, what: str) -> None:
    if state.lines:
        raise Refusal("document_open", f"A document with {plural(state.lines, 'line')} is open: scan CMD:FINISH or CMD:CANCEL before {what}.")


def _drop_empty(state: State) -> tuple[Action, ...]:
    """An open document with no lines is dropped when another is opened in its place."""
    return (Cancel(),) if state.document_kind is not None else ()


def on_mode(state: State, r: Reading) -> Decision:
    _refuse_if_lines(state, "changing mode")
    if r.mode == state.mode:
        # The mode in force already: nothing to drop, nothing to change.
        return Decision((), state, Event.mode_kept, r)
    actions = _drop_empty(state) + (SetMode(r.mode),)
    return Decision(actions, State(mode=r.mode), Event.mode_set, r)


def on_finish(state: State, r: Reading) -> Decision:
    if not state.lines:
        raise Refusal("empty_document", "The document has no lines to post: scan something, or CMD:CANCEL.")
    return Decision((Post(),), _idle(state), Event.posted, r)


def on_cancel(state: State, r: Reading) -> Decision:
    return Decision((Cancel(),), _idle(state), Event.cancelled, r)


def on_undo(state: State, r: Reading) -> Decision:
    if not state.lines:
        raise Refusal("nothing_to_undo", "There is no line to undo: scan the goods, or CMD:CANCEL to drop the document.")
    sticky = state.phase is Phase.sticky
    nxt = replace(state, lines=state.lines - 1, attach=False,
                  phase=Phase.sticky if sticky else Phase.open, product=state.product if sticky else None)
    return Decision((Undo(),), nxt, Event.undone, r)


def on_undo_choice(state: State, r: Reading) -> Decision:
    """The product was scanned but has no line yet: undo drops the choice."""
    return Decision((), replace(state, phase=Phase.open, product=None, attach=False), Event.product_dropped, r)


def on_print(state: State, r: Reading) -> Decision:
    """CMD:PRINT in any phase: a label is queued, and the station stays exactly where it was."""
    return Decision((PrintLastSerial(),), state, Event.label_queued, r)


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
    return Decision(actions, _opened(state.mode, kind), Event.document_opened, r)


def on_customer(state: State, r: Reading) -> Decision:
    if not r.found:
        raise Refusal("unknown_party", f"There is no customer {quote(r.code or '(empty)')}: add it first, or scan another.")
    _refuse_if_lines(state, "scanning a customer")
    if state.mode is Mode.receive:
        raise Refusal("wrong_mode", "A customer is scanned when selling or taking returns: scan CMD:SELL or CMD:RETURN first.")
    kind = state.mode.document_kind
    actions = _drop_empty(state) + (OpenDocument(kind, customer=r.code),)
    return Decision(actions, _opened(state.mode, kind), Event.document_opened, r)


def on_order(state: State, r: Reading) -> Decision:
    if not r.found:
        raise Refusal("unknown_document", f"There is no purchase order {quote(r.code or '')}: check the reference, or import the order first.")
    _refuse_if_lines(state, "scanning a purchase order")
    actions = _drop_empty(state)
    if state.mode is not Mode.receive:
        actions += (SetMode(Mode.receive),)
    actions += (OpenDocument(DocumentKind.receipt, order=r.code),)
    return Decision(actions, _opened(Mode.receive, DocumentKind.receipt), Event.document_opened, r)


def _open_for_goods(state: State) -> tuple[tuple[Action, ...], State]:
    """Open the document a product or serial scan needs in an idle station."""
    if state.phase is not Phase.idle:
        return (), state
    if state.mode is Mode.receive:
        raise Refusal("no_open_document", "No receipt is open: scan a supplier (SUP:...) or a purchase order first, then the goods.")
    kind = state.mode.document_kind
    return (OpenDocument(kind, walk_in=kind is DocumentKind.sale),), _opened(state.mode, kind)


def _after_line(state: State, product: ProductInfo | None, *, attach: bool = False) -> State:
    """The state after a line was added: a receipt keeps its product chosen (sticky), others do unless a unit waits."""
    if state.document_kind is DocumentKind.receipt and product is not None:
        return replace(state, phase=Phase.sticky, lines=state.lines + 1, product=product, attach=attach)
    return replace(state, phase=Phase.open, lines=state.lines + 1, product=product if attach else None, attach=attach)


def on_product(state: State, r: Reading) -> Decision:
    if state.mode is Mode.service:
        return on_service_unit(state, r)
    if r.kind is Kind.gs1 and not r.found:
        raise Refusal("unknown_barcode", f"GTIN {r.code} is not the barcode of any product: add it to the product first.")
    if r.kind is Kind.gs1 and r.serial is not None:
        return on_serial(state, r)
    actions, state = _open_for_goods(state)
    p = r.product
    if POLICY[state.document_kind].needs_serial(p):
        if state.phase is Phase.sticky and state.product == p:
            # The box label and the unit labels often carry one GTIN: scanning it again
            # while its serials come in changes nothing (and CMD:FINISH stays allowed).
            return Decision(actions, state, Event.product_chosen, r)
        nxt = replace(state, phase=Phase.awaiting_serial, product=p, attach=False)
        return Decision(actions + (ChooseProduct(p.code),), nxt, Event.product_chosen, r)
    # One unit per product scan; a serial scanned next is recorded on this unit.
    actions += (AddLine(p.code, batch=r.batch, expiry=r.expiry),)
    return Decision(actions, _after_line(state, p, attach=True), Event.line_added, r)


def on_serial(state: State, r: Reading) -> Decision:
    """A known serial, a new serial, or a GS1 scan carrying product and serial."""
    if state.mode is Mode.service:
        return on_service_unit(state, r)
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
    actions, state = _open_for_goods(state)
    if state.attach and state.product is not None and product == state.product and r.kind is not Kind.gs1:
        return Decision(actions + (AttachSerial(r.serial),), replace(state, attach=False), Event.serial_attached, r)
    actions += (AddLine(product.code if product else None, r.serial, r.batch, r.expiry),)
    return Decision(actions, _after_line(state, product), Event.line_added, r)


def on_operator(state: State, r: Reading) -> Decision:
    """A badge signs its operator in, in any phase: the document stays as it is, its next lines are theirs."""
    if not r.found or not r.code:
        raise Refusal("unknown_operator", f"There is no active operator {quote(r.code or '(empty)')}: check the badge, "
                                          "or add the operator (station operator add, or the Operators page).")
    return Decision((SignIn(r.code),), state, Event.signed_in, r)


def on_logout(state: State, r: Reading) -> Decision:
    """CMD:LOGOUT signs the operator out, in any phase (nobody signed in: nothing to do, and it says so)."""
    return Decision((SignOut(),), state, Event.signed_out, r)


# -- the service desk (SPEC 3b) ------------------------------------------------------------------

_CHECK_IN, _CHECK_OUT = DocumentKind.service_check_in, DocumentKind.service_check_out
_WORDS = {_CHECK_IN: "check-in", _CHECK_OUT: "check-out"}


def _unit_serial(r: Reading, why: str) -> str:
    """The serial a goods scan names at the desk: a unit is taken by its own label, never by its product's."""
    if r.kind is Kind.gs1 and not r.found:
        raise Refusal("unknown_barcode", f"GTIN {r.code} is not the barcode of any product: scan the unit's serial.")
    if r.serial is None:
        raise Refusal("serial_required", f"The service desk takes each unit by its own serial: scan the serial, "
                                         f"not the product barcode{why}.")
    return r.serial


def on_service_unit(state: State, r: Reading) -> Decision:
    """A unit at the desk: one in service goes on a check-out, any other on a check-in (never both on one)."""
    serial = _unit_serial(r, "")
    if r.kind is Kind.unknown:
        raise Refusal("unknown_barcode", f"Unknown barcode {quote(r.text)}: not a serial sold here. "
                                         "Scan the serial of a unit a customer brought back.")
    kind = _CHECK_OUT if r.in_service else _CHECK_IN
    actions: tuple[Action, ...] = ()
    if state.document_kind is None:
        actions, state = (OpenDocument(kind),), _opened(state.mode, kind)
    elif state.document_kind is not kind:
        if state.lines:
            open_words = _WORDS.get(state.document_kind, "document")
            raise Refusal("document_open", f"Serial {quote(serial)} {'is' if r.in_service else 'is not'} in service, "
                                           f"so it goes on a {_WORDS[kind]}, and a {open_words} is open: "
                                           "scan CMD:FINISH or CMD:CANCEL first.")
        actions, state = (SwitchDocument(kind, serial),), _opened(state.mode, kind)
    actions += (AddLine(r.product.code if r.product else None, serial),)
    return Decision(actions, _after_line(state, None), Event.line_added, r)


def on_replace(state: State, r: Reading) -> Decision:
    """CMD:REPLACE on a check-out: the next serial accepted replaces its last unit."""
    if state.phase is Phase.replacing:
        return Decision((), state, Event.replace_armed, r)
    if state.document_kind is not _CHECK_OUT:
        if state.mode is not Mode.service:
            raise Refusal("wrong_mode", "CMD:REPLACE is for the service desk: scan CMD:SERVICE, the unit going back, "
                                        "then CMD:REPLACE and its replacement.")
        if state.document_kind is None:
            raise Refusal("no_open_document", "No check-out is open: scan the unit going back, then CMD:REPLACE "
                                              "and its replacement's serial.")
        raise Refusal("nothing_to_replace", "A replacement is given when a unit goes back: finish this check-in "
                                            "(CMD:FINISH), then scan the unit going back and CMD:REPLACE.")
    if not state.lines:
        raise Refusal("nothing_to_replace", "Nothing is checked out yet: scan the unit going back, "
                                            "then CMD:REPLACE and its replacement's serial.")
    return Decision((ArmReplacement(),), replace(state, phase=Phase.replacing), Event.replace_armed, r)


def on_replacement(state: State, r: Reading) -> Decision:
    """The serial after CMD:REPLACE; a refusal keeps the replacement armed (the state is unchanged)."""
    serial = _unit_serial(r, " (or CMD:UNDO to give no replacement)")
    if r.kind is Kind.unknown:
        raise Refusal("unknown_barcode", f"Unknown barcode {quote(r.text)}: a replacement is a serial in stock. "
                                         "Scan its serial, or CMD:UNDO to give no replacement.")
    nxt = replace(state, phase=Phase.open, lines=state.lines + 1)
    return Decision((AddReplacement(serial),), nxt, Event.line_added, r)


def on_replace_dropped(state: State, r: Reading) -> Decision:
    """CMD:UNDO while a replacement is armed: none is given (no line is removed)."""
    return Decision((), replace(state, phase=Phase.open), Event.replace_dropped, r)


@dataclass(frozen=True)
class Refuse:
    """A table entry for a pair the phase does not allow: its refusal (``{product}`` names the chosen product)."""

    code: str
    message: str

    def __call__(self, state: State, r: Reading) -> Decision:
        raise Refusal(self.code, self.message.format(product=state.product.name if state.product else ""))


Handler = Callable[[State, Reading], Decision]

_GOODS: dict[Kind, Handler] = {
    Kind.gs1: on_product,
    Kind.product: on_product,
    Kind.known_serial: on_serial,
    Kind.unknown: on_serial,
}
_PARTIES: dict[Kind, Handler] = {Kind.mode: on_mode, Kind.supplier: on_supplier, Kind.customer: on_customer,
                                 Kind.order: on_order}
_OPERATORS: dict[Kind, Handler] = {Kind.operator: on_operator, Kind.logout: on_logout}
# CMD:PRINT is the same in every phase; "nothing to print" and "no printer" are facts the service reads.
_PRINT: dict[Kind, Handler] = {Kind.print_: on_print}

#: The machine: for each phase, what each kind of scan does there (every pair has an entry).
TABLE: dict[Phase, dict[Kind, Handler]] = {
    Phase.idle: {
        **_PARTIES,
        Kind.finish: Refuse("no_open_document", "There is no open document to finish: scan the goods first."),
        Kind.cancel: Refuse("no_open_document", "There is no open document to cancel: scan the goods to start one."),
        Kind.undo: Refuse("nothing_to_undo", "There is no line to undo: scan the goods, or CMD:CANCEL to drop the document."),
        Kind.replace: on_replace,
        **_GOODS,
        **_OPERATORS,
        **_PRINT,
    },
    Phase.open: {**_PARTIES, Kind.finish: on_finish, Kind.cancel: on_cancel, Kind.undo: on_undo,
                 Kind.replace: on_replace, **_GOODS, **_OPERATORS, **_PRINT},
    Phase.awaiting_serial: {
        **_PARTIES,
        Kind.finish: Refuse("serial_required", "{product} still waits for its serial: scan the serial, "
                                               "or CMD:UNDO to drop the product."),
        Kind.cancel: on_cancel,
        Kind.undo: on_undo_choice,
        Kind.replace: on_replace,
        **_GOODS,
        **_OPERATORS,
        **_PRINT,
    },
    Phase.sticky: {**_PARTIES, Kind.finish: on_finish, Kind.cancel: on_cancel, Kind.undo: on_undo,
                   Kind.replace: on_replace, **_GOODS, **_OPERATORS, **_PRINT},
    # Armed until a serial is accepted or another command is scanned (a mode or party scan is refused: lines are open).
    Phase.replacing: {
        **_PARTIES,
        Kind.finish: on_finish,
        Kind.cancel: on_cancel,
        Kind.undo: on_replace_dropped,
        Kind.replace: on_replace,
        **{kind: on_replacement for kind in _GOODS},
        **_OPERATORS,
        **_PRINT,
    },
}


def decide(state: State, reading: Reading) -> Decision:
    """The decision for one reading; raises Refusal (state unchanged) for what the state does not allow."""
    return TABLE[state.phase][reading.kind](state, reading)
