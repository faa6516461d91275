"""SPEC 3c's rules of where a unit is, decided again at posting on the serials read under their locks.

Theory of operation. Posting locks a document's serials (facts.locked_serials), then reads, in one more
statement, where each of them is: its location and that location's site, and the transfer it is on.
These functions refuse, with the codes the scan gives, what changed since the scan: a unit sent away
(``serial_in_transit``), taken to another site meanwhile, say by a count there (``serial_at_other_site``),
already where a move would put it (``serial_already_there``), or an arrival's unit that is not on its
transfer (``serial_not_on_transfer``). A count's lines hold no serial (rule 8 does not apply to them),
so nothing else is to be decided here for one: its posting counts what the database holds then.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from . import location_facts
from .errors import Refusal
from .tables import LOC, D, L, S

_T = D.alias("transfer")


@dataclass(frozen=True)
class Where:
    """Where one serial of a document is, read under its lock."""

    serial: str
    id: int
    location_id: int | None
    site_id: int | None
    transfer_id: int | None
    transfer_reference: str | None
    transfer_destination: int | None


def read(session: Session, document_id: int) -> dict[str, Where]:
    """Where each serial named on the document is (one statement)."""
    return of_rows(session.connection().execute(READ, {"document_id": document_id}))


def of_rows(rows) -> dict[str, Where]:
    """``READ``'s rows (its parameter: ``document_id``), by serial."""
    return {r[0]: Where(*r) for r in rows}


READ = (select(S.c.serial, S.c.id, S.c.location_id, LOC.c.site_id, S.c.transfer_id, _T.c.reference, _T.c.location_id)
        .select_from(L.join(S, S.c.serial == L.c.serial).outerjoin(LOC, LOC.c.id == S.c.location_id)
                     .outerjoin(_T, _T.c.id == S.c.transfer_id))
        .where(L.c.document_id == bindparam("document_id", type_=L.c.document_id.type)))


def refuse_in_transit(session: Session, where: Where) -> None:
    """A unit on its way to another site is neither sold, moved, counted, sent nor received again."""
    if where.transfer_id is None:
        return
    going = location_facts.by_id(session, where.transfer_destination)
    to = f" to {going.site_name} ({going.site_code})" if going is not None else ""
    raise Refusal("serial_in_transit", f"Serial {where.serial} is in transit{to} on {where.transfer_reference}: "
                                       "it is received there (scan the transfer's reference in receive mode).")


def refuse_other_site(session: Session, where: Where, site_id: int) -> None:
    """A unit in stock at another site leaves from there, or is transferred here first."""
    if where.site_id is None or where.site_id == site_id:
        return
    place = location_facts.by_id(session, where.location_id)
    raise Refusal("serial_at_other_site", f"{where.serial} is at {place.site_name} ({place.site_code}): "
                                          "transfer it here first.")


def refuse_already_there(session: Session, where: Where, destination: int) -> None:
    if where.location_id == destination:
        place = location_facts.by_id(session, destination)
        raise Refusal("serial_already_there", f"Serial {where.serial} is at {place} already: scan the next unit.")


def refuse_not_on_transfer(where: Where, transfer_id: int | None, transfer_reference: str | None) -> None:
    """An arrival takes in the units its transfer sent, and only those still in transit."""
    if where.transfer_id is None or where.transfer_id != transfer_id:
        on = f"on {where.transfer_reference}" if where.transfer_id is not None else "not in transit"
        raise Refusal("serial_not_on_transfer", f"Serial {where.serial} is {on}, not a unit of "
                                                f"{transfer_reference or 'this transfer'} still to arrive: "
                                                "put it aside and scan the next unit.")
