"""The durable print queue (SPEC 5 Printing): labels written in the caller's transaction, sent by the daemon.

Theory of operation. A label is a ``print_job`` row, written in the same
transaction as what asked for it: a receipt's posting (one row per serial
line, INSERT ... SELECT from the lines, so 5,000 serials are one statement),
a CMD:PRINT scan, or ``station labels serials --print``. Nothing here talks
to a printer. The daemon (station.printing.dispatch, .worker) takes the oldest pending
job of a printer: ``claim`` marks it as its own for a lease and counts the
attempt, committed *before* the label is sent; ``mark_printed`` only after the
driver's ``send`` returned. So every attempt leaves a trace: a job found
still claimed, its lease run out or its owner started afresh, is an attempt
whose end was never recorded (the daemon was killed mid-send), and it is
sent again marked ``possibly_printed``, as is a job the printer took without
confirming it (``DeliveryUncertain``). One daemon at a time sends a
printer's jobs, in id order: a job claimed by another daemon whose lease
still runs makes the others wait.

``count_by_state`` is what the metrics (``station_print_jobs{state}``) read;
``queues`` what the pages and ``station printers`` show.
"""
from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, func, insert, literal, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from station.domain.models import DocumentLine, PrinterStatus, PrintJob
from station.domain.vocabulary import PrintJobState

PJ = PrintJob.__table__
PS = PrinterStatus.__table__
L = DocumentLine.__table__
_PENDING, _PRINTED, _FAILED = PrintJobState.pending, PrintJobState.printed, PrintJobState.failed
SHOWN = 5  # failed and possibly doubled labels listed per printer


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(at: datetime | None) -> datetime | None:
    """SQLite gives its times back without a zone; they were written in UTC."""
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def new_token() -> str:
    """Names the jobs queued together; with a job's id, unique even where two databases share one CUPS server."""
    return secrets.token_hex(6)


# -- queueing: in the caller's transaction ----------------------------------------------------------------------

# Built once: CMD:FINISH runs it on the scan path (a receipt of any size is this one statement).
_QUEUE_DOCUMENT = insert(PJ).from_select(
    ["printer", "serial", "token", "station", "document_id", "state", "attempts", "possibly_printed", "created_at"],
    select(bindparam("printer", type_=PJ.c.printer.type), L.c.serial, bindparam("token", type_=PJ.c.token.type),
           bindparam("station", type_=PJ.c.station.type), L.c.document_id, literal(_PENDING.value), literal(0),
           literal(False), bindparam("at", type_=PJ.c.created_at.type))
    .where(L.c.document_id == bindparam("document_id"), L.c.serial.is_not(None)).order_by(L.c.line_no)
).execution_options(preserve_rowcount=True)  # how many it queued (SQLAlchemy keeps that only for UPDATE otherwise)


def queue_document(session: Session, document_id: int, printer: str, *, station: str | None) -> int:
    """One label per serial line of the document, in line order; how many were queued."""
    return session.execute(_QUEUE_DOCUMENT, dict(printer=printer, token=new_token(), station=station,
                                                 document_id=document_id, at=_now())).rowcount


def queue_labels(session: Session, printer: str, serials: Sequence[str], *, station: str | None = None) -> int:
    """One label per serial, in the order given (one multi-row INSERT); how many were queued."""
    if not serials:
        return 0
    token, at = new_token(), _now()
    session.execute(insert(PJ), [dict(printer=printer, serial=serial, token=token, station=station,
                                      state=_PENDING, attempts=0, possibly_printed=False, created_at=at)
                                 for serial in serials])
    return len(serials)


# -- sending: the daemon's side -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    """A claimed job: what to print, and the attempt this claim counted."""

    id: int
    printer: str
    serial: str
    token: str
    attempts: int
    possibly_printed: bool

    @property
    def job_id(self) -> str:
        """Its name on the printer (the ZPL comment, the CUPS document): the same on every attempt."""
        return f"{self.id}-{self.token}"


@dataclass(frozen=True)
class Busy:
    """The printer's next job is another daemon's until ``until``."""

    owner: str
    until: datetime


_HEAD = (select(PJ.c.id, PJ.c.serial, PJ.c.token, PJ.c.attempts, PJ.c.possibly_printed, PJ.c.claimed_by,
                PJ.c.claimed_until)
         .where(PJ.c.state == _PENDING, PJ.c.printer == bindparam("printer")).order_by(PJ.c.id).limit(1))
_CLAIM = (update(PJ).where(PJ.c.id == bindparam("job"), PJ.c.state == _PENDING,
                           PJ.c.attempts == bindparam("seen"))
          .values(claimed_by=bindparam("owner"), claimed_until=bindparam("until"), attempts=PJ.c.attempts + 1,
                  possibly_printed=bindparam("possibly")))
_OURS = (PJ.c.id == bindparam("job"), PJ.c.attempts == bindparam("seen"), PJ.c.claimed_by == bindparam("owner"))
_END = update(PJ).where(*_OURS).values(
    state=bindparam("state"), printed_at=bindparam("printed"), claimed_by=None, claimed_until=None,
    error_code=bindparam("code"), error=bindparam("message"), possibly_printed=bindparam("possibly"))
# Printed: the last failed attempt's error stays, to say why it took more than one (or may be doubled).
_PRINTED_END = update(PJ).where(*_OURS).values(
    state=_PRINTED, printed_at=bindparam("printed"), claimed_by=None, claimed_until=None,
    possibly_printed=bindparam("possibly"))


def claim(session: Session, printer: str, owner: str, *, lease: timedelta) -> Job | Busy | None:
    """The printer's oldest pending job, now ``owner``'s for ``lease``; Busy while another daemon holds it."""
    row = session.execute(_HEAD, {"printer": printer}).first()
    if row is None:
        return None
    now = _now()
    held_until = _utc(row.claimed_until)
    if row.claimed_by not in (None, owner) and held_until is not None and held_until > now:
        return Busy(row.claimed_by, held_until)
    # Still claimed: an attempt whose end nobody recorded (the daemon stopped mid-send). It may have printed.
    possibly = bool(row.possibly_printed) or row.claimed_by is not None
    taken = session.execute(_CLAIM, dict(job=row.id, seen=row.attempts, owner=owner, until=now + lease,
                                         possibly=possibly)).rowcount
    if taken != 1:  # another daemon claimed it between our read and our write
        return Busy("another daemon", now)
    return Job(row.id, printer, row.serial, row.token, row.attempts + 1, possibly)


def _end(session: Session, job: Job, owner: str, state: PrintJobState, *, code: str | None = None,
         message: str | None = None, possibly_printed: bool = False) -> bool:
    values = dict(job=job.id, seen=job.attempts, owner=owner, printed=_now() if state is _PRINTED else None,
                  possibly=job.possibly_printed or possibly_printed)
    if state is _PRINTED:
        return session.execute(_PRINTED_END, values).rowcount == 1
    return session.execute(_END, dict(values, state=state, code=code, message=message)).rowcount == 1


def mark_printed(session: Session, job: Job, owner: str) -> bool:
    """The printer took the label; False when the claim was no longer ours (another daemon took over)."""
    return _end(session, job, owner, _PRINTED)


def mark_failed(session: Session, job: Job, owner: str, code: str, message: str) -> bool:
    """Refused for good (the label cannot print on this printer): the jobs behind it go on."""
    return _end(session, job, owner, _FAILED, code=code, message=message)


def mark_retry(session: Session, job: Job, owner: str, code: str, message: str, *, possibly_printed: bool) -> bool:
    """This attempt failed and is tried again later; ``possibly_printed`` when the printer may have it anyway."""
    return _end(session, job, owner, _PENDING, code=code, message=message, possibly_printed=possibly_printed)


def record_status(session: Session, printer: str, state: str, detail: str, message: str | None) -> None:
    """What the daemon now sees of the printer (ready, offline, error), since now."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    values = dict(state=state, detail=detail[:200], message=message, since=_now())
    session.execute(dialect.insert(PS).values(printer=printer, **values)
                    .on_conflict_do_update(index_elements=[PS.c.printer], set_=values))


# -- reading: metrics, pages, station printers ------------------------------------------------------------------

def count_by_state(session: Session) -> dict[str, int]:
    """Jobs per state that needs watching, for ``station_print_jobs{state}``: ``{"pending": n, "failed": m}``."""
    counts = dict(session.execute(select(PJ.c.state, func.count()).where(PJ.c.state.in_([_PENDING, _FAILED]))
                                  .group_by(PJ.c.state)).all())
    return {state.value: counts.get(state, 0) for state in (_PENDING, _FAILED)}


def unconfigured(session: Session, printers: Iterable[str]) -> dict[str, int]:
    """Labels still waiting for printers the configuration no longer names: ``{printer: count}``, by printer.

    No worker sends them (station run starts one per configured printer): they wait until the printer is
    configured again. One read of the (state, printer) index.
    """
    ids = list(printers)
    query = select(PJ.c.printer, func.count()).where(PJ.c.state == _PENDING)
    if ids:
        query = query.where(PJ.c.printer.not_in(ids))
    return dict(session.execute(query.group_by(PJ.c.printer).order_by(PJ.c.printer)).all())


def unconfigured_sentence(printer: str, count: int) -> str:
    """What an operator reads of labels left behind by a printer taken out of the configuration."""
    return (f"{count} label{'s' if count != 1 else ''} wait{'' if count != 1 else 's'} for printer {printer}, which "
            f"is no longer configured: add it back as a [[printers]] entry (or one with its id) to print "
            f"{'them' if count != 1 else 'it'}.")


@dataclass(frozen=True)
class Label:
    serial: str
    at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class PrinterQueue:
    """One printer as the pages show it: what the daemon last saw of it, and its queue."""

    printer: str
    state: str | None  # ready | offline | error; None: the daemon has not looked yet
    detail: str
    message: str | None
    since: datetime | None
    pending: int
    failed: int
    last_printed: Label | None
    failed_labels: tuple[Label, ...]  # newest first, at most SHOWN
    doubled: tuple[Label, ...]  # printed, possibly twice: newest first, at most SHOWN

    @property
    def condition(self) -> str:
        """"ready", "paper out: load labels", "not checked yet"."""
        if self.state is None:
            return "not checked yet"
        return "ready" if self.state == "ready" else self.detail or self.state

    @property
    def sentence(self) -> str:
        """"Printer zebra-1: paper out: load labels, 3 labels waiting"."""
        text = f"Printer {self.printer}: {self.condition}"
        if self.pending:
            text += f", {self.pending} label{'s' if self.pending != 1 else ''} waiting"
        if self.failed:
            text += f", {self.failed} failed"
        return text


def brief(q: PrinterQueue) -> dict[str, object]:
    """A station's printer as GET /api/stations/<station> gives it (and the screen shows it)."""
    return {"id": q.printer, "state": q.state, "condition": q.condition, "pending": q.pending, "failed": q.failed,
            "sentence": q.sentence}


def _labels(session: Session, *where, error: bool = False) -> tuple[Label, ...]:
    rows = session.execute(select(PJ.c.serial, PJ.c.printed_at, PJ.c.error).where(*where)
                           .order_by(PJ.c.id.desc()).limit(SHOWN)).all()
    return tuple(Label(r.serial, _utc(r.printed_at), r.error if error else None) for r in rows)


def queues(session: Session, printers: Iterable[str], *, labels: bool = True) -> dict[str, PrinterQueue]:
    """Each printer's state and queue: a few indexed reads per printer, whatever the queue's length.

    ``labels=False`` leaves out the last printed, failed and doubled labels (the screens need only the counts).
    """
    ids = list(printers)
    counts: dict[tuple[str, str], int] = {
        (printer, state): n for printer, state, n in session.execute(
            select(PJ.c.printer, PJ.c.state, func.count()).where(PJ.c.state.in_([_PENDING, _FAILED]),
                                                                 PJ.c.printer.in_(ids))
            .group_by(PJ.c.printer, PJ.c.state))}
    seen = {row.printer: row for row in session.execute(select(PS).where(PS.c.printer.in_(ids)))}
    found = {}
    for printer in ids:
        status = seen.get(printer)
        last = _labels(session, PJ.c.state == _PRINTED, PJ.c.printer == printer) if labels else ()
        found[printer] = PrinterQueue(
            printer=printer, state=status.state if status else None, detail=status.detail if status else "",
            message=status.message if status else None, since=_utc(status.since) if status else None,
            pending=counts.get((printer, _PENDING), 0), failed=counts.get((printer, _FAILED), 0),
            last_printed=last[0] if last else None,
            failed_labels=_labels(session, PJ.c.state == _FAILED, PJ.c.printer == printer, error=True)
            if labels else (),
            doubled=_labels(session, PJ.c.printer == printer, PJ.c.possibly_printed == true(),
                            PJ.c.state == _PRINTED) if labels else ())
    return found
