"""The station's state machine: what a Reading means in the station's State. The table is the machine.

Theory of operation
-------------------
A station is in a mode (receive, sell, return, service, move, count) and one of the
mode's phases (``decisions.PHASES``): ``idle`` (no document open), ``open``
(a document is open and nothing waits), ``awaiting_serial`` (a product was
scanned and waits for its serial), ``sticky`` (receiving only: a product
stays chosen while its serials are scanned one after another, so a box of
50 is 51 scans) and ``replacing`` (the service desk only: CMD:REPLACE was
scanned, and the next serial accepted replaces the last unit checked out).

``TABLE``, after h11's ``_state.py``, holds one entry for every legal
(mode, phase, kind) triple and nothing else, so a missing key is a state
that cannot be built. An entry is an ordered tuple of branches; the first
whose guards (``when``, names in steps.GUARDS, ``not:`` to negate) all hold
is taken, and the last has none. A branch is either ``Go``: its named
actions (``do``, in steps.ACTIONS) are built, in order, from the state and
the reading, and the next state is the table's phase (``then``, or STAY)
with the actions' effects applied (lines + 1, the product chosen or
dropped...); or ``Refuse``: a Refusal with its stable code and a message
worded from steps.WORDS, and the state stays as it was (it is frozen).
``decide`` only looks up, picks and applies: no branch of the machine lives
in code, and docs/scan-machine.md is drawn from the table (diagram.py).

Nothing here touches a database or a device: the service carries the
actions out, and the domain rules there may still refuse (a serial in
stock...). CMD:PRINT leaves every phase as it was: it only queues a label
(no serial to print, or no printer, are facts the service reads). Who is
signed in is not the machine's state: a badge (``USR:<code>``) or
CMD:LOGOUT changes who scans, never where the document stands, so in every
phase they answer SignIn/SignOut and stay. Whether a station lets anything
but a badge through while nobody is signed in (``require_operator``) is
decided before the machine, by station.scanning.sign_in.

Adding a mode is rows and names, no handler. Issue 23's ``move`` and
``count`` (scan ``LOC:`` the destination or the place counted, then the
units; another site's location makes a move a transfer) were added so:

1. vocabulary.Mode gained them, and decisions.PHASES their phases
   (``idle``, ``open``: a LOC: opens the document, so an open one always
   has its place); reading gained Kind.location, read from ``LOC:`` by one
   more reader in reading.READERS (and Kind.transfer, a transfer's
   reference, which opens its arrival as a purchase order opens a receipt).
2. steps.GUARDS gained the questions the rows ask ("other_site": the
   location scanned is at another site than the station's; "transfer",
   "arrival": the open document's kind), and steps.ACTIONS the actions,
   each an Action for the service and its effect on the State
   ("open_move", "open_transfer", "open_count", "open_arrival",
   "set_location", "add_one").
3. Row builders here, ``_locations(mode, phase)`` and
   ``_moving_or_counting(phase)``, give Kind.location and the goods kinds
   their branches in each phase (a unit before any ``LOC:``:
   ``no("no_location", ...)``); the rows of the other modes gained
   Kind.location (receiving: put-away, elsewhere a refusal). What the
   machine cannot know (a LOC: outside the counted place, a unit already
   at the destination) the service's rules refuse. The shared rows (``_signs``, ``_commands``, ``_openings``)
   serve the new mode as they are: it is in neither ``_TAKE_SUPPLIERS``
   nor ``_TAKE_CUSTOMERS``, so a party scan is refused with ``wrong_mode``.
4. Regenerate the diagram (``python -m station.scan_core.diagram >
   docs/scan-machine.md``). tests/test_scan_table.py fails until every
   new triple has its entry, every name is used and every code is
   documented; tests/test_scan_machine.py wants a case for each new
   (phase, kind) pair.
"""
from __future__ import annotations

from dataclasses import fields, replace

from station.domain.errors import Refusal
from station.domain.vocabulary import Mode, Phase

from .decisions import PHASES, Decision, Outcome, State
from .reading import Kind, Reading
from .steps import ACTIONS, GUARDS, STAY, Branch, Draft, Entry, Go, Refuse, Words, go, no

_O, _P = Outcome, Phase
_DOCUMENT_OPEN = "A document with {lines} is open: scan CMD:FINISH or CMD:CANCEL before "
_UNKNOWN_GTIN = "GTIN {gtin} is not the barcode of any product: "
_NO_RECEIPT = no("no_open_document", "No receipt is open: scan a supplier (SUP:...) or a purchase order first, "
                                     "then the goods.")
_UNKNOWN_BARCODE = no("unknown_barcode", "Unknown barcode {text}: not a product, serial or command. "
                                         "For a new serial, scan its product first.")
_NOTHING_TO_UNDO = "There is no line to undo: scan the goods, or CMD:CANCEL to drop the document."


# -- rows every mode shares ------------------------------------------------------------------------

def _signs() -> dict[Kind, Entry]:
    """A badge, CMD:LOGOUT and CMD:PRINT, in every mode and phase: the station stays where it is."""
    return {
        Kind.operator: (no("unknown_operator", "There is no active operator {party}: check the badge, or add the "
                                               "operator (station operator add, or the Operators page).",
                           when=("not:badge_found",)),
                        go(_O.signed_in, STAY, "sign_in")),
        Kind.logout: (go(_O.signed_out, STAY, "sign_out"),),
        # "Nothing to print" and "no printer" are facts the service reads.
        Kind.print_: (go(_O.label_queued, STAY, "print_label"),),
    }


def _commands(phase: Phase) -> dict[Kind, Entry]:
    """CMD:FINISH, CMD:CANCEL and CMD:UNDO in a phase (the same in every mode that has it)."""
    finish = (no("empty_document", "The document has no lines to post: scan something, or CMD:CANCEL.",
                 when=("not:lines",)),
              go(_O.posted, _P.idle, "post"))
    cancel = (go(_O.cancelled, _P.idle, "cancel"),)
    return {
        _P.idle: {
            Kind.finish: (no("no_open_document", "There is no open document to finish: scan the goods first."),),
            Kind.cancel: (no("no_open_document", "There is no open document to cancel: scan the goods to start one."),),
            Kind.undo: (no("nothing_to_undo", _NOTHING_TO_UNDO),),
        },
        _P.open: {
            Kind.finish: finish,
            Kind.cancel: cancel,
            Kind.undo: (no("nothing_to_undo", _NOTHING_TO_UNDO, when=("not:lines",)),
                        go(_O.undone, _P.open, "undo", "drop_product")),
        },
        _P.awaiting_serial: {
            Kind.finish: (no("serial_required", "{product} still waits for its serial: scan the serial, "
                                                "or CMD:UNDO to drop the product."),),
            Kind.cancel: cancel,
            # The product was scanned but has no line yet: undo drops the choice.
            Kind.undo: (go(_O.product_dropped, _P.open, "drop_product"),),
        },
        _P.sticky: {
            Kind.finish: finish,
            Kind.cancel: cancel,
            Kind.undo: (no("nothing_to_undo", _NOTHING_TO_UNDO, when=("not:lines",)),
                        go(_O.undone, _P.sticky, "undo")),
        },
        _P.replacing: {
            Kind.finish: finish,
            Kind.cancel: cancel,
            # Undo while a replacement is armed: none is given (no line is removed).
            Kind.undo: (go(_O.replace_dropped, _P.open),),
        },
    }[phase]


def _opening(phase: Phase, before: str, unknown: Refuse, opened: Branch) -> Entry:
    """A party or order scan: ``unknown`` when it names nothing; refused while a document with lines is open,
    and an open document with none is dropped (cancel) before another is opened in its place."""
    if phase is _P.idle:
        return unknown, opened
    refused = no("document_open", _DOCUMENT_OPEN + before + ".", when=("lines",))
    if isinstance(opened, Go):
        opened = replace(opened, do=("cancel", *opened.do))
    return unknown, refused, opened


#: The modes whose documents name a supplier, and a customer (the service desk's check-in names its customer).
_TAKE_SUPPLIERS = frozenset({Mode.receive, Mode.return_})
_TAKE_CUSTOMERS = frozenset({Mode.sell, Mode.return_, Mode.service})


def _openings(mode: Mode, phase: Phase) -> dict[Kind, Entry]:
    """A mode command, a supplier, a customer or a purchase order: what changes the mode or opens a document."""
    kept = () if phase is _P.idle else (no("document_open", _DOCUMENT_OPEN + "changing mode.", when=("lines",)),)
    drop = () if phase is _P.idle else ("cancel",)
    supplier = go(_O.document_opened, _P.open, "open_for_supplier") if mode in _TAKE_SUPPLIERS else no(
        "wrong_mode", "A supplier is scanned when receiving or returning goods: scan CMD:RECEIVE or CMD:RETURN first.")
    customer = go(_O.document_opened, _P.open, "open_for_customer") if mode in _TAKE_CUSTOMERS else no(
        "wrong_mode", "A customer is scanned when selling or taking returns: scan CMD:SELL or CMD:RETURN first.")
    # A purchase order opens its receipt from any mode, switching the station to receiving.
    order = go(_O.document_opened, _P.open, *(() if mode is Mode.receive else ("set_receive",)), "open_against_order")
    # So does a transfer's reference its arrival (SPEC 3c): receiving, the units as they come out of the box.
    arrival = go(_O.document_opened, _P.open, *(() if mode is Mode.receive else ("set_receive",)), "open_arrival")
    return {
        Kind.mode: (*kept, go(_O.mode_kept, STAY, when=("same_mode",)), go(_O.mode_set, _P.idle, *drop, "set_mode")),
        Kind.supplier: _opening(phase, "scanning a supplier", no(
            "unknown_party", "There is no supplier {party}: add it first, or scan another.", when=("not:found",)),
            supplier),
        Kind.customer: _opening(phase, "scanning a customer", no(
            "unknown_party", "There is no customer {party}: add it first, or scan another.", when=("not:found",)),
            customer),
        Kind.order: _opening(phase, "scanning a purchase order", no(
            "unknown_document", "There is no purchase order {reference}: check the reference, or import the order "
                                "first.", when=("not:found",)), order),
        Kind.transfer: _opening(phase, "scanning a transfer", no(
            "unknown_document", "There is no sent transfer {reference}: check the reference; a transfer arrives once "
                                "it was sent (CMD:FINISH at the sending site).", when=("not:found",)), arrival),
    }


def _replace_rows(mode: Mode, phase: Phase) -> dict[Kind, Entry]:
    """CMD:REPLACE: at the service desk, on a check-out with a unit, the next serial accepted replaces it."""
    if mode is not Mode.service:
        return {Kind.replace: (no("wrong_mode", "CMD:REPLACE is for the service desk: scan CMD:SERVICE, the unit "
                                                "going back, then CMD:REPLACE and its replacement."),)}
    return {Kind.replace: {
        _P.idle: (no("no_open_document", "No check-out is open: scan the unit going back, then CMD:REPLACE and its "
                                         "replacement's serial."),),
        _P.open: (no("nothing_to_replace", "A replacement is given when a unit goes back: finish this check-in "
                                           "(CMD:FINISH), then scan the unit going back and CMD:REPLACE.",
                     when=("not:check_out",)),
                  no("nothing_to_replace", "Nothing is checked out yet: scan the unit going back, then CMD:REPLACE "
                                           "and its replacement's serial.", when=("not:lines",)),
                  go(_O.replace_armed, _P.replacing, "arm_replacement")),
        # Armed until a serial is accepted or another command is scanned.
        _P.replacing: (go(_O.replace_armed, STAY),),
    }[phase]}


# -- goods: a GS1 scan, a product barcode, a known serial, an unknown text (a new serial?) -----------------

_GTIN_UNKNOWN = no("unknown_barcode", _UNKNOWN_GTIN + "add it to the product first.", when=("not:found",))
_ATTACH = go(_O.serial_attached, STAY, "attach_serial", when=("attaches",))
_CHOOSE = go(_O.product_chosen, _P.awaiting_serial, "choose_product", when=("needs_serial",))


def _receiving(phase: Phase) -> dict[Kind, Entry]:
    """Goods in: a receipt keeps its line's product chosen (sticky), so a box of 50 is 51 scans."""
    if phase is _P.idle:
        return {Kind.gs1: (_GTIN_UNKNOWN, _NO_RECEIPT), Kind.product: (_NO_RECEIPT,),
                Kind.known_serial: (_NO_RECEIPT,), Kind.unknown: (_UNKNOWN_BARCODE,)}
    serial = go(_O.line_added, _P.sticky, "add_serial", "keep_product")
    # The box label and the unit labels often carry one GTIN: scanning it again while its serials come in
    # changes nothing (and CMD:FINISH stays allowed).
    again = (go(_O.product_chosen, STAY, when=("needs_serial", "same_product")),) if phase is _P.sticky else ()
    product = (*again, _CHOOSE, go(_O.line_added, _P.sticky, "add_unit"))
    if phase is _P.open:
        known = (_ATTACH, replace(serial, when=("names_product",)),
                 go(_O.line_added, _P.open, "add_serial", "drop_product"))
        unknown = (_ATTACH, _UNKNOWN_BARCODE)
    else:  # a product is chosen: a serial is one of its units
        known = unknown = (_ATTACH, serial)
    # An arrival takes its transfer's units as they come out of the box: each serial, or product, one line.
    arrived = go(_O.line_added, _P.open, "add_serial", "drop_product", when=("arrival",))
    one = go(_O.line_added, _P.open, "add_one", when=("arrival",))
    return {Kind.gs1: (_GTIN_UNKNOWN, replace(arrived, when=("arrival", "has_serial")), one,
                       replace(serial, when=("has_serial",)), *product),
            Kind.product: (one, *product), Kind.known_serial: (arrived, *known),
            Kind.unknown: (replace(_UNKNOWN_BARCODE, when=("arrival",)), *unknown)}


def _selling_or_returning(phase: Phase) -> dict[Kind, Entry]:
    """Goods out (or back): a product or serial opens the mode's document (a sale to the walk-in customer)."""
    opens = ("open_for_goods",) if phase is _P.idle else ()
    serial = go(_O.line_added, _P.open, *opens, "add_serial", *(() if opens else ("drop_product",)))
    product = (go(_O.product_chosen, _P.awaiting_serial, *opens, "choose_product", when=("needs_serial",)),
               go(_O.line_added, _P.open, *opens, "add_unit"))
    gs1 = (_GTIN_UNKNOWN, replace(serial, when=("has_serial",)), *product)
    if phase is _P.idle:
        return {Kind.gs1: gs1, Kind.product: product, Kind.known_serial: (serial,), Kind.unknown: (_UNKNOWN_BARCODE,)}
    # Waiting for a serial, an unknown text is that serial; otherwise only one for the unserialised unit just added.
    unknown = (_ATTACH, serial if phase is _P.awaiting_serial else _UNKNOWN_BARCODE)
    return {Kind.gs1: gs1, Kind.product: product, Kind.known_serial: (_ATTACH, serial), Kind.unknown: unknown}


def _desk(phase: Phase) -> dict[Kind, Entry]:
    """The service desk takes units by their own serials: one in service goes on a check-out, any other on a
    check-in, never both on one document; after CMD:REPLACE the serial is the replacement."""
    gtin = no("unknown_barcode", _UNKNOWN_GTIN + "scan the unit's serial.", when=("not:found",))
    replacing = phase is _P.replacing
    why = " (or CMD:UNDO to give no replacement)" if replacing else ""
    serial_required = no("serial_required", "The service desk takes each unit by its own serial: scan the serial, "
                                            "not the product barcode" + why + ".")
    no_serial = replace(serial_required, when=("not:has_serial",))
    if replacing:
        unit = (go(_O.line_added, _P.open, "add_replacement"),)
        unknown = no("unknown_barcode", "Unknown barcode {text}: a replacement is a serial in stock. Scan its serial, "
                                        "or CMD:UNDO to give no replacement.")
    elif phase is _P.idle:
        unit = (go(_O.line_added, _P.open, "open_check_out", "add_desk_unit", when=("in_service",)),
                go(_O.line_added, _P.open, "open_check_in", "add_desk_unit"))
        unknown = _UNKNOWN_AT_DESK
    else:
        unit = (go(_O.line_added, _P.open, "add_desk_unit", when=("its_document",)),
                no("document_open", "Serial {serial} {is_or_is_not} in service, so it goes on a {goes_on}, and a "
                                    "{open_document} is open: scan CMD:FINISH or CMD:CANCEL first.", when=("lines",)),
                go(_O.line_added, _P.open, "switch_to_check_out", "add_desk_unit", when=("in_service",)),
                go(_O.line_added, _P.open, "switch_to_check_in", "add_desk_unit"))
        unknown = _UNKNOWN_AT_DESK
    return {Kind.gs1: (gtin, no_serial, *unit), Kind.product: (serial_required,), Kind.known_serial: unit,
            Kind.unknown: (unknown,)}


_UNKNOWN_AT_DESK = no("unknown_barcode", "Unknown barcode {text}: not a serial sold here. Scan the serial of a unit "
                                         "a customer brought back.")


# -- locations: LOC: in every mode; moving and counting (SPEC 3c) ------------------------------------------

_UNKNOWN_LOCATION = no("unknown_location", "There is no active location {location}: check the label, or add the "
                                           "location (station location add).", when=("not:found",))
_ELSEWHERE = no("location_at_other_site", "{location} is at {site}, not at this station's site: scan a location "
                                          "here.", when=("other_site",))
_NO_LOCATION = no("no_location", "Scan the location first (LOC:...), then the units.")


def _locations(mode: Mode, phase: Phase) -> dict[Kind, Entry]:
    """A ``LOC:`` scan: where the next units go or are counted, in the modes that take one; refused elsewhere."""
    if mode is Mode.receive:  # put-away while receiving: the receipt's next units go there
        if phase is _P.idle:
            return {Kind.location: (_UNKNOWN_LOCATION, no(
                "no_open_document", "No receipt is open: scan a supplier (SUP:...) or a purchase order first, then "
                                    "the location where its units go."))}
        return {Kind.location: (_UNKNOWN_LOCATION, _ELSEWHERE, go(_O.location_set, STAY, "set_location"))}
    if mode is Mode.count:
        opened = "open_count" if phase is _P.idle else "set_location"
        said = _O.document_opened if phase is _P.idle else _O.location_set
        return {Kind.location: (_UNKNOWN_LOCATION, _ELSEWHERE, go(said, _P.open if phase is _P.idle else STAY,
                                                                    opened))}
    if mode is Mode.move:
        if phase is _P.idle:  # a location of another site makes the move a transfer
            return {Kind.location: (_UNKNOWN_LOCATION, go(_O.document_opened, _P.open, "open_transfer",
                                                          when=("other_site",)),
                                    go(_O.document_opened, _P.open, "open_move"))}
        return {Kind.location: (
            _UNKNOWN_LOCATION,
            # One document is never both a move and a transfer: with lines, the other kind waits.
            no("document_open", "A move with {lines} is open, and {location} is at {site}: scan CMD:FINISH or "
                                "CMD:CANCEL before sending units to another site.", when=("other_site", "not:transfer",
                                                                                         "lines")),
            go(_O.document_opened, _P.open, "cancel", "open_transfer", when=("other_site", "not:transfer")),
            no("document_open", "A transfer with {lines} is open, and {location} is at this site: scan CMD:FINISH "
                                "or CMD:CANCEL before moving units here.", when=("not:other_site", "transfer",
                                                                                  "lines")),
            go(_O.document_opened, _P.open, "cancel", "open_move", when=("not:other_site", "transfer")),
            go(_O.location_set, STAY, "set_location"))}
    return {Kind.location: (_UNKNOWN_LOCATION, no(
        "wrong_mode", "A location is scanned when receiving (where the units go), moving or counting: scan "
                      "CMD:RECEIVE, CMD:MOVE or CMD:COUNT first."))}


def _moving_or_counting(phase: Phase) -> dict[Kind, Entry]:
    """Move and count: after the LOC:, each serial is one line, and a product barcode one unserialised unit."""
    if phase is _P.idle:
        return {Kind.gs1: (_NO_LOCATION,), Kind.product: (_NO_LOCATION,), Kind.known_serial: (_NO_LOCATION,),
                Kind.unknown: (_UNKNOWN_BARCODE,)}
    serial = go(_O.line_added, STAY, "add_serial")
    unit = go(_O.line_added, STAY, "add_one")
    return {Kind.gs1: (_GTIN_UNKNOWN, replace(serial, when=("has_serial",)), unit), Kind.product: (unit,),
            Kind.known_serial: (serial,), Kind.unknown: (no(
                "unknown_barcode", "Unknown barcode {text}: not a product, serial or location we know."),)}


_GOODS = {Mode.receive: _receiving, Mode.sell: _selling_or_returning, Mode.return_: _selling_or_returning,
          Mode.service: _desk, Mode.move: _moving_or_counting, Mode.count: _moving_or_counting}


def _build() -> dict[tuple[Mode, Phase, Kind], Entry]:
    """Every (mode, phase, kind) triple the machine knows, each with its entry."""
    table: dict[tuple[Mode, Phase, Kind], Entry] = {}
    for mode, phases in PHASES.items():
        for phase in phases:
            row = {**_signs(), **_commands(phase), **_openings(mode, phase), **_replace_rows(mode, phase),
                   **_locations(mode, phase), **_GOODS[mode](phase)}
            table |= {(mode, phase, kind): entry for kind, entry in row.items()}
    return table


#: The machine: for each mode, each of its phases and each kind of scan, the branches (see the theory above).
TABLE: dict[tuple[Mode, Phase, Kind], Entry] = _build()


def holds(guard: str, state: State, reading: Reading) -> bool:
    """A guard of the table: a name in GUARDS, or ``not:`` and one."""
    name = guard.removeprefix("not:")
    return bool(GUARDS[name](state, reading)) is (name == guard)


def decide(state: State, reading: Reading) -> Decision:
    """The decision for one reading; raises Refusal (state unchanged) for what the state does not allow."""
    entry = TABLE[state.mode, state.phase, reading.kind]
    branch = next(b for b in entry if all(holds(guard, state, reading) for guard in b.when))
    if isinstance(branch, Refuse):
        raise Refusal(branch.code, branch.message.format_map(Words(state, reading)))
    steps = [ACTIONS[name] for name in branch.do]
    actions = tuple(step.build(state, reading) for step in steps if step.build is not None)
    draft = Draft(**{field.name: getattr(state, field.name) for field in fields(State)})
    for step in steps:
        draft = replace(draft, **step.effect(draft, reading))
    nxt = State(draft.mode, draft.document_kind, draft.phase if branch.then is STAY else branch.then, draft.lines,
                draft.product, draft.attach)
    return Decision(actions, state if nxt == state else nxt, branch.said, reading)
