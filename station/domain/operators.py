"""Operators (SPEC 2): who scans at a station, signed in by scanning their badge (``USR:<code>``).

A badge is not a password: it says who is at the station, so that every
line, movement and scan records them. An operator is deactivated, never
deleted: old lines keep naming their code, and a deactivated badge no
longer signs in (``unknown_operator``). The scan path reads operators with
the prebuilt statements below; the API and the command line use the ORM.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from .errors import Conflict, Invalid, NotFound
from .models import CODE_MAX, Operator
from .validation import could_be_key, require_code, require_name

OP = Operator.__table__

#: What a badge holds before the operator's code.
BADGE_PREFIX = "USR:"


@dataclass(frozen=True)
class OperatorFacts:
    """An operator as the scan path sees it."""

    id: int
    code: str
    name: str
    active: bool


_ACTIVE_BY_CODE = select(OP.c.id, OP.c.code, OP.c.name, OP.c.active).where(OP.c.code == bindparam("code"),
                                                                          OP.c.active.is_(True))


def active_by_code(session: Session, code: str) -> OperatorFacts | None:
    """The active operator with this badge code, or None (unknown, or deactivated)."""
    if not could_be_key(code, CODE_MAX):
        return None
    row = session.execute(_ACTIVE_BY_CODE, {"code": code}).first()
    return OperatorFacts(row.id, row.code, row.name, row.active) if row is not None else None


def check_code(code: str) -> str:
    """A badge code: 1-64 printable characters without spaces (a scanner must be able to send it whole)."""
    code = require_code(code)
    if " " in code:
        raise Invalid("invalid_field", "An operator's code has no spaces: it is printed on a badge as USR:<code>.")
    if not code.isascii():
        raise Invalid("invalid_field", "An operator's code is ASCII: a Code 128 badge holds nothing else.")
    return code


def create_operator(session: Session, code: str, name: str) -> Operator:
    """A new active operator; 409 ``duplicate`` when the code is taken (by an active operator or not)."""
    code = check_code(code)
    name = require_name(name)
    if session.scalar(select(Operator.id).where(Operator.code == code)) is not None:
        raise Conflict("duplicate", f"Operator {code} exists already.")
    operator = Operator(code=code, name=name, active=True)
    session.add(operator)
    session.flush()
    return operator


def get_operator(session: Session, code: str) -> Operator:
    operator = session.scalar(select(Operator).where(Operator.code == code)) if could_be_key(code, CODE_MAX) else None
    if operator is None:
        raise NotFound("unknown_operator", f"There is no operator {code}.")
    return operator


def update_operator(session: Session, operator: Operator, *, name: str | None = None,
                    active: bool | None = None) -> Operator:
    """Rename, deactivate or reactivate (None leaves a field as it is). A deactivated operator's badge stops working."""
    if name is not None:
        operator.name = require_name(name)
    if active is not None:
        operator.active = active
    session.flush()
    return operator


def list_operators(session: Session, *, page: int = 1, per_page: int = 50,
                   active: bool | None = None) -> tuple[list[Operator], int]:
    """One page of operators by code, and how many there are in all."""
    query = select(Operator)
    if active is not None:
        query = query.where(Operator.active.is_(active))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Operator.code).offset((max(page, 1) - 1) * per_page).limit(per_page))
    return list(rows), total
