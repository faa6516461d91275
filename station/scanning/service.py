"""Carrying a scan out against the database, in the caller's transaction.

One call of ``process`` is one scan: read it, decide, carry the actions out
inside a savepoint (a refusal rolls them back and leaves the station as it
was), save the station's state, and log the scan, accepted or refused. The
station's state row is locked first, so scans of one station are processed
one at a time even across processes, and an idempotency key seen before
answers what it answered then.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from station.config import Config
from station.domain import asn, catalogue, documents, posting, rules
from station.domain.errors import Invalid, NotFound, Refusal
from station.domain.models import (
    SERIAL_MAX,
    Document,
    DocumentKind,
    DocumentLine,
    DocumentStatus,
    Product,
    ScanLog,
    StationState,
)
from station.domain.rules import expected_on_order, received_on_order
from station.domain.validation import is_printable
from station.interchange import representation
from station.storage.channels import STATION_CHANGES

from . import machine, prompts
from .reading import ProductInfo, Reading, normalise, read

log = logging.getLogger(__name__)

RECENT = 10
# Every scan counts or checks the lines and names the party in its prompt: loaded with
# the document, in one query instead of three.
_WITH_DOCUMENT = (joinedload(Document.lines), joinedload(Document.supplier), joinedload(Document.customer))
_PINS = "station.scan_pins"  # session.info key: the objects one scan keeps loaded (ScanService._pin)
# Built once: a scan's log row is a plain insert, its values passed as parameters.
_LOG = insert(ScanLog.__table__)
# On PostgreSQL the same statement tells other processes (screens) that the station changed.
_LOG_AND_NOTIFY = _LOG.returning(func.pg_notify(STATION_CHANGES, ScanLog.__table__.c.station))


@dataclass(frozen=True)
class ScanResult:
    """The answer to one scan, as the API sends it."""

    accepted: bool
    code: str | None
    message: str
    prompt: str
    document: dict[str, Any] | None = None
    read_as: str | None = None
    station: str = ""
    replayed: bool = field(default=False, compare=False)

    def as_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "code": self.code, "message": self.message,
                "prompt": self.prompt, "document": self.document}


def escape_raw(raw: bytes | str, limit: int = 4096) -> str:
    """The raw scan as storable, printable text: undecodable bytes, controls and lone surrogates escaped.

    Every database stores the result (no NUL, no unpaired surrogate); pages
    still HTML-escape it when they show it.
    """
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="backslashreplace")
    out = "".join(c if c.isprintable() else _escape_char(c) for c in raw[:limit])
    return out + ("…" if len(raw) > limit else "")


def _escape_char(c: str) -> str:
    o = ord(c)
    if o < 0x100:
        return f"\\x{o:02x}"
    return f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}"


def check_key(key: Any) -> str | None:
    """An idempotency key: None, or 1-200 printable characters (the scan log's column)."""
    if key is None:
        return None
    if not isinstance(key, str) or not 1 <= len(key) <= 200 or not is_printable(key):
        raise Invalid("invalid_key", "An idempotency key is 1-200 printable characters.")
    return key


def _info(p: Product | None) -> ProductInfo | None:
    if p is None:
        return None
    return ProductInfo(p.code, p.name, p.serial_required_for_purchase, p.serial_required_for_sales)


class _Lookups:
    """The reader's questions, answered from the session."""

    def __init__(self, session: Session):
        self.session = session

    def product_by_barcode(self, text: str) -> ProductInfo | None:
        return _info(ScanService._pin(self.session, rules.barcode_product(self.session, text)))

    def serial_product(self, text: str) -> tuple[bool, ProductInfo | None]:
        if len(text) > SERIAL_MAX:
            return False, None
        record = ScanService._pin(self.session, rules.find_serial(self.session, text))
        return (record is not None), _info(ScanService._pin(self.session, record.product) if record is not None else None)

    def party_exists(self, kind: str, code: str) -> bool:
        model = catalogue.PARTY_MODELS[kind]
        return self.session.scalar(select(model.id).where(model.code == code)) is not None

    def order_exists(self, reference: str) -> bool:
        return self.session.scalar(
            select(Document.id).where(Document.reference == reference, Document.kind == "purchase_order")
        ) is not None


class ScanService:
    """Scans for the stations of one configuration."""

    def __init__(self, config: Config):
        self.config = config
        self.document_re = config.scanning.document_re

    # -- state ---------------------------------------------------------
    def state_row(self, session: Session, station: str, *, lock: bool = True) -> StationState:
        cfg = self.config.station(station)
        if cfg is None:
            raise NotFound("unknown_station", f"There is no station {station} in the configuration.")
        query = select(StationState).where(StationState.station == station)
        row = session.scalar(query.with_for_update() if lock else query)
        if row is None:
            try:
                with session.begin_nested():
                    idle = prompts.prompt(machine.State(mode=cfg.mode), prompts.Facts())
                    row = StationState(station=station, mode=cfg.mode, version=0, prompt=idle)
                    session.add(row)
            except IntegrityError:
                row = session.scalar(query.with_for_update() if lock else query)
        return row

    @staticmethod
    def _pin(session: Session, obj):
        """Keep ``obj`` loaded for the rest of the scan.

        The session's identity map holds unchanged objects weakly: without this the
        station's document, its lines and its product are loaded again by each of the
        several look-ups one scan makes (a third of a scan's queries, measured).
        """
        if obj is not None:
            session.info.setdefault(_PINS, []).append(obj)
        return obj

    def _product(self, session: Session, code: str) -> Product | None:
        """The product with that code: the one this scan already holds, else from the database."""
        for obj in session.info.get(_PINS, ()):
            if isinstance(obj, Product) and obj.code == code:
                return obj
        return self._pin(session, session.scalar(select(Product).where(Product.code == code)))

    def _document(self, session: Session, row: StationState) -> Document | None:
        if row.document_id is None:
            return None
        doc = self._pin(session, session.get(Document, row.document_id, options=_WITH_DOCUMENT))
        return doc if doc is not None and doc.status == DocumentStatus.open else None

    def state_of(self, session: Session, row: StationState) -> machine.State:
        doc = self._document(session, row)
        product = self._pin(session, session.get(Product, row.product_id)) if row.product_id is not None else None
        if doc is None:
            return machine.State(mode=row.mode)
        return machine.State(
            mode=row.mode, document_kind=doc.kind, lines=len(doc.lines), product=_info(product),
            awaiting_serial=bool(row.awaiting_serial) and product is not None, attach=bool(row.attach_line),
        )

    def facts(self, session: Session, row: StationState, state: machine.State) -> prompts.Facts:
        doc = self._document(session, row)
        if doc is None:
            return prompts.Facts()
        party = doc.customer or doc.supplier
        facts = prompts.Facts(reference=doc.reference, party=party.name if party else None,
                              order=doc.order.reference if doc.order else None)
        if state.product is not None:
            product = self._product(session, state.product.code)
            units = sum(l.quantity for l in doc.lines if l.product_id == product.id)
            expected = received = None
            if doc.order is not None:
                expected = expected_on_order(session, doc.order, product)
                received = received_on_order(session, doc.order, product)
            facts = prompts.Facts(reference=facts.reference, party=facts.party, order=facts.order,
                                  product_units=units, expected=expected, received_before=received or 0)
        return facts

    def prompt_of(self, session: Session, row: StationState) -> str:
        state = self.state_of(session, row)
        return prompts.prompt(state, self.facts(session, row, state))

    # -- one scan ------------------------------------------------------
    def process(self, session: Session, station: str, raw: bytes | str, *, device: str = "api",
                key: str | None = None, user: str | None = None) -> ScanResult:
        """Process one scan in the caller's transaction; never raises for bad scan input.

        Raises NotFound for a station that is not in the configuration and
        Invalid for a malformed idempotency key: both are the caller's
        mistakes, not the scanner's.
        """
        key = check_key(key)
        session.info[_PINS] = []
        row = self.state_row(session, station)
        if key is not None:
            seen = session.scalar(select(ScanLog).where(ScanLog.station == station, ScanLog.idempotency_key == key))
            if seen is not None and seen.response:
                data = json.loads(seen.response)
                return ScanResult(station=station, read_as=seen.read_as, replayed=True, **data)
        before = self.state_of(session, row)
        reading: Reading | None = None
        posted: dict[str, Any] | None = None
        try:
            # The reader and the rules ask about the same serial and barcode: once each.
            with session.begin_nested(), rules.remembering(session):
                reading = read(raw, _Lookups(session), document_re=self.document_re,
                               gs_substitute=self.config.scanning.gs_substitute)
                decision = machine.decide(before, reading)
                done, posted = self._carry_out(session, row, before, decision, user=user)
                new_state = decision.state
                self._save(session, row, new_state)
                # Stamped before the savepoint is released, which writes the row: one UPDATE, not two.
                prompt = self._stamp(session, row, new_state)
            accepted, code = True, None
            msg = prompts.message(decision.event, new_state, done)
        except Refusal as refusal:
            # The savepoint is gone; reload what it may have touched (the row, the document's lines).
            session.expire_all()
            accepted, code, msg = False, refusal.code, refusal.message
            new_state = self.state_of(session, row)
            prompt = self._stamp(session, row, new_state)
        doc = self._document(session, row)
        document = posted if posted is not None else (representation.document(session, doc) if doc else None)
        result = ScanResult(accepted, code, msg, prompt, document, reading.kind.value if reading else "invalid", station)
        self._log(session, dict(
            station=station, device=device[:200], raw=escape_raw(raw), read_as=result.read_as,
            serial_text=_serial_of(reading, raw), accepted=accepted, code=code, message=msg, prompt=prompt,
            idempotency_key=key, response=json.dumps(result.as_json()),
        ))
        log.info("scan station=%s device=%s outcome=%s code=%s", station, device,
                 "accepted" if accepted else "refused", code or "-")
        return result

    def _carry_out(self, session: Session, row: StationState, before: machine.State, decision: machine.Decision, *,
                   user: str | None) -> tuple[prompts.Done, dict[str, Any] | None]:
        """Carry the decision's actions out, in order; a Refusal from the rules aborts them all."""
        doc = self._document(session, row)
        opened: Document | None = None
        posted: dict[str, Any] | None = None
        done: dict[str, Any] = {}
        for action in decision.actions:
            if isinstance(action, machine.SetMode):
                row.mode = action.mode
            elif isinstance(action, machine.OpenDocument):
                doc = opened = self._pin(session, self._open(session, row.station, action, user))
                row.document_id = doc.id
            elif isinstance(action, machine.AddLine):
                product = (self._product(session, action.product) or catalogue.get_product(session, action.product)
                           if action.product else None)
                done["warning"] = self._check_expected(session, row.station, doc, action.serial)
                line = documents.add_line(session, doc, product=product, serial=action.serial, batch=action.batch,
                                          expiry=action.expiry, pattern=self.document_re)
                if doc.kind is DocumentKind.customer_return and doc.customer is None and line.serial:
                    # A return opened by the serial itself: the customer is whoever has it.
                    record = rules.find_serial(session, line.serial)
                    doc.customer = record.customer if record else None
                done["line"] = _describe_line(line)
            elif isinstance(action, machine.AttachSerial):
                done["warning"] = self._check_expected(session, row.station, doc, action.serial)
                line = documents.attach_serial(session, doc, action.serial, pattern=self.document_re)
                done["line"] = f"serial {line.serial} on the last unit of {line.product.name if line.product else 'it'}"
            elif isinstance(action, machine.Undo):
                done["removed"] = _describe_line(documents.undo_last_line(session, doc))
            elif isinstance(action, machine.Cancel):
                done["cancelled"] = doc.reference
                documents.cancel(session, doc)
                row.document_id = None
                doc = None
            elif isinstance(action, machine.Post):
                posting.post(session, doc)
                posted = representation.document(session, doc)
                done["posted"], done["posted_lines"] = doc.reference, len(doc.lines)
                row.document_id = None
                doc = None
        if decision.event == "product_dropped" and before.product is not None:
            done["removed"] = before.product.name
        if opened is not None:
            party = opened.customer or opened.supplier
            done["opened"] = prompts.describe_document(opened.kind, opened.reference,
                                                       party.name if party else None,
                                                       opened.order.reference if opened.order else None)
        return prompts.Done(**done), posted

    def _check_expected(self, session: Session, station: str, doc: Document, serial: str | None) -> str | None:
        """A receipt against an order with a supplier serial list: refuse or warn on a serial not on it."""
        if doc.kind is not DocumentKind.receipt or doc.order is None or serial is None:
            return None
        return asn.check_expected(session, doc, serial.strip(), self.config.station(station).unexpected_serials)

    def _open(self, session: Session, station: str, action: machine.OpenDocument, user: str | None) -> Document:
        supplier = catalogue.get_party(session, "supplier", action.supplier) if action.supplier else None
        customer = catalogue.get_party(session, "customer", action.customer) if action.customer else None
        if action.walk_in:
            customer = catalogue.ensure_customer(session, self.config.scanning.walk_in_customer)
        order = documents.get_document(session, action.order) if action.order else None
        return documents.open_document(session, action.kind, station=station, user=user,
                                       supplier=supplier, customer=customer, order=order)

    def _save(self, session: Session, row: StationState, state: machine.State) -> None:
        """Set the row to ``state``; written with the rest of the scan, not here."""
        row.mode = state.mode
        if state.document_kind is None:
            row.document_id = None
        if state.product is None:
            row.product_id = None
        else:
            row.product_id = self._product(session, state.product.code).id
        row.awaiting_serial = state.awaiting_serial
        row.attach_line = state.attach

    def _stamp(self, session: Session, row: StationState, state: machine.State) -> str:
        """The prompt for ``state``, kept on the row with the change counter bumped (the live page watches it)."""
        prompt = prompts.prompt(state, self.facts(session, row, state))
        row.prompt = prompt
        row.version = (row.version or 0) + 1
        return prompt

    @staticmethod
    def _log(session: Session, values: dict[str, Any]) -> None:
        """Log the scan, and on PostgreSQL tell other processes (screens) the station changed.

        A Core insert: the log is only ever written, so it needs none of the unit of
        work's bookkeeping. The NOTIFY rides on the same statement (one round trip
        fewer) and, like any NOTIFY, is delivered at commit.
        """
        session.flush()  # a Core statement does not flush the session first: the row is written before the log
        postgres = session.get_bind().dialect.name == "postgresql"
        session.execute(_LOG_AND_NOTIFY if postgres else _LOG, values)

    # -- views ---------------------------------------------------------
    def view(self, session: Session, station: str) -> dict[str, Any]:
        """GET /api/stations/<station>."""
        row = self.state_row(session, station, lock=False)
        doc = self._document(session, row)
        recent = session.scalars(
            select(ScanLog).where(ScanLog.station == station).order_by(ScanLog.id.desc()).limit(RECENT)
        ).all()
        return {
            "station": station,
            "mode": row.mode,
            "prompt": self.prompt_of(session, row),
            "document": _open_document_json(session, doc) if doc else None,
            "recent_scans": [_scan_json(s) for s in recent],
            "version": row.version or 0,
        }


def _open_document_json(session: Session, doc: Document) -> dict[str, Any]:
    out = representation.document(session, doc)
    return {k: out[k] for k in ("reference", "kind", "party", "lines", "status", "order")}


def _scan_json(s: ScanLog) -> dict[str, Any]:
    return {"at": representation.timestamp(s.at), "device": s.device, "raw": s.raw, "read_as": s.read_as,
            "accepted": s.accepted, "code": s.code, "message": s.message}


def _describe_line(line: DocumentLine) -> str:
    """"Widget X, serial SN-1", "1 unit of Loose", "serial SN-1"."""
    name = line.product.name if line.product is not None else None
    if line.serial is None:
        return f"{line.quantity} unit{'s' if line.quantity != 1 else ''} of {name}"
    return f"{name}, serial {line.serial}" if name else f"serial {line.serial}"


def _serial_of(reading: Reading | None, raw: bytes | str) -> str | None:
    """The serial a scan names, for the serial's history; only text a scan could name it by."""
    if reading is not None:
        serial = reading.serial
        return serial if serial and len(serial) <= SERIAL_MAX else None
    try:
        text = normalise(raw)
    except Refusal:
        return None
    return text if len(text) <= SERIAL_MAX else None
