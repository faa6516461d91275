"""Carrying a decision's actions out, in order; a Refusal from the rules aborts them all.

Each action is one domain call (open a document, add a line, post...) on
the document as this scan knows it (``Stand.document``, a head read with
the station's row). An action takes the Stand the one before it left and
returns the next (the line count after a line, no document after a cancel,
the posted head after CMD:FINISH, who is signed in after a badge) with what
it did, in prompts.Done's words; nothing else is written to. The answer the
Stand carries (``shown``) stays only through actions that leave it as it
is, and a line added to it (``_shown_after``); any other action drops it,
and the answer is read after the writes.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import update

from station.domain import asn, catalogue, documents, operators, posting, service_desk, tallies
from station.domain.documents import Line
from station.domain.errors import NotFound, Refusal
from station.domain.facts import DocumentHead, head_of
from station.domain.models import Document
from station.domain.rules import order_exceeded
from station.domain.vocabulary import SERVICE_KINDS, DocumentKind, DocumentStatus
from station.printing import scan_labels as printing
from station.scan_core import decisions, prompts

from . import answer_read, counting, places
from .context import ScanContext, Stand
from .sign_in import SignedIn

D = Document.__table__
#: What an action did: the Stand it leaves, and what it did in prompts.Done's words.
Did = tuple[Stand, dict[str, Any]]


def carry_out(ctx: ScanContext, stand: Stand, decision: decisions.Decision,
              before: decisions.State, *, take_back_opening: bool = False) -> tuple[Stand, prompts.Done]:
    """Every action of the decision, each on the Stand the one before left; where they leave it, and what they did.

    ``take_back_opening`` (no savepoint around them: ``may_refuse_after_writing``): a document opened by this scan is
    taken back (documents.discard_opened) when an action after the opening refuses."""
    said: dict[str, Any] = {}
    opened: int | None = None
    for action in decision.actions:
        try:
            stand, did = _ACTIONS[type(action)](ctx, stand, action)
        except Refusal:
            if opened is not None and take_back_opening:
                documents.discard_opened(ctx.session, opened)
            raise
        if isinstance(action, decisions.OpenDocument) and stand.document is not None:
            opened = stand.document.id
        if not isinstance(action, _KEEP_SHOWN):
            stand = replace(stand, shown=None)
        said |= did
    if decision.outcome is decisions.Outcome.product_dropped and before.product is not None:
        said["removed"] = before.product.name
    return stand, prompts.Done(**said)


#: Actions that write nothing before their last refusal: a scan of these alone needs no savepoint to leave the
#: station as it was when it is refused (documents.add_line takes its own writes back).
_CLEAN_REFUSALS = (decisions.SetMode, decisions.ChooseProduct, decisions.SignIn, decisions.SignOut,
                   decisions.AddLine)


#: Actions after which the answer the Stand carries is still right: they change no line, product count, or
#: document (AddLine says what its line changes itself, an opening what its new document shows: _opened).
_KEEP_SHOWN = (decisions.SetMode, decisions.ChooseProduct, decisions.SignIn, decisions.SignOut,
               decisions.PrintLastSerial, decisions.ArmReplacement, decisions.AddLine, decisions.OpenDocument,
               decisions.SwitchDocument)


def may_refuse_after_writing(ctx: ScanContext, stand: Stand, decision: decisions.Decision) -> bool:
    """Whether carrying the decision out may write and then refuse (the scan then needs a savepoint): any action
    but those above, and a line that writes beside add_line (the desk's, a return's customer). A count's line
    refuses its repeat before it writes (counting.before_line).

    An opening refuses (an unknown party or order, an arrival at another site) before its one write, the
    document's, but for a walk-in sale's whose customer is still to be made (the first walk-in sale). After it may
    come actions that write nothing and at most one line, last, as a till's first goods open a sale and add their
    line: a refusal there leaves only the document written, which carry_out takes back (``take_back_opening``)."""
    doc = stand.document
    kind, has_customer = (doc.kind, doc.customer_id is not None) if doc is not None else (None, False)
    for n, action in enumerate(decision.actions):
        if isinstance(action, decisions.OpenDocument):
            if action.walk_in and ctx.party("customer", ctx.config.scanning.walk_in_customer) is None:
                return True
            kind, has_customer = action.kind, action.walk_in or action.customer is not None
            continue
        if not isinstance(action, _CLEAN_REFUSALS):
            return True
        if isinstance(action, decisions.AddLine):
            if kind is None or kind in SERVICE_KINDS or (
                    kind is DocumentKind.customer_return and not has_customer):
                return True
            if doc is None and n != len(decision.actions) - 1:  # a line after this scan's opening, not the last
                return True
    return False


def _set_mode(ctx: ScanContext, stand: Stand, action: decisions.SetMode) -> Did:
    return stand, {}  # the mode is the decision's state, saved with the station's row


def _open(ctx: ScanContext, stand: Stand, action: decisions.OpenDocument) -> Did:
    """The document opened on what the reading read: the party by the id it found (ScanContext.party), the order as
    it found it (ScanContext.order), the document and its head written and returned in one statement
    (documents.open_head)."""
    session = ctx.session
    supplier = _party(ctx, "supplier", action.supplier) if action.supplier else None
    customer = _party(ctx, "customer", action.customer) if action.customer else None
    if action.walk_in:  # the first walk-in sale makes its customer; every later one reads it as any party
        walk_in = ctx.config.scanning.walk_in_customer
        customer = ctx.party("customer", walk_in) or catalogue.ensure_customer(session, walk_in).id
    order = _order(ctx, action.order) if action.order else None
    # A move's, a transfer's destination and a count's place is the LOC: that opened it; else the station's own.
    place = action.location
    location_id = place.id if place is not None else _home_id(ctx)
    if action.kind is DocumentKind.arrival:  # where the transfer goes, at this station's site
        location_id = places.arrival_place(session, action.order, _home_site(ctx))
    stand = replace(stand, place=place)
    return _opened(ctx, stand, documents.open_head(session, action.kind, station=ctx.station.id, user=ctx.user(stand),
                                                   supplier_id=supplier, customer_id=customer, order=order,
                                                   location_id=location_id))


def _party(ctx: ScanContext, kind: str, code: str) -> int:
    """The id of the party the reading found (catalogue.get_party's refusal, should it be gone)."""
    found = ctx.party(kind, code)
    if found is None:
        raise NotFound("unknown_party", f"There is no {kind} {code}.")
    return found


def _order(ctx: ScanContext, reference: str):
    """The document the reading found by reference (documents.order_for's refusal, should there be none)."""
    found = ctx.order(reference)
    if found is None:
        raise NotFound("unknown_document", f"There is no document {reference}.")
    return found


def _home_id(ctx: ScanContext) -> int | None:
    return ctx.home.id if ctx.home is not None else None


def _home_site(ctx: ScanContext) -> int | None:
    return ctx.home.site_id if ctx.home is not None else None


def _opened(ctx: ScanContext, stand: Stand, d: DocumentHead) -> Did:
    """The document just opened, with its answer where it is known without a read: no products and no lines, unless
    it is against an order (whose products it shows expected)."""
    opened = prompts.describe_document(d.kind, d.reference, d.party_name, d.order_reference)
    if stand.place is not None and d.kind in prompts.PLACE_WORDS:
        opened += f" {prompts.PLACE_WORDS[d.kind]} {places.named(stand.place)}"
    shown = answer_read.Shown(d.id, (), ()) if d.order_id is None else None
    return replace(stand, document=d, shown=shown), {"opened": opened}


def _set_location(ctx: ScanContext, stand: Stand, action: decisions.SetLocation) -> Did:
    """A LOC: on the open document: where its next units go (or, counting, were found); see places.settle."""
    doc = places.settle(ctx.session, stand.document, stand.place, action.location)
    return replace(stand, document=doc, place=action.location), {"place": places.named(action.location)}


def line_location(ctx: ScanContext, stand: Stand) -> int | None:
    """Where a line's unit goes, was found, or leaves from first: the last LOC: on the document, else the
    document's own location (a transfer's or an arrival's destination, a count's place), else the station's."""
    if stand.place is not None:
        return stand.place.id
    doc = stand.document
    return doc.location_id if doc is not None and doc.location_id is not None else _home_id(ctx)


def _switch(ctx: ScanContext, stand: Stand, action: decisions.SwitchDocument) -> Did:
    """The desk's empty document dropped, and one of the other kind opened for its customer (CUS: stays chosen).

    Only for a unit that document would take: it is checked first as a line of the new kind on the document
    open now, so a refusal (a unit of another customer) names the document the operator sees, not the one
    that would have replaced it and is rolled back with the refusal. The line's own checks after the switch
    ask the same look-ups again: no statement more.
    """
    old = stand.document
    if action.serial is not None:
        documents.check_line(ctx.session, replace(old, kind=action.kind), product=None, serial=action.serial,
                             pattern=ctx.config.scanning.document_re, lookups=ctx.lookups)
    documents.cancel(ctx.session, old)
    return _opened(ctx, stand, documents.open_head(ctx.session, action.kind, station=ctx.station.id,
                                                   user=ctx.user(stand), customer_id=old.customer_id,
                                                   location_id=_home_id(ctx)))


def _choose(ctx: ScanContext, stand: Stand, action: decisions.ChooseProduct) -> Did:
    """Against a purchase order, a product the order has nothing left of is refused now, not at each serial."""
    doc = stand.document
    if doc.kind is not DocumentKind.receipt or doc.order_id is None:
        return stand, {}
    product = ctx.product(action.product)
    expected, received = tallies.on_order(ctx.session, doc.order_id, product.id)
    here = tallies.units(ctx.session, doc.id, product.id)
    if received + here >= expected:
        raise order_exceeded(doc.order_reference, product, expected, received + here)
    return stand, {}


def _add(ctx: ScanContext, stand: Stand, action: decisions.AddLine) -> Did:
    doc = stand.document
    product = ctx.product(action.product) if action.product else None
    warning = _check_expected(ctx, doc, action.serial)
    if doc.kind in SERVICE_KINDS:
        line = service_desk.add_unit(ctx.session, doc, serial=action.serial, product=product,
                                     pattern=ctx.config.scanning.document_re, lookups=ctx.lookups,
                                     location_id=line_location(ctx, stand))
        if doc.customer_id is None:  # it took its first unit's customer
            doc = head_of(ctx.session, doc.id)
        stand = replace(stand, shown=None)
    else:
        # A count reads where it stands first, and refuses a repeat before anything is written.
        count = _count_before(ctx, doc, action.serial, product) if doc.kind is DocumentKind.count else None
        line = documents.add_line(ctx.session, doc, product=product, serial=action.serial, batch=action.batch,
                                  expiry=action.expiry, pattern=ctx.config.scanning.document_re,
                                  lookups=ctx.lookups, user=ctx.user(stand), location_id=line_location(ctx, stand),
                                  site_id=_home_site(ctx))
        stand = replace(stand, shown=_shown_after(ctx, stand, line))
        if count is not None:  # the count's answer: what the unit was, and where the count stands
            return _counted(ctx, stand, replace(doc, line_count=line.line_no), line, count)
        if doc.kind is DocumentKind.customer_return and doc.customer_id is None and line.serial:
            # A return opened by the serial itself: the customer is whoever has it.
            customer_id = ctx.lookups.serial(line.serial).customer_id
            ctx.session.execute(update(D).where(D.c.id == doc.id).values(customer_id=customer_id))
            doc = head_of(ctx.session, doc.id)
    return replace(stand, document=replace(doc, line_count=line.line_no)), {"warning": warning, "line": describe(line)}


def _shown_after(ctx: ScanContext, stand: Stand, line: Line) -> answer_read.Shown | None:
    """The answer the Stand carries, with the line just added (None: not known here, to be read): the line's row as
    the answer's read would give it, its place by the code the scan knows it by, and where its serial is now as
    the line's checks read it (a line just added has no movement yet)."""
    shown, doc = stand.shown, stand.document
    if shown is None or shown.document_id != doc.id:
        return None
    location_id = line_location(ctx, stand)
    known = {p.id: p.code for p in (ctx.home, stand.place) if p is not None}
    if location_id is not None and location_id not in known:
        return None
    now_at = ctx.lookups.serial(line.serial).location_code if line.serial is not None else None
    product = (line.product.code, line.product.name) if line.product is not None else None
    row = answer_read.LineRow(line.line_no, line.serial, line.quantity, line.batch, line.expiry,
                              ctx.user(stand) if ctx.user(stand) is not None else doc.user, line.replaces,
                              *(product or (None, None)), known.get(location_id), now_at, None, None)
    return shown.with_line(row, product, doc.order_id is not None)


def _count_before(ctx: ScanContext, doc: DocumentHead, serial: str | None, product) -> counting.Progress:
    facts = ctx.lookups.serial(serial) if serial is not None else None
    product_id = product.id if product is not None else None
    return counting.before_line(ctx.session, doc, facts, product_id)


def _counted(ctx: ScanContext, stand: Stand, doc: DocumentHead, line: Line, before: counting.Progress) -> Did:
    facts = ctx.lookups.serial(line.serial) if line.serial is not None else None
    state = counting.counted(before, facts, line.quantity)
    recorded = None
    if facts is not None and facts.location_code is not None:
        elsewhere = doc.site_id is not None and facts.site_id != doc.site_id
        recorded = facts.location_code + (f" at {facts.site_name}" if elsewhere else "")
    name = line.product.name if line.product is not None else "it"
    note = prompts.count_note(state.last, line.serial, name, state.counted, state.expected, recorded,
                              state.units_counted, state.units_expected)
    return replace(stand, document=doc, count=state), {"line": describe(line), "count_note": note}


def _attach(ctx: ScanContext, stand: Stand, action: decisions.AttachSerial) -> Did:
    warning = _check_expected(ctx, stand.document, action.serial)
    line = documents.attach_serial(ctx.session, stand.document, action.serial,
                                   pattern=ctx.config.scanning.document_re, lookups=ctx.lookups)
    name = line.product.name if line.product else "it"
    return stand, {"warning": warning, "line": f"serial {line.serial} on the last unit of {name}"}


def _arm(ctx: ScanContext, stand: Stand, action: decisions.ArmReplacement) -> Did:
    return stand, {"line": service_desk.replaceable(ctx.session, stand.document).serial}


def _add_replacement(ctx: ScanContext, stand: Stand, action: decisions.AddReplacement) -> Did:
    line = service_desk.add_replacement(ctx.session, stand.document, serial=action.serial,
                                        pattern=ctx.config.scanning.document_re, lookups=ctx.lookups,
                                        user=ctx.user(stand), location_id=line_location(ctx, stand),
                                        site_id=_home_site(ctx))
    return replace(stand, document=replace(stand.document, line_count=line.line_no)), {"line": describe(line)}


def _undo(ctx: ScanContext, stand: Stand, action: decisions.Undo) -> Did:
    line = documents.undo_last_line(ctx.session, stand.document)
    return replace(stand, document=replace(stand.document, line_count=line.line_no - 1)), {"removed": describe(line)}


def _cancel(ctx: ScanContext, stand: Stand, action: decisions.Cancel) -> Did:
    documents.cancel(ctx.session, stand.document)
    return replace(stand, document=None, place=None), {"cancelled": stand.document.reference}


def _post(ctx: ScanContext, stand: Stand, action: decisions.Post) -> Did:
    doc = stand.document
    posted = posting.post(ctx.session, doc)
    said: dict[str, Any] = {"posted": posted.reference, "posted_lines": posted.lines}
    if doc.kind is DocumentKind.receipt:
        said["labels_queued"] = printing.print_receipt(ctx, doc.id)  # print_on_receive, in this transaction
        if said["labels_queued"]:
            said["print_note"] = printing.printer_note(ctx, ctx.station.print_on_receive)
    return replace(stand, document=None, place=None, posted=(_posted_head(doc, posted), posted)), said


def _posted_head(doc: DocumentHead, posted: posting.Posted) -> DocumentHead:
    return replace(doc, status=DocumentStatus.posted, posted_at=posted.at)


def _print(ctx: ScanContext, stand: Stand, action: decisions.PrintLastSerial) -> Did:
    return stand, {"label": printing.print_last_serial(ctx),
                   "print_note": printing.printer_note(ctx, ctx.station.label_printer)}


def _sign_in(ctx: ScanContext, stand: Stand, action: decisions.SignIn) -> Did:
    """The badge's operator is the one at the station now, in place of whoever was; the scan's lines are theirs."""
    found = operators.active_by_code(ctx.session, action.code)
    if found is None:  # deactivated between the reading and now
        raise Refusal("unknown_operator", f"There is no active operator {action.code}: check the badge.")
    before = stand.operator
    said = {"signed_in": found.name}
    if before is not None and before.id != found.id:
        said["replaced"] = before.name
    return replace(stand, operator=SignedIn(found.id, found.code, found.name, ctx.now)), said


def _sign_out(ctx: ScanContext, stand: Stand, action: decisions.SignOut) -> Did:
    return replace(stand, operator=None), {"signed_out": stand.operator.name if stand.operator is not None else None}


def _check_expected(ctx: ScanContext, doc: DocumentHead, serial: str | None) -> str | None:
    """A receipt against an order with a supplier serial list: refuse or warn on a serial not on it."""
    if doc.kind is not DocumentKind.receipt or doc.order_id is None or serial is None:
        return None
    return asn.check_expected(ctx.session, doc.order_id, doc.order_reference, serial.strip(),
                              ctx.station.unexpected_serials)


_ACTIONS = {
    decisions.SetMode: _set_mode,
    decisions.OpenDocument: _open,
    decisions.ChooseProduct: _choose,
    decisions.AddLine: _add,
    decisions.AttachSerial: _attach,
    decisions.Undo: _undo,
    decisions.Cancel: _cancel,
    decisions.Post: _post,
    decisions.SignIn: _sign_in,
    decisions.SignOut: _sign_out,
    decisions.SwitchDocument: _switch,
    decisions.ArmReplacement: _arm,
    decisions.AddReplacement: _add_replacement,
    decisions.PrintLastSerial: _print,
    decisions.SetLocation: _set_location,
}


def describe(line: Line) -> str:
    """"Widget X, serial SN-1", "1 unit of Loose", "serial SN-1", "Phone, serial SN-9, replacing SN-1"."""
    name = line.product.name if line.product is not None else None
    if line.serial is None:
        return f"{line.quantity} unit{'s' if line.quantity != 1 else ''} of {name}"
    text = f"{name}, serial {line.serial}" if name else f"serial {line.serial}"
    return f"{text}, replacing {line.replaces}" if line.replaces else text

