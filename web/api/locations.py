"""/api/locations: sites and the places under them (SPEC 5; SPEC 3c).

- ``GET /api/locations`` (``?active=true|false``, paged): ``{"locations": [...], "page", "per_page", "total"}``,
  by code, each ``{"code", "name", "parent", "site", "active"}``.
- ``POST /api/locations`` ``{"code", "name", "parent", "gln"}`` (parent: a code, or null or absent for a site;
  gln: 13 digits with a right check digit, or null or absent): 201 with the record; 409 ``duplicate`` for a taken
  code or GLN; 404 ``unknown_location`` for a parent that is not there; 400 ``invalid_field`` for a GLN that is
  not one.
- ``GET /api/locations/<code>`` (``?page=`` of its serials, 100 a page): the record with ``children``,
  ``products`` and ``serials`` here and below.
- ``PATCH /api/locations/<code>`` ``{"name", "parent", "active", "gln"}`` (any of them): parent null makes it a
  site, gln null clears its GLN (one another location has: 409 ``duplicate``).
  What the records refuse (a cycle, stock made a site, an inactive parent) is 422 ``invalid_field``; a location
  holding stock deactivated is 422 ``location_not_empty``. The code is what its label holds: 400 ``read_only``.
"""
from __future__ import annotations

from flask import Blueprint, request

from station.domain import location_facts, locations
from station.domain.errors import Invalid
from station.domain.serials import Ref
from station.interchange import locations as location_json

from ..db import transaction
from . import fields
from .inputs import MAX_PAGE, int_arg, json_body
from .listing import active_list, created
from .paths import tail_key

bp = Blueprint("locations", __name__)


@bp.get("/locations")
def index():
    return active_list("locations", location_facts.listing, lambda _session, rows: location_json.summaries(rows))


@bp.post("/locations")
def create():
    body = json_body(allowed=("code", "name", "parent", "gln"))
    parent = fields.ref(body, "parent")
    gln = _gln(body)
    with transaction() as session:
        made = locations.add(session, fields.text(body, "code"), fields.text(body, "name"),
                             parent if isinstance(parent, str) else None, gln if isinstance(gln, str) else None)
        out = location_json.record(session, location_facts.by_id(session, made.id))
    return created(out)


@bp.route("/locations/<tail:rest>", methods=["GET", "PATCH"], merge_slashes=False)
def item(rest: str):
    code = tail_key(rest)
    if request.method == "PATCH":
        return update(code)
    page = int_arg("page", 1, lo=1, hi=MAX_PAGE)
    with transaction() as session:
        return location_json.record(session, locations.read(session, code), page=page)


def update(code: str):
    body = json_body(allowed=("code", "name", "parent", "active", "gln"))
    if not body:
        raise Invalid("invalid_field", 'Send {"name": "..."} to rename, {"parent": "CODE"} (or null: a site) to '
                                       'move, {"gln": "..."} (or null) to set its GLN, or {"active": false} to '
                                       'deactivate.')
    name = fields.optional_text(body, "name")
    parent = fields.ref(body, "parent")
    active = fields.flag(body, "active")
    gln = _gln(body)
    with transaction() as session:
        location = locations.get(session, code)
        if "code" in body and body["code"] != location.code:
            raise Invalid("read_only", "A location's code is what its LOC: label holds: it cannot be changed.")
        locations.edit(session, location, name=name, parent=parent, active=active, gln=gln)
        return location_json.record(session, location_facts.by_id(session, location.id))


def _gln(body) -> Ref:
    """``gln``: a text (the domain checks its digits), null to clear, or KEEP when absent."""
    if "gln" in body and body["gln"] is not None and not isinstance(body["gln"], str):
        raise Invalid("invalid_field", "gln must be 13 digits in a text (the last its check digit), or null.")
    return fields.ref(body, "gln")
