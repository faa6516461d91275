"""Carrying a decision's actions out, in order, on the scan's context; a Refusal from the rules aborts them all.

Each action is one domain call (open a document, add a line, post...) on
the document as this scan knows it (``ScanContext.document``, a head read
with the station's row), which it keeps current: the line count after a
line, nothing after a cancel, the posted head after CMD:FINISH.
"""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import update

from station.domain import asn, catalogue, documents, operators, posting, service_desk, tallies
from station.domain.documents import Line
from station.domain.errors import Refusal
from station.domain.facts import head_of
from station.domain.models import Document
from station.domain.rules import order_exceeded
from station.domain.vocabulary import SERVICE_KINDS, DocumentKind, DocumentStatus
from station.scan_core import decisions, prompts

from . import printing
from .context import ScanContext
from .sign_in import SignedIn

D = Document.__table__


def carry_out(ctx: ScanContext, decision: decisions.Decision, before: decisions.State) -> prompts.Done:
    """Every action of the decision; what they did, for the operator's message."""
    done: dict = {}
    for action in decision.actions:
        _ACTIONS[type(action)](ctx, action, done)
    if decision.outcome is decisions.Outcome.product_dropped and before.product is not None:
        done["removed"] = before.product.name
    return prompts.Done(**done)


def _set_mode(ctx: ScanContext, action: decisions.SetMode, done: dict) -> None:
    pass  # the mode is the decision's state, saved with the station's row


def _open(ctx: ScanContext, action: decisions.OpenDocument, done: dict) -> None:
    session = ctx.session
    supplier = catalogue.get_party(session, "supplier", action.supplier) if action.supplier else None
    customer = catalogue.get_party(session, "customer", action.customer) if action.customer else None
    if action.walk_in:
        customer = catalogue.ensure_customer(session, ctx.config.scanning.walk_in_customer)
    order = documents.get_document(session, action.order) if action.order else None
    _opened(ctx, documents.open_document(session, action.kind, station=ctx.station.id, user=ctx.user,
                                         supplier=supplier, customer=customer, order=order), done)


def _opened(ctx: ScanContext, doc: Document, done: dict) -> None:
    ctx.document = d = head_of(ctx.session, doc.id)
    done["opened"] = prompts.describe_document(d.kind, d.reference, d.party_name, d.order_reference)


def _switch(ctx: ScanContext, action: decisions.SwitchDocument, done: dict) -> None:
    """The desk's empty document dropped, and one of the other kind opened for its customer (CUS: stays chosen).

    Only for a unit that document would take: it is checked first as a line of the new kind on the document
    open now, so a refusal (a unit of another customer) names the document the operator sees, not the one
    that would have replaced it and is rolled back with the refusal. The line's own checks after the switch
    ask the same look-ups again: no statement more.
    """
    old = ctx.document
    if action.serial is not None:
        documents.check_line(ctx.session, replace(old, kind=action.kind), product=None, serial=action.serial,
                             pattern=ctx.config.scanning.document_re, lookups=ctx.lookups)
    customer = catalogue.get_party(ctx.session, "customer", old.customer_code) if old.customer_code else None
    documents.cancel(ctx.session, old)
    _opened(ctx, documents.open_document(ctx.session, action.kind, station=ctx.station.id, user=ctx.user,
                                         customer=customer), done)


def _choose(ctx: ScanContext, action: decisions.ChooseProduct, done: dict) -> None:
    """Against a purchase order, a product the order has nothing left of is refused now, not at each serial."""
    doc = ctx.document
    if doc.kind is not DocumentKind.receipt or doc.order_id is None:
        return
    product = ctx.product(action.product)
    expected, received = tallies.on_order(ctx.session, doc.order_id, product.id)
    here = tallies.units(ctx.session, doc.id, product.id)
    if received + here >= expected:
        raise order_exceeded(doc.order_reference, product, expected, received + here)


def _add(ctx: ScanContext, action: decisions.AddLine, done: dict) -> None:
    doc = ctx.document
    product = ctx.product(action.product) if action.product else None
    done["warning"] = _check_expected(ctx, action.serial)
    if doc.kind in SERVICE_KINDS:
        line = service_desk.add_unit(ctx.session, doc, serial=action.serial, product=product,
                                     pattern=ctx.config.scanning.document_re, lookups=ctx.lookups)
        if doc.customer_id is None:  # it took its first unit's customer
            doc = head_of(ctx.session, doc.id)
        ctx.document = replace(doc, line_count=line.line_no)
        done["line"] = describe(line)
        return
    line = documents.add_line(ctx.session, doc, product=product, serial=action.serial, batch=action.batch,
                              expiry=action.expiry, pattern=ctx.config.scanning.document_re, lookups=ctx.lookups,
                              user=ctx.user)
    if doc.kind is DocumentKind.customer_return and doc.customer_id is None and line.serial:
        # A return opened by the serial itself: the customer is whoever has it.
        customer_id = ctx.lookups.serial(line.serial).customer_id
        ctx.session.execute(update(D).where(D.c.id == doc.id).values(customer_id=customer_id))
        doc = head_of(ctx.session, doc.id)
    ctx.document = replace(doc, line_count=line.line_no)
    done["line"] = describe(line)


def _attach(ctx: ScanContext, action: decisions.AttachSerial, done: dict) -> None:
    done["warning"] = _check_expected(ctx, action.serial)
    line = documents.attach_serial(ctx.session, ctx.document, action.serial, pattern=ctx.config.scanning.document_re,
                                   lookups=ctx.lookups)
    name = line.product.name if line.product else "it"
    done["line"] = f"serial {line.serial} on the last unit of {name}"


def _arm(ctx: ScanContext, action: decisions.ArmReplacement, done: dict) -> None:
    done["line"] = service_desk.replaceable(ctx.session, ctx.document).serial


def _add_replacement(ctx: ScanContext, action: decisions.AddReplacement, done: dict) -> None:
    line = service_desk.add_replacement(ctx.session, ctx.document, serial=action.serial,
                                        pattern=ctx.config.scanning.document_re, lookups=ctx.lookups,
                                        user=ctx.user)
    ctx.document = replace(ctx.document, line_count=line.line_no)
    done["line"] = describe(line)


def _undo(ctx: ScanContext, action: decisions.Undo, done: dict) -> None:
    line = documents.undo_last_line(ctx.session, ctx.document)
    ctx.document = replace(ctx.document, line_count=line.line_no - 1)
    done["removed"] = describe(line)


def _cancel(ctx: ScanContext, action: decisions.Cancel, done: dict) -> None:
    done["cancelled"] = ctx.document.reference
    documents.cancel(ctx.session, ctx.document)
    ctx.document = None


def _post(ctx: ScanContext, action: decisions.Post, done: dict) -> None:
    doc = ctx.document
    posted = posting.post(ctx.session, doc)
    ctx.posted = (replace(doc, status=DocumentStatus.posted, posted_at=posted.at), posted)
    done["posted"], done["posted_lines"] = posted.reference, posted.lines
    ctx.document = None
    if doc.kind is DocumentKind.receipt:
        done["labels_queued"] = printing.print_receipt(ctx, doc.id)  # print_on_receive, in this transaction
        if done["labels_queued"]:
            done["print_note"] = printing.printer_note(ctx, ctx.station.print_on_receive)


def _print(ctx: ScanContext, action: decisions.PrintLastSerial, done: dict) -> None:
    done["label"] = printing.print_last_serial(ctx)
    done["print_note"] = printing.printer_note(ctx, ctx.station.label_printer)


def _sign_in(ctx: ScanContext, action: decisions.SignIn, done: dict) -> None:
    """The badge's operator is the one at the station now, in place of whoever was; the scan's lines are theirs."""
    found = operators.active_by_code(ctx.session, action.code)
    if found is None:  # deactivated between the reading and now
        raise Refusal("unknown_operator", f"There is no active operator {action.code}: check the badge.")
    before = ctx.operator
    ctx.operator = SignedIn(found.id, found.code, found.name, ctx.now)
    ctx.user = found.code
    done["signed_in"] = found.name
    if before is not None and before.id != found.id:
        done["replaced"] = before.name


def _sign_out(ctx: ScanContext, action: decisions.SignOut, done: dict) -> None:
    done["signed_out"] = ctx.operator.name if ctx.operator is not None else None
    ctx.operator = None
    ctx.user = ctx.token_user


def _check_expected(ctx: ScanContext, serial: str | None) -> str | None:
    """A receipt against an order with a supplier serial list: refuse or warn on a serial not on it."""
    doc = ctx.document
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
}


def describe(line: Line) -> str:
    """"Widget X, serial SN-1", "1 unit of Loose", "serial SN-1", "Phone, serial SN-9, replacing SN-1"."""
    name = line.product.name if line.product is not None else None
    if line.serial is None:
        return f"{line.quantity} unit{'s' if line.quantity != 1 else ''} of {name}"
    text = f"{name}, serial {line.serial}" if name else f"serial {line.serial}"
    return f"{text}, replacing {line.replaces}" if line.replaces else text

