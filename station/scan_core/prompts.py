"""Words for the operator: what a scan did, and what to scan next.

Every answer pairs a message (what happened: "Added Widget X, serial SN-3.")
with a prompt (where the station stands and what to scan next: "Widget X:
3 of 5 received. Scan the next serial, another product, or CMD:FINISH.").
A refusal's message comes from the Refusal itself and says how to fix it;
its prompt is the unchanged station's prompt.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from station.domain import warranty
from station.domain.vocabulary import SERVICE_KINDS, DocumentKind, Mode, Phase
from station.domain.wording import plural

from .decisions import Outcome, State

_K = DocumentKind
DOCUMENT_WORDS = {
    _K.receipt: "Receipt",
    _K.sale: "Sale",
    _K.customer_return: "Customer return",
    _K.supplier_return: "Return to supplier",
    _K.service_check_in: "Check-in",
    _K.service_check_out: "Check-out",
    _K.move: "Move",
    _K.transfer: "Transfer",
    _K.arrival: "Arrival",
    _K.count: "Count",
}
DONE_WORDS = {_K.receipt: "received", _K.sale: "sold", _K.customer_return: "returned", _K.supplier_return: "returned",
              _K.service_check_in: "checked in", _K.service_check_out: "checked out", _K.move: "moved",
              _K.transfer: "sent", _K.arrival: "arrived", _K.count: "counted"}
PARTY_WORDS = {_K.receipt: "from", _K.sale: "for", _K.customer_return: "from", _K.supplier_return: "to",
               _K.service_check_in: "from", _K.service_check_out: "for"}
MODE_WORDS = {Mode.receive: "receiving", Mode.sell: "selling", Mode.return_: "returns", Mode.service: "service desk",
              Mode.move: "moving", Mode.count: "counting"}
IDLE_PROMPTS = {
    Mode.receive: "Receiving. Scan a supplier (SUP:...) or a purchase order.",
    Mode.sell: "Selling. Scan a product or a serial (CUS:... first to sell to a named customer).",
    Mode.return_: "Returns. Scan the sold serial (SUP:... first to send goods back to a supplier).",
    Mode.service: "Service desk. Scan the serial of a unit brought in for repair, or of one going back "
                  "(CUS:... first to name the customer).",
    Mode.move: "Moving. Scan the location the units go to (LOC:...), then the units.",
    Mode.count: "Counting. Scan the location to count (LOC:...), then every unit found there.",
}


class Unit(Protocol):
    """The service desk's last line (service_desk.Unit): the unit, whose it is, and its warranty's end."""

    serial: str
    product: str | None
    customer: str | None
    warranty_until: date | None  # a replacement's: the end it will be given
    replaces: str | None


def unit_name(unit: Unit) -> str:
    """"Phone SN-1 of Jane Doe", "Phone SN-9 replaces SN-1 for Jane Doe"."""
    name = f"{unit.product} {unit.serial}" if unit.product else f"Serial {unit.serial}"
    if unit.replaces:
        return f"{name} replaces {unit.replaces}" + (f" for {unit.customer}" if unit.customer else "")
    return f"{name} of {unit.customer}" if unit.customer else name


@dataclass(frozen=True)
class Facts:
    """What the prompt needs from the database, gathered by the service."""

    reference: str | None = None
    party: str | None = None
    order: str | None = None
    product_units: int = 0  # units of the chosen product on this document
    expected: int | None = None  # on the purchase order, for the chosen product
    received_before: int = 0  # posted against the order already
    offline_held: int = 0
    place: str | None = None  # the last LOC: scanned on the document: "Aisle A, bin 3 (A-03)"
    counted: tuple[int, int] | None = None  # a count: serials expected here counted, and expected
    unit: Unit | None = None  # at the service desk: the last line's unit, its warranty as of ``today``
    today: date | None = None


@dataclass(frozen=True)
class Done:
    """What the actions of one scan did, described by the service for the message."""

    opened: str | None = None  # "sale S-000002 for Walk-in customer"
    line: str | None = None  # "Widget X, serial SN-1"
    removed: str | None = None
    cancelled: str | None = None  # the reference dropped
    posted: str | None = None  # the reference posted
    posted_lines: int = 0
    warning: str | None = None  # accepted, but the operator should look (a serial not on the ASN)
    signed_in: str | None = None  # the operator's name a badge signed in
    replaced: str | None = None  # the operator's name it replaced
    signed_out: str | None = None  # the operator's name CMD:LOGOUT signed out (None: nobody was signed in)
    label: str | None = None  # "SN-3 on printer zebra-1": the label CMD:PRINT queued
    labels_queued: int = 0  # labels a posted receipt queued for the station's print_on_receive printer
    print_note: str | None = None  # "Printer zebra-1: paper out; the labels wait for it."
    place: str | None = None  # the location a LOC: set: "Aisle A, bin 3 (A-03)"
    count_note: str | None = None  # what a counted unit was: "SN-1 counted: 12 of 40 expected here."


def describe_document(kind: DocumentKind, reference: str, party: str | None, order: str | None) -> str:
    """"receipt R-000001 from Acme Ltd against PO-1042"."""
    words = f"{DOCUMENT_WORDS.get(kind, 'document').lower()} {reference}"
    if party:
        words += f" {PARTY_WORDS.get(kind, 'for')} {party}"
    if order:
        words += f" against {order}"
    return words


def _count(state: State, facts: Facts) -> str:
    done = DONE_WORDS.get(state.document_kind, "scanned")
    units = facts.product_units + facts.received_before
    if facts.expected is not None:
        return f"{state.product.name}: {units} of {facts.expected} {done}."
    return f"{state.product.name}: {units} {done}."


def offline(held: int) -> str:
    """What the screens and the API say while the database is away: "Offline: 3 scans held"."""
    return f"Offline: {plural(held, 'scan')} held"


def prompt(state: State, facts: Facts) -> str:
    """What to scan next, in the station's present state."""
    if facts.offline_held:
        return f"{offline(facts.offline_held)}. They will be processed when the database is back."
    if state.phase is Phase.idle:
        return IDLE_PROMPTS[state.mode]
    if state.document_kind in SERVICE_KINDS and state.lines and facts.unit is not None:
        return _desk(state, facts.unit, warranty.words(facts.unit.warranty_until, facts.today))
    if state.phase is Phase.awaiting_serial:
        if state.document_kind is DocumentKind.receipt:
            return _count(state, facts) + " Scan the serial."
        return f"{state.product.name}: scan the serial of this unit."
    if state.phase is Phase.sticky:
        return _sticky(state, facts)
    return _document(state, facts)


def _sticky(state: State, facts: Facts) -> str:
    """Receiving a product's units: how many are in, and whether its serials or the product again come next."""
    count = _count(state, facts) + (f" Putting away at {facts.place}." if facts.place else "")
    if facts.expected is not None and facts.product_units + facts.received_before >= facts.expected:
        return count + " All expected units are in: scan another product or CMD:FINISH."
    if state.product.needs_serial(state.document_kind):
        return count + " Scan the next serial, another product, or CMD:FINISH."
    return count + (" Scan the product again for the next unit (its serial if it has one), another product, "
                    "or CMD:FINISH.")


#: What to scan next on an open document: (while it has no lines, once it has some); others take serials.
NEXT_WORDS = {
    _K.receipt: ("Scan a product.", "Scan a product, or CMD:FINISH to post."),
    _K.sale: ("Scan a product or a serial.", "Scan the next product or serial, or CMD:FINISH to post."),
    _K.move: ("Scan the units (serials, or a product for a unit without one).",
              "Scan the next unit, another location, or CMD:FINISH to post."),
    _K.transfer: ("Scan the units to send (serials, or a product for a unit without one).",
                  "Scan the next unit, or CMD:FINISH to send them."),
    _K.count: ("Scan every unit found here (serials, or a product for a unit without one).",
               "Scan the next unit, another location under it, or CMD:FINISH to post the count."),
    _K.arrival: ("Scan the units as they come out of the box.",
                 "Scan the next unit, a location to put them away, or CMD:FINISH to post."),
}
#: Where a LOC: sends the document's units, in its prompt.
PLACE_WORDS = {_K.receipt: "putting away at", _K.move: "to", _K.transfer: "to", _K.arrival: "putting away at",
               _K.count: "at"}
_NEXT_SERIAL = ("Scan the serial of the unit.", "Scan the next serial, or CMD:FINISH to post.")


def _document(state: State, facts: Facts) -> str:
    """"Sale S-000002 for Walk-in customer, 2 lines. Scan the next product or serial, or CMD:FINISH to post."."""
    head = DOCUMENT_WORDS.get(state.document_kind, "Document") + " " + (facts.reference or "")
    if facts.party:
        head += f" {PARTY_WORDS.get(state.document_kind, 'for')} {facts.party}"
    if facts.order:
        head += f" against {facts.order}"
    if facts.place and state.document_kind in PLACE_WORDS:
        head += f" {PLACE_WORDS[state.document_kind]} {facts.place}"
    if state.lines:
        head += f", {plural(state.lines, 'line')}"
    if facts.counted is not None:
        head += f": {facts.counted[0]} of {facts.counted[1]} expected here counted"
    return f"{head}. {NEXT_WORDS.get(state.document_kind, _NEXT_SERIAL)[bool(state.lines)]}"


def _desk(state: State, unit: Unit, warranty_words: str) -> str:
    """Every check-in and check-out prompt says the unit's warranty (rule 14)."""
    if state.phase is Phase.replacing:
        return (f"Replacing {unit_name(unit)} ({warranty_words}): scan the replacement's serial, "
                "or CMD:UNDO to give none.")
    said = f"{unit_name(unit)}: {warranty_words}."
    if state.document_kind is DocumentKind.service_check_out and unit.replaces is None:
        return f"{said} Scan the next serial, CMD:REPLACE to give a replacement for it, or CMD:FINISH."
    return f"{said} Scan the next serial or CMD:FINISH."


def message(outcome: Outcome, state: State, done: Done) -> str:
    """What a scan just did, in a sentence or two (and a warning, when there is one)."""
    text = _MESSAGES[outcome](state, done)
    return f"{text} {done.warning}" if done.warning else text


def _opened(done: Done) -> str:
    return f"Opened {done.opened}." if done.opened else ""


def _labels_queued(done: Done) -> str:
    n = done.labels_queued
    return f" {plural(n, 'label')} queued for printing.{_print_note(done)}" if n else ""


def _print_note(done: Done) -> str:
    return f" {done.print_note}" if done.print_note else ""


def _mode_set(state: State, done: Done) -> str:
    text = f"Mode: {MODE_WORDS[state.mode]}."
    return f"Dropped the empty {done.cancelled}. {text}" if done.cancelled else text


_MESSAGES = {
    Outcome.mode_set: _mode_set,
    Outcome.mode_kept: lambda state, done: f"Mode: {MODE_WORDS[state.mode]} already.",
    Outcome.posted: lambda state, done: (f"Posted {done.posted}: {plural(done.posted_lines, 'line')}."
                                         + _labels_queued(done)),
    Outcome.label_queued: lambda state, done: f"Printing the label of {done.label}." + _print_note(done),
    Outcome.cancelled: lambda state, done: f"Cancelled {done.cancelled}: its serials are free again.",
    Outcome.undone: lambda state, done: (f"Removed the last line: {done.removed}." if done.removed
                                         else "Removed the last line."),
    Outcome.product_dropped: lambda state, done: f"Dropped {done.removed}: no line was added for it.",
    Outcome.document_opened: lambda state, done: _opened(done) or "Opened a document.",
    Outcome.product_chosen: lambda state, done: " ".join(filter(None, (_opened(done),
                                                                       f"{state.product.name} chosen."))),
    Outcome.line_added: lambda state, done: " ".join(filter(None, (_opened(done),
                                                                   done.count_note or f"Added {done.line}."))),
    Outcome.serial_attached: lambda state, done: f"Recorded {done.line}.",
    Outcome.signed_in: lambda state, done: f"Signed in: {done.signed_in}" + (
        f" (in place of {done.replaced})." if done.replaced else "."),
    Outcome.signed_out: lambda state, done: f"Signed out: {done.signed_out}." if done.signed_out
    else "Nobody was signed in.",
    Outcome.replace_armed: lambda state, done: (f"A replacement for serial {done.line}: scan the new unit's serial."
                                              if done.line else "A replacement is armed already: scan its serial."),
    Outcome.replace_dropped: lambda state, done: "No replacement: the unit goes back as it is.",
    Outcome.location_set: lambda state, done: _place_set(state, done),
}


#: What a count scan says each unit was (SPEC 3c); the screen reads the kind back from the words (count_kind).
COUNT_WORDS = {  # "unit" first: its words end as "counted"'s do
    "unit": "1 unit of {name} counted: {units_counted} of {units_expected} without a serial expected here.",
    "counted": "{serial} counted: {counted} of {expected} expected here.",
    "elsewhere": "{serial} counted: recorded at {recorded}, will move here.",
    "added": "{serial} counted: not in stock, will be added.",
    "faulty": "{serial} counted: faulty, it stays faulty.",
}


def count_note(kind: str, serial: str | None, name: str, counted: int, expected: int, recorded: str | None,
               units_counted: int, units_expected: int) -> str:
    """"SN-1 counted: 12 of 40 expected here.", "SN-9 counted: recorded at A-04, will move here."..."""
    return COUNT_WORDS[kind].format(serial=serial, name=name, counted=counted, expected=expected, recorded=recorded,
                                    units_counted=units_counted, units_expected=units_expected)


def count_kind(message: str, code: str | None) -> str | None:
    """What a count scan's answer said the unit was (the kind COUNT_WORDS worded), or None: not a count scan."""
    if code == "already_counted":
        return "already"
    return next((kind for kind, pattern in _COUNT_PATTERNS.items() if pattern.search(message)), None)


def _pattern(words: str) -> re.Pattern[str]:
    """A COUNT_WORDS template as a pattern: its fields any text, the rest as written, at the message's end."""
    parts = re.split(r"\{\w+\}", words)
    return re.compile(".+?".join(re.escape(part) for part in parts) + "$")


_COUNT_PATTERNS = {kind: _pattern(words) for kind, words in COUNT_WORDS.items()}


def _place_set(state: State, done: Done) -> str:
    if state.document_kind is DocumentKind.count:
        return f"Counting at {done.place}: scan the units found there."
    if state.document_kind in (DocumentKind.move, DocumentKind.transfer):
        return f"Destination: {done.place}. Scan the units that go there."
    return f"Putting away at {done.place}: the next units go there."
