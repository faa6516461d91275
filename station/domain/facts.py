"""What the rules decide on, read in one statement each with SQLAlchemy Core: products, serials, documents.

The rules (rules.py) are plain functions of these frozen facts, so the same
check serves a scan, where the facts come from a few indexed look-ups, and
a posting, where the facts of all of a document's serials come from one
locking statement. A caller holding ORM objects (a Document, a Product)
hands them to the line functions (documents.py), which turn them into
facts at their boundary (``head_for``, ``product_facts_of``): nothing below
them sees an ORM object.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, exists, func, literal_column, select, true
from sqlalchemy.orm import Session

from . import direct
from .barcodes import lookup_forms
from .errors import NotFound
from .models import Customer, Document, Location, Product, StationState, Supplier
from .tables import LOC, B, C, D, L, M, P, S
from .vocabulary import DocumentKind, DocumentStatus

_C = Customer.__table__.alias("party_customer")
_S = Supplier.__table__.alias("party_supplier")
_O = Document.__table__.alias("head_order")
_DL = Location.__table__.alias("head_place")
# Where a serial is (its location and that location's site), and the transfer it is on with its destination.
_SL, _SS = Location.__table__.alias("serial_place"), Location.__table__.alias("serial_site")
_T, _TL = Document.__table__.alias("serial_transfer"), Location.__table__.alias("transfer_place")
_TS = Location.__table__.alias("transfer_site")


@dataclass(frozen=True)
class ProductFacts:
    id: int
    code: str
    name: str
    serial_required_for_purchase: bool
    serial_required_for_sales: bool
    unserialised_on_hand: int = 0
    warranty_months: int = 0


@dataclass(frozen=True)
class SerialFacts:
    """A serial as the rules see it: its record (if any), and the open document holding it (if any)."""

    serial: str
    id: int | None = None  # None: no record yet (a new serial)
    product: ProductFacts | None = None
    in_stock: bool = False
    customer_id: int | None = None
    customer_name: str | None = None
    supplier_id: int | None = None
    ever_moved: bool = False  # it has movements: it was in stock once
    open_document_id: int | None = None  # the open document it stands on
    open_reference: str | None = None
    open_station: str | None = None
    in_service: bool = False  # at our service desk (SPEC 3b)
    faulty: bool = False  # replaced at a check-out: ours, out of stock, never sold again
    warranty_until: date | None = None
    # Where it is while in stock (SPEC 3c): its location, that location's site; the transfer it is on in transit.
    location_id: int | None = None
    location_code: str | None = None
    site_id: int | None = None
    site_code: str | None = None
    site_name: str | None = None
    transfer_id: int | None = None
    transfer_reference: str | None = None
    transfer_to: str | None = None  # the transfer's destination: "North back room (N-1) at North shop"

    @property
    def exists(self) -> bool:
        return self.id is not None

    @property
    def state(self) -> tuple:
        """What a line is decided on; two reads with the same state decide the same."""
        return (self.id, self.in_stock, self.customer_id, self.product.id if self.product else None,
                self.in_service, self.faulty, self.location_id, self.transfer_id)


@dataclass(frozen=True)
class DocumentHead:
    """A document's head as read by the scan path (the same attributes as the ORM Document)."""

    id: int
    reference: str
    kind: DocumentKind
    status: DocumentStatus
    station: str | None
    user: str | None
    supplier_id: int | None
    customer_id: int | None
    order_id: int | None
    line_count: int = 0
    party_code: str | None = None  # its customer's, else its supplier's
    party_name: str | None = None
    supplier_code: str | None = None
    supplier_name: str | None = None
    customer_code: str | None = None
    customer_name: str | None = None
    order_reference: str | None = None
    created_at: datetime | None = None
    posted_at: datetime | None = None
    location_id: int | None = None  # a count's place, a transfer's destination, else the station's location
    site_id: int | None = None  # that location's site


def head_columns():
    """The columns of a DocumentHead, for a statement joining ``head_from(...)``."""
    return (D.c.id, D.c.reference, D.c.kind, D.c.status, D.c.station, D.c.user, D.c.supplier_id, D.c.customer_id,
            D.c.order_id, D.c.line_count, func.coalesce(_C.c.code, _S.c.code).label("party_code"),
            func.coalesce(_C.c.name, _S.c.name).label("party_name"), _S.c.code.label("supplier_code"),
            _S.c.name.label("supplier_name"), _C.c.code.label("customer_code"), _C.c.name.label("customer_name"),
            _O.c.reference.label("order_reference"), D.c.created_at, D.c.posted_at, D.c.location_id,
            _DL.c.site_id.label("site_id"))


def head_from(base):
    """``base`` joined to what a DocumentHead shows: the party and the purchase order."""
    return (base.outerjoin(_C, _C.c.id == D.c.customer_id).outerjoin(_S, _S.c.id == D.c.supplier_id)
            .outerjoin(_O, _O.c.id == D.c.order_id).outerjoin(_DL, _DL.c.id == D.c.location_id))


def head_returned():
    """``head_columns`` for the RETURNING of a statement that writes the document's row (documents.open_head), which
    may not join: its party, order and place named by scalar subqueries of that row, each an index probe. (The row's
    column is named as SQL text: SQLAlchemy would not correlate a subquery of a RETURNING to the table written, and
    read the table again in it.)"""
    def named(table, column):
        key = D.c[_KEYS[table]]
        written = literal_column(f"{D.name}.{key.name}", key.type)
        return select(table.c[column]).where(table.c.id == written).scalar_subquery()

    return (D.c.id, D.c.reference, D.c.kind, D.c.status, D.c.station, D.c.user, D.c.supplier_id, D.c.customer_id,
            D.c.order_id, D.c.line_count, func.coalesce(named(_C, "code"), named(_S, "code")).label("party_code"),
            func.coalesce(named(_C, "name"), named(_S, "name")).label("party_name"),
            named(_S, "code").label("supplier_code"), named(_S, "name").label("supplier_name"),
            named(_C, "code").label("customer_code"), named(_C, "name").label("customer_name"),
            named(_O, "reference").label("order_reference"), D.c.created_at, D.c.posted_at, D.c.location_id,
            named(_DL, "site_id").label("site_id"))


#: The document's column each of the head's joined tables is found by.
_KEYS = {_C: "customer_id", _S: "supplier_id", _O: "order_id", _DL: "location_id"}


def head(row) -> DocumentHead:
    return DocumentHead(row.id, row.reference, row.kind, row.status, row.station, row.user, row.supplier_id,
                        row.customer_id, row.order_id, row.line_count, row.party_code, row.party_name,
                        row.supplier_code, row.supplier_name, row.customer_code, row.customer_name,
                        row.order_reference, row.created_at, row.posted_at, row.location_id, row.site_id)


def head_of(session: Session, document_id: int) -> DocumentHead:
    """A document's head, with its party and order, in one statement."""
    return head(session.connection().execute(_HEAD, {"id": document_id}).one())


def head_for(session: Session, doc: Document | DocumentHead) -> DocumentHead:
    """The head the rules decide on: a DocumentHead as it is; an ORM Document read again as one (its changes
    flushed first), in one statement."""
    if isinstance(doc, DocumentHead):
        return doc
    session.flush()
    return head_of(session, doc.id)


_PRODUCT_COLUMNS = (P.c.id, P.c.code, P.c.name, P.c.serial_required_for_purchase, P.c.serial_required_for_sales,
                    P.c.unserialised_on_hand, P.c.warranty_months)


def product_facts(row) -> ProductFacts:
    """A product's facts from a row of its columns (or an ORM Product, which has the same attributes)."""
    return ProductFacts(row.id, row.code, row.name, row.serial_required_for_purchase, row.serial_required_for_sales,
                        row.unserialised_on_hand, row.warranty_months)


def product_facts_of(product: Product | ProductFacts | None) -> ProductFacts | None:
    """The product as the rules take it: facts as they are, an ORM Product turned into facts."""
    return product if product is None or isinstance(product, ProductFacts) else product_facts(product)


# Statements of the scan path are built once: building one costs more than running it (SQLAlchemy
# then finds its compiled form by a cache key memoised on the statement itself).
#: A scanned text's stored forms (barcodes.lookup_forms: one or two) as two parameters, the one form twice when
#: there is one: an expanding IN was rendered into the statement's text again on every execution.
_FORMS = (bindparam("form_a"), bindparam("form_b"))


def _forms(text: str) -> dict[str, str]:
    forms = lookup_forms(text)
    return {"form_a": forms[0], "form_b": forms[-1]}


_BY_BARCODE = (select(*_PRODUCT_COLUMNS).join(B, B.c.product_id == P.c.id)
               .where(B.c.barcode.in_(_FORMS)).limit(1))
_BY_CODE = select(*_PRODUCT_COLUMNS).where(P.c.code == bindparam("code"))
_BY_ID = select(*_PRODUCT_COLUMNS).where(P.c.id == bindparam("id"))


def product_by_barcode(session: Session, text: str) -> ProductFacts | None:
    """The product a scanned text is a barcode of, in any of its GTIN forms."""
    row = session.connection().execute(_BY_BARCODE, _forms(text)).first()
    return product_facts(row) if row is not None else None


def product_by_code(session: Session, code: str) -> ProductFacts:
    """A product by its code (NotFound ``unknown_product`` when there is none)."""
    row = session.connection().execute(_BY_CODE, {"code": code}).first()
    if row is None:
        raise NotFound("unknown_product", f"There is no product {code}.")
    return product_facts(row)


def product_by_id(session: Session, product_id: int) -> ProductFacts:
    return product_facts(session.connection().execute(_BY_ID, {"id": product_id}).one())


def _serial_query(where, *, located: bool = True):
    """Serials' records with their product, customer and whether they ever moved; ``located``: also where each is
    (its location and site) and the transfer it is on with its destination (SPEC 3c), as a scan reads them."""
    moved = exists().where(M.c.serial_id == S.c.id)
    columns = [
        S.c.id, S.c.serial, S.c.in_stock, S.c.customer_id, S.c.supplier_id, moved.label("ever_moved"),
        C.c.name.label("customer_name"),
        P.c.id.label("p_id"), P.c.code.label("p_code"), P.c.name.label("p_name"),
        P.c.serial_required_for_purchase.label("p_purchase"), P.c.serial_required_for_sales.label("p_sales"),
        P.c.unserialised_on_hand.label("p_on_hand"),
        S.c.in_service, S.c.faulty, S.c.warranty_until, P.c.warranty_months.label("p_months"),
        S.c.location_id, S.c.transfer_id,
    ]
    base = S.outerjoin(P, P.c.id == S.c.product_id).outerjoin(C, C.c.id == S.c.customer_id)
    if located:
        columns += [_SL.c.code.label("location_code"), _SL.c.site_id, _SS.c.code.label("site_code"),
                    _SS.c.name.label("site_name"), _T.c.reference.label("transfer_reference"),
                    _TL.c.code.label("transfer_code"), _TL.c.name.label("transfer_name"),
                    _TS.c.name.label("transfer_site")]
        base = (base.outerjoin(_SL, _SL.c.id == S.c.location_id).outerjoin(_SS, _SS.c.id == _SL.c.site_id)
                .outerjoin(_T, _T.c.id == S.c.transfer_id).outerjoin(_TL, _TL.c.id == _T.c.location_id)
                .outerjoin(_TS, _TS.c.id == _TL.c.site_id))
    return select(*columns).select_from(base).where(where)


def _facts(text: str, row, **opened) -> SerialFacts:
    """Facts from a row of ``_serial_query`` (None: no record), plus the open document holding the serial."""
    if row is None or row.id is None:
        return SerialFacts(text, **opened)
    product = None
    if row.p_id is not None:
        product = ProductFacts(row.p_id, row.p_code, row.p_name, row.p_purchase, row.p_sales, row.p_on_hand,
                               row.p_months)
    return SerialFacts(serial=text, id=row.id, product=product, in_stock=row.in_stock,
                       customer_id=row.customer_id, customer_name=row.customer_name, supplier_id=row.supplier_id,
                       ever_moved=row.ever_moved, in_service=row.in_service, faulty=row.faulty,
                       warranty_until=row.warranty_until, location_id=row.location_id, transfer_id=row.transfer_id,
                       **_located(row), **opened)


def _located(row) -> dict:
    """Where the serial's place and transfer are, when the statement read them (a scan's, not a posting's lock)."""
    if "location_code" not in row._fields:
        return {}
    return dict(location_code=row.location_code, site_id=row.site_id, site_code=row.site_code,
                site_name=row.site_name, transfer_reference=row.transfer_reference, transfer_to=_destination(row))


def _destination(row) -> str | None:
    """Where a serial in transit is going: "North back room (N-1) at North shop"."""
    if row.transfer_code is None:
        return None
    place = f"{row.transfer_name} ({row.transfer_code})"
    return place if row.transfer_site in (None, row.transfer_name) else f"{place} at {row.transfer_site}"


def _one_serial(write=None):
    """One serial's record (if any) and the open document holding it (if any), from a one-row probe; with
    ``write`` (a CTE or subquery of at most one row), its columns too."""
    probe = select(bindparam("text", type_=S.c.serial.type).label("serial")).subquery("probe")
    record = _serial_query(S.c.serial == bindparam("text")).subquery("record")
    opened = (select(L.c.serial, D.c.id, D.c.reference, D.c.station).join(D, D.c.id == L.c.document_id)
              .where(L.c.serial == bindparam("text"), L.c.is_open.is_(True)).subquery("opened"))
    base = (probe.outerjoin(record, record.c.serial == probe.c.serial)
            .outerjoin(opened, opened.c.serial == probe.c.serial))
    columns = [record, opened.c.id.label("open_id"), opened.c.reference.label("open_reference"),
               opened.c.station.label("open_station")]
    if write is not None:
        base, columns = base.outerjoin(write, true()), [*columns, write]
    return select(*columns).select_from(base)


_ONE_SERIAL = _one_serial()


def _probe():
    """What a scanned text may be, in one statement: the product it is a barcode of, and the serial it names."""
    barcode = (select(*(c.label(f"b_{c.name}") for c in _PRODUCT_COLUMNS)).join(B, B.c.product_id == P.c.id)
               .where(B.c.barcode.in_(_FORMS)).limit(1).subquery("barcode"))
    return _one_serial(barcode)  # joined in its FROM: no layer of SQL around it (a scan's locked read holds it)


_PROBE = _probe()
_LOCKED = (_serial_query(S.c.serial.in_(select(L.c.serial).where(L.c.document_id == bindparam("document_id"),
                                                                  L.c.serial.is_not(None))), located=False)
           .order_by(S.c.id).with_for_update(key_share=True, of=S))


def probe(session: Session, text: str) -> tuple[ProductFacts | None, SerialFacts]:
    """The product ``text`` is a barcode of (if any), and the serial it names, read together."""
    return probed(text, session.connection().execute(_PROBE, probe_params(text)).one())


def probe_params(text: str) -> dict:
    """The bind parameters of ``probe``'s statement (``probe_subquery``) for ``text``."""
    return {"text": text, **_forms(text)}


def probe_subquery(name: str):
    """``probe``'s statement as a one-row subquery, for a caller that reads it beside other things in one statement
    (a scan's locked read on SQLite: station.scanning.station_row)."""
    return _probe().subquery(name)


def probed(text: str, row) -> tuple[ProductFacts | None, SerialFacts]:
    """``probe``'s answer from its row (its columns, as named by ``probe_subquery``)."""
    product = None
    if row.b_id is not None:
        product = ProductFacts(row.b_id, row.b_code, row.b_name, row.b_serial_required_for_purchase,
                               row.b_serial_required_for_sales, row.b_unserialised_on_hand, row.b_warranty_months)
    facts = _facts(text, row, open_document_id=row.open_id, open_reference=row.open_reference,
                   open_station=row.open_station)
    return product, facts


def serial_read_with(write):
    """``serial_facts``'s statement beside ``write`` (a data-modifying CTE with one row of RETURNING): one round
    trip that writes and reads the serial as committed when it starts (``serial_facts_of`` reads its row). Joined
    in its FROM, not around it: under psycopg's 4096 characters, its text is parsed once, not on every scan."""
    return _one_serial(write)


def serial_facts_of(text: str, row) -> SerialFacts:
    """The serial from a row of a statement of ``serial_read_with``, run by the caller."""
    return _facts(text, row, open_document_id=row.open_id, open_reference=row.open_reference,
                  open_station=row.open_station)


def serial_facts(session: Session, text: str) -> SerialFacts:
    """One serial as committed now, and the open document that holds it: one statement."""
    row = session.connection().execute(_ONE_SERIAL, {"text": text}).one()
    return _facts(text, row, open_document_id=row.open_id, open_reference=row.open_reference,
                  open_station=row.open_station)


def locked_serials(session: Session, document_id: int) -> dict[str, SerialFacts]:
    """The records of a document's serials, row-locked in id order (postings never deadlock on serials), by text."""
    return _by_serial(session.connection().execute(_LOCKED, {"document_id": document_id}))


def locked_serials_then(session: Session, document_id: int, then, then_params: dict) -> tuple[dict, list]:
    """``locked_serials``, and the rows of ``then``, a read sent right behind it, in one round trip where the
    engine pipelines (direct.both): it runs once those locks are held, so it reads what they hold (a posting's
    site_rules.READ: where each record is)."""
    locked, rows = direct.both(session.connection(), _LOCKED, {"document_id": document_id}, then, then_params)
    return _by_serial(locked), rows


def _by_serial(rows) -> dict[str, SerialFacts]:
    """``_LOCKED``'s rows as facts, by serial."""
    return {row.serial: _facts(row.serial, row) for row in rows}


_HEAD = select(*head_columns()).select_from(head_from(D)).where(D.c.id == bindparam("id"))


#: Up to this many lines, posting reads them with the document's head, their products and their serials' records
#: in one statement (``document_read``); beyond, as three (the lines, the records, each product), as before issue
#: 22. A row of some forty columns per line costs ~15 us a line more on SQLite and ~30 us on PostgreSQL (a
#: 30,000-line receipt: 0.45 s and 0.9 s more), where the two statements it saves are worth well under a
#: millisecond.
ONE_READ_LINES = 50

_STATION = StationState.__table__


def _document_read(with_lines: bool, *, ahead: bool = False):
    """``document_read``'s statement: the document's head (its row locked: FOR UPDATE in a subquery, so it is locked
    once however many lines join it) and its location's site, and, with lines, each line in line order with its
    product's facts (``lp_``) and its serial's record as ``locked_serials`` reads one (unlocked: the caller locks
    the records there are), with where the record is as ``site_rules.read`` reads it (``r_``).

    ``ahead``: the same read of the station's open document (``station``), as a finish sends it with the scan's
    locked read (``READ_AHEAD``): only one posting would read so (open, not a count, at most ONE_READ_LINES lines),
    and only when the station's row is this transaction's (``FOR UPDATE SKIP LOCKED`` finds no row that another
    holds): a scan that waits for its station takes no document's lock before the station's."""
    if ahead:
        station_document = (select(_STATION.c.document_id).where(_STATION.c.station == bindparam("station"))
                            .with_for_update(skip_locked=True).scalar_subquery())
        which = (D.c.id == station_document, D.c.status == DocumentStatus.open, D.c.kind != DocumentKind.count,
                 D.c.line_count <= ONE_READ_LINES)
    else:
        which = (D.c.id == bindparam("document_id"),)
    head = (select(D.c.id.label("d_id"), D.c.reference, D.c.kind, D.c.status, D.c.station, D.c.user.label("d_user"),
                   D.c.supplier_id.label("d_supplier_id"), D.c.customer_id.label("d_customer_id"), D.c.order_id,
                   D.c.line_count, D.c.location_id.label("d_location_id"))
            .where(*which).with_for_update().subquery("locked_head"))
    head_site = LOC.alias("head_location")
    base = head.outerjoin(head_site, head_site.c.id == head.c.d_location_id)
    if not with_lines:
        return select(head, head_site.c.site_id.label("d_site_id")).select_from(base)
    lp, place, transfer = P.alias("line_product"), LOC.alias("record_place"), D.alias("record_transfer")
    moved = exists().where(M.c.serial_id == S.c.id)
    return (select(head, head_site.c.site_id.label("d_site_id"),
                   L.c.line_no, L.c.product_id.label("l_product_id"), L.c.serial.label("l_serial"),
                   L.c.quantity, L.c.replaces, L.c.location_id.label("l_location_id"), L.c.user.label("l_user"),
                   *(c.label(f"lp_{c.name}") for c in (lp.c[col.name] for col in _PRODUCT_COLUMNS)),
                   S.c.id, S.c.in_stock, S.c.customer_id, S.c.supplier_id,
                   moved.label("ever_moved"),
                   C.c.name.label("customer_name"),
                   P.c.id.label("p_id"), P.c.code.label("p_code"), P.c.name.label("p_name"),
                   P.c.serial_required_for_purchase.label("p_purchase"),
                   P.c.serial_required_for_sales.label("p_sales"), P.c.unserialised_on_hand.label("p_on_hand"),
                   S.c.in_service, S.c.faulty, S.c.warranty_until, P.c.warranty_months.label("p_months"),
                   S.c.location_id, S.c.transfer_id, place.c.site_id.label("r_site_id"),
                   transfer.c.reference.label("r_transfer_reference"),
                   transfer.c.location_id.label("r_transfer_destination"))
            .select_from(base.outerjoin(L, L.c.document_id == head.c.d_id)
                         .outerjoin(lp, lp.c.id == L.c.product_id)
                         .outerjoin(S, S.c.serial == L.c.serial)
                         .outerjoin(P, P.c.id == S.c.product_id).outerjoin(C, C.c.id == S.c.customer_id)
                         .outerjoin(place, place.c.id == S.c.location_id)
                         .outerjoin(transfer, transfer.c.id == S.c.transfer_id))
            .order_by(L.c.line_no))


_DOCUMENT_READ = {True: _document_read(True), False: _document_read(False)}
#: A finish's read of the station's open document, sent with the scan's locked read (station_row.load) where the
#: engine pipelines: in its round trip, one fewer for the posting (issue 22). Its parameter: ``station``.
READ_AHEAD = _document_read(True, ahead=True)
#: The connection's info: what ``READ_AHEAD`` read, and the transaction it was read in (``read_ahead``).
_READ_AHEAD = "station.document_read_ahead"


def read_ahead(conn, rows: list) -> None:
    """Keep ``READ_AHEAD``'s rows, read in ``conn``'s transaction under the station's lock, for the posting of that
    document in the same transaction (``document_read``), which then sends no read of its own."""
    conn.info[_READ_AHEAD] = (conn.get_transaction(), rows)


def _taken_ahead(conn, document_id: int) -> list | None:
    """The rows read ahead of this document in this very transaction, if any (taken: read once)."""
    kept = conn.info.pop(_READ_AHEAD, None)
    if kept is None:
        return None
    transaction, rows = kept
    if transaction is not conn.get_transaction() or not rows or rows[0].d_id != document_id:
        return None
    return rows


@dataclass(frozen=True)
class DocumentRead:
    """A document as posting reads it in one statement (``document_read``): its locked head (with its location's
    site), its lines (rows of ``line_no, product_id, serial, quantity, replaces, location_id, user``), the products
    they name, and the records of its serials that have one, as read (not locked), with where each is (rows of
    ``serial, id, location_id, site_id, transfer_id, transfer_reference, transfer_destination``: a
    site_rules.Where's)."""

    head: DocumentHead
    lines: list[tuple]
    products: dict[int, ProductFacts]
    records: dict[str, SerialFacts]
    where: dict[str, tuple]


def document_read(session: Session, document_id: int, *, with_lines: bool = True) -> DocumentRead:
    """The document's head, locked, and with ``with_lines`` its lines, their products and their serials' records
    (unlocked), in one statement: what a small posting used to read in four (issue 22).

    On PostgreSQL the lines are read in the statement's snapshot, taken before it waited for the document's lock:
    a change another request made to the lines while holding that lock (a line added or taken back: each moves the
    head's ``line_count``) is not among them, so a caller compares their number with ``line_count``. A finish's
    scan may have read it already, in this transaction, with the station's locked read (``READ_AHEAD``): those rows
    are taken, and nothing is sent.
    """
    conn = session.connection()
    rows = _taken_ahead(conn, document_id)
    if rows is None or not with_lines:
        rows = direct.run(conn, _DOCUMENT_READ[with_lines], {"document_id": document_id})
    first = rows[0]
    head = DocumentHead(first.d_id, first.reference, first.kind, first.status, first.station, first.d_user,
                        first.d_supplier_id, first.d_customer_id, first.order_id, first.line_count,
                        location_id=first.d_location_id, site_id=first.d_site_id)
    if not with_lines or first.line_no is None:
        return DocumentRead(head, [], {}, {}, {})
    lines, products, records, where = [], {}, {}, {}
    for row in rows:
        lines.append((row.line_no, row.l_product_id, row.l_serial, row.quantity, row.replaces, row.l_location_id,
                      row.l_user))
        if row.lp_id is not None and row.lp_id not in products:
            products[row.lp_id] = ProductFacts(row.lp_id, row.lp_code, row.lp_name,
                                               row.lp_serial_required_for_purchase,
                                               row.lp_serial_required_for_sales, row.lp_unserialised_on_hand,
                                               row.lp_warranty_months)
        if row.id is not None:
            records[row.l_serial] = _facts(row.l_serial, row)
            where[row.l_serial] = (row.l_serial, row.id, row.location_id, row.r_site_id, row.transfer_id,
                                   row.r_transfer_reference, row.r_transfer_destination)
    return DocumentRead(head, lines, products, records, where)
