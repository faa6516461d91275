"""A supplier's or a customer's record as SPEC 5's party reads it: the one read model of the parties.

Theory of operation. A party is its code and its name, on the supplier or
the customer table (``TABLES``, by the kind the API and the feed name it
by). ``by_code`` reads one for GET /api/suppliers/<code> (NotFound
``unknown_party`` when none has it), ``by_id`` one for the feed's
``party.changed`` and for the answer after a write, and searches.parties
a page of them. The writers (catalogue.py) hold the ORM Supplier or
Customer; what a caller answers after a write is read again here by
``by_id``, on the session (so what it changed is flushed first): no JSON
reads an ORM object.
"""
from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Select, Table, bindparam, select
from sqlalchemy.orm import Session

from .errors import NotFound
from .models import CODE_MAX
from .tables import SU, C
from .validation import could_be_key

#: The table of each kind of party.
TABLES: dict[str, Table] = {"supplier": SU, "customer": C}


class PartyRecord(NamedTuple):
    """A supplier or a customer as its JSON shows it (the id only to find it again)."""

    id: int
    code: str
    name: str


def record(kind: str) -> Select:
    """The parties of ``kind`` as rows of ``PartyRecord``'s fields; a reader filters and orders it."""
    table = TABLES[kind]
    return select(table.c.id, table.c.code, table.c.name)


_BY_CODE = {kind: record(kind).where(table.c.code == bindparam("code")) for kind, table in TABLES.items()}
_BY_ID = {kind: record(kind).where(table.c.id == bindparam("id")) for kind, table in TABLES.items()}


def by_code(session: Session, kind: str, code: str) -> PartyRecord:
    """The ``kind`` (supplier, customer) with that code (NotFound ``unknown_party`` when none has it)."""
    row = (session.execute(_BY_CODE[kind], {"code": code}).one_or_none()
           if could_be_key(code, CODE_MAX) else None)
    return PartyRecord(*NotFound.unless(row, "unknown_party", f"There is no {kind} {code}."))


def by_id(session: Session, kind: str, party_id: int) -> PartyRecord | None:
    """The ``kind`` (supplier, customer) with that id, or None."""
    row = session.execute(_BY_ID[kind], {"id": party_id}).one_or_none()
    return PartyRecord(*row) if row is not None else None


def records(rows) -> list[PartyRecord]:
    """Rows of ``record(kind)`` as records."""
    return [PartyRecord(*row) for row in rows]
