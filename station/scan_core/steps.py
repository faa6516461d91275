"""The words the machine's table is written in: its branches, named guards, named actions, refusals' words.

An entry of the table is an ordered tuple of branches, ``Go`` (a
transition) or ``Refuse``, each taken when its guards hold. A guard is a
pure question about the state and the reading ("found": the party, order
or GTIN exists; "lines": the document has lines). An action is a pair:
what the service carries out (one of the Action dataclasses, or nothing for
a change of state alone) and its effect on the State, as the fields it
sets. The table (machine.py) names them; ``decide`` applies them
in order, so the next state is the table's phase plus the actions' effects.
A refusal's message is a template whose ``{fields}`` are WORDS.
"""
from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from station.domain.vocabulary import DocumentKind, Mode, Phase
from station.domain.wording import plural

from .decisions import (
    Action,
    AddLine,
    AddReplacement,
    ArmReplacement,
    AttachSerial,
    Cancel,
    ChooseProduct,
    OpenDocument,
    Outcome,
    Post,
    PrintLastSerial,
    SetLocation,
    SetMode,
    SignIn,
    SignOut,
    State,
    SwitchDocument,
    Undo,
)
from .reading import Kind, ProductInfo, Reading, quote

# -- the table's branches ----------------------------------------------------------------------------

class Stay(enum.Enum):
    """The phase as it was (a branch whose ``then`` is STAY changes no phase)."""

    stay = "stay"


STAY = Stay.stay


@dataclass(frozen=True)
class Go:
    """A transition: when every guard holds, carry the actions out and move to ``then``, saying ``said``."""

    said: Outcome
    then: Phase | Stay
    do: tuple[str, ...] = ()
    when: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refuse:
    """A refusal: when every guard holds, the scan is refused with ``code`` (``message`` is worded from WORDS)."""

    code: str
    message: str
    when: tuple[str, ...] = ()


Branch = Go | Refuse
Entry = tuple[Branch, ...]


def go(said: Outcome, then: Phase | Stay, *do: str, when: tuple[str, ...] = ()) -> Go:
    """A transition, written as the table reads: go(outcome, next phase, *actions, when=guards)."""
    return Go(said, then, do, when)


def no(code: str, message: str, *, when: tuple[str, ...] = ()) -> Refuse:
    """A refusal, written as the table reads: no(code, message, when=guards)."""
    return Refuse(code, message, when)


# -- guards, actions and words -----------------------------------------------------------------------

_CHECK_IN, _CHECK_OUT = DocumentKind.service_check_in, DocumentKind.service_check_out
_DESK_WORDS = {_CHECK_IN: "check-in", _CHECK_OUT: "check-out"}
#: The document a supplier opens, in the modes that take one.
_SUPPLIER_DOCUMENT = {Mode.receive: DocumentKind.receipt, Mode.return_: DocumentKind.supplier_return}


class Chosen(Protocol):
    """What ``line_product`` reads: a State, or the Draft of the next one."""

    phase: Phase
    product: ProductInfo | None
    attach: bool


def line_product(state: Chosen, r: Reading) -> ProductInfo | None:
    """The product of the line a serial scan makes: the GS1 scan's own, the one waiting for its serial (or stuck
    while a box comes in), the unserialised unit's the serial is recorded on, else the serial's record's."""
    if r.kind is Kind.gs1:
        return r.product
    if state.phase in (Phase.awaiting_serial, Phase.sticky):
        return state.product
    if state.attach and state.product is not None and r.product in (None, state.product):
        return state.product
    return r.product


def _goods_document(state: State) -> DocumentKind:
    """The document a goods scan lands on: the open one, else the one the mode opens for it."""
    return state.document_kind or state.mode.document_kind


Guard = Callable[[State, Reading], bool]

GUARDS: dict[str, Guard] = {
    "found": lambda s, r: r.found,  # the party, order or GTIN the scan names exists
    "badge_found": lambda s, r: r.found and bool(r.code),  # an active operator's badge
    "lines": lambda s, r: s.lines > 0,
    "same_mode": lambda s, r: r.mode == s.mode,
    "has_serial": lambda s, r: r.serial is not None,  # a GS1 scan with AI 21
    "needs_serial": lambda s, r: r.product.needs_serial(_goods_document(s)),
    "same_product": lambda s, r: s.product == r.product,
    # A serial scanned right after an unserialised unit of its product is recorded on that unit.
    "attaches": lambda s, r: s.attach and s.product is not None and line_product(s, r) == s.product,
    "names_product": lambda s, r: line_product(s, r) is not None,
    "in_service": lambda s, r: r.in_service,  # the unit is checked in at the desk: it goes on a check-out
    # The unit goes on the document open at the desk (a check-out for a unit in service, else a check-in).
    "its_document": lambda s, r: s.document_kind is (_CHECK_OUT if r.in_service else _CHECK_IN),
    "check_out": lambda s, r: s.document_kind is _CHECK_OUT,
    # A LOC: of a location at another site than the station's (in move mode: the document is a transfer).
    "other_site": lambda s, r: r.location is not None and not r.location.here,
    "transfer": lambda s, r: s.document_kind is DocumentKind.transfer,
    "arrival": lambda s, r: s.document_kind is DocumentKind.arrival,
}


@dataclass(frozen=True)
class Draft:
    """The next State as the actions shape it, before the table's phase makes it one (no checks in between)."""

    mode: Mode
    document_kind: DocumentKind | None
    phase: Phase
    lines: int
    product: ProductInfo | None
    attach: bool


Effect = Callable[[Draft, Reading], Mapping[str, Any]]
_NEW_DOCUMENT = {"lines": 0, "product": None, "attach": False}


def _opens(kind: DocumentKind) -> Effect:
    return lambda d, r: {"document_kind": kind, **_NEW_DOCUMENT}


def _no_change(d: Draft, r: Reading) -> Mapping[str, Any]:
    return {}


@dataclass(frozen=True)
class Step:
    """A named action: what the service carries out (None: nothing, the state alone changes), and its effect."""

    build: Callable[[State, Reading], Action] | None
    effect: Effect = _no_change


def _closed(d: Draft, r: Reading) -> Mapping[str, Any]:
    """The document posted or dropped: the station is idle again, in its mode."""
    return {"document_kind": None, **_NEW_DOCUMENT}

#: The actions the table names, each built from the state before the scan and the reading.
ACTIONS: dict[str, Step] = {
    "set_mode": Step(lambda s, r: SetMode(r.mode), lambda d, r: {"mode": r.mode}),
    "set_receive": Step(lambda s, r: SetMode(Mode.receive), lambda d, r: {"mode": Mode.receive}),
    "open_for_supplier": Step(lambda s, r: OpenDocument(_SUPPLIER_DOCUMENT[s.mode], supplier=r.code),
                              lambda d, r: _opens(_SUPPLIER_DOCUMENT[d.mode])(d, r)),
    "open_for_customer": Step(lambda s, r: OpenDocument(s.mode.document_kind, customer=r.code),
                              lambda d, r: _opens(d.mode.document_kind)(d, r)),
    "open_against_order": Step(lambda s, r: OpenDocument(DocumentKind.receipt, order=r.code),
                               _opens(DocumentKind.receipt)),
    # A product or serial scanned at an idle till opens a sale to the walk-in customer; at returns, a return.
    "open_for_goods": Step(lambda s, r: OpenDocument(s.mode.document_kind, walk_in=s.mode is Mode.sell),
                           lambda d, r: _opens(d.mode.document_kind)(d, r)),
    # Move and count: a LOC: opens the document, naming where the units go (or are counted).
    "open_move": Step(lambda s, r: OpenDocument(DocumentKind.move, location=r.location), _opens(DocumentKind.move)),
    "open_transfer": Step(lambda s, r: OpenDocument(DocumentKind.transfer, location=r.location),
                          _opens(DocumentKind.transfer)),
    "open_arrival": Step(lambda s, r: OpenDocument(DocumentKind.arrival, order=r.code),
                         _opens(DocumentKind.arrival)),
    "open_count": Step(lambda s, r: OpenDocument(DocumentKind.count, location=r.location),
                       _opens(DocumentKind.count)),
    "set_location": Step(lambda s, r: SetLocation(r.location)),
    "open_check_in": Step(lambda s, r: OpenDocument(_CHECK_IN), _opens(_CHECK_IN)),
    "open_check_out": Step(lambda s, r: OpenDocument(_CHECK_OUT), _opens(_CHECK_OUT)),
    # The desk's empty document gives way to the other kind, for its customer.
    "switch_to_check_in": Step(lambda s, r: SwitchDocument(_CHECK_IN, r.serial), _opens(_CHECK_IN)),
    "switch_to_check_out": Step(lambda s, r: SwitchDocument(_CHECK_OUT, r.serial), _opens(_CHECK_OUT)),
    "choose_product": Step(lambda s, r: ChooseProduct(r.product.code), lambda d, r: {"product": r.product,
                                                                                     "attach": False}),
    # One unserialised unit per product scan; a serial scanned next is recorded on it.
    "add_unit": Step(lambda s, r: AddLine(r.product.code, batch=r.batch, expiry=r.expiry),
                     lambda d, r: {"lines": d.lines + 1, "product": r.product, "attach": True}),
    # One unserialised unit moved or counted: no serial is recorded on it afterwards.
    "add_one": Step(lambda s, r: AddLine(r.product.code, batch=r.batch, expiry=r.expiry),
                    lambda d, r: {"lines": d.lines + 1, "product": None, "attach": False}),
    "add_serial": Step(lambda s, r: AddLine(_code(line_product(s, r)), r.serial, r.batch, r.expiry),
                       lambda d, r: {"lines": d.lines + 1, "attach": False}),
    # Receiving: the line's product stays chosen, so its next serials need no product scan (sticky).
    "keep_product": Step(None, lambda d, r: {"product": line_product(d, r)}),
    "drop_product": Step(None, lambda d, r: {"product": None, "attach": False}),
    "attach_serial": Step(lambda s, r: AttachSerial(r.serial), lambda d, r: {"attach": False}),
    # The service desk: a unit by its own serial, never by its product's barcode.
    "add_desk_unit": Step(lambda s, r: AddLine(_code(r.product), r.serial),
                          lambda d, r: {"lines": d.lines + 1, "product": None, "attach": False}),
    "arm_replacement": Step(lambda s, r: ArmReplacement()),
    "add_replacement": Step(lambda s, r: AddReplacement(r.serial), lambda d, r: {"lines": d.lines + 1}),
    "undo": Step(lambda s, r: Undo(), lambda d, r: {"lines": d.lines - 1, "attach": False}),
    "cancel": Step(lambda s, r: Cancel(), _closed),
    "post": Step(lambda s, r: Post(), _closed),
    "sign_in": Step(lambda s, r: SignIn(r.code)),
    "sign_out": Step(lambda s, r: SignOut()),
    "print_label": Step(lambda s, r: PrintLastSerial()),
}


def _code(product: ProductInfo | None) -> str | None:
    return product.code if product is not None else None


#: The fields of the refusals' messages.
WORDS: dict[str, Callable[[State, Reading], str]] = {
    "lines": lambda s, r: plural(s.lines, "line"),
    "party": lambda s, r: quote(r.code or "(empty)"),
    "reference": lambda s, r: quote(r.code or ""),
    "gtin": lambda s, r: r.code or "",
    "text": lambda s, r: quote(r.text),
    "product": lambda s, r: s.product.name if s.product else "",
    "serial": lambda s, r: quote(r.serial or ""),
    "is_or_is_not": lambda s, r: "is" if r.in_service else "is not",
    "goes_on": lambda s, r: _DESK_WORDS[_CHECK_OUT if r.in_service else _CHECK_IN],
    "open_document": lambda s, r: _DESK_WORDS.get(s.document_kind, "document"),
    "location": lambda s, r: quote(r.code or "(empty)"),
    "site": lambda s, r: f"{r.location.site_name} ({r.location.site_code})" if r.location else "",
}


class Words(dict):
    """A refusal's fields, each worded when its template asks for it."""

    def __init__(self, state: State, reading: Reading):
        super().__init__()
        self.state, self.reading = state, reading

    def __missing__(self, key: str) -> str:
        return WORDS[key](self.state, self.reading)
