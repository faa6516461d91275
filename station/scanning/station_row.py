"""The station's stored state (``station_state``): read with its document and product in one statement, written in one.

The row is locked first (``SELECT ... FOR UPDATE``), so scans of one station
are processed one at a time even across processes; it is made on a
station's first scan. What it stores is the machine's State: the mode, the
phase, the open document, the chosen product, whether the last line waits
for a serial to be recorded on it, the prompt last shown with a change
counter the live page watches, the operator signed in with their last
scan (sign_in.py), the last ``LOC:`` scanned on the open document and the
station's own location (its ``location`` key, with its site), all read with
the rest in the same statement (on PostgreSQL, with the transaction's BEGIN
in one round trip: station.storage.pipelined). A scan sent with an idempotency key reads, in
that statement too, what the scan log holds under that key (``logged``): a
key seen before is answered again (scan_log.answer_again) without a statement
of its own. Where the row was free, the open document's answer (its product
counts and last lines: answer_read.beside) comes with it too (``shown``), so a
scan that adds a line builds its answer without reading it again, and so does
the id of the party a scan may need (``party``: a ``SUP:``/``CUS:`` scan's,
or the walk-in customer whose sale a till's first goods open).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import and_, bindparam, case, literal_column, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from station.domain import location_facts
from station.domain.catalogue import PARTY_MODELS
from station.domain.facts import (
    READ_AHEAD,
    DocumentHead,
    ProductFacts,
    SerialFacts,
    head,
    head_columns,
    head_from,
    probe_params,
    probe_subquery,
    probed,
    read_ahead,
)
from station.domain.models import Operator, ScanLog, StationState
from station.domain.tables import D, P
from station.domain.vocabulary import MAIN_SITE, DocumentKind, DocumentStatus, Mode, Phase
from station.scan_core import decisions
from station.scan_core.reading import LocationInfo, ProductInfo
from station.storage import pipelined

from . import answer_read, places
from .sign_in import SignedIn

SS = StationState.__table__
OP = Operator.__table__
LOG = ScanLog.__table__
# The station's own location (its ``location`` key) and the last LOC: scanned, read as location facts.
_HOME, _PLACE = location_facts.Reading.named("home"), location_facts.Reading.named("place")


def _state(ss) -> tuple:
    """The row's columns, ``ss`` the station's row (the table, or the subquery that locks its row: ``_locking``)."""
    return (ss.c.mode.label("st_mode"), ss.c.phase.label("st_phase"), ss.c.document_id.label("st_document_id"),
            ss.c.attach_line.label("st_attach"), ss.c.prompt.label("st_prompt"), ss.c.version.label("st_version"),
            P.c.id.label("p_id"), P.c.code.label("p_code"), P.c.name.label("p_name"),
            P.c.serial_required_for_purchase.label("p_purchase"), P.c.serial_required_for_sales.label("p_sales"),
            P.c.unserialised_on_hand.label("p_on_hand"), ss.c.operator_id.label("st_operator_id"),
            ss.c.operator_seen_at.label("st_operator_seen_at"), OP.c.code.label("o_code"), OP.c.name.label("o_name"),
            OP.c.active.label("o_active"),
            *_HOME.columns("h_"), *_PLACE.columns("l_"))


@dataclass(frozen=True)
class StationRow:
    """The stored state as one scan starts: the machine's State and what it names."""

    station: str
    state: decisions.State
    document: DocumentHead | None
    product: ProductFacts | None
    prompt: str
    version: int
    operator: SignedIn | None = None  # as stored: whether they have lapsed since is sign_in.current's to say
    logged: object | None = None  # the scan log's row under the scan's key (read_as, response, raw, data_digest)
    home: LocationInfo | None = None  # the station's location (its ``location`` key), None: not an active one
    place: LocationInfo | None = None  # the last LOC: scanned on the open document
    probed: tuple[ProductFacts | None, SerialFacts] | None = None  # the scanned text as a barcode and a serial
    party: tuple[str, str, int | None] | None = None  # the party asked about: its kind, its code, its id (None: none)
    shown: answer_read.Shown | None = None  # the open document's answer, read with the row (None: not read)


def info(p: ProductFacts | None) -> ProductInfo | None:
    if p is None:
        return None
    return ProductInfo(p.code, p.name, p.serial_required_for_purchase, p.serial_required_for_sales, p.id)


def _query(ss=SS):
    """The station's row read with what it names; ``ss``: the table (the row found by the station's name), or the
    subquery that locks its row (``_locking``: it finds it)."""
    base = (head_from(ss.outerjoin(D, D.c.id == ss.c.document_id)).outerjoin(P, P.c.id == ss.c.product_id)
            .outerjoin(OP, OP.c.id == ss.c.operator_id)
            .outerjoin(_HOME.place, and_(_HOME.place.c.code == bindparam("home"), _HOME.place.c.active.is_(True))))
    base = _HOME.joins(base).outerjoin(_PLACE.place, _PLACE.place.c.id == ss.c.location_id)
    base = _PLACE.joins(base)
    query = select(*_state(ss), *head_columns()).select_from(base)
    return query.where(SS.c.station == bindparam("station")) if ss is SS else query


def _locking():
    """The station's row, its lock taken in a subquery of its own (``FOR UPDATE SKIP LOCKED``), named as the table
    (``_ANSWER`` names its columns so).

    Locked at the top of the statement, every table it joins took a row mark (its ``ctid``, or a subquery's whole
    row, for a recheck of the joins should the row have changed since the statement's snapshot), carried up through
    the joins above it: PostgreSQL sets up each join's columns at every execution of its plan (a generic plan's
    start-up is most of the statement's cost). Locked here, only the station's row is rechecked (its name), and the
    joins read what it names as the statement's snapshot has it, as they did (at 20,000 serials: 1631 -> 1336
    columns set up)."""
    return (select(SS).where(SS.c.station == bindparam("station")).with_for_update(skip_locked=True)
            .subquery(SS.name))


def _logged(query):
    """``query`` with the scan log's row under the scan's key (unique per station: one row or none).

    Scalar subqueries, each a lookup in the key's unique index (a join to the log let SQLite's planner pick a
    scan of it once its statistics said the log was small)."""
    def logged(column):
        return (select(column).where(LOG.c.station == bindparam("station"), LOG.c.idempotency_key == bindparam("key"))
                .scalar_subquery())

    return query.add_columns(
        logged(LOG.c.read_as).label("lg_read_as"), logged(LOG.c.response).label("lg_response"),
        logged(LOG.c.raw).label("lg_raw"), logged(LOG.c.data_digest).label("lg_digest"),
        logged(LOG.c.id).label("lg_id"))


def _keyed():
    """The locked read, with the scan log's row under the scan's key (``_logged``)."""
    return _logged(_query()).with_for_update(of=SS)


_PROBE = probe_subquery("probe")
_PROBED = "pr_"


def _answer():
    """The answer of the document the station's row names (answer_read.beside), and its order's: named by the
    statement's own columns (its ``station_state`` and ``document``, by name: the station's row may be the table or
    ``_locking``'s subquery), a subquery run once for its one row, where reading the station's row and the document
    again in it cost nine index scans more a scan."""
    document_id = literal_column(f"{SS.name}.{SS.c.document_id.name}", SS.c.document_id.type)
    order_id = literal_column(f"{D.name}.{D.c.order_id.name}", D.c.order_id.type)
    return answer_read.beside(document_id, order_id).label("an_rows")


_ANSWER = _answer()


#: The walk-in customer, asked about for goods: only by a station with no open document (whose goods may open a
#: sale), else not looked up (NULL).
WALK_IN = "walk_in"
_PARTY = "pa_id"


def _party_kind(asked: str) -> str:
    """The kind of party asked about (``supplier`` or ``customer``): the walk-in customer (``WALK_IN``) is one."""
    return "customer" if asked == WALK_IN else asked


def _party_id(kind: str):
    """The id of the ``kind`` of party (or the walk-in customer, ``WALK_IN``) whose code is bound as ``party_code``
    (NULL: none), as a column."""
    table = PARTY_MODELS[_party_kind(kind)].__table__
    found = select(table.c.id).where(table.c.code == bindparam("party_code")).scalar_subquery()
    if kind == WALK_IN:  # a subquery under CASE runs only when its branch is taken (PostgreSQL: a lazy InitPlan)
        found = case((or_(D.c.id.is_(None), D.c.status != DocumentStatus.open), found))
    return found.label(_PARTY)


def _probing(keyed: bool, probe: bool, party: str | None = None):
    """The locked read with what the scanned text is (a barcode's product, a serial's record: facts.probe; not for
    a text the reader never asks about, ``probe`` false) and the open document's answer (its products and last
    lines, as one column of JSON), in the same statement, taking the station's row only if no other transaction
    holds it (SKIP LOCKED).

    So the text and the answer are read as statements of their own after the lock would read them: on SQLite
    BEGIN IMMEDIATE let no other writer in before it; on PostgreSQL the row was free, so no scan of this station
    was in flight (a read that waited on the lock would see the text as it was before the scan it waited on).
    Skipped (no row), the station is read again the way that waits, and the reader asks about the text, and the
    answer is read, in statements of their own.

    ``party`` (``supplier`` or ``customer``): the id of that party by code comes with it too, as the reader and the
    opening would ask it (a ``SUP:``/``CUS:`` scan's party, or ``WALK_IN``, the walk-in customer a till's first
    goods open a sale for, asked only with no document open: ScanContext.party); a lookup in the code's unique
    index.
    """
    locked = _query(_locking())
    if keyed:
        locked = _logged(locked)
    if party is not None:
        locked = locked.add_columns(_party_id(party))
    if not probe:
        return locked.add_columns(_ANSWER)
    return (locked.add_columns(*(c.label(_PROBED + c.name) for c in _PROBE.c), _ANSWER)
            .select_from(locked.get_final_froms()[0].outerjoin(_PROBE, true())))


class _Probed:
    """The probe's columns of the locked read's row, by their own names (as facts.probed reads them)."""

    def __init__(self, row):
        self._row = row
        self._fields = _probed_fields(row._fields)

    def __getattr__(self, name: str):
        return getattr(self._row, _PROBED + name)


@functools.lru_cache(maxsize=8)
def _probed_fields(fields: tuple[str, ...]) -> tuple[str, ...]:
    """The probe's names among a row's (the same few statements' rows: worked out once each)."""
    return tuple(name.removeprefix(_PROBED) for name in fields if name.startswith(_PROBED))


# Built once (see station.domain.facts).
_READ = _query()
_LOCK = _READ.with_for_update(of=SS)
_LOCK_KEYED = _keyed()
#: By (keyed, probed, the kind of party asked about).
_LOCK_PROBED = {(keyed, probe, party): _probing(keyed, probe, party) for keyed in (False, True)
                for probe in (False, True) for party in (None, *PARTY_MODELS, WALK_IN)}
_READ_SHOWN = _READ.add_columns(_ANSWER)
# Its bind parameters are prefixed (``st_``): the scan log's insert may run it in its own statement (scan_log.write).
_SAVE = update(SS).where(SS.c.station == bindparam("st_station")).values(
    mode=bindparam("st_mode"), phase=bindparam("st_phase"), document_id=bindparam("st_document_id"),
    product_id=bindparam("st_product_id"), attach_line=bindparam("st_attach_line"), prompt=bindparam("st_prompt"),
    version=SS.c.version + 1, updated_at=bindparam("st_updated_at"), location_id=bindparam("st_location_id"))
_SAVE_OPERATOR = _SAVE.values(operator_id=bindparam("st_operator_id"),
                              operator_seen_at=bindparam("st_operator_seen_at"))
#: A scan's locked read is most often its transaction's first statement: on PostgreSQL its BEGIN goes with it.
_FIRST = {pipelined.BEGIN_WITH: True}
#: ``save``'s default: the stored operator left as it is.
KEEP = object()


def _row(station: str, row, keyed: bool = False) -> StationRow:
    product = None
    if row.p_id is not None:
        product = ProductFacts(row.p_id, row.p_code, row.p_name, row.p_purchase, row.p_sales, row.p_on_hand)
    document = head(row) if row.st_document_id is not None and row.status == DocumentStatus.open else None
    if document is None:
        state = decisions.State(mode=row.st_mode)
    else:
        phase = row.st_phase if row.st_phase is not Phase.idle else Phase.open
        if phase in (Phase.awaiting_serial, Phase.sticky) and product is None:
            phase = Phase.open
        if phase is Phase.replacing and (document.kind is not DocumentKind.service_check_out
                                         or not document.line_count):
            phase = Phase.open
        if phase not in decisions.PHASES[Mode(row.st_mode)]:  # a phase its mode never has (stored by hand?)
            phase = Phase.open
        state = decisions.State(mode=row.st_mode, document_kind=document.kind, phase=phase, lines=document.line_count,
                              product=info(product), attach=bool(row.st_attach) and product is not None)
    operator = None
    if row.st_operator_id is not None and row.o_active:  # a deactivated operator is no longer signed in
        seen = row.st_operator_seen_at or datetime.now(UTC)
        operator = SignedIn(row.st_operator_id, row.o_code, row.o_name, seen)
    logged = row if keyed and row.lg_id is not None else None
    home = places.info(location_facts.of(row, "h_"), None)
    place = places.info(location_facts.of(row, "l_"), home.site_id if home else None) if document is not None else None
    return StationRow(station, state, document, product if document is not None else None, row.st_prompt,
                      row.st_version, operator, logged, home, place)


def load(session: Session, station: str, *, lock: bool, key: str | None = None,
         home: str = MAIN_SITE, probe: str | None = None, finishing: bool = False,
         party: tuple[str, str] | None = None) -> StationRow | None:
    """The station's row (locked for this scan when ``lock``), or None when it has none yet; ``home`` is the
    station's ``location`` key, read with it; with ``key`` (locked only), what the scan log holds under it too
    (``logged``); locked, its open document's answer (``shown``) and with ``probe``, what that text is as a
    barcode and a serial (``probed``), when the row was free (``_probing``). ``finishing`` (a CMD:FINISH): where
    the engine pipelines, its posting's document read goes in the same round trip, kept for it (facts.read_ahead);
    a read that no posting takes is left unused. ``party`` (its kind and code): that party's id comes with the
    locked row too (``party``), when the row was free."""
    params = {"station": station, "home": home}
    keyed = key is not None and lock
    if keyed:
        params["key"] = key
    if lock:
        statement = _LOCK_PROBED[keyed, probe is not None, party[0] if party is not None else None]
        probing = params | probe_params(probe) if probe is not None else params
        if party is not None:
            probing = probing | {"party_code": party[1]}
        if finishing:
            # Its posting's first read goes with this one, in its round trip (where the engine pipelines).
            conn = session.connection()
            rows, ahead = pipelined.first_then(conn, statement, probing, READ_AHEAD, {"station": station})
            row = rows[0] if rows else None
            if row is not None and ahead is not None:
                read_ahead(conn, ahead)
        else:
            row = _first_row(session, statement, probing)
        if row is not None:
            found = _row(station, row, keyed)
            doc = found.document
            shown = answer_read.from_rows(doc.id, doc.order_id, row.an_rows) if doc is not None else None
            return replace(found, probed=probed(probe, _Probed(row)) if probe is not None else None, shown=shown,
                           party=_party_found(party, row.pa_id, doc) if party is not None else None)
        # Not made yet, or (PostgreSQL) another scan of this station holds it: wait for it, without the answer.
    row = session.connection().execute(_LOCK_KEYED if keyed else _LOCK if lock else _READ, params,
                                       execution_options=_FIRST if lock else {}).first()
    return _row(station, row, keyed) if row is not None else None


def _party_found(party: tuple[str, str], found: int | None,
                 document: DocumentHead | None) -> tuple[str, str, int | None] | None:
    """The party asked about, as StationRow keeps it (its kind, code and id); None where it was not asked: the
    walk-in customer of a station with a document open (the CASE left it)."""
    if party[0] == WALK_IN and document is not None:
        return None
    return (_party_kind(party[0]), party[1], found)


def _first_row(session: Session, statement, params: dict):
    """``statement``'s first row, or None, sent on the driver's cursor with its transaction's BEGIN on PostgreSQL
    (pipelined.first): the reads that carry the open document's answer (a scan's locked read, one of
    ``_LOCK_PROBED``, its first statement; a screen's ``_READ_SHOWN``), the costliest to execute through
    SQLAlchemy (their hundred and more columns: 0.07-0.1 ms more than the statement)."""
    rows = pipelined.first(session.connection(), statement, params)
    return rows[0] if rows else None


def shown(session: Session, station: str, *, home: str = MAIN_SITE) -> StationRow | None:
    """The station's row as its screen shows it (not locked), with its open document's answer (its products and
    last lines: answer_read.beside) in the same statement, or None when it has none yet: what a live screen
    fetches on every scan, one statement where the row, the counts and the lines were three. Sent as the scan's
    locked read is (_first_row: 0.1 ms less than through SQLAlchemy at a million serials; on PostgreSQL its
    transaction's BEGIN goes with it, one round trip fewer)."""
    row = _first_row(session, _READ_SHOWN, {"station": station, "home": home})
    if row is None:
        return None
    found = _row(station, row)
    doc = found.document
    return replace(found, shown=answer_read.from_rows(doc.id, doc.order_id, row.an_rows) if doc is not None else None)


def load_or_make(session: Session, station: str, mode: Mode, idle_prompt: str, *, key: str | None = None,
                 home: str = MAIN_SITE, probe: str | None = None, finishing: bool = False,
                 party: tuple[str, str] | None = None) -> StationRow:
    """The station's row, locked; made on its first scan (two processes may race to make it: one does)."""
    found = load(session, station, lock=True, key=key, home=home, probe=probe, finishing=finishing, party=party)
    if found is not None:
        return found
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(SS).values(station=station, mode=mode, phase=Phase.idle, attach_line=False,
                                              prompt=idle_prompt, version=0, updated_at=datetime.now(UTC))
                    .on_conflict_do_nothing(index_elements=[SS.c.station]))
    return load(session, station, lock=True, key=key, home=home, probe=probe, party=party)


@dataclass(frozen=True)
class Saving:
    """The station's state after a scan, as one UPDATE and its values: the scan log's insert writes it
    (scan_log.write), on PostgreSQL in the same statement."""

    statement: object
    values: dict


def saving(station: str, state: decisions.State, document_id: int | None, product_id: int | None, prompt: str, *,
           operator: SignedIn | None | object = KEEP, location_id: int | None = None) -> Saving:
    """The state after a scan, with the prompt shown and the change counter bumped (the live page watches it).

    ``operator``: who is signed in after the scan, with their last scan's time (None: nobody); KEEP leaves it.
    ``location_id``: the last LOC: scanned on the open document (cleared with it).
    """
    idle = state.phase is Phase.idle
    values = dict(
        st_station=station, st_mode=state.mode, st_phase=state.phase, st_location_id=None if idle else location_id,
        st_document_id=document_id if not idle else None, st_product_id=product_id,
        st_attach_line=state.attach, st_prompt=prompt, st_updated_at=datetime.now(UTC))
    if operator is KEEP:
        return Saving(_SAVE, values)
    values |= {"st_operator_id": operator.id if operator is not None else None,
               "st_operator_seen_at": operator.seen_at if operator is not None else None}
    return Saving(_SAVE_OPERATOR, values)

