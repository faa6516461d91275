"""/api/operators: the people who sign in at the stations with their badges (SPEC 5; SPEC 2 "Operator").

- ``GET /api/operators`` (``?active=true|false``, paged): ``{"operators": [...], "page", "per_page", "total"}``.
- ``POST /api/operators`` ``{"code", "name"}``: 201 with the operator; 409 ``duplicate`` for a taken code.
- ``GET /api/operators/<code>``; ``PATCH /api/operators/<code>`` ``{"name"}`` and/or ``{"active": false}``
  (``true`` reactivates); the code is what the badge holds, so it cannot be changed (400 ``read_only``).
"""
from __future__ import annotations

from flask import Blueprint, request

from station.domain import operators
from station.domain.errors import Invalid
from station.interchange import representation

from ..db import transaction
from . import fields
from .inputs import json_body
from .listing import active_list, created
from .paths import tail_key

bp = Blueprint("operators", __name__)


@bp.get("/operators")
def index():
    return active_list("operators", operators.list_operators,
                       lambda session, rows: [representation.operator(o) for o in rows])


@bp.post("/operators")
def create():
    body = json_body(allowed=("code", "name"))
    with transaction() as session:
        out = representation.operator(operators.create_operator(session, fields.text(body, "code"),
                                                                fields.text(body, "name")))
    return created(out)


@bp.route("/operators/<tail:rest>", methods=["GET", "PATCH"], merge_slashes=False)
def item(rest: str):
    code = tail_key(rest)
    if request.method == "PATCH":
        return update(code)
    with transaction() as session:
        return representation.operator(operators.get_operator(session, code))


def update(code: str):
    body = json_body(allowed=("code", "name", "active"))
    if not body:
        raise Invalid("invalid_field", 'Send {"name": "..."} to rename, or {"active": false} to deactivate.')
    name = fields.optional_text(body, "name")
    active = fields.flag(body, "active")
    with transaction() as session:
        operator = operators.get_operator(session, code)
        if "code" in body and body["code"] != operator.code:
            raise Invalid("read_only", "An operator's code is what their badge holds: it cannot be changed.")
        out = representation.operator(operators.update_operator(session, operator, name=name, active=active))
    return out
